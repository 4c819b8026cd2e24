import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchUi, signIn, type UiBrowser } from './browser.js';
import { startMockGateway, type MockGateway } from './mock-gateway.js';

/**
 * Every page of the UI against an in-memory gateway with the real schema: fast, no Docker. The
 * end-to-end proof against a real gateway and engines is ui.spec.ts.
 */
describe('web UI pages (mock gateway)', () => {
  const password = 'mock-password-1';
  let gateway: MockGateway;
  let ui: UiBrowser;

  beforeAll(async () => {
    gateway = await startMockGateway({ password });
    ui = await launchUi();
  });
  afterEach(() => {
    expect(ui.consoleErrors).toEqual([]);
  });
  afterAll(async () => {
    await ui?.close();
    await gateway?.close();
  });

  it('explains a failed login in plain words, then signs in', async () => {
    const { page } = ui;
    await page.goto(`${gateway.url}/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent(), { timeout: 15_000 })
      .toContain('Wrong username or password');
    await ui.screenshot('mock-01-login-error');
    await signIn(page, gateway.url, 'admin', password);
    await ui.screenshot('mock-02-dashboard');
  });

  it('creates a cluster group with servers', async () => {
    const { page } = ui;
    await page.goto(`${gateway.url}/#/groups`);
    await page.getByText('Create a group').click();
    const form = page.getByRole('form', { name: 'Create a group' });
    await form.getByLabel('Name', { exact: true }).fill('web');
    await form.getByLabel(/^Servers/).fill('10.77.0.11\n10.77.0.12');
    await form.getByLabel(/Cluster mode/).check();
    await form.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { name: 'web', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Turn cluster mode off' }).click();
    await page.getByRole('dialog').getByText('The group has no services').waitFor();
    await ui.screenshot('mock-03-groups-confirm');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await ui.screenshot('mock-04-groups');
  });

  it('creates a container, sees it run, and sees an engine-side stop without reload', async () => {
    const { page } = ui;
    await page.goto(`${gateway.url}/#/containers`);
    await page.getByRole('button', { name: 'Create container' }).click();
    const form = page.getByRole('form', { name: 'Create a container' });
    await form.getByLabel('Node').selectOption({ label: 'n1 (10.77.0.11) · healthy' });
    await form.getByLabel('Name', { exact: true }).fill('hello');
    await form.getByLabel('Image').fill('humpback-test/busybox:latest');
    await form.getByLabel('Command').fill('sleep 3600');
    await form.getByLabel('Ports').fill('0:8080');
    await ui.screenshot('mock-05-container-form');
    await form.getByRole('button', { name: 'Create and start' }).click();
    const row = page.locator('tr[data-container="hello"]');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('RUNNING');
    await ui.screenshot('mock-06-container-running');
    gateway.setContainerState('hello', 'EXITED');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 15_000 }).toBe('EXITED');
    await ui.screenshot('mock-07-container-exited');
  });

  it('creates a service of 3 and scales it to 5', async () => {
    const { page } = ui;
    await page.goto(`${gateway.url}/#/metas`);
    await page.getByLabel('Cluster group').selectOption({ label: 'web' });
    await page.getByRole('button', { name: 'Create service' }).click();
    const form = page.getByRole('form', { name: 'Create a service' });
    await form.getByLabel('Instances', { exact: true }).fill('3');
    await form.getByLabel('Name', { exact: true }).fill('api');
    await form.getByLabel('Image').fill('humpback-test/busybox:latest');
    await form.getByLabel('Command').fill('sleep 3600');
    await form.getByLabel(/Constraints/).fill('node.labels.zone!=b');
    await form.getByRole('button', { name: 'Create service' }).click();
    const running = page.locator('[data-meta="api"] [data-testid="meta-running"]');
    await expect.poll(() => running.textContent(), { timeout: 15_000 }).toBe('3 of 3 running');
    const scale = page.getByRole('form', { name: 'Scale api' });
    await scale.getByLabel('Instances', { exact: true }).fill('5');
    await scale.getByRole('button', { name: 'Scale' }).click();
    await expect.poll(() => running.textContent(), { timeout: 15_000 }).toBe('5 of 5 running');
    await ui.screenshot('mock-08-service-scaled');
  });

  it('shows the other pages', async () => {
    const { page } = ui;
    for (const [path, heading] of [
      ['dashboard', 'Dashboard'],
      ['nodes', 'Nodes'],
      ['images?nodeId=node-1', 'Images'],
      ['registries', 'Registries'],
      ['audit', 'Audit log'],
      ['users', 'Users'],
    ] as const) {
      await page.goto(`${gateway.url}/#/${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      expect(await page.getByRole('alert').count()).toBe(0);
      await ui.screenshot(`mock-09-${path.split('?')[0]}`);
    }
    await page.setViewportSize({ width: 390, height: 800 });
    await page.goto(`${gateway.url}/#/containers`);
    await page.locator('tr[data-container="hello"]').waitFor();
    await ui.screenshot('mock-10-narrow-containers');
    await page.getByRole('button', { name: 'Menu' }).click();
    await ui.screenshot('mock-11-narrow-menu');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('goes back to the sign-in page when the session expires while it only listens', async () => {
    const { page } = ui;
    await page.goto(`${gateway.url}/#/dashboard`);
    await page.getByRole('heading', { name: 'Dashboard', exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
    gateway.expireSessions();
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
    await ui.screenshot('mock-12-session-expired');
  });
});
