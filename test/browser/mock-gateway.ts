import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { GraphQLError, buildSchema, execute, parse, validate, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { mountWebUi } from '../../web/serve.js';

/**
 * A stand-in gateway for UI tests that need no Docker: the real schema/schema.graphql with in-memory
 * resolvers, over HTTP and graphql-ws, serving web/dist with web/serve.ts. The real-gateway tests
 * (ui.test.ts) are the ones that prove the system; this one proves the pages.
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const schema = buildSchema(readFileSync(join(repoRoot, 'schema', 'schema.graphql'), 'utf8'));

type State = 'CREATED' | 'RUNNING' | 'PAUSED' | 'RESTARTING' | 'EXITED' | 'DEAD' | 'REMOVING';

interface MockContainer {
  id: string;
  name: string;
  nodeId: string;
  image: string;
  state: State;
  status: string;
  groupId: string | null;
  metaId: string | null;
  index: number | null;
  labels: { key: string; value: string }[];
  createdAt: string;
}

interface Listener {
  field: string;
  push: (value: unknown) => void;
}

export interface MockGateway {
  url: string;
  /** Changes a container's state as if Docker reported it (publishes containerStatusChanged). */
  setContainerState(name: string, state: State): void;
  /** Ends every session as an expired token would: the token stops working, live sockets get 4401. */
  expireSessions(): void;
  close(): Promise<void>;
}

const now = () => new Date().toISOString();
let seq = 0;
const newId = (prefix: string) => `${prefix}${(++seq).toString(16).padStart(4, '0')}${'0'.repeat(56)}`;

