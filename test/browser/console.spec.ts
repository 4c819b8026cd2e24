import { existsSync, readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dockerFor, engineNamed, testEnvFile, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient, healthyNodes } from '../integration/gateway-harness.js';
import { signIn, type UiBrowser } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

/** The lines an xterm.js terminal shows (its DOM renderer draws a row per div, spaces as nbsp). */
async function terminalLines(page: Page): Promise<string[]> {
  const rows = await page.locator('[data-testid="terminal"] .xterm-rows > div').allTextContents();
  return rows.map((r) => r.replace(/\u00a0/g, ' ').trimEnd());
}

/** Types a line into the console and waits for a row (after it) that `pattern` matches. */
async function run(page: Page, command: string, pattern: RegExp): Promise<RegExpExecArray> {
  await page.locator('[data-testid="terminal"] .xterm').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  let match: RegExpExecArray | null = null;
  await expect
    .poll(async () => {
      const lines = await terminalLines(page);
      const typed = lines.map((l) => l.endsWith(command)).lastIndexOf(true);
      match =
        typed < 0
          ? null
          : (lines
              .slice(typed + 1)
              .map((l) => pattern.exec(l))
              .find((m) => m) ?? null);
      return match !== null;
    }, LIVE)
    .toBe(true);
  return match!;
}

/**
 * The container page in Debian's Chromium against a real gateway and agents: full details with a
 * port allocated from publicPort 0, the new form fields, logs that follow live, the xterm.js console
 * over the exec WebSocket, rename and upgrade.
 */
