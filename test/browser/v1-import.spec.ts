import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient } from '../integration/gateway-harness.js';
import { signIn } from './browser.js';
import { LIVE, startRealUi, type RealUi } from './real-gateway.js';

const COMMAND = 'sh -c "trap \'exit 0\' TERM; while true; do sleep 1; done"';

/**
 * The services page's "Import from Humpback v1" in Chromium against a real gateway: a container a v1
 * center made (env only) on n1 becomes the imported service's instance, not a new one.
 */
describe('importing a Humpback v1 service in the web UI', () => {
  const env = loadTestEnv();
  const docker = dockerFor(engineNamed(env, 'n1'));
  const sfx = randomBytes(3).toString('hex');
  const v1GroupId = randomUUID();
  const v1MetaId = randomUUID();
  const name = `v1ui-${sfx}`;
  const v1Name = `CLUSTER-${v1GroupId.slice(0, 8)}-${name}-1`;
  let v1Id: string;
  let real: RealUi;

  beforeAll(async () => {
    // as humpback-center creates it: HUMPBACK_CLUSTER_* env, no humpback.* labels
    const c = await docker.createContainer({
      name: v1Name,
      Image: env.image,
      Cmd: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"],
      Env: [
        `HUMPBACK_CLUSTER_GROUPID=${v1GroupId}`,
        `HUMPBACK_CLUSTER_METAID=${v1MetaId}`,
        'HUMPBACK_CLUSTER_CONTAINER_INDEX=1',
        `HUMPBACK_CLUSTER_CONTAINER_ORIGINALNAME=${v1Name}`,
      ],
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    v1Id = c.id;
    real = await startRealUi();
  });

  afterEach(() => {
    expect(real.ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
    const list = await docker.listContainers({ all: true, filters: { name: [name] } }).catch(() => []);
    for (const c of list)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it('imports the v1 MetaId and shows the v1 container as its instance', async () => {
    const { page } = real.ui;
    const admin = new TestClient(real.gateway.url);
    await admin.login();
    await signIn(page, real.baseUrl, 'admin', ADMIN_PASSWORD);
    // the v1 group comes first, under its GroupId, so the adopted containers belong to it
    await page.goto(`${real.baseUrl}/#/groups`);
    await page.getByText('Create a group').click();
    const groupForm = page.getByRole('form', { name: 'Create a group' });
    await groupForm.getByLabel('Name', { exact: true }).fill(`ui-v1-${sfx}`);
    await groupForm.getByLabel(/^Servers/).fill(real.agents[0]!.address);
    await groupForm.getByLabel(/^Humpback v1 GroupId/).fill(v1GroupId);
    await groupForm.getByLabel(/Cluster mode/).check();
    await groupForm.getByRole('button', { name: 'Create group' }).click();
    await expect.poll(() => page.getByRole('heading', { name: `ui-v1-${sfx}` }).count(), LIVE).toBe(1);
    const createGroup = { id: v1GroupId };
    await waitFor(
      async () => {
        const data = await admin.request<{ containers: { nodes: Array<{ metaId: string | null }> } }>(
          'query { containers(first: 500) { nodes { metaId } } }',
        );
        return data.containers.nodes.some((c) => c.metaId === v1MetaId) || undefined;
      },
      { timeoutMs: 20_000, description: 'the v1 container seen under its MetaId' },
    );
    await page.goto(`${real.baseUrl}/#/metas?groupId=${encodeURIComponent(createGroup.id)}`);
    await page.getByRole('button', { name: 'Import from Humpback v1' }).click();
    const form = page.getByRole('form', { name: 'Import a Humpback v1 service' });
    await form.getByLabel('v1 MetaId').fill('not-a-uuid');
    await form.getByLabel('Instances', { exact: true }).fill('1');
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel('Command').fill(COMMAND);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByRole('button', { name: 'Import service' }).click();
    await expect
      .poll(() => form.getByRole('alert').first().textContent(), LIVE)
      .toContain('The v1 MetaId is a UUID');
    await form.getByLabel('v1 MetaId').fill(v1MetaId);
    await form.getByRole('button', { name: 'Import service' }).click();
    const instance = page.getByRole('row').filter({ hasText: v1Name });
    await expect.poll(() => instance.getAttribute('data-state'), LIVE).toBe('RUNNING');
    await real.ui.screenshot('v1-import-01-adopted');
    const { meta } = await admin.request<{ meta: { containers: Array<{ id: string; index: number }> } }>(
      'query($id: ID!) { meta(id: $id) { containers { id index } } }',
      { id: v1MetaId },
    );
    expect(meta.containers).toEqual([{ id: v1Id, index: 1 }]);
    // and the group's own container list has it
    await page.goto(`${real.baseUrl}/#/containers?groupId=${encodeURIComponent(v1GroupId)}`);
    await expect.poll(() => page.getByRole('row').filter({ hasText: v1Name }).count(), LIVE).toBe(1);
    await admin.close();
  });
});
