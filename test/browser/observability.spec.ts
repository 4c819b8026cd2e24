import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testEnvFile } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient, healthyNodes } from '../integration/gateway-harness.js';
import { signIn } from './browser.js';
import { LIVE, startRealUi, type RealUi } from './real-gateway.js';

/**
 * Usage history charts and the notifications page in Debian's Chromium, against a real gateway whose
 * leader records the real engines' usage every 10 s.
 */
describe.skipIf(!existsSync(testEnvFile))('observability UI', () => {
  let real: RealUi;

  beforeAll(async () => {
    real = await startRealUi();
    const client = new TestClient(real.gateway.url);
    await client.login();
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `ui-obs-${real.suffix}`, clusterMode: false, servers: [real.agents[0]!.address] } },
    );
    await healthyNodes(client, createGroup.id);
    await signIn(real.ui.page, real.baseUrl, 'admin', ADMIN_PASSWORD);
  });

  afterEach(() => {
    expect(real.ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
  });

  it("charts a node's history with time axes, per range", async () => {
    const { page } = real.ui;
    await page.goto(`${real.baseUrl}/#/nodes`);
    const chart = page.locator('[data-node] figure.history').first();
    await chart.waitFor();
    // A line once the gateway has recorded a sample (it samples every 10 s).
    await expect
      .poll(async () => (await chart.locator('path.line-cpu').getAttribute('d')) ?? '', LIVE)
      .toMatch(/^M/);
    const svg = chart.getByRole('img');
    expect(await svg.getAttribute('aria-label')).toBe('CPU and memory over the last hour');
    // Five time labels (hh:mm), CPU percentages on the left, bytes on the right.
    const times = await chart.locator('text.time').allTextContents();
    expect(times).toHaveLength(5);
    for (const t of times) expect(t).toMatch(/\d{1,2}:\d{2}/);
    expect(await chart.locator('text.cpu').allTextContents()).toContain('0%');
    expect((await chart.locator('text.mem').allTextContents()).some((t) => /B$/.test(t))).toBe(true);
    await real.ui.screenshot('obs-01-node-hour');

    await chart.getByRole('button', { name: 'Week' }).click();
    await expect.poll(() => chart.getAttribute('data-range'), LIVE).toBe('WEEK');
    expect(await svg.getAttribute('aria-label')).toBe('CPU and memory over the last week');
    const week = await chart.locator('text.time').allTextContents();
    expect(week).toHaveLength(5);
    expect(week[0]).not.toBe(times[0]);
    await real.ui.screenshot('obs-02-node-week');
  });

  it('adds and removes a notification channel', async () => {
    const { page } = real.ui;
    await page.goto(`${real.baseUrl}/#/notifications`);
    const form = page.getByRole('form', { name: 'Add a channel' });
    await form.getByLabel('Email address').fill(`ops-${real.suffix}@example.com`);
    await form.getByLabel('Migration').check();
    await form.getByRole('button', { name: 'Add channel' }).click();
    const row = page.locator(`tr[data-channel="ops-${real.suffix}@example.com"]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual([
      'email',
      `ops-${real.suffix}@example.com`,
      'Node down, Node up, Migration',
      'Remove',
    ]);
    await real.ui.screenshot('obs-03-notifications');
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
  });
});