export async function startMockGateway(options: { password: string }): Promise<MockGateway> {
  const nodes = [
    { id: 'node-1', name: 'n1', ip: '10.77.0.11', status: 'HEALTHY', cpus: 2, memoryBytes: 4 * 2 ** 30 },
    { id: 'node-2', name: 'n2', ip: '10.77.0.12', status: 'HEALTHY', cpus: 2, memoryBytes: 4 * 2 ** 30 },
    { id: 'node-3', name: 'n3', ip: '10.77.0.13', status: 'DISCONNECTED', cpus: 4, memoryBytes: 8 * 2 ** 30 },
  ];
  const nodeLabels = new Map<string, { key: string; value: string }[]>([
    ['node-1', [{ key: 'zone', value: 'a' }]],
  ]);
  const groups: {
    id: string;
    name: string;
    description: string | null;
    clusterMode: boolean;
    servers: string[];
    owners: string[];
    allowedHostPaths: string[];
  }[] = [];
  const metas: {
    id: string;
    groupId: string;
    name: string;
    image: string;
    imageTag: string;
    instances: number;
    constraints: string[];
    createdAt: string;
    updatedAt: string;
  }[] = [];
  const containers: MockContainer[] = [];
  const users = [{ id: 'admin', username: 'admin', admin: true }];
  const audit: {
    id: string;
    at: string;
    userId: string | null;
    operation: string;
    args: unknown;
    outcome: string;
  }[] = [];
  const listeners = new Set<Listener>();
  const publish = (field: string, value: unknown) => {
    for (const l of listeners) if (l.field === field) l.push(value);
  };
  let session = 1;
  let token = `mock-token-${session}`;
  const fail = (code: string, message: string) => new GraphQLError(message, { extensions: { code } });

  const nodeObj = (n: (typeof nodes)[number]) => ({
    ...n,
    apiAddr: `${n.ip}:8500`,
    cpuPercent: n.status === 'HEALTHY' ? 10 + Math.random() * 30 : null,
    memoryUsedBytes: n.status === 'HEALTHY' ? n.memoryBytes * (0.3 + Math.random() * 0.2) : null,
    labels: nodeLabels.get(n.id) ?? [],
    engineLabels: [{ key: 'storage', value: 'vfs' }],
    dockerVersion: '20.10.24',
    containers: () => containers.filter((c) => c.nodeId === n.id).map(containerObj),
  });
  const containerObj = (c: MockContainer) => ({
    ...c,
    node: () => nodeObj(nodes.find((n) => n.id === c.nodeId)!),
    // What the engine's inspect would say.
    command: ['sh'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    ports: [],
    mounts: [],
    restartCount: 0,
    startedAt: c.createdAt,
    finishedAt: null,
    exitCode: null,
    hostname: c.id.slice(0, 12),
    networkMode: 'none',
  });
  const groupNodes = (g: (typeof groups)[number]) => nodes.filter((n) => g.servers.includes(n.ip));
  const groupObj = (g: (typeof groups)[number]) => ({
    ...g,
    nodes: () => groupNodes(g).map(nodeObj),
    metas: () => metas.filter((m) => m.groupId === g.id).map(metaObj),
  });
  const metaObj = (m: (typeof metas)[number]) => ({
    ...m,
    containers: () => containers.filter((c) => c.metaId === m.id).map(containerObj),
  });
  const setState = (c: MockContainer, state: State) => {
    const previousState = c.state;
    c.state = state;
    c.status = state === 'RUNNING' ? 'Up 1 second' : state === 'EXITED' ? 'Exited (0) 1 second ago' : state;
    publish('containerStatusChanged', { container: containerObj(c), previousState, at: now() });
  };
  const runMeta = (m: (typeof metas)[number]) => {
    const group = groups.find((g) => g.id === m.groupId)!;
    const healthy = groupNodes(group).filter((n) => n.status === 'HEALTHY');
    const mine = containers.filter((c) => c.metaId === m.id);
    for (let index = mine.length; index < m.instances; index++) {
      const c: MockContainer = {
        id: newId('c'),
        name: `CLUSTER-${m.groupId.slice(0, 8)}-${m.name}-${index}`,
        nodeId: healthy[index % Math.max(healthy.length, 1)]?.id ?? 'node-1',
        image: `${m.image}:${m.imageTag}`,
        state: 'CREATED',
        status: 'Created',
        groupId: m.groupId,
        metaId: m.id,
        index,
        labels: [],
        createdAt: now(),
      };
      containers.push(c);
      setTimeout(() => setState(c, 'RUNNING'), 300 + index * 150);
    }
    for (const c of mine.slice(m.instances)) containers.splice(containers.indexOf(c), 1);
    publish('metaEvents', {
      event: 'UpdateMetaEvent',
      timestamp: Date.now() / 1000,
      groupId: m.groupId,
      metaId: m.id,
      payload: {},
    });
  };

  const root = {
    me: () => users[0],
    users: () => users,
    auditLog: ({ first = 50, before }: { first?: number; before?: string }) => {
      if (first < 0 || first > 500) throw fail('BAD_USER_INPUT', 'first must be between 0 and 500');
      const start = before ? audit.findIndex((e) => e.id === before) + 1 : 0;
      return audit.slice(start, start + first);
    },
    groups: () => groups.map(groupObj),
    group: ({ id }: { id: string }) => groups.map(groupObj).find((g) => g.id === id) ?? null,
    nodes: ({ groupId, status }: { groupId?: string; status?: string }) => {
      const group = groups.find((g) => g.id === groupId);
      return nodes
        .filter((n) => !group || group.servers.includes(n.ip))
        .filter((n) => !status || n.status === status)
        .map(nodeObj);
    },
    node: ({ id }: { id: string }) => {
      const n = nodes.find((x) => x.id === id || x.ip === id || x.name === id);
      return n ? nodeObj(n) : null;
    },
    metas: ({ groupId }: { groupId: string }) => metas.filter((m) => m.groupId === groupId).map(metaObj),
    meta: ({ id }: { id: string }) => metaObj(metas.find((m) => m.id === id)!),
    containers: (a: {
      groupId?: string;
      nodeId?: string;
      metaId?: string;
      state?: State;
      search?: string;
      first?: number;
    }) => {
      // The same page bounds as the real resolver, so the UI cannot ask for what the gateway refuses.
      const first = a.first ?? 50;
      if (first < 0 || first > 500) throw fail('BAD_USER_INPUT', 'first must be between 0 and 500');
      const list = containers
        .filter((c) => !a.nodeId || c.nodeId === a.nodeId)
        .filter((c) => !a.metaId || c.metaId === a.metaId)
        .filter((c) => !a.state || c.state === a.state)
        .filter((c) => !a.search || `${c.name} ${c.image}`.toLowerCase().includes(a.search.toLowerCase()))
        .filter((c) => {
          const group = groups.find((g) => g.id === a.groupId);
          return !group || group.servers.includes(nodes.find((n) => n.id === c.nodeId)!.ip);
        });
      return {
        nodes: list.slice(0, first).map(containerObj),
        totalCount: list.length,
        endCursor: null,
        hasNextPage: list.length > first,
      };
    },
    containerStats: () => ({
      at: now(),
      cpuPercent: 5 + Math.random() * 10,
      memoryUsageBytes: 48 * 2 ** 20,
      memoryLimitBytes: 4 * 2 ** 30,
      networkRxBytes: 0,
      networkTxBytes: 0,
    }),
    container: ({ id }: { id: string }) => {
      const c = containers.find((x) => x.id.startsWith(id));
      return c ? containerObj(c) : null;
    },
    containerLogs: () => ['hello from the mock gateway', 'line 2'],
    images: () => [
      { id: 'sha256:0123456789abcdef', tags: ['humpback-test/busybox:latest'], sizeBytes: 2_100_000 },
    ],
    imageJobs: () => [],
    registries: () => [],
    webhookDeliveries: () => [],
    login: ({ username, password }: { username: string; password: string }) => {
      audit.unshift({
        id: newId('a'),
        at: now(),
        userId: null,
        operation: 'login',
        args: { username },
        outcome: 'OK',
      });
      if (username !== 'admin' || password !== options.password)
        throw fail('UNAUTHENTICATED', 'bad credentials');
      return { token, user: users[0] };
    },
    createGroup: ({
      input,
    }: {
      input: { name: string; description?: string; clusterMode: boolean; servers?: string[] };
    }) => {
      if (groups.some((g) => g.name === input.name)) throw fail('CONFLICT', `group ${input.name} exists`);
      const g = {
        id: newId('g'),
        name: input.name,
        description: input.description ?? null,
        clusterMode: input.clusterMode,
        servers: input.servers ?? [],
        owners: ['admin'],
        allowedHostPaths: [],
      };
      groups.push(g);
      return groupObj(g);
    },
    updateGroup: ({ id, input }: { id: string; input: Record<string, unknown> }) => {
      const g = groups.find((x) => x.id === id);
      if (!g) throw fail('NOT_FOUND', `group ${id} not found`);
      if (input['clusterMode'] === false && g.clusterMode && !input['confirmRemoveClusterContainers']) {
        throw fail('BAD_USER_INPUT', 'confirmRemoveClusterContainers must be true');
      }
      for (const [k, v] of Object.entries(input)) if (v !== undefined && k in g) Object.assign(g, { [k]: v });
      return groupObj(g);
    },
    addServer: ({ groupId, address }: { groupId: string; address: string }) => {
      const g = groups.find((x) => x.id === groupId)!;
      g.servers.push(address);
      return groupObj(g);
    },
    removeServer: ({ groupId, address }: { groupId: string; address: string }) => {
      const g = groups.find((x) => x.id === groupId)!;
      g.servers = g.servers.filter((s) => s !== address);
      return groupObj(g);
    },
    setNodeLabels: ({ nodeId, labels }: { nodeId: string; labels: { key: string; value: string }[] }) => {
      nodeLabels.set(nodeId, labels);
      return nodeObj(nodes.find((n) => n.id === nodeId)!);
    },
    createContainer: ({ nodeId, config }: { nodeId: string; config: { name: string; image: string } }) => {
      const c: MockContainer = {
        id: newId('c'),
        name: config.name,
        nodeId,
        image: config.image,
        state: 'CREATED',
        status: 'Created',
        groupId: null,
        metaId: null,
        index: null,
        labels: [],
        createdAt: now(),
      };
      containers.push(c);
      setTimeout(() => setState(c, 'RUNNING'), 400);
      return containerObj(c);
    },
    operateContainer: ({ id, action }: { id: string; action: string }) => {
      const c = containers.find((x) => x.id === id)!;
      const next: Record<string, State> = {
        START: 'RUNNING',
        STOP: 'EXITED',
        RESTART: 'RUNNING',
        KILL: 'EXITED',
        PAUSE: 'PAUSED',
        UNPAUSE: 'RUNNING',
      };
      setState(c, next[action]!);
      return containerObj(c);
    },
    removeContainer: ({ id }: { id: string }) => {
      const at = containers.findIndex((x) => x.id === id);
      if (at >= 0) containers.splice(at, 1);
      return true;
    },
    createMeta: ({
      input,
    }: {
      input: {
        groupId: string;
        instances: number;
        config: { name: string; image: string };
        constraints?: string[];
      };
    }) => {
      const [image = '', imageTag = 'latest'] = input.config.image.split(/:(?=[^:/]+$)/);
      const m = {
        id: newId('m'),
        groupId: input.groupId,
        name: input.config.name,
        image,
        imageTag,
        instances: input.instances,
        constraints: input.constraints ?? [],
        createdAt: now(),
        updatedAt: now(),
      };
      metas.push(m);
      runMeta(m);
      return metaObj(m);
    },
    updateMeta: ({ id, input }: { id: string; input: { instances?: number } }) => {
      const m = metas.find((x) => x.id === id)!;
      if (input.instances !== undefined) m.instances = input.instances;
      m.updatedAt = now();
      runMeta(m);
      return metaObj(m);
    },
    upgradeMeta: ({ id, imageTag }: { id: string; imageTag: string }) => {
      const m = metas.find((x) => x.id === id)!;
      m.imageTag = imageTag;
      return metaObj(m);
    },
  };

  const authorized = (header: string | undefined) => header === `Bearer ${token}`;
  const run = async (
    query: string,
    variables: Record<string, unknown>,
    auth: boolean,
  ): Promise<ExecutionResult> => {
    const document = parse(query);
    const errors = validate(schema, document);
    if (errors.length > 0) {
      return {
        errors: errors.map(
          (e) => new GraphQLError(e.message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
        ),
      };
    }
    const isLogin = /\blogin\s*\(/.test(query);
    if (!auth && !isLogin) return { errors: [fail('UNAUTHENTICATED', 'log in first')] };
    return execute({ schema, document, rootValue: root, variableValues: variables });
  };

  const app = express();
  app.use(express.json());
  app.post('/graphql', async (req, res) => {
    const body = req.body as { query: string; variables?: Record<string, unknown> };
    res.json(await run(body.query, body.variables ?? {}, authorized(req.headers.authorization)));
  });
  mountWebUi(app);
  const server: Server = createServer(app);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  async function* stream(field: string): AsyncGenerator<Record<string, unknown>> {
    const queue: unknown[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = {
      field,
      push: (value) => {
        queue.push(value);
        wake?.();
      },
    };
    listeners.add(listener);
    try {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        yield { [field]: queue.shift() };
      }
    } finally {
      listeners.delete(listener);
    }
  }
  const wsCleanup = useServer(
    {
      schema,
      roots: {
        subscription: {
          containerStatusChanged: () => stream('containerStatusChanged'),
          nodeStatusChanged: () => stream('nodeStatusChanged'),
          metaEvents: () => stream('metaEvents'),
          containerLogs: async function* () {
            for (const line of ['hello from the mock gateway', 'line 2'])
              yield { containerLogs: { at: now(), stream: 'STDOUT', line } };
          },
        },
      },
      onConnect: (ctx) =>
        authorized((ctx.connectionParams as { authorization?: string } | undefined)?.authorization),
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    expireSessions: () => {
      token = `mock-token-${++session}`;
      for (const socket of wss.clients) socket.close(4401, 'Token expired');
    },
    setContainerState: (name, state) => {
      const c = containers.find((x) => x.name === name);
      if (c) setState(c, state);
    },
    close: async () => {
      await wsCleanup.dispose();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
