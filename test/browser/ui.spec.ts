import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, testEnvFile, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient } from '../integration/gateway-harness.js';
import { signIn, type UiBrowser } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

/** Exits promptly on SIGTERM, so a docker stop takes no 10 s grace period. */
const IDLE_COMMAND = `sh -c "echo hello-from-ui; trap 'exit 0' TERM; while true; do sleep 1; done"`;

/**
 * The UI end to end in Debian's Chromium, against a real gateway (embedded store, web UI served by
 * web/serve.ts) and real agents on the test environment's engines.
 */
describe.skipIf(!existsSync(testEnvFile))('web UI against a real gateway', () => {
  let real: RealUi;
  let env: TestEnv;
  let gateway: RunningGateway;
  let baseUrl: string;
  let ui: UiBrowser;
  let suffix: string;

  beforeAll(async () => {
    real = await startRealUi();
    ({ env, gateway, baseUrl, ui, suffix } = real);
  });

  afterEach(() => {
    expect(ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
  });

  /** Creates a service in the cluster group through the services page's form. */
  async function createService(
    page: Page,
    service: { name: string; instances: number; image: string; command?: string },
  ): Promise<void> {
    await page.goto(`${baseUrl}/#/metas`);
    await page
      .getByLabel('Cluster group')
      .selectOption(await optionValue(page, 'Cluster group', `ui-cluster-${suffix}`));
    await page.getByRole('button', { name: 'Create service' }).click();
    const form = page.getByRole('form', { name: 'Create a service' });
    await form.getByLabel('Instances', { exact: true }).fill(String(service.instances));
    await form.getByLabel('Name', { exact: true }).fill(service.name);
    await form.getByLabel('Image').fill(service.image);
    if (service.command) await form.getByLabel('Command').fill(service.command);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByRole('button', { name: 'Create service' }).click();
  }

  it('logs in', async () => {
    await signIn(ui.page, baseUrl, 'admin', ADMIN_PASSWORD);
    await ui.screenshot('real-01-dashboard');
  });

  it('creates a single-mode and a cluster-mode group', async () => {
    const { page } = ui;
    const create = async (name: string, servers: string[], cluster: boolean) => {
      await page.goto(`${baseUrl}/#/groups`);
      const form = page.getByRole('form', { name: 'Create a group' });
      if (!(await form.isVisible())) await page.getByText('Create a group').click();
      await form.getByLabel('Name', { exact: true }).fill(name);
      await form.getByLabel(/^Servers/).fill(servers.join('\n'));
      if (cluster) await form.getByLabel(/Cluster mode/).check();
      await form.getByRole('button', { name: 'Create group' }).click();
      await page.getByRole('heading', { name, exact: true }).waitFor();
    };
    await create(`ui-single-${suffix}`, [real.agents[0]!.address], false);
    await create(`ui-cluster-${suffix}`, [real.agents[1]!.address, real.agents[2]!.address], true);
    // The servers turn into HEALTHY nodes once the gateway has reached their agents.
    const card = page.locator(`[data-group="ui-cluster-${suffix}"]`);
    await expect.poll(() => card.getByText('HEALTHY').count(), LIVE).toBe(2);
    await ui.screenshot('real-02-groups');
  });

  it('creates a container that turns RUNNING, and shows a stop made on the engine without reload', async () => {
    const { page } = ui;
    const name = `ui-c-${suffix}`;
    const engine = engineNamed(env, 'n1');
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form.getByLabel('Node').selectOption(await optionValue(form, 'Node', `(${engine.ip})`));
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel('Command').fill(IDLE_COMMAND);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByRole('button', { name: 'Create and start' }).click();

    const row = page.locator(`tr[data-container="${name}"]`);
    await expect.poll(() => row.getAttribute('data-state'), LIVE).toBe('RUNNING');
    // Its detail opens with its usage history (the leader's samples), hour by default.
    const chart = page.locator('figure.chart.history');
    await expect.poll(() => chart.getAttribute('data-range'), LIVE).toBe('HOUR');
    expect(await chart.locator('figcaption').textContent()).toContain('CPU % · memory');
    await ui.screenshot('real-03-container-running');

    const docker = dockerFor(engine);
    const [found] = await docker.listContainers({ all: true, filters: { name: [name] } });
    expect(found).toBeDefined();
    const urlBefore = page.url();
    await docker.getContainer(found!.Id).stop();
    await expect.poll(() => row.getAttribute('data-state'), LIVE).toBe('EXITED');
    expect(page.url()).toBe(urlBefore);
    await ui.screenshot('real-04-container-stopped-on-engine');
  });

  it('creates a service of 3 and scales it to 5', async () => {
    const { page } = ui;
    const name = `uim${suffix}`;
    await createService(page, { name, instances: 3, image: env.image, command: IDLE_COMMAND });

    const running = page.locator(`[data-meta="${name}"] [data-testid="meta-running"]`);
    await expect.poll(() => running.textContent(), LIVE).toBe('3 of 3 running');
    await ui.screenshot('real-05-service-3');

    const scale = page.getByRole('form', { name: `Scale ${name}` });
    await scale.getByLabel('Instances', { exact: true }).fill('5');
    await scale.getByRole('button', { name: 'Scale' }).click();
    await expect.poll(() => running.textContent(), LIVE).toBe('5 of 5 running');
    await expect
      .poll(() => page.locator(`[data-meta="${name}"] tbody tr[data-state="RUNNING"]`).count(), LIVE)
      .toBe(5);
    await ui.screenshot('real-06-service-scaled-to-5');
  });

  it('says why a service cannot run (an image its registry cannot give)', async () => {
    const { page } = ui;
    const name = `uif${suffix}`;
    await createService(page, { name, instances: 1, image: '127.0.0.1:1/hb/missing:1' });
    const failure = page.locator(`[data-meta="${name}"] [data-testid="meta-failure"]`);
    await expect.poll(() => failure.textContent(), LIVE).toMatch(/127\.0\.0\.1:1\/hb\/missing:1.*registry/);
    await ui.screenshot('real-07-service-failure');
  });

  it('shows the dashboard, nodes and audit log of the real system', async () => {
    const { page } = ui;
    for (const [path, heading] of [
      ['dashboard', 'Dashboard'],
      ['nodes', 'Nodes'],
      ['images', 'Images'],
      ['users', 'Users'],
      ['audit', 'Audit log'],
    ] as const) {
      await page.goto(`${baseUrl}/#/${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      expect(await page.getByRole('alert').count()).toBe(0);
      await ui.screenshot(`real-08-${path}`);
    }
    // A node's images, as its engine has them.
    await page.goto(`${baseUrl}/#/images`);
    const n1 = engineNamed(env, 'n1');
    await page.getByLabel('Node').selectOption(await optionValue(page, 'Node', `(${n1.ip})`));
    await page.getByText(env.imageV2).first().waitFor({ timeout: 30_000 });
    expect(await page.getByRole('alert').count()).toBe(0);
    await ui.screenshot('real-09-images-of-n1');

    // The containers page searches names and images on the gateway.
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByLabel('Name or image').fill(`uim${suffix}`);
    const rows = page.locator('table[aria-label="Containers"] tbody tr');
    await expect.poll(() => rows.count(), LIVE).toBe(5);
    const names = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-container') ?? ''));
    expect(names.every((n) => n.includes(`uim${suffix}`))).toBe(true);
    await ui.screenshot('real-10-containers-search');

    // The dashboard's counts are the engines' own.
    let running = 0;
    let all = 0;
    for (const name of ['n1', 'n2', 'n3']) {
      const list = await dockerFor(engineNamed(env, name)).listContainers({ all: true });
      all += list.length;
      running += list.filter((c) => c.State === 'running').length;
    }
    expect(running).toBeGreaterThan(0);
    await page.goto(`${baseUrl}/#/dashboard`);
    const counts = page.getByTestId('container-counts');
    await expect
      .poll(() => counts.locator('[data-state="RUNNING"]').textContent(), LIVE)
      .toBe(String(running));
    await expect(page.getByRole('heading', { name: `Containers (${all})` }).count()).resolves.toBe(1);
  });
  it('lets admins give a group host paths; its owner sees servers and nodes but may not change them', async () => {
    const { page } = ui;
    const group = `ui-single-${suffix}`;
    const user = `ulla${suffix}`;
    const api = new TestClient(gateway.url);
    await api.login();
    await api.request(
      'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
      { u: user },
    );

    // As the admin: host paths and the new owner, through the group's card.
    await page.goto(`${baseUrl}/#/groups`);
    const card = page.locator(`[data-group="${group}"]`);
    await card.getByRole('button', { name: 'Edit host paths' }).click();
    await card.getByLabel(/^Allowed host directories/).fill('/srv/ui-data');
    await card.getByRole('button', { name: 'Save host paths' }).click();
    await card
      .getByRole('list', { name: `Host paths of ${group}` })
      .getByText('/srv/ui-data')
      .waitFor();
    await card.getByLabel(/^New owners/).fill(user);
    await card.getByRole('button', { name: 'Save owners' }).click();
    await card.getByText(user, { exact: true }).waitFor();
    await ui.screenshot('real-11-admin-group-host-paths');

    // As the owner: the servers with their status, no way to change them or the host paths.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, baseUrl, user, 'password-123');
    await page.goto(`${baseUrl}/#/groups`);
    await expect.poll(() => card.getByText('HEALTHY').count(), LIVE).toBe(1);
    await card.getByText('/srv/ui-data').waitFor();
    expect(await card.getByLabel('Add server').count()).toBe(0);
    expect(await card.getByRole('button', { name: /^Remove server/ }).count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Edit host paths' }).count()).toBe(0);
    expect(await page.locator('[data-group]').count()).toBe(1);
    await page.getByText('Create a group').click();
    await page.getByText('An administrator adds the group’s servers.').waitFor();
    expect(
      await page
        .getByRole('form', { name: 'Create a group' })
        .getByLabel(/^Servers/)
        .count(),
    ).toBe(0);
    await ui.screenshot('real-12-owner-groups');

    await page.goto(`${baseUrl}/#/nodes`);
    await page.getByRole('heading', { name: 'Nodes', exact: true }).waitFor();
    await page.getByText(engineNamed(env, 'n1').ip).first().waitFor();
    expect(await page.getByRole('button', { name: 'Edit labels' }).count()).toBe(0);

    // A container on the host's network is an admin's: the form says why it is refused.
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form
      .getByLabel('Node')
      .selectOption(await optionValue(form, 'Node', `(${engineNamed(env, 'n1').ip})`));
    await form.getByLabel('Name', { exact: true }).fill(`ui-host-${suffix}`);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel(/^Network mode/).fill('host');
    await form.getByRole('button', { name: 'Create and start' }).click();
    const refusal = form.locator('[role="alert"][data-code="FORBIDDEN"]');
    await expect.poll(() => refusal.textContent(), LIVE).toMatch(/only admins may: config\.networkMode/);
    await ui.screenshot('real-13-owner-policy-refusal');
    expect(
      await dockerFor(engineNamed(env, 'n1')).listContainers({
        all: true,
        filters: { name: [`ui-host-${suffix}`] },
      }),
    ).toEqual([]);
    await api.close();
  });
});
