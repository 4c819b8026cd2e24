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
 * Callers: an admin; the owner of the group the targets are in; a user who owns another group only;
 * no token; an expired token and a forged one (signed with another key).
 */

type Caller = 'admin' | 'owner' | 'other' | 'none' | 'expired' | 'forged';
const CALLERS: readonly Caller[] = ['admin', 'owner', 'other', 'none', 'expired', 'forged'];

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
}

interface Row {
  /** The operation document (one root field) and its variables. */
  doc: string;
  vars?: (f: Fixture) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Who may, by role among the logged-in callers; everyone else is `unauth` unless `anyone`. */
  admin: Outcome;
  owner: Outcome;
  other: Outcome;
  anyone?: true;
}

const allowed = (admin: Outcome, owner: Outcome, other: Outcome) => ({ admin, owner, other });
/** Admins and the group's owner; another group's user is refused. */
const groupRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'deny'),
});
/** A lookup: others get null, as for an unknown id. */
const lookupRow = (doc: string, vars: Row['vars']): Row => ({
  doc,
  vars,
  ...allowed('allow', 'allow', 'null'),
});
const adminRow = (doc: string, vars?: Row['vars']): Row => ({
  doc,
  ...(vars ? { vars } : {}),
  ...allowed('allow', 'deny', 'deny'),
});
const userRow = (doc: string, vars?: Row['vars']): Row => ({
  doc,
  ...(vars ? { vars } : {}),
  ...allowed('allow', 'allow', 'allow'),
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
    ...allowed('allow', 'allow', 'allow'),
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
  'Mutation.updateGroup': groupRow(
    'mutation($id: ID!) { updateGroup(id: $id, input: { description: "d" }) { id } }',
    (f) => ({ id: f.groupId }),
  ),
  'Mutation.deleteGroup': groupRow('mutation($id: ID!) { deleteGroup(id: $id) }', async (f) => ({
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
  'Mutation.createMeta': groupRow(
    `mutation($g: ID!, $n: String!) { createMeta(input: { groupId: $g, instances: 1,
       config: { name: $n, image: "humpback-test/busybox:latest", networkMode: "none",
                 command: ["sleep", "3600"] } }) { id } }`,
    (f) => ({ g: f.clusterGroupId, n: uniq('meta') }),
  ),
  'Mutation.updateMeta': groupRow(
    'mutation($id: ID!) { updateMeta(id: $id, input: { constraints: [] }) { id } }',
    (f) => ({ id: f.metaId }),
  ),
  'Mutation.upgradeMeta': groupRow(
    'mutation($id: ID!) { upgradeMeta(id: $id, imageTag: "v2") { id } }',
    (f) => ({
      id: f.metaId,
    }),
  ),
  'Mutation.operateMeta': groupRow(
    'mutation($id: ID!) { operateMeta(id: $id, action: START) { id } }',
    (f) => ({
      id: f.metaId,
    }),
  ),
  'Mutation.removeMeta': groupRow('mutation($id: ID!) { removeMeta(id: $id) }', async (f) => ({
    id: await f.freshMeta(),
  })),
  'Mutation.createContainer': groupRow(
    'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
    (f) => ({ n: f.nodeId, c: idleContainer(uniq('c'), 'humpback-test/busybox:latest') }),
  ),
  'Mutation.operateContainer': groupRow(
    'mutation($id: ID!) { operateContainer(id: $id, action: START) { id } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.removeContainer': groupRow(
    'mutation($id: ID!) { removeContainer(id: $id, force: true) }',
    async (f) => ({
      id: await f.freshContainer(),
    }),
  ),
  'Mutation.pullImage': groupRow(
    'mutation($n: ID!) { pullImage(nodeId: $n, image: "humpback-test/busybox:latest") { id } }',
    (f) => ({ n: f.nodeId }),
  ),
  'Mutation.removeImage': groupRow(
    'mutation($n: ID!) { removeImage(nodeId: $n, image: "humpback-test/no-such-image:1") }',
    (f) => ({ n: f.nodeId }),
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

  // Observability and container operations.
  'Subscription.containerLogs': groupRow(
    'subscription($id: ID!) { containerLogs(id: $id, tail: 1) { line } }',
    (f) => ({ id: f.containerId }),
  ),
  'Subscription.containerStats': groupRow(
    'subscription($id: ID!) { containerStats(id: $id) { cpuPercent } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.startExec': groupRow(
    'mutation($id: ID!) { startExec(containerId: $id, command: ["true"]) { id } }',
    (f) => ({ id: f.containerId }),
  ),
  'Mutation.renameContainer': groupRow(
    'mutation($id: ID!, $n: String!) { renameContainer(id: $id, name: $n) { id } }',
    async (f) => ({ id: await f.freshContainer(), n: uniq('renamed') }),
  ),
  'Mutation.upgradeContainer': groupRow(
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

  beforeAll(async () => {
    agent = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-mx-agent-'));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-mx-gw-'), HUMPBACK_JWT_SECRET: jwtSecret }),
    });
    admin = new TestClient(gateway.url);
    await admin.login();
    tokens.set('admin', admin.token);
    for (const name of ['olive', 'oscar']) {
      await admin.request(
        'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
        { u: name },
      );
    }
    const as = async (name: string) => {
      const c = new TestClient(gateway.url);
      await c.login(name, 'password-123');
      return c.token;
    };
    tokens.set('owner', await as('olive'));
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

    const group = async (name: string, clusterMode: boolean, owner: string) => {
      const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
        'mutation($n: String!, $c: Boolean!, $s: [String!]) { createGroup(input: { name: $n, clusterMode: $c, servers: $s }) { id } }',
        { n: name, c: clusterMode, s: [agent.address] },
      );
      await admin.request(
        'mutation($id: ID!, $o: [String!]) { updateGroup(id: $id, input: { owners: $o }) { id } }',
        {
          id: createGroup.id,
          o: [owner],
        },
      );
      return createGroup.id;
    };
    const groupId = await group(uniq('single'), false, 'olive');
    const clusterGroupId = await group(uniq('cluster'), true, 'olive');
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
    const freshMeta = async () => {
      const { createMeta } = await admin.request<{ createMeta: { id: string } }>(
        `mutation($g: ID!, $n: String!) { createMeta(input: { groupId: $g, instances: 1,
           config: { name: $n, image: "humpback-test/busybox:latest", networkMode: "none", command: ["sleep", "3600"] } }) { id } }`,
        { g: clusterGroupId, n: uniq('meta') },
      );
      return createMeta.id;
    };
    const freshGroup = async () => {
      const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
        'mutation($n: String!) { createGroup(input: { name: $n }) { id } }',
        { n: uniq('g') },
      );
      await admin.request(
        'mutation($id: ID!) { updateGroup(id: $id, input: { owners: ["olive"] }) { id } }',
        {
          id: createGroup.id,
        },
      );
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
    };
  });

  afterAll(async () => {
    await admin?.close();
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

  async function attempt(caller: Caller, key: string, row: Row): Promise<Outcome> {
    const variables = (await row.vars?.(fixture)) ?? {};
    const token = tokens.get(caller);
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

  it('allows and refuses each operation for each caller as the rules say', async () => {
    const expected: string[] = [];
    const actual: string[] = [];
    for (const [key, row] of Object.entries(ROWS)) {
      for (const caller of CALLERS) {
        const want: Outcome =
          caller === 'admin' || caller === 'owner' || caller === 'other'
            ? row[caller]
            : row.anyone
              ? 'allow'
              : 'unauth';
        expected.push(`${key} ${caller}: ${want}`);
        actual.push(`${key} ${caller}: ${await attempt(caller, key, row)}`);
      }
    }
    expect(actual).toEqual(expected);
  });
});
