import { getOperationAST, parse, subscribe, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { logger } from '../../core/logger.js';
import { createContext } from '../../resolvers/context.js';
import { costLimitRule } from '../../gateway/graphql/guards.js';
import type { Viewer } from '../../core/services.js';
import {
  SharedSubscriptions,
  SubscriptionHub,
  type SharedResult,
  variablesOnlyChooseEvents,
} from '../../gateway/graphql/subscriptions.js';
import { CHANNEL, publishEvent, type ContainerStatusMessage } from '../../core/bus/channels.js';
import { buildGatewaySchema } from '../../gateway/graphql/build-schema.js';
import { validate, specifiedRules } from 'graphql';
import { createFakeWorld, type FakeWorld } from '../integration/api-fakes.js';

let schema: GraphQLSchema;
let world: FakeWorld;
let hub: SubscriptionHub;
const admin: Viewer = { userId: 'admin', username: 'admin', admin: true };
const alice: Viewer = { userId: 'alice', username: 'alice', admin: false };

beforeAll(async () => {
  schema = await buildGatewaySchema();
  world = await createFakeWorld();
  hub = new SubscriptionHub(world.bus, logger);
  await hub.start();
  const g = await world.groups.create({ name: 'a', clusterMode: false, servers: ['10.0.0.1'] }, alice);
  world.groups.groups.set('alice-group', { ...g, id: 'alice-group' });
  world.groups.groups.delete(g.id);
  world.nodes.add({ id: 'n1', ip: '10.0.0.1', name: 'one' });
  world.nodes.add({ id: 'n2', ip: '10.0.0.2', name: 'two' });
});

const ctx = (viewer: Viewer | undefined) =>
  createContext({ viewer, services: world.services, hub, clientKey: 'test', logger });

const event = (id: string, nodeId: string, groupIds: string[], metaId?: string): ContainerStatusMessage => ({
  container: {
    id,
    name: id,
    nodeId,
    image: 'busybox',
    state: 'RUNNING',
    status: 'Up',
    labels: {},
    createdAt: '2026-11-22T00:00:00.000Z',
    ...(metaId ? { metaId } : {}),
  },
  previousState: 'CREATED',
  at: '2026-11-22T00:00:01.000Z',
  groupIds,
});

async function take(iterator: AsyncIterator<ExecutionResult>, n: number): Promise<ExecutionResult[]> {
  const out: ExecutionResult[] = [];
  for (let i = 0; i < n; i++) {
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event in time')), 2000)),
    ]);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

const SUB = parse(`subscription($g: ID, $n: ID, $m: ID) {
  containerStatusChanged(groupId: $g, nodeId: $n, metaId: $m) { container { id nodeId } previousState at } }`);

describe('subscriptions in process', () => {
  it('refuses without a viewer', async () => {
    const result = (await subscribe({
      schema,
      document: SUB,
      contextValue: ctx(undefined),
    })) as ExecutionResult;
    expect(result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });

  it('filters by node and by what a non-admin owns', async () => {
    const byNode = (await subscribe({
      schema,
      document: SUB,
      variableValues: { n: 'two' },
      contextValue: ctx(admin),
    })) as AsyncGenerator<ExecutionResult>;
    const mine = (await subscribe({
      schema,
      document: SUB,
      contextValue: ctx(alice),
    })) as AsyncGenerator<ExecutionResult>;
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c1', 'n1', ['alice-group']));
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c2', 'n2', []));
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c3', 'n1', ['alice-group']));
    const [a] = await take(byNode, 1);
    expect(a?.data).toEqual({
      containerStatusChanged: {
        container: { id: 'c2', nodeId: 'n2' },
        previousState: 'CREATED',
        at: '2026-11-22T00:00:01.000Z',
      },
    });
    const got = await take(mine, 2);
    expect(
      got.map(
        (r) =>
          (r.data as { containerStatusChanged: { container: { id: string } } }).containerStatusChanged
            .container.id,
      ),
    ).toEqual(['c1', 'c3']);
    await byNode.return(undefined);
    await mine.return(undefined);
    expect(hub.listenerCount).toBe(0);
  });

  it('hands each message to the subscribers of its node, meta or group once, and to the unfiltered', async () => {
    const open = (variableValues: Record<string, string>) =>
      subscribe({ schema, document: SUB, variableValues, contextValue: ctx(admin) }) as Promise<
        AsyncGenerator<ExecutionResult>
      >;
    const subscribers = {
      node: await open({ n: 'one' }),
      meta: await open({ m: 'm1' }),
      group: await open({ g: 'alice-group' }),
      groupAndNode: await open({ g: 'alice-group', n: 'n1' }),
      all: await open({}),
    };
    expect(hub.listenerCount).toBe(5);
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c1', 'n1', ['alice-group'], 'm1'));
    // a group named twice is still one route
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c2', 'n2', ['alice-group', 'alice-group']));
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c3', 'n2', []));
    // the last one reaches everybody: what each got before it is all it got
    await publishEvent(world.bus, CHANNEL.containerStatus, event('last', 'n1', ['alice-group'], 'm1'));
    const expected = {
      node: ['c1', 'last'],
      meta: ['c1', 'last'],
      group: ['c1', 'c2', 'last'],
      groupAndNode: ['c1', 'last'],
      all: ['c1', 'c2', 'c3', 'last'],
    };
    for (const [name, iterator] of Object.entries(subscribers)) {
      const ids = (await take(iterator, expected[name as keyof typeof expected].length)).map(
        (r) =>
          (r.data as { containerStatusChanged: { container: { id: string } } }).containerStatusChanged
            .container.id,
      );
      expect(ids, name).toEqual(expected[name as keyof typeof expected]);
      await iterator.return(undefined);
    }
    expect(hub.listenerCount).toBe(0);
  });

  it('answers FORBIDDEN to a non-admin asking for a group, node or meta they do not own', async () => {
    for (const variableValues of [{ g: 'someone-else' }, { n: 'two' }, { m: 'no-such-meta' }]) {
      const result = (await subscribe({
        schema,
        document: SUB,
        variableValues,
        contextValue: ctx(alice),
      })) as ExecutionResult;
      expect(result.errors?.[0]?.extensions?.['code'], JSON.stringify(variableValues)).toBe('FORBIDDEN');
    }
  });
});

describe('SharedSubscriptions', () => {
  it('runs one execution for all clients of a key and stops it when the last one leaves', async () => {
    let runs = 0;
    const shared = new SharedSubscriptions(async (args) => {
      runs++;
      return subscribe(args) as Promise<AsyncGenerator<ExecutionResult>>;
    });
    const args = { schema, document: SUB, contextValue: ctx(admin) };
    const sinks: string[][] = [[], [], []];
    const iterators = await Promise.all(
      sinks.map((received) => shared.subscribe('k', args, { next: (r) => received.push(r.json) })),
    );
    expect(runs).toBe(1);
    expect(shared.listenersOf('k')).toBe(3);
    expect(hub.listenerCount).toBe(1);
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c9', 'n1', []));
    for (let i = 0; i < 50 && sinks.some((s) => s.length === 0); i++)
      await new Promise((r) => setTimeout(r, 10));
    for (const received of sinks) {
      expect(received).toHaveLength(1);
      expect(JSON.parse(received[0]!)).toMatchObject({
        data: { containerStatusChanged: { container: { id: 'c9' } } },
      });
    }
    // the very same string: serialised once
    expect(sinks[0]![0]).toBe(sinks[1]![0]);
    for (const it of iterators) await (it as AsyncIterator<ExecutionResult>).return?.();
    expect(shared.size).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(hub.listenerCount).toBe(0);
  });

  it('executes an event once for executions whose variables only choose their events', async () => {
    let runs = 0;
    const shared = new SharedSubscriptions(async (args) => {
      runs++;
      return subscribe(args) as Promise<AsyncGenerator<ExecutionResult>>;
    });
    // every container, node n1's, and (another result key) every container again
    const received: Record<string, SharedResult[]> = { all: [], n1: [], other: [] };
    const open = (name: string, variableValues: Record<string, unknown>, resultKey: string) =>
      shared.subscribe(
        name,
        { schema, document: SUB, variableValues, contextValue: ctx(admin) },
        { next: (r) => received[name]!.push(r) },
        resultKey,
      );
    const iterators = [await open('all', {}, 'SUB'), await open('n1', { n: 'n1' }, 'SUB')];
    iterators.push(await open('other', {}, 'SUB-2'));
    expect(runs).toBe(0); // (with a result key the source stream is the subscription's own)
    expect(shared.size).toBe(3);
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c7', 'n2', []));
    await publishEvent(world.bus, CHANNEL.containerStatus, event('c8', 'n1', []));
    for (let i = 0; i < 50 && received['n1']!.length + received['other']!.length < 3; i++)
      await new Promise((r) => setTimeout(r, 10));
    const ids = (results: SharedResult[]) =>
      results.map(
        (r) =>
          (r.result.data as { containerStatusChanged: { container: { id: string } } }).containerStatusChanged
            .container.id,
      );
    expect(ids(received['all']!)).toEqual(['c7', 'c8']);
    expect(ids(received['n1']!)).toEqual(['c8']);
    expect(ids(received['other']!)).toEqual(['c7', 'c8']);
    // c8's result is one result (serialised once) for both executions of the key; another key's is its own
    expect(received['n1']![0]).toBe(received['all']![1]);
    expect(received['other']![1]!.json).toBe(received['all']![1]!.json);
    expect(received['other']![1]).not.toBe(received['all']![1]);
    // returned while waiting for an event: its listener goes at once
    for (const it of iterators) await (it as AsyncIterator<ExecutionResult>).return?.();
    await new Promise((r) => setTimeout(r, 10));
    expect(shared.size).toBe(0);
    expect(hub.listenerCount).toBe(0);
  });

  it("tells when an operation's variables only choose its events", () => {
    const only = (text: string) => {
      const document = parse(text);
      return variablesOnlyChooseEvents(document, getOperationAST(document)!);
    };
    expect(only('subscription { containerStatusChanged { at } }')).toBe(true);
    expect(only('subscription($n: ID) { containerStatusChanged(nodeId: $n) { container { id } at } }')).toBe(
      true,
    );
    // a variable below the root field, in a directive of it, or in a fragment: results differ by it
    expect(
      only(
        'subscription($n: ID, $x: Boolean!) { containerStatusChanged(nodeId: $n) { at @include(if: $x) } }',
      ),
    ).toBe(false);
    expect(only('subscription($x: Boolean!) { containerStatusChanged @include(if: $x) { at } }')).toBe(false);
    expect(
      only(
        'subscription($x: Boolean!) { containerStatusChanged { ...F } } fragment F on ContainerStatusEvent { at @skip(if: $x) }',
      ),
    ).toBe(false);
    expect(only('subscription { ... on Subscription { containerStatusChanged { at } } }')).toBe(false);
  });

  it('returns the errors of a subscription that cannot start, to every client', async () => {
    const shared = new SharedSubscriptions(async (args) => subscribe(args) as Promise<ExecutionResult>);
    const result = await shared.subscribe('bad', { schema, document: SUB, contextValue: ctx(undefined) });
    expect((result as ExecutionResult).errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    expect(shared.size).toBe(0);
  });
});

describe('depth limit', () => {
  it('counts field nesting through fragments, ignoring introspection', () => {
    const deep = parse(
      'query { groups { ...G } } fragment G on Group { nodes { containers { node { id } } } }',
    );
    expect(validate(schema, deep, [...specifiedRules, costLimitRule({ maxDepth: 4 })])).toHaveLength(1);
    expect(validate(schema, deep, [...specifiedRules, costLimitRule({ maxDepth: 5 })])).toHaveLength(0);
    const introspection = parse(
      '{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }',
    );
    expect(validate(schema, introspection, [...specifiedRules, costLimitRule({ maxDepth: 2 })])).toHaveLength(
      0,
    );
  });
});
