import { execFile } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dockerFor, engineNamed, testEnvFile } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TempDirs, TestClient } from '../integration/gateway-harness.js';
import { signIn } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

const run = promisify(execFile);

/** A Dockerfile tarball whose build prints step-1..step-5 a second apart (so its log is seen live). */
async function contextTar(tmp: TempDirs, base: string, suffix: string): Promise<string> {
  const dir = tmp.make('hb-ui-ctx-');
  await mkdir(path.join(dir, 'docker'));
  await writeFile(
    path.join(dir, 'docker', 'Dockerfile.ui'),
    `FROM ${base}\nARG GREETING\nRUN echo "build ${suffix}"; for i in 1 2 3 4 5; do echo "step-$i"; sleep 1; done\n` +
      `RUN echo "$GREETING" > /greeting\nCMD ["cat", "/greeting"]\n`,
  );
  const tar = path.join(tmp.make('hb-ui-tar-'), 'context.tar');
  await run('tar', ['-C', dir, '-cf', tar, '.']);
  return tar;
}

/** The Registries page and the Images page's build, live log and push, in Chromium on the real engines. */
describe.skipIf(!existsSync(testEnvFile))('registries and image builds in the web UI', () => {
  let real: RealUi;
  const tmp = new TempDirs();
  let image = '';
  let snapshot = '';

  beforeAll(async () => {
    real = await startRealUi();
  });

  afterEach(() => {
    expect(real.ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    if (real) {
      for (const i of [image, snapshot].filter(Boolean))
        await dockerFor(engineNamed(real.env, 'n1'))
          .getImage(i)
          .remove({ force: true })
          .catch(() => undefined);
      await real.close();
    }
    tmp.cleanup();
  });

  it('adds the registry (a wrong password first), builds a tarball with its log live, pushes it and browses the tag', async () => {
    const { page } = real.ui;
    const { env, baseUrl, suffix } = real;
    const reg = env.registry;
    const repo = `hbui/app-${suffix}`;
    image = `${reg.address}/${repo}:1`;
    const admin = new TestClient(real.gateway.url);
    await admin.login();
    await admin.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
      input: { name: `ui-img-${suffix}`, clusterMode: true, servers: [real.agents[0]!.address] },
    });
    await signIn(page, baseUrl, 'admin', ADMIN_PASSWORD);

    // The registry: the gateway's connection test refuses a wrong password and stores nothing.
    await page.goto(`${baseUrl}/#/registries`);
    await page.getByRole('button', { name: 'Add registry' }).click();
    const form = page.getByRole('form', { name: 'Add a registry' });
    await form.getByLabel('Registry name').fill('test registry');
    await form.getByLabel('Address').fill(reg.address);
    await form.getByLabel('Username').fill(reg.username);
    await form.getByLabel('Password').fill('wrong-password');
    await form.getByLabel(/Plain HTTP/).check();
    await form.getByRole('button', { name: 'Test and add' }).click();
    await expect
      .poll(() => form.getByRole('alert').textContent(), LIVE)
      .toContain(`${reg.address} refused the credentials`);
    await real.ui.screenshot('images-01-wrong-password');
    expect(await page.getByText('No registries yet.').isVisible()).toBe(true);
    await form.getByLabel('Password').fill(reg.password);
    await form.getByRole('button', { name: 'Test and add' }).click();
    const regRow = page
      .getByRole('table', { name: 'Registries' })
      .getByRole('row')
      .filter({ hasText: 'test registry' });
    await expect.poll(() => regRow.textContent(), LIVE).toContain(reg.address);
    expect(await regRow.textContent()).toContain('plain HTTP');
    expect(await form.count()).toBe(0);
    // Editing with a wrong password is refused the same way and keeps the stored credentials.
    await page.getByRole('button', { name: 'edit test registry' }).click();
    const edit = page.getByRole('form', { name: 'Edit registry test registry' });
    expect(await edit.getByLabel('Address').inputValue()).toBe(reg.address);
    await edit.getByLabel('Password').fill('wrong-again');
    await edit.getByRole('button', { name: 'Test and save' }).click();
    await expect.poll(() => edit.getByRole('alert').textContent(), LIVE).toContain('refused the credentials');
    await edit.getByRole('button', { name: 'Cancel' }).click();

    // Build on n1 from the tarball: the log shows the build's lines while the job runs.
    const n1 = engineNamed(env, 'n1');
    await page.goto(`${baseUrl}/#/images`);
    await page.getByLabel('Node').selectOption(await optionValue(page, 'Node', `(${n1.ip})`));
    await page.getByRole('button', { name: 'Build or load an image' }).click();
    const build = page.getByRole('form', { name: 'Build or load an image' });
    await build.getByLabel('File (.tar or .tar.gz)').setInputFiles(await contextTar(tmp, env.image, suffix));
    await build.getByLabel('Tag').fill(image);
    await build.getByLabel('Dockerfile path in the tarball').fill('docker/Dockerfile.ui');
    await build.getByLabel(/^Build arguments/).fill(`GREETING=hello-${suffix}`);
    await build.getByRole('button', { name: 'Upload and build' }).click();
    const job = page.getByRole('region', { name: `Job build ${image}` });
    const log = job.getByLabel('Job log');
    await expect
      .poll(async () => `${await job.locator('.badge').textContent()} ${await log.textContent()}`, LIVE)
      .toMatch(/^RUNNING [\s\S]*step-2/);
    await real.ui.screenshot('images-02-build-live');
    await expect
      .poll(() => job.locator('.badge').textContent(), { ...LIVE, timeout: 120_000 })
      .toBe('SUCCEEDED');
    expect(await log.textContent()).toContain('step-5');

    // Push it from the images table; its log ends SUCCEEDED.
    await page.getByRole('button', { name: `push image ${image}` }).click();
    const pushJob = page.getByRole('region', { name: `Job push ${image}` });
    await expect
      .poll(() => pushJob.locator('.badge').textContent(), { ...LIVE, timeout: 120_000 })
      .toBe('SUCCEEDED');
    await real.ui.screenshot('images-03-pushed');

    // The job history keeps both; a build's entry opens its stored log.
    const history = page.getByRole('table', { name: 'Image jobs' });
    await expect.poll(() => history.getByRole('row').count(), LIVE).toBe(3);
    expect(await history.getByRole('row').nth(1).textContent()).toContain('PUSH');
    await page.getByRole('button', { name: `log of build ${image}` }).click();
    await expect.poll(() => job.getByLabel('Job log').textContent(), LIVE).toContain(`build ${suffix}`);

    // The registry page shows the tag with the digest the engine pushed.
    const inspect = await dockerFor(n1).getImage(image).inspect();
    const digest = (inspect.RepoDigests ?? [])
      .find((d) => d.startsWith(`${reg.address}/${repo}@`))
      ?.split('@')[1];
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await page.goto(`${baseUrl}/#/registries`);
    await page.getByRole('button', { name: 'browse test registry' }).click();
    await page.getByLabel('Search repositories').fill(`app-${suffix}`);
    const tagRow = page.locator(`tr[data-tag="${repo}:1"]`);
    await expect.poll(() => tagRow.locator('code').getAttribute('title'), LIVE).toBe(digest);
    expect(await tagRow.textContent()).toContain(digest!.slice(7, 19));
    await real.ui.screenshot('images-04-registry-tag');

    // Deploy: the container form opens with the image filled in.
    await page.getByRole('button', { name: `deploy ${repo}:1 as a container` }).click();
    const deploy = page.getByRole('form', { name: 'Create a container' });
    expect(await deploy.getByLabel('Image').inputValue()).toBe(image);
    // ... and as a service: the service form of the chosen cluster group, the image filled in.
    await page.getByRole('button', { name: `deploy ${repo}:1 as a service` }).click();
    const region = page.getByRole('region', { name: `Deploy ${image}` });
    await region
      .getByLabel('Cluster group')
      .selectOption(await optionValue(region, 'Cluster group', `ui-img-${suffix}`));
    const service = page.getByRole('form', { name: 'Create a service' });
    expect(await service.getByLabel('Image').inputValue()).toBe(image);
    await real.ui.screenshot('images-05-deploy-service');
    await region.getByRole('button', { name: 'Close' }).click();

    // Pull it back on n1 (gone from the engine first, so the pull is real): a PULL job with its log live.
    await dockerFor(n1).getImage(image).remove({ force: true });
    await page.goto(`${baseUrl}/#/images`);
    await page.getByLabel('Node').selectOption(await optionValue(page, 'Node', `(${n1.ip})`));
    const images = page.getByRole('table', { name: 'Images' });
    await expect.poll(() => images.getByRole('row').count(), LIVE).toBeGreaterThan(1);
    expect(await images.textContent()).not.toContain(image);
    const pull = page.getByRole('form', { name: 'Pull an image' });
    await pull.getByLabel('Image to pull').fill(image);
    await pull.getByRole('button', { name: 'Pull' }).click();
    const pullJob = page.getByRole('region', { name: `Job pull ${image}` });
    await expect
      .poll(() => pullJob.locator('.badge').textContent(), { ...LIVE, timeout: 120_000 })
      .toBe('SUCCEEDED');
    const pullLog = await pullJob.getByLabel('Job log').textContent();
    expect(pullLog).toContain(`Pulling from ${repo}`);
    expect(pullLog).toContain(`Status: Downloaded newer image for ${image}`);
    expect(await pull.getByLabel('Image to pull').inputValue()).toBe('');
    await expect.poll(() => images.textContent(), LIVE).toContain(image);
    expect(await history.getByRole('row').nth(1).textContent()).toContain('PULL');
    await real.ui.screenshot('images-08-pulled');
    await page.goto(`${baseUrl}/#/registries`);
    await page.getByRole('button', { name: 'browse test registry' }).click();
    await page.getByLabel('Search repositories').fill(`app-${suffix}`);

    // Delete the tag (confirmed): the registry no longer lists it.
    await page.getByRole('button', { name: `delete tag ${repo}:1` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete tag' }).click();
    await expect.poll(() => tagRow.count(), LIVE).toBe(0);
    const left = await admin.request<{ registryRepositories: Array<{ name: string; tags: unknown[] }> }>(
      'query($r: ID!, $s: String) { registryRepositories(registryId: $r, search: $s) { name tags { name } } }',
      {
        r: (await admin.request<{ registries: Array<{ id: string }> }>('{ registries { id } }'))
          .registries[0]!.id,
        s: repo,
      },
    );
    expect(left.registryRepositories.flatMap((r) => r.tags)).toEqual([]);

    // Removing the registry forgets it (nothing in the registry is deleted).
    await page.getByRole('button', { name: 'remove registry test registry' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove registry' }).click();
    await page.getByText('No registries yet.').waitFor({ timeout: LIVE.timeout });
    await admin.close();
  });

  it("commits a container from the containers page as an image, with the job's log", async () => {
    const { page } = real.ui;
    const { env, baseUrl, suffix } = real;
    const n1 = engineNamed(env, 'n1');
    snapshot = `hbui-snap-${suffix}:1`;
    const name = `ui-commit-${suffix}`;
    const admin = new TestClient(real.gateway.url);
    await admin.login();
    const { nodes } = await admin.request<{ nodes: Array<{ id: string; ip: string }> }>(
      '{ nodes { id ip } }',
    );
    await admin.request(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: nodes.find((n) => n.ip === n1.ip)!.id,
        c: { name, image: env.image, command: ['sleep', '3600'], networkMode: 'none' },
      },
    );
    await page.goto(`${baseUrl}/#/containers`);
    await page.locator(`tr[data-container="${name}"]`).waitFor({ timeout: LIVE.timeout });
    await page.getByRole('button', { name: `commit ${name}` }).click();
    const dialog = page.getByRole('dialog', { name: `Commit container ${name} as an image` });
    await dialog.getByLabel('Image tag').fill(snapshot);
    await dialog.getByRole('button', { name: 'Commit' }).click();
    const job = dialog.getByRole('region', { name: `Job commit ${snapshot}` });
    await expect.poll(() => job.locator('.badge').textContent(), LIVE).toBe('SUCCEEDED');
    await real.ui.screenshot('images-06-committed');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const tags = (await dockerFor(n1).getImage(snapshot).inspect()).RepoTags;
    expect(tags).toEqual([snapshot]);
    await admin.close();
  });

  it('loads a `docker save` tar from the build dialog and keeps the job in the history', async () => {
    const { page } = real.ui;
    const { env, baseUrl } = real;
    const n1 = engineNamed(env, 'n1');
    const saved = path.join(tmp.make('hb-ui-save-'), 'image.tar');
    await pipeline(
      (await dockerFor(n1).getImage(env.image).get()) as NodeJS.ReadableStream,
      createWriteStream(saved),
    );
    await page.goto(`${baseUrl}/#/images`);
    await page.getByLabel('Node').selectOption(await optionValue(page, 'Node', `(${n1.ip})`));
    await page.getByRole('button', { name: 'Build or load an image' }).click();
    const form = page.getByRole('form', { name: 'Build or load an image' });
    await form.getByLabel(/docker save/).check();
    await form.getByLabel('File (.tar or .tar.gz)').setInputFiles(saved);
    await form.getByRole('button', { name: 'Upload and load' }).click();
    const job = page.getByRole('region', { name: /^Job load/ });
    await expect.poll(() => job.locator('.badge').textContent(), LIVE).toBe('SUCCEEDED');
    expect(await job.getByLabel('Job log').textContent()).toContain(env.image);
    const history = page.getByRole('table', { name: 'Image jobs' });
    await expect.poll(() => history.getByRole('row').nth(1).textContent(), LIVE).toContain('LOAD');
    await real.ui.screenshot('images-07-loaded');
  });
});
