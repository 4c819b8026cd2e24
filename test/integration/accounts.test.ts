import { createHash } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../gateway/main.js';
import { TempDirs, TestClient, gatewayConfig, startTestGateway } from './gateway-harness.js';
import { openSocket, within } from './ws-close.js';

/**
 * Accounts on the real gateway (HTTP and graphql-ws, embedded store): API tokens, password changes
 * and demotions ending earlier sessions, revocation pushed to open connections.
 */

describe('accounts', () => {
  const tmp = new TempDirs();
  let gateway: RunningGateway;
  let admin: TestClient;
  const sockets: Client[] = [];

  const createUser = async (username: string, isAdmin = false) =>
    admin.request(
      'mutation($u: String!, $a: Boolean!) { createUser(input: { username: $u, password: "password-123", admin: $a }) { id } }',
      {
        u: username,
        a: isAdmin,
      },
    );
  const loginAs = async (username: string, password = 'password-123') => {
    const c = new TestClient(gateway.url);
    await c.login(username, password);
    return c;
  };
  const withToken = (token: string) => Object.assign(new TestClient(gateway.url), { token });
  const createToken = async (client: TestClient, scopes: string[], expiresInDays?: number) =>
    (
      await client.request<{
        createApiToken: {
          token: string;
          apiToken: {
            id: string;
            name: string;
            scopes: string[];
            lastUsedAt: string | null;
            expiresAt: string | null;
          };
        };
      }>(
        'mutation($s: [TokenScope!]!, $d: Int) { createApiToken(name: "ci", scopes: $s, expiresInDays: $d) { token apiToken { id name scopes lastUsedAt expiresAt } } }',
        { s: scopes, d: expiresInDays ?? null },
      )
    ).createApiToken;

  beforeAll(async () => {
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-acct-gw-') }),
      cluster: false,
    });
    admin = new TestClient(gateway.url);
    await admin.login();
  });

  afterAll(async () => {
    for (const s of sockets) await s.dispose();
    await admin?.close();
    await gateway?.close();
    tmp.cleanup();
  });

  it('shows a token once, keeps only its hash, records its use and works as a Bearer token', async () => {
    const created = await createToken(admin, ['WRITE'], 30);
    expect(created.token).toMatch(/^hbt_[0-9a-f]{32}[A-Za-z0-9_-]{43}$/);
    expect(created.apiToken).toEqual({
      id: created.token.slice(4, 36),
      name: 'ci',
      scopes: ['WRITE'],
      lastUsedAt: null,
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const record = await gateway.core.store.get('apiTokens', created.apiToken.id);
    expect(record?.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));
    expect(JSON.stringify(record)).not.toContain(created.token.slice(36));

    const me = await withToken(created.token).request<{ me: { id: string; admin: boolean } }>(
      '{ me { id admin } }',
    );
    // A WRITE token never carries its user's admin rights.
    expect(me.me).toEqual({ id: 'admin', admin: false });
    const { apiTokens } = await admin.request<{
      apiTokens: Array<{ id: string; lastUsedAt: string | null }>;
    }>('{ apiTokens { id lastUsedAt } }');
    expect(apiTokens.find((t) => t.id === created.apiToken.id)?.lastUsedAt).toMatch(/^\d{4}-/);
  });

  it('refuses every mutation to a READ token, even an admin one, and lets it read as its user', async () => {
    const { token } = await createToken(admin, ['READ']);
    const reader = withToken(token);
    expect(await reader.request('{ me { id admin } users { id } }')).toEqual({
      me: { id: 'admin', admin: true },
      users: [{ id: 'admin' }],
    });
    expect(await reader.errorCode('mutation { createTeam(name: "by-a-read-token") { id } }')).toBe(
      'FORBIDDEN',
    );
    expect(await reader.errorCode('mutation { createApiToken(name: "x", scopes: [READ]) { token } }')).toBe(
      'FORBIDDEN',
    );
    expect((await admin.request<{ teams: unknown[] }>('{ teams { id } }')).teams).toEqual([]);
  });

  it('closes the open graphql-ws connections of a revoked token with 4401 at once, and refuses it', async () => {
    const created = await createToken(admin, ['READ']);
    const { client, closed } = await openSocket(gateway.url, created.token);
    sockets.push(client);
    await admin.request('mutation($id: ID!) { revokeApiToken(id: $id) }', { id: created.apiToken.id });
    expect(await within(closed, 5000, 'the close of the revoked token')).toEqual({
      code: 4401,
      reason: 'Token expired or revoked',
    });
    expect(await withToken(created.token).errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
    expect(
      await admin.errorCode('mutation($id: ID!) { revokeApiToken(id: $id) }', { id: created.apiToken.id }),
    ).toBe('NOT_FOUND');
  });

  it("ends a user's earlier login tokens when they change their password, not their API tokens", async () => {
    await createUser('paula');
    const paula = await loginAs('paula');
    const earlier = paula.token!;
    const apiToken = (await createToken(paula, ['WRITE'])).token;
    const { client, closed } = await openSocket(gateway.url, earlier);
    sockets.push(client);
    expect(
      await paula.errorCode(
        'mutation { changePassword(oldPassword: "wrong-password", newPassword: "password-456") }',
      ),
    ).toBe('BAD_USER_INPUT');
    expect(
      await paula.errorCode('mutation { changePassword(oldPassword: "password-123", newPassword: "short") }'),
    ).toBe('BAD_USER_INPUT');
    await paula.request(
      'mutation { changePassword(oldPassword: "password-123", newPassword: "password-456") }',
    );
    expect(await within(closed, 5000, "the close of paula's session")).toEqual({
      code: 4401,
      reason: 'Token expired or revoked',
    });
    expect(await withToken(earlier).errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
    expect(
      await new TestClient(gateway.url).errorCode(
        'mutation { login(username: "paula", password: "password-123") { token } }',
      ),
    ).toBe('UNAUTHENTICATED');
    const again = await loginAs('paula', 'password-456');
    expect(await again.request('{ me { id } }')).toEqual({ me: { id: 'paula' } });
    expect(await withToken(apiToken).request('{ me { id } }')).toEqual({ me: { id: 'paula' } });
  });

  it("ends a user's login tokens on an admin's password reset and on demotion", async () => {
    await createUser('quinn', true);
    const first = await loginAs('quinn');
    await admin.request('mutation { setUserPassword(userId: "quinn", password: "password-789") }');
    expect(await first.errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');

    const second = await loginAs('quinn', 'password-789');
    expect(await second.request('{ me { admin } }')).toEqual({ me: { admin: true } });
    expect(
      await admin.request('mutation { setUserAdmin(userId: "quinn", admin: false) { id admin } }'),
    ).toEqual({ setUserAdmin: { id: 'quinn', admin: false } });
    expect(await second.errorCode('{ me { id } }')).toBe('UNAUTHENTICATED');
    const third = await loginAs('quinn', 'password-789');
    expect(await third.request('{ me { admin } }')).toEqual({ me: { admin: false } });
    expect(await admin.errorCode('mutation { setUserAdmin(userId: "admin", admin: false) { id } }')).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('gives team members the role of their grant, replaced by a second grant and gone on revoke', async () => {
    await createUser('rita');
    const rita = await loginAs('rita');
    const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
      'mutation { createGroup(input: { name: "team-grants" }) { id } }',
    );
    const { createTeam } = await admin.request<{ createTeam: { id: string } }>(
      'mutation { createTeam(name: "devs") { id } }',
    );
    await admin.request('mutation($t: ID!) { addTeamMember(teamId: $t, userId: "rita") { id } }', {
      t: createTeam.id,
    });
    const grant = (role: string) =>
      admin.request<{ grantGroup: { grants: unknown[] } }>(
        'mutation($g: ID!, $t: ID!, $r: GroupRole!) { grantGroup(groupId: $g, teamId: $t, role: $r) { grants { role team { name members { id } } } } }',
        { g: createGroup.id, t: createTeam.id, r: role },
      );
    expect((await grant('VIEWER')).grantGroup.grants).toEqual([
      { role: 'VIEWER', team: { name: 'devs', members: [{ id: 'rita' }] } },
    ]);
    const edit = 'mutation($g: ID!) { updateGroup(id: $g, input: { description: "by rita" }) { id } }';
    expect(await rita.errorCode(edit, { g: createGroup.id })).toBe('FORBIDDEN');
    expect((await grant('OWNER')).grantGroup.grants).toEqual([
      { role: 'OWNER', team: { name: 'devs', members: [{ id: 'rita' }] } },
    ]);
    expect(await rita.errorCode(edit, { g: createGroup.id })).toBeUndefined();
    await admin.request('mutation($g: ID!, $t: ID!) { revokeGroup(groupId: $g, teamId: $t) { id } }', {
      g: createGroup.id,
      t: createTeam.id,
    });
    expect(await rita.request('{ groups { id } }')).toEqual({ groups: [] });
    expect(await admin.errorCode('mutation { createTeam(name: "DEVS") { id } }')).toBe('CONFLICT');
  });
});
