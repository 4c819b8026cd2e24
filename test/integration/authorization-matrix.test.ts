import { randomBytes } from 'node:crypto';
import { isObjectType, parse, subscribe, type ExecutionResult } from 'graphql';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import { logger } from '../../core/logger.js';
import { createContext } from '../../resolvers/context.js';
import type { RunningGateway } from '../../gateway/main.js';
import { OPERATION_RULES } from '../../resolvers/operation-rules.js';
import { engineNamed, loadTestEnv, removeContainersNamed } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  idleContainer,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

/**
 * Every query, mutation and subscription of the schema, tried by every kind of caller against the
 * real gateway (embedded store) with a real agent on a real engine: the operations are enumerated
 * from the schema itself, so an operation added without a row here fails this test.
 *
 * Callers: an admin; members of teams granted OWNER, OPERATOR and VIEWER on the groups the targets
 * are in; a user with no grant (who owns another group only); the same user once those groups are
 * public; no token; an expired login token and a forged one (signed with another key); an expired and
 * a revoked API token; an admin's READ API token (reads as an admin, changes nothing) and the
 * OWNER's WRITE API token (does what its user may).
 */

type Role = 'admin' | 'owner' | 'operator' | 'viewer' | 'other';
type Caller =
  | Role
  | 'public'
  | 'none'
  | 'expired'
  | 'forged'
  | 'expiredToken'
  | 'revokedToken'
  | 'readToken'
  | 'writeToken';
/** Callers of the first pass; `public` runs in a second one, after the targets' groups turned public. */
const CALLERS: readonly Caller[] = [
  'admin',
  'owner',
  'operator',
  'viewer',
  'other',
  'none',
  'expired',
  'forged',
  'expiredToken',
  'revokedToken',
  'readToken',
  'writeToken',
];

/**
 * What a caller gets: `allow` (the operation ran: no UNAUTHENTICATED or FORBIDDEN, and a lookup found
 * its target), `null` (a lookup answered null, as for an id that does not exist), `deny` (FORBIDDEN),
 * `unauth` (UNAUTHENTICATED).
 */
type Outcome = 'allow' | 'null' | 'deny' | 'unauth';

interface Fixture {
  nodeId: string;
  groupId: string;
  clusterGroupId: string;
  containerId: string;
  metaId: string;
  freshContainer(): Promise<string>;
  freshMeta(): Promise<string>;
  freshGroup(): Promise<string>;
  /** A team with no members, for grantGroup and revokeGroup. */
  spareTeamId: string;
}

interface Row {
  /** The operation document (one root field) and its variables. */
  doc: string;
  vars?: (f: Fixture) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Who may, by role among the logged-in callers; everyone else is `unauth` unless `anyone`. */
  admin: Outcome;
  owner: Outcome;
  operator: Outcome;
  viewer: Outcome;
  other: Outcome;
  anyone?: true;
}

const allowed = (admin: Outcome, owner: Outcome, operator: Outcome, viewer: Outcome, other: Outcome) => ({
  admin,
  owner,
  operator,
  viewer,
  other,
});
/** Reads in the group: every role; a user without one is refused. */
const groupRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'allow', 'allow', 'deny'),
});
/** Operating in the group: OPERATOR and OWNER. */
const operateRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'allow', 'deny', 'deny'),
});
/** Editing the group itself: OWNER. */
const editRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'deny', 'deny', 'deny'),
});
/** A lookup: a user without a role gets null, as for an unknown id. */
const lookupRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'allow', 'allow', 'null'),
});
const adminRow = (doc: string, vars?: Row['vars']): Row => ({
  doc,
  ...(vars ? { vars } : {}),
  ...allowed('allow', 'deny', 'deny', 'deny', 'deny'),
});
const userRow = (doc: string, vars?: Row['vars']): Row => ({
  doc,
  ...(vars ? { vars } : {}),
  ...allowed('allow', 'allow', 'allow', 'allow', 'allow'),
});

