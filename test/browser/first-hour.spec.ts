import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { engineNamed, testEnvFile, type TestEnv } from '../helpers/test-env.js';
import { ADMIN_PASSWORD } from '../integration/gateway-harness.js';
import { signIn, type UiBrowser } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

/** The one browser global these tests read (the repo's tsconfig has no DOM lib). */
type BrowserWindow = { getComputedStyle(el: unknown): { whiteSpace: string; wordBreak: string } };

const IDLE_COMMAND = `sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"`;

/** The rough edges of a new operator's first hour (issue 15), against a real gateway and agents. */
describe.skipIf(!existsSync(testEnvFile))('the first hour in the web UI', () => {
  let real: RealUi;
  let env: TestEnv;
  let baseUrl: string;
  let ui: UiBrowser;
  let suffix: string;

  beforeAll(async () => {
    real = await startRealUi();
    ({ env, baseUrl, ui, suffix } = real);
  });

  afterEach(() => {
    expect(ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
  });

  it('titles the login page "Sign in", not "Dashboard"', async () => {
    await ui.page.goto(`${baseUrl}/`);
    await ui.page.getByRole('heading', { name: 'Sign in to Humpback' }).waitFor();
    expect(await ui.page.title()).toBe('Sign in · Humpback');
    await signIn(ui.page, baseUrl, 'admin', ADMIN_PASSWORD);
    expect(await ui.page.title()).toBe('Dashboard · Humpback');
  });

  it('creates a one-node group and a one-node cluster group', async () => {
    const { page } = ui;
    const create = async (name: string, server: string, cluster: boolean) => {
      await page.goto(`${baseUrl}/#/groups`);
      const form = page.getByRole('form', { name: 'Create a group' });
      if (!(await form.isVisible())) await page.getByText('Create a group').click();
      await form.getByLabel('Name', { exact: true }).fill(name);
      await form.getByLabel(/^Servers/).fill(server);
      if (cluster) await form.getByLabel(/Cluster mode/).check();
      await form.getByRole('button', { name: 'Create group' }).click();
      await page.getByRole('heading', { name, exact: true }).waitFor();
    };
    await create(`fh-single-${suffix}`, real.agents[0]!.address, false);
    await create(`fh-cluster-${suffix}`, real.agents[1]!.address, true);
    const card = page.locator(`[data-group="fh-cluster-${suffix}"]`);
    await expect.poll(() => card.getByText('HEALTHY').count(), LIVE).toBe(1);
  });

  it("preselects a group's only node; shows the image unbroken and a relative creation time", async () => {
    const { page } = ui;
    const name = `fh-c-${suffix}`;
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByLabel('Group').selectOption(await optionValue(page, 'Group', `fh-single-${suffix}`));
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    const n1 = await optionValue(form, 'Node', `(${engineNamed(env, 'n1').ip})`);
    await expect.poll(() => form.getByLabel('Node').inputValue(), LIVE).toBe(n1);
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel('Command').fill(IDLE_COMMAND);
    await form.getByLabel(/^Network mode/).fill('none');
    await form.getByRole('button', { name: 'Create and start' }).click();

    const row = page.locator(`tr[data-container="${name}"]`);
    await expect.poll(() => row.getAttribute('data-state'), LIVE).toBe('RUNNING');
    const image = row.locator('code.image-name');
    expect(await image.textContent()).toBe(env.image);
    const style = (prop: 'whiteSpace' | 'wordBreak') =>
      image.evaluate((el, p) => (globalThis as unknown as BrowserWindow).getComputedStyle(el)[p], prop);
    expect(await style('whiteSpace')).toBe('nowrap');
    expect(await style('wordBreak')).toBe('normal');
    await expect.poll(() => row.locator('time').textContent(), LIVE).toMatch(/^(just now|\d+ s ago)$/);
    await ui.screenshot('first-hour-01-container');
  });

  it('names the service and a current relative time in the dashboard events; remembers the group', async () => {
    const { page } = ui;
    const dash = await page.context().newPage();
    try {
      await dash.clock.install();
      await dash.goto(`${baseUrl}/#/`);
      await dash.getByRole('heading', { name: 'Dashboard' }).waitFor();

      const name = `fhm${suffix}`;
      await page.goto(`${baseUrl}/#/metas`);
      // The only cluster group is chosen without asking.
      const clusterId = await optionValue(page, 'Cluster group', `fh-cluster-${suffix}`);
      await expect.poll(() => page.getByLabel('Cluster group').inputValue(), LIVE).toBe(clusterId);
      await page.getByRole('button', { name: 'Create service' }).click();
      const form = page.getByRole('form', { name: 'Create a service' });
      await form.getByLabel('Instances', { exact: true }).fill('1');
      await form.getByLabel('Name', { exact: true }).fill(name);
      await form.getByLabel('Image').fill(env.image);
      await form.getByLabel('Command').fill(IDLE_COMMAND);
      await form.getByLabel(/^Network mode/).fill('none');
      await form.getByRole('button', { name: 'Create service' }).click();
      await page.locator(`[data-meta="${name}"]`).waitFor();

      const event = dash.locator('ol.events li').first();
      await expect.poll(() => event.textContent(), LIVE).toContain(name);
      const text = (await event.textContent()) ?? '';
      expect(text).not.toMatch(/\d{13,}/);
      expect(await event.locator('time').textContent()).toMatch(/^(just now|\d+ s ago)$/);
      await dash.clock.fastForward('05:00');
      await expect.poll(() => event.locator('time').textContent(), LIVE).toBe('5 min ago');
      await dash.screenshot({
        path: `${process.cwd()}/test-results/screenshots/first-hour-02-dashboard.png`,
      });

      // Away and back through the menu: the services page is on the same group.
      await page.goto(`${baseUrl}/#/containers`);
      await page.goto(`${baseUrl}/#/metas`);
      await expect
        .poll(() => new URL(page.url()).hash, LIVE)
        .toBe(`#/metas?groupId=${encodeURIComponent(clusterId)}`);
      await page.locator(`[data-meta="${name}"]`).waitFor();
    } finally {
      await dash.close();
    }
  });

  it('shows every bad field of a form at once', async () => {
    const { page } = ui;
    await page.goto(`${baseUrl}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form
      .getByLabel('Node')
      .selectOption(await optionValue(form, 'Node', `(${engineNamed(env, 'n2').ip})`));
    await form.getByLabel('Name', { exact: true }).fill(`fh-bad-${suffix}`);
    await form.getByLabel('Image').fill(env.image);
    await form.getByLabel(/^Ports/).fill('80:x\n8080');
    await form.getByLabel(/^Volumes/).fill('/only-one-path');
    await form.getByRole('button', { name: 'Create and start' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('p').allTextContents()).toEqual([
      'Port "80:x" should look like 8080, 80:8080 or 0:53/udp',
      'Volume "/only-one-path" should look like /host/path:/container/path[:ro], name:/path or nfs://server/export:/path',
    ]);
    await ui.screenshot('first-hour-03-all-errors');
  });

  it('says why a node is UNHEALTHY', async () => {
    const { page } = ui;
    await page.goto(`${baseUrl}/#/nodes`);
    const card = page.locator('article[data-node]', { hasText: `${engineNamed(env, 'n1').ip} ·` });
    await expect.poll(() => card.getByText('HEALTHY', { exact: true }).count(), LIVE).toBe(1);
    expect(await card.getByTestId('status-reason').count()).toBe(0);
    await real.agents[0]!.close();
    await expect.poll(() => card.getByText('UNHEALTHY', { exact: true }).count(), LIVE).toBe(1);
    expect(await card.getByTestId('status-reason').textContent()).toMatch(
      /^\d+ checks failed in a row, the last: .+/,
    );
    await ui.screenshot('first-hour-04-unhealthy');
  });
});
