import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testEnvFile } from '../helpers/test-env.js';
import { ADMIN_PASSWORD, TestClient } from '../integration/gateway-harness.js';
import { signIn, type UiBrowser } from './browser.js';
import { LIVE, optionValue, startRealUi, type RealUi } from './real-gateway.js';

/** Accounts in the UI against a real gateway: API tokens, teams, a group's grants and public flag. */
describe.skipIf(!existsSync(testEnvFile))('accounts in the web UI', () => {
  let real: RealUi;
  let ui: UiBrowser;
  let baseUrl: string;
  let graphqlUrl: string;

  beforeAll(async () => {
    real = await startRealUi();
    ({ ui, baseUrl } = real);
    graphqlUrl = real.gateway.url;
    await signIn(ui.page, baseUrl, 'admin', ADMIN_PASSWORD);
  });

  afterEach(() => {
    expect(ui.consoleErrors).toEqual([]);
  });

  afterAll(async () => {
    await real?.close();
  });

  /** What a script with the token gets, as curl would: the `me` query over plain HTTP. */
  async function meWith(token: string): Promise<unknown> {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
    return body.errors ? body.errors.map((e) => e.extensions?.code) : body.data;
  }

  it('creates a token, shows it once, and refuses it once revoked', async () => {
    const { page } = ui;
    await page.goto(`${baseUrl}/#/account`);
    const form = page.getByRole('form', { name: 'Create an API token' });
    await form.getByLabel('Token name').fill('ci-from-ui');
    await form.getByLabel('Scope').selectOption('READ');
    await form.getByLabel(/^Expires in days/).fill('7');
    await form.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('new-token');
    await expect.poll(() => shown.textContent(), LIVE).toMatch(/^hbt_/);
    const token = (await shown.textContent())!;
    await ui.screenshot('accounts-01-token-created');
    expect(await meWith(token)).toEqual({ me: { id: 'admin' } });

    await page.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => shown.count(), LIVE).toBe(0);
    const row = page.getByRole('row', { name: /ci-from-ui/ });
    await expect.poll(() => row.textContent(), LIVE).toContain('READ');
    await page.getByRole('button', { name: 'revoke token ci-from-ui' }).click();
    await expect.poll(() => row.count(), LIVE).toBe(0);
    expect(await meWith(token)).toEqual(['UNAUTHENTICATED']);
    await ui.screenshot('accounts-02-token-revoked');
  });

  it('makes a team with a member and grants it a role on a public group', async () => {
    const { page } = ui;
    const admin = new TestClient(graphqlUrl);
    await admin.login();
    await admin.request(
      'mutation { createUser(input: { username: "tess", password: "password-123", admin: false }) { id } }',
    );
    await admin.request(`mutation { createGroup(input: { name: "acct-${real.suffix}" }) { id } }`);

    await page.goto(`${baseUrl}/#/teams`);
    await page.getByRole('form', { name: 'Create a team' }).getByLabel('Team name').fill('ops');
    await page.getByRole('button', { name: 'Create team' }).click();
    const card = page.getByRole('article', { name: 'team ops' });
    await card.getByLabel(/^Add member/).fill('tess');
    await card.getByRole('button', { name: 'Add member' }).click();
    await expect.poll(() => card.textContent(), LIVE).toContain('tess');
    await ui.screenshot('accounts-03-teams');

    await page.goto(`${baseUrl}/#/groups`);
    const group = page.locator(`article[data-group="acct-${real.suffix}"]`);
    await group.getByLabel('Team').selectOption(await optionValue(group, 'Team', 'ops'));
    await group.getByLabel('Role').selectOption('OPERATOR');
    await group.getByRole('button', { name: 'Grant' }).click();
    await expect
      .poll(() => group.getByRole('list', { name: 'Grants' }).textContent(), LIVE)
      .toContain('ops: OPERATOR');
    await group.getByRole('checkbox', { name: /Public/ }).click();
    await expect.poll(() => group.getByRole('checkbox', { name: /Public/ }).isChecked(), LIVE).toBe(true);
    await ui.screenshot('accounts-04-group-access');

    const tess = new TestClient(graphqlUrl);
    await tess.login('tess', 'password-123');
    const { groups } = await tess.request<{
      groups: Array<{ name: string; public: boolean; grants: unknown[] }>;
    }>('{ groups { name public grants { role team { name } } } }');
    expect(groups).toEqual([
      { name: `acct-${real.suffix}`, public: true, grants: [{ role: 'OPERATOR', team: { name: 'ops' } }] },
    ]);
  });

  it('lets an admin reset a password and change admin rights on the users page', async () => {
    const { page } = ui;
    await page.goto(`${baseUrl}/#/users`);
    const row = page.getByRole('row', { name: /tess/ });
    await row.getByRole('button', { name: 'make admin tess' }).click();
    await expect.poll(() => row.textContent(), LIVE).toContain('administrator');
    await row.getByRole('button', { name: 'Reset password' }).click();
    await row.getByLabel('New password for tess').fill('password-456');
    await row.getByRole('button', { name: 'Set password' }).click();
    await expect.poll(() => row.getByRole('button', { name: 'Reset password' }).count(), LIVE).toBe(1);
    await ui.screenshot('accounts-05-users');
    const tess = new TestClient(graphqlUrl);
    await tess.login('tess', 'password-456');
    expect(await tess.request('{ me { admin } }')).toEqual({ me: { admin: true } });
  });
});