const suffix = randomBytes(3).toString('hex');
const NAME = `hbmx-${suffix}`;
let counter = 0;
const uniq = (what: string) => `${NAME}-${what}-${++counter}`;

const ROWS: Record<string, Row> = {
  'Query.me': userRow('{ me { id } }'),
  'Query.users': adminRow('{ users { id } }'),
  'Query.groups': userRow('{ groups { id } }'),
  'Query.group': lookupRow('query($id: ID!) { group(id: $id) { id } }', (f) => ({ id: f.groupId })),
  'Query.nodes': groupRow('query($g: ID) { nodes(groupId: $g) { id } }', (f) => ({ g: f.groupId })),
  'Query.node': lookupRow('query($id: ID!) { node(id: $id) { id } }', (f) => ({ id: f.nodeId })),
  'Query.metas': groupRow('query($g: ID!) { metas(groupId: $g) { id } }', (f) => ({ g: f.clusterGroupId })),
  'Query.meta': lookupRow('query($id: ID!) { meta(id: $id) { id } }', (f) => ({ id: f.metaId })),
  'Query.webhookDeliveries': groupRow('query($m: ID!) { webhookDeliveries(metaId: $m) { id } }', (f) => ({
    m: f.metaId,
  })),
  'Query.containers': groupRow('query($n: ID) { containers(nodeId: $n) { totalCount } }', (f) => ({
    n: f.nodeId,
  })),
  'Query.container': lookupRow('query($id: ID!) { container(id: $id) { id } }', (f) => ({
    id: f.containerId,
  })),
  'Query.containerLogs': groupRow('query($id: ID!) { containerLogs(id: $id, tail: 1) }', (f) => ({
    id: f.containerId,
  })),
  'Query.containerStats': groupRow('query($id: ID!) { containerStats(id: $id) { cpuPercent } }', (f) => ({
    id: f.containerId,
  })),
  'Query.images': groupRow('query($n: ID!) { images(nodeId: $n) { id } }', (f) => ({ n: f.nodeId })),
  'Query.auditLog': adminRow('{ auditLog(first: 1) { id } }'),

  'Mutation.login': {
    doc: 'mutation { login(username: "oscar", password: "password-123") { token } }',
    ...allowed('allow', 'allow', 'allow', 'allow', 'allow'),
    anyone: true,
  },
  'Mutation.createUser': adminRow(
    'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
    () => ({ u: uniq('user') }),
  ),
  'Mutation.deleteUser': adminRow('mutation { deleteUser(id: "no-such-user") }'),
  'Mutation.createGroup': userRow(
    'mutation($n: String!) { createGroup(input: { name: $n }) { id } }',
    () => ({
      n: uniq('group'),
    }),
  ),
  'Mutation.updateGroup': editRow(
    'mutation($id: ID!) { updateGroup(id: $id, input: { description: "d" }) { id } }',
    (f) => ({ id: f.groupId }),
  ),
  'Mutation.deleteGroup': editRow('mutation($id: ID!) { deleteGroup(id: $id) }', async (f) => ({
    id: await f.freshGroup(),
  })),
  'Mutation.addServer': adminRow(
    'mutation($g: ID!) { addServer(groupId: $g, address: "10.255.0.1") { id } }',
    (f) => ({ g: f.groupId }),
  ),
  'Mutation.removeServer': adminRow(
    'mutation($g: ID!) { removeServer(groupId: $g, address: "10.255.0.1") { id } }',
    (f) => ({ g: f.groupId }),
  ),
  'Mutation.setNodeLabels': adminRow(
    'mutation($n: ID!) { setNodeLabels(nodeId: $n, labels: [{ key: "matrix", value: "1" }]) { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.createMeta': operateRow(
    `mutation($g: ID!, $n: String!) { createMeta(input: { groupId: $g, instances: 1,
       config: { name: $n, image: "humpback-test/busybox:latest", networkMode: "none",
                 command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] } }) { id } }`,
    (f) => ({ g: f.clusterGroupId, n: uniq('meta') }),
  ),
  'Mutation.updateMeta': operateRow(
    'mutation($id: ID!) { updateMeta(id: $id, input: { constraints: [] }) { id } }',
    (f) => ({ id: f.metaId }),
  ),
  'Mutation.upgradeMeta': operateRow(
    'mutation($id: ID!) { upgradeMeta(id: $id, imageTag: "v2") { id } }',
    (f) => ({
      id: f.metaId,
    }),
  ),
  'Mutation.operateMeta': operateRow(
    'mutation($id: ID!) { operateMeta(id: $id, action: START) { id } }',
    (f) => ({
      id: f.metaId,
    }),
  ),
  'Mutation.removeMeta': operateRow('mutation($id: ID!) { removeMeta(id: $id) }', async (f) => ({
    id: await f.freshMeta(),
  })),
  'Mutation.createContainer': operateRow(
    'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
    (f) => ({ n: f.nodeId, c: idleContainer(uniq('c'), 'humpback-test/busybox:latest') }),
  ),
  'Mutation.operateContainer': operateRow(
    'mutation($id: ID!) { operateContainer(id: $id, action: START) { id } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.removeContainer': operateRow(
    'mutation($id: ID!) { removeContainer(id: $id, force: true) }',
    async (f) => ({
      id: await f.freshContainer(),
    }),
  ),
  'Mutation.pullImage': operateRow(
    'mutation($n: ID!) { pullImage(nodeId: $n, image: "humpback-test/busybox:latest") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.removeImage': operateRow(
    'mutation($n: ID!) { removeImage(nodeId: $n, image: "humpback-test/no-such-image:1") }',
    (f) => ({ n: f.nodeId }),
  ),
  // Volumes (issue 11)
  'Query.volumes': groupRow('query($n: ID!) { volumes(nodeId: $n) { name } }', (f) => ({ n: f.nodeId })),
  'Mutation.createVolume': operateRow(
    'mutation($n: ID!) { createVolume(nodeId: $n, input: { name: "matrix-v" }) { name } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.removeVolume': operateRow(
    'mutation($n: ID!) { removeVolume(nodeId: $n, name: "matrix-v") }',
    (f) => ({
      n: f.nodeId,
    }),
  ),
  'Mutation.clearVolume': operateRow(
    'mutation($n: ID!) { clearVolume(nodeId: $n, name: "matrix-v") }',
    (f) => ({
      n: f.nodeId,
    }),
  ),
  'Mutation.restoreVolume': operateRow(
    'mutation($n: ID!) { restoreVolume(nodeId: $n, name: "matrix-v", uploadId: "u1") }',
    (f) => ({ n: f.nodeId }),
  ),

  'Query.apiTokens': userRow('{ apiTokens { id } }'),
  'Query.teams': userRow('{ teams { id } }'),
  'Mutation.createApiToken': userRow(
    'mutation($n: String!) { createApiToken(name: $n, scopes: [READ], expiresInDays: 1) { token } }',
    () => ({ n: uniq('token') }),
  ),
  'Mutation.revokeApiToken': userRow('mutation { revokeApiToken(id: "no-such-token") }'),
  // A wrong old password: it runs (BAD_USER_INPUT) and ends no session of the matrix.
  'Mutation.changePassword': userRow(
    'mutation { changePassword(oldPassword: "not-the-password", newPassword: "another-password") }',
  ),
  'Mutation.setUserPassword': adminRow(
    'mutation { setUserPassword(userId: "no-such-user", password: "password-123") }',
  ),
  'Mutation.setUserAdmin': adminRow('mutation { setUserAdmin(userId: "no-such-user", admin: true) { id } }'),
  'Mutation.createTeam': adminRow('mutation($n: String!) { createTeam(name: $n) { id } }', () => ({
    n: uniq('team'),
  })),
  'Mutation.deleteTeam': adminRow('mutation { deleteTeam(id: "no-such-team") }'),
  'Mutation.addTeamMember': adminRow(
    'mutation { addTeamMember(teamId: "no-such-team", userId: "oscar") { id } }',
  ),
  'Mutation.removeTeamMember': adminRow(
    'mutation { removeTeamMember(teamId: "no-such-team", userId: "oscar") { id } }',
  ),
  'Mutation.grantGroup': editRow(
    'mutation($g: ID!, $t: ID!) { grantGroup(groupId: $g, teamId: $t, role: VIEWER) { id } }',
    (f) => ({ g: f.groupId, t: f.spareTeamId }),
  ),
  'Mutation.revokeGroup': editRow(
    'mutation($g: ID!, $t: ID!) { revokeGroup(groupId: $g, teamId: $t) { id } }',
    (f) => ({ g: f.groupId, t: f.spareTeamId }),
  ),

  'Subscription.containerStatusChanged': groupRow(
    'subscription($g: ID) { containerStatusChanged(groupId: $g) { at } }',
    (f) => ({ g: f.groupId }),
  ),
  'Subscription.nodeStatusChanged': groupRow(
    'subscription($g: ID) { nodeStatusChanged(groupId: $g) { at } }',
    (f) => ({
      g: f.groupId,
    }),
  ),
  'Subscription.metaEvents': groupRow('subscription($m: ID) { metaEvents(metaId: $m) { event } }', (f) => ({
    m: f.metaId,
  })),

  // Registries and image jobs (issue 10). Invalid tags and uploads: what is allowed fails on its input
  // after the access check, so nothing is built, committed or pushed.
  'Query.registries': userRow('{ registries { id } }'),
  'Query.registryRepositories': userRow('{ registryRepositories(registryId: "no-such-registry") { name } }'),
  'Query.imageJobs': groupRow('query($n: ID) { imageJobs(nodeId: $n) { id } }', (f) => ({ n: f.nodeId })),
  'Query.imageJob': {
    doc: '{ imageJob(id: "no-such-job") { id } }',
    ...allowed('null', 'null', 'null', 'null', 'null'),
  },
  'Mutation.addRegistry': adminRow(
    'mutation { addRegistry(input: { name: "matrix", url: "not a url at all" }) { id } }',
  ),
  'Mutation.updateRegistry': adminRow(
    'mutation { updateRegistry(id: "no-such-registry", input: { name: "matrix", url: "127.0.0.1:9" }) { id } }',
  ),
  'Mutation.removeRegistry': adminRow('mutation { removeRegistry(id: "no-such-registry") }'),
  'Mutation.deleteRegistryTag': adminRow(
    'mutation { deleteRegistryTag(registryId: "no-such-registry", repository: "x", tag: "y") }',
  ),
  'Mutation.buildImage': operateRow(
    'mutation($n: ID!) { buildImage(nodeId: $n, uploadId: "no-such-upload", tag: "matrix:1") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.loadImage': operateRow(
    'mutation($n: ID!) { loadImage(nodeId: $n, uploadId: "no-such-upload") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.commitContainer': operateRow(
    'mutation($c: ID!) { commitContainer(containerId: $c, tag: "NOT A TAG") { id } }',
    (f) => ({ c: f.containerId }),
  ),
  'Mutation.pushImage': operateRow(
    'mutation($n: ID!) { pushImage(nodeId: $n, image: "NOT AN IMAGE") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.startPull': operateRow(
    'mutation($n: ID!) { startPull(nodeId: $n, image: "NOT AN IMAGE") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Subscription.imageJobProgress': userRow(
    'subscription { imageJobProgress(jobId: "no-such-job") { line } }',
  ),

  // Notifications (issue 12)
  'Query.notificationChannels': adminRow('{ notificationChannels { id } }'),
  'Mutation.addNotificationChannel': adminRow(
    'mutation { addNotificationChannel(kind: "email", target: "matrix@example.com", events: [NODE_DOWN]) { id } }',
  ),
  'Mutation.removeNotificationChannel': adminRow(
    'mutation { removeNotificationChannel(id: "no-such-channel") }',
  ),

  // Observability and container operations.
  'Subscription.containerLogs': groupRow(
    'subscription($id: ID!) { containerLogs(id: $id, tail: 1) { line } }',
    (f) => ({ id: f.containerId }),
  ),
  'Subscription.containerStats': groupRow(
    'subscription($id: ID!) { containerStats(id: $id) { cpuPercent } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.startExec': operateRow(
    'mutation($id: ID!) { startExec(containerId: $id, command: ["true"]) { id } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.renameContainer': operateRow(
    'mutation($id: ID!, $n: String!) { renameContainer(id: $id, name: $n) { id } }',
    async (f) => ({ id: await f.freshContainer(), n: uniq('renamed') }),
  ),
  'Mutation.upgradeContainer': operateRow(
    'mutation($id: ID!) { upgradeContainer(id: $id, imageTag: "v2") { id } }',
    async (f) => ({ id: await f.freshContainer() }),
  ),
};

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

function outcomeOf(result: { data?: unknown; errors?: readonly GqlError[] | undefined }): Outcome {
  const codes = (result.errors ?? []).map((e) => e.extensions?.code);
  if (codes.includes('UNAUTHENTICATED')) return 'unauth';
  if (codes.includes('FORBIDDEN')) return 'deny';
  const data = result.data as Record<string, unknown> | null | undefined;
  const value = data ? Object.values(data)[0] : undefined;
  return result.errors?.length === undefined && value === null ? 'null' : 'allow';
}

describe('authorization matrix', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const jwtSecret = randomBytes(24).toString('base64url');
  let agent: RunningAgent & { address: string };
  let gateway: RunningGateway;
  const tokens = new Map<Caller, string | undefined>();
  let admin: TestClient;
  let fixture: Fixture;
  const clients = new Map<string, TestClient>();

  beforeAll(async () => {
    agent = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-mx-agent-'));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-mx-gw-'), HUMPBACK_JWT_SECRET: jwtSecret }),
    });
    admin = new TestClient(gateway.url);
    await admin.login();
    tokens.set('admin', admin.token);
    for (const name of ['olive', 'opal', 'vera', 'oscar']) {
      await admin.request(
        'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
        { u: name },
      );
    }
    const as = async (name: string) => {
      const c = new TestClient(gateway.url);
      await c.login(name, 'password-123');
      clients.set(name, c);
      return c.token;
    };
    tokens.set('owner', await as('olive'));
    tokens.set('operator', await as('opal'));
    tokens.set('viewer', await as('vera'));
    tokens.set('other', await as('oscar'));
    tokens.set('none', undefined);
    const iat = Math.floor(Date.now() / 1000) - 7200;
    const sign = (key: string, exp: number) =>
      new SignJWT({ username: 'olive' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer('humpback')
        .setSubject('olive')
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(new TextEncoder().encode(key));
    tokens.set('expired', await sign(jwtSecret, iat + 60));
    tokens.set('forged', await sign(randomBytes(24).toString('base64url'), iat + 86_400));

    const apiToken = async (client: TestClient, scope: string) => {
      const { createApiToken } = await client.request<{
        createApiToken: { token: string; apiToken: { id: string } };
      }>(
        'mutation($n: String!, $s: [TokenScope!]!) { createApiToken(name: $n, scopes: $s) { token apiToken { id } } }',
        {
          n: uniq('token'),
          s: [scope],
        },
      );
      return createApiToken;
    };
    const olive = clients.get('olive')!;
    tokens.set('readToken', (await apiToken(admin, 'READ')).token);
    tokens.set('writeToken', (await apiToken(olive, 'WRITE')).token);
    const revoked = await apiToken(olive, 'WRITE');
    await olive.request('mutation($id: ID!) { revokeApiToken(id: $id) }', { id: revoked.apiToken.id });
    tokens.set('revokedToken', revoked.token);
    const expired = await apiToken(olive, 'WRITE');
    // Expiry is days away at the least: this one's is moved into the past in the store.
    await gateway.core.store.update('apiTokens', expired.apiToken.id, (t) =>
      t ? { ...t, expiresAt: new Date(Date.now() - 1000).toISOString() } : undefined,
    );
    tokens.set('expiredToken', expired.token);

    const team = async (name: string, member?: string) => {
      const { createTeam } = await admin.request<{ createTeam: { id: string } }>(
        'mutation($n: String!) { createTeam(name: $n) { id } }',
        { n: uniq(name) },
      );
      if (member) {
        await admin.request('mutation($t: ID!, $u: ID!) { addTeamMember(teamId: $t, userId: $u) { id } }', {
          t: createTeam.id,
          u: member,
        });
      }
      return createTeam.id;
    };
    const roles = [
      { teamId: await team('owners', 'olive'), role: 'OWNER' },
      { teamId: await team('operators', 'opal'), role: 'OPERATOR' },
      { teamId: await team('viewers', 'vera'), role: 'VIEWER' },
    ];
    const spareTeamId = await team('spare');
    const grantRoles = async (groupId: string) => {
      for (const { teamId, role } of roles) {
        await admin.request(
          'mutation($g: ID!, $t: ID!, $r: GroupRole!) { grantGroup(groupId: $g, teamId: $t, role: $r) { id } }',
          { g: groupId, t: teamId, r: role },
        );
      }
    };

    const group = async (name: string, clusterMode: boolean) => {
      const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
        'mutation($n: String!, $c: Boolean!, $s: [String!]) { createGroup(input: { name: $n, clusterMode: $c, servers: $s }) { id } }',
        { n: name, c: clusterMode, s: [agent.address] },
      );
      await grantRoles(createGroup.id);
      return createGroup.id;
    };
    const groupId = await group(uniq('single'), false);
    const clusterGroupId = await group(uniq('cluster'), true);
    await admin
      .request('mutation($n: String!) { createGroup(input: { name: $n }) { id } }', { n: uniq('oscars') })
      .then(async (r) => {
        const id = (r as { createGroup: { id: string } }).createGroup.id;
        await admin.request(
          'mutation($id: ID!) { updateGroup(id: $id, input: { owners: ["oscar"] }) { id } }',
          { id },
        );
      });
    const nodeId = (await healthyNodes(admin, groupId))[0]!.id;
    const freshContainer = async () => {
      const { createContainer } = await admin.request<{ createContainer: { id: string } }>(
        'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
        { n: nodeId, c: idleContainer(uniq('c'), env.image) },
      );
      return createContainer.id;
    };
    // Instances trap SIGTERM (a bare `sleep` as PID 1 ignores it: each stop would wait 10 s).
    const freshMeta = async () => {
      const { createMeta } = await admin.request<{ createMeta: { id: string } }>(
        `mutation($g: ID!, $n: String!) { createMeta(input: { groupId: $g, instances: 1,
           config: { name: $n, image: "humpback-test/busybox:latest", networkMode: "none", command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] } }) { id } }`,
        { g: clusterGroupId, n: uniq('meta') },
      );
      return createMeta.id;
    };
    const freshGroup = async () => {
      const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
        'mutation($n: String!) { createGroup(input: { name: $n }) { id } }',
        { n: uniq('g') },
      );
      await grantRoles(createGroup.id);
      return createGroup.id;
    };
    fixture = {
      nodeId,
      groupId,
      clusterGroupId,
      containerId: await freshContainer(),
      metaId: await freshMeta(),
      freshContainer,
      freshMeta,
      freshGroup,
      spareTeamId,
    };
  });

  afterAll(async () => {
    await admin?.close();
    for (const c of clients.values()) await c.close();
    await gateway?.close();
    // Every container of this suite has NAME in its name (metas' instances: CLUSTER-<g>-<name>-<i>).
    await removeContainersNamed(env, ['n1'], NAME);
    await agent?.close();
    tmp.cleanup();
  });

  it('has a row for every operation of the schema, and the gateway a rule for each', () => {
    const schema = gateway.server.schema;
    const operations = (['Query', 'Mutation', 'Subscription'] as const).flatMap((t) => {
      const type = schema.getType(t);
      return isObjectType(type) ? Object.keys(type.getFields()).map((f) => `${t}.${f}`) : [];
    });
    expect(operations.length).toBeGreaterThan(30);
    expect(Object.keys(ROWS).sort()).toEqual([...operations].sort());
    expect(Object.keys(OPERATION_RULES).sort()).toEqual([...operations].sort());
  });

  async function attempt(token: string | undefined, key: string, row: Row): Promise<Outcome> {
    const variables = (await row.vars?.(fixture)) ?? {};
    if (key.startsWith('Subscription.')) {
      // In process, through the same schema and rules as graphql-ws (whose connect step also
      // refuses a missing or bad token: api.test.ts).
      const services = gateway.core.services;
      const viewer = token ? await services.auth.verify(token) : undefined;
      const result = await subscribe({
        schema: gateway.server.schema,
        document: parse(row.doc),
        variableValues: variables,
        contextValue: createContext({
          viewer,
          services,
          hub: gateway.server.hub,
          clientKey: 'matrix',
          logger,
        }),
      });
      if (Symbol.asyncIterator in result) {
        await result.return?.();
        return 'allow';
      }
      return outcomeOf(result as ExecutionResult as { errors?: readonly GqlError[] });
    }
    const client = new TestClient(gateway.url);
    client.token = token;
    return outcomeOf(await client.raw(row.doc, variables));
  }

  function expectedOf(caller: Caller, key: string, row: Row): Outcome {
    switch (caller) {
      case 'admin':
      case 'owner':
      case 'operator':
      case 'viewer':
      case 'other':
        return row[caller];
      case 'public':
        return row.viewer;
      case 'writeToken':
        return row.owner;
      case 'readToken':
        return key.startsWith('Mutation.') && !row.anyone ? 'deny' : row.admin;
      case 'none':
      case 'expired':
      case 'forged':
      case 'expiredToken':
      case 'revokedToken':
        return row.anyone ? 'allow' : 'unauth';
    }
  }

  async function run(callers: readonly Caller[], tokenOf: (c: Caller) => string | undefined) {
    const expected: string[] = [];
    const actual: string[] = [];
    for (const [key, row] of Object.entries(ROWS)) {
      // The callers of one operation at once (each with its own variables: fresh targets where the
      // operation consumes one); operations one after the other.
      const outcomes = await Promise.all(callers.map((caller) => attempt(tokenOf(caller), key, row)));
      callers.forEach((caller, i) => {
        expected.push(`${key} ${caller}: ${expectedOf(caller, key, row)}`);
        actual.push(`${key} ${caller}: ${outcomes[i]}`);
      });
    }
    expect(actual).toEqual(expected);
  }

  it('allows and refuses each operation for each caller as the rules say', async () => {
    await run(CALLERS, (c) => tokens.get(c));
  }, 300_000);

  it('lets every user read public groups, as VIEWER', async () => {
    const setPublic = async (on: boolean) => {
      for (const id of [fixture.groupId, fixture.clusterGroupId]) {
        await admin.request(
          'mutation($id: ID!, $p: Boolean) { updateGroup(id: $id, input: { public: $p }) { id } }',
          {
            id,
            p: on,
          },
        );
      }
    };
    await setPublic(true);
    try {
      // The user without a grant, now that the targets' groups are public.
      await run(['public'], () => tokens.get('other'));
    } finally {
      await setPublic(false);
    }
  });
});
