import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dockerFor, engineNamed, loadTestEnv, testEnvFile } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient } from '../integration/gateway-harness.js';
import { signIn } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

/** The files of a tar on disk: path → sha256. */
async function tarFiles(path: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (c: unknown) => hash.update(c as Uint8Array));
    stream.on('end', () => {
      if (header.type === 'file') files[header.name.replace(/^\.\//, '')] = hash.digest('hex');
      next();
    });
  });
  await pipeline(createReadStream(path), extract);
  return files;
}

/** The Volumes page in Chromium against a real gateway and agents: create, use, download. */
describe.skipIf(!existsSync(testEnvFile))('volumes in the web UI', () => {
  let real: RealUi;

  beforeAll(async () => {
    real = await startRealUi({ agentEnv: { HUMPBACK_HELPER_IMAGE: loadTestEnv().image } });
  });

  afterEach(() => {
    expect(real.ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    if (real) {
      const docker = dockerFor(engineNamed(real.env, 'n1'));
      await real.close();
      const vols = (await docker.listVolumes()).Volumes ?? [];
      for (const v of vols.filter((v) => v.Name.includes(real.suffix)))
        await docker
          .getVolume(v.Name)
          .remove({ force: true })
          .catch(() => undefined);
    }
  });

  it('creates a volume, runs a container using it, downloads it and restores the tar into another', async () => {
    const { page } = real.ui;
    const { env, baseUrl, suffix } = real;
    const admin = new TestClient(real.gateway.url);
    await admin.login();
    await admin.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
      input: { name: `ui-vol-${suffix}`, clusterMode: false, servers: [real.agents[0]!.address] },
    });
    await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD);
    const n1 = engineNamed(env, 'n1');
    const volume = `ui-vol-${suffix}`;

    await page.goto(`${baseUrl}/#/volumes`);
    await page.getByLabel('Node').selectOption(await optionValue(page, 'Node', `(${n1.ip})`));
    const create = page.getByRole('form', { name: 'Create a volume' });
    await create.getByLabel('Volume name').fill(volume);
    await create.getByRole('button', { name: 'Create volume' }).click();
    const row = page.getByRole('row').filter({ hasText: volume });
    await expect.poll(() => row.textContent(), LIVE).toContain('not in use');

    const name = `ui-vol-c-${suffix}`;
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form.getByLabel('Node').selectOption(await optionValue(form, 'Node', `(${n1.ip})`));
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Image').fill(env.image);
    await form
      .getByLabel('Command')
      .fill(`sh -c "echo from-the-ui > /data/hello.txt; trap 'exit 0' TERM; while true; do sleep 1; done"`);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByLabel('Named volume').selectOption(await optionValue(form, 'Named volume', volume));
    await form.getByRole('button', { name: 'Add volume' }).click();
    await expect.poll(() => form.getByLabel(/^Volumes/).inputValue()).toBe(`${volume}:/data`);
    await form.getByRole('button', { name: 'Create and start' }).click();
    await expect
      .poll(() => page.locator(`tr[data-container="${name}"]`).getAttribute('data-state'), LIVE)
      .toBe('RUNNING');

    await page.goto(
      `${baseUrl}/#/volumes?nodeId=${encodeURIComponent(await optionValue(page, 'Node', `(${n1.ip})`))}`,
    );
    await expect.poll(() => row.textContent(), LIVE).toContain(name);
    await real.ui.screenshot('volumes-01-in-use');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `download volume ${volume}` }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${volume}.tar`);
    const saved = await download.path();
    const files = { 'hello.txt': createHash('sha256').update('from-the-ui\n').digest('hex') };
    expect(await tarFiles(saved)).toEqual(files);

    // Restore: the downloaded tar into a new, empty volume, which then downloads the same files.
    const copy = `ui-vol-copy-${suffix}`;
    await admin.request(
      'mutation($n: ID!, $i: CreateVolumeInput!) { createVolume(nodeId: $n, input: $i) { name } }',
      {
        n: await optionValue(page, 'Node', `(${n1.ip})`),
        i: { name: copy },
      },
    );
    await page.reload();
    await page.getByLabel(`tar to restore into volume ${copy}`).setInputFiles(saved);
    await expect
      .poll(() => page.getByRole('status', { name: 'Restore result' }).textContent(), LIVE)
      .toContain(`into ${copy}`);
    await real.ui.screenshot('volumes-02-restored');
    const [again] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `download volume ${copy}` }).click(),
    ]);
    expect(await tarFiles(await again.path())).toEqual(files);
    await admin.close();
  });
});