describe.skipIf(!existsSync(testEnvFile))('the container page: details, live logs, console', () => {
  const portBase = 44000 + Math.floor(Math.random() * 400) * 4;
  let real: RealUi;
  let env: TestEnv;
  let ui: UiBrowser;
  let name: string;
  let detail: Locator;

  beforeAll(async () => {
    real = await startRealUi({ agentEnv: { DOCKER_CONTAINER_PORTS_RANGE: `${portBase}-${portBase + 3}` } });
    ({ env, ui } = real);
    name = `con-${real.suffix}`;
    const client = new TestClient(real.gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `ui-con-${real.suffix}`, clusterMode: false, servers: [real.agents[0]!.address] } },
    );
    await healthyNodes(client, createGroup.id);
    await client.close();
    await signIn(ui.page, real.baseUrl, 'admin', ADMIN_PASSWORD);
    detail = ui.page.locator('article.detail');
  });

  afterEach(() => {
    expect(ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
  });

  /** The container as its engine has it now. */
  async function inspect(containerName: string) {
    const docker = dockerFor(engineNamed(env, 'n1'));
    const [found] = await docker.listContainers({ all: true, filters: { name: [`^/${containerName}$`] } });
    return found ? docker.getContainer(found.Id).inspect() : undefined;
  }

  /** Prints a line on the container's own output, as its main process would. */
  async function print(line: string): Promise<void> {
    const info = await inspect(name);
    const exec = await dockerFor(engineNamed(env, 'n1'))
      .getContainer(info!.Id)
      .exec({ Cmd: ['sh', '-c', `echo ${line} > /proc/1/fd/1`] });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise((resolve) => stream.on('end', resolve).resume());
  }

  it('shows every bad ulimit, link, log option and shm size at once', async () => {
    const { page } = ui;
    await page.goto(`${real.baseUrl}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form.getByLabel('Name', { exact: true }).fill(`con-bad-${real.suffix}`);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel(/^Ulimits/).fill('nofile=4096:1024\nnproc');
    await form.getByLabel(/^Shared memory/).fill('lots');
    await form.getByLabel(/^Links/).fill('db alias');
    await form.getByLabel(/^Log options/).fill('max-size=10m\nmax-file');
    await form.getByRole('button', { name: 'Create and start' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('p').allTextContents()).toEqual([
      'Ulimit "nofile=4096:1024": the soft limit is above the hard one',
      'Ulimit "nproc" should look like nofile=1024:2048 (name=soft:hard, -1 for unlimited)',
      'Link "db alias" should look like name or name:alias',
      'Log option "max-file" should look like max-size=10m',
      'Log options need a log driver (e.g. json-file)',
      'Shared memory must be a whole number of MB above 0',
    ]);
    await ui.screenshot('console-01-form-errors');
    await page.getByRole('button', { name: 'Close the form' }).click();
  });

  it('creates a container with the new fields and shows its details, a port allocated from 0 among them', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form
      .getByLabel('Node')
      .selectOption(await optionValue(form, 'Node', `(${engineNamed(env, 'n1').ip})`));
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Image').fill(env.image);
    await form
      .getByLabel('Command')
      .fill(`sh -c "echo started-${real.suffix}; trap 'exit 0' TERM; while true; do sleep 1; done"`);
    await form.getByLabel(/^Environment/).fill('GREETING=hello');
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByLabel(/^Hostname/).fill('consolehost');
    await form.getByLabel(/^Ports/).fill('0:8080');
    await form.getByLabel(/^Ulimits/).fill('nofile=1024:2048');
    await form.getByLabel(/^Shared memory/).fill('32');
    await form.getByLabel(/^Log driver/).fill('json-file');
    await form.getByLabel(/^Log options/).fill('max-size=10m');
    await form.getByRole('button', { name: 'Create and start' }).click();

    await expect.poll(() => detail.getAttribute('data-detail'), LIVE).toBe(name);
    const ports = detail.getByRole('list', { name: 'Ports' });
    await ports.waitFor({ timeout: LIVE.timeout });
    const [port] = await ports.locator('li').allTextContents();
    const published = Number(/^(\d+) → 8080\/tcp$/.exec(port ?? '')?.[1]);
    expect(published).toBeGreaterThanOrEqual(portBase);
    expect(published).toBeLessThanOrEqual(portBase + 3);
    const info = (await inspect(name))!;
    expect(info.HostConfig.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '', HostPort: String(published) }],
    });
    expect(info.HostConfig.Ulimits).toEqual([{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    expect(info.HostConfig.ShmSize).toBe(32 * 2 ** 20);
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': '10m' } });

    const facts = detail.getByTestId('container-facts');
    const fact = (term: string) => facts.locator(`dt:text-is("${term}") + dd`).textContent();
    expect(await fact('Hostname')).toBe('consolehost');
    expect(await fact('Network mode')).toBe('none');
    expect(await fact('Restarts')).toBe('0');
    expect(await fact('Command')).toBe(
      `sh -c "echo started-${real.suffix}; trap 'exit 0' TERM; while true; do sleep 1; done"`,
    );
    expect(await fact('Mounts')).toBe('none');
    expect(await detail.getByRole('list', { name: 'Environment' }).locator('li').allTextContents()).toEqual(
      info.Config.Env,
    );
    expect(await facts.locator('dt:text-is("Exit code")').count()).toBe(0);
    await ui.screenshot('console-02-details');
  });

  it('follows the logs live: pause, resume, search and download', async () => {
    const { page } = ui;
    const logs = page.getByLabel('Container logs');
    await expect.poll(() => logs.textContent(), LIVE).toContain(`started-${real.suffix}`);
    expect(await page.getByTestId('log-state').textContent()).toBe('Following');

    await print(`late-one-${real.suffix}`);
    await expect.poll(() => logs.textContent(), LIVE).toContain(`late-one-${real.suffix}`);

    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await print(`late-two-${real.suffix}`);
    await expect.poll(() => page.getByTestId('log-state').textContent(), LIVE).toBe('Paused; 1 new line');
    expect(await logs.textContent()).not.toContain(`late-two-${real.suffix}`);
    await ui.screenshot('console-03-logs-paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => logs.textContent(), LIVE).toContain(`late-two-${real.suffix}`);

    await page.getByLabel('Search the logs').fill('LATE');
    expect(await logs.locator('.log-line').allTextContents()).toEqual([
      `late-one-${real.suffix}\n`,
      `late-two-${real.suffix}\n`,
    ]);
    expect(await page.getByTestId('log-matches').textContent()).toBe('2 of 3 lines match.');
    await ui.screenshot('console-04-logs-search');
    await page.getByLabel('Search the logs').fill('');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${name}.log`);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text.split('\n').map((l) => l.replace(/^\S+ /, ''))).toEqual([
      `started-${real.suffix}`,
      `late-one-${real.suffix}`,
      `late-two-${real.suffix}`,
      '',
    ]);
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z started-/);
  });

  it('runs a command in the console and resizes its terminal with the page', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Open console' }).click();
    await page.locator('[data-testid="terminal"] .xterm-rows').waitFor({ timeout: LIVE.timeout });
    await run(page, 'echo hello-$((6*7))', /^hello-42$/);
    await ui.screenshot('console-05-console');

    // The terminal is fitted to its box: the process sees as many rows as it shows, and fewer
    // columns once the page is narrower.
    const rows = await page.locator('[data-testid="terminal"] .xterm-rows > div').count();
    const before = await run(page, 'stty size', /^(\d+) (\d+)$/);
    expect(Number(before[1])).toBe(rows);
    await page.setViewportSize({ width: 900, height: 900 });
    await expect
      .poll(async () => Number((await run(page, 'stty size', /^(\d+) (\d+)$/))[2]), LIVE)
      .toBeLessThan(Number(before[2]));
    await page.setViewportSize({ width: 1280, height: 900 });

    await run(page, 'exit', /\[console ended \(exit 0\)\]/);
    await page.getByText('The console ended (exit 0).').waitFor();
    await ui.screenshot('console-06-console-ended');
  });

  it('creates a service whose instances have the ulimits, shm size and log driver of its form', async () => {
    const { page } = ui;
    const client = new TestClient(real.gateway.url);
    await client.login();
    const group = `ui-con-cluster-${real.suffix}`;
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: group, clusterMode: true, servers: [real.agents[1]!.address] } },
    );
    await healthyNodes(client, createGroup.id);
    await client.close();
    await page.goto(`${real.baseUrl}/#/metas`);
    await page.getByLabel('Cluster group').selectOption(await optionValue(page, 'Cluster group', group));
    await page.getByRole('button', { name: 'Create service' }).click();
    const form = page.getByRole('form', { name: 'Create a service' });
    const service = `conm${real.suffix}`;
    await form.getByLabel('Instances', { exact: true }).fill('1');
    await form.getByLabel('Name', { exact: true }).fill(service);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel('Command').fill(`sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"`);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByLabel(/^Ulimits/).fill('nproc=512:1024');
    await form.getByLabel(/^Shared memory/).fill('16');
    await form.getByLabel(/^Log driver/).fill('local');
    await form.getByRole('button', { name: 'Create service' }).click();
    const running = page.locator(`[data-meta="${service}"] [data-testid="meta-running"]`);
    await expect.poll(() => running.textContent(), LIVE).toBe('1 of 1 running');
    const docker = dockerFor(engineNamed(env, 'n2'));
    const [instance] = await docker.listContainers({ filters: { name: [service] } });
    const info = await docker.getContainer(instance!.Id).inspect();
    expect(info.HostConfig.Ulimits).toEqual([{ Name: 'nproc', Soft: 512, Hard: 1024 }]);
    expect(info.HostConfig.ShmSize).toBe(16 * 2 ** 20);
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'local', Config: {} });
    await ui.screenshot('console-09-service-limits');
    // Back to the container of the single-mode group.
    await page.goto(`${real.baseUrl}/#/containers?id=${(await inspect(name))!.Id}`);
    await expect.poll(() => detail.getAttribute('data-detail'), LIVE).toBe(name);
  });

  it('renames and upgrades the container from its page', async () => {
    const { page } = ui;
    const renamed = `${name}-renamed`;
    await detail.getByRole('button', { name: 'Rename', exact: true }).click();
    const rename = detail.getByRole('form', { name: `Rename ${name}` });
    await rename.getByLabel('New name').fill(renamed);
    await rename.getByRole('button', { name: 'Rename' }).click();
    await expect.poll(() => detail.getAttribute('data-detail'), LIVE).toBe(renamed);
    const before = (await inspect(renamed))!;
    expect(before.Config.Image).toBe(env.image);
    await ui.screenshot('console-07-renamed');

    await detail.getByRole('button', { name: 'Upgrade', exact: true }).click();
    const upgrade = detail.getByRole('form', { name: `Upgrade ${renamed}` });
    await upgrade.getByLabel(/^Image tag/).fill('v2');
    await upgrade.getByRole('button', { name: 'Upgrade' }).click();
    await expect.poll(() => detail.locator('code.image-name').textContent(), LIVE).toBe(env.imageV2);
    const after = (await inspect(renamed))!;
    expect(after.Id).not.toBe(before.Id);
    expect(after.Config.Image).toBe(env.imageV2);
    expect(after.HostConfig.Ulimits).toEqual(before.HostConfig.Ulimits);
    expect(new URL(page.url()).hash).toContain(`id=${after.Id}`);
    // The new container's own output, followed from its start.
    await expect
      .poll(() => page.getByLabel('Container logs').textContent(), LIVE)
      .toContain(`started-${real.suffix}`);
    await ui.screenshot('console-08-upgraded');
  });
});
