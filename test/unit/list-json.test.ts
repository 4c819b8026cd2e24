/**
 * The query executor's lists answered from cached JSON (gateway/graphql/list-json.ts): every answer
 * is byte for byte what graphql-js (the executor's first run of a document) and graphql-jit without
 * the rewrite give, each item's text is written again when a value it came from changes, and
 * anything out of the ordinary falls back to graphql-jit's own errors.
 */
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  parse,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { describe, expect, it } from 'vitest';
import { createQueryExecutor } from '../../gateway/graphql/executor.js';
import { JsonText, stringifyResult } from '../../gateway/graphql/list-json.js';

type Item = Record<string, unknown>;

let stampCalls = 0;
const Stamp = new GraphQLScalarType({
  name: 'Stamp',
  serialize: (v) => {
    stampCalls++;
    if (typeof v !== 'string') throw new TypeError('Stamp cannot represent a non-string');
    return `at ${v}`;
  },
});
const Json = new GraphQLScalarType({ name: 'Json', serialize: (v) => v });
const State = new GraphQLEnumType({
  name: 'State',
  values: { RUNNING: { value: 'running' }, EXITED: { value: 'exited' } },
});
const Item = new GraphQLObjectType<Item>({
  name: 'Item',
  fields: {
    id: { type: new GraphQLNonNull(GraphQLID) },
    name: { type: new GraphQLNonNull(GraphQLString) },
    state: { type: new GraphQLNonNull(State) },
    at: { type: new GraphQLNonNull(Stamp) },
    note: { type: GraphQLString },
    size: { type: GraphQLInt },
    extra: { type: Json },
    tags: { type: new GraphQLList(GraphQLString) },
    upper: { type: GraphQLString, resolve: (i) => String(i['name']).toUpperCase() },
  },
});
const Page = new GraphQLObjectType<{ nodes: unknown; maybe?: unknown }>({
  name: 'Page',
  fields: {
    nodes: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(Item))) },
    maybe: { type: new GraphQLList(Item) },
    total: { type: new GraphQLNonNull(GraphQLInt), resolve: (p) => (p.nodes as unknown[]).length },
    more: { type: GraphQLBoolean, resolve: () => false },
    // a name the rewrite would use for `maybe`: that list is left alone
    maybe__json: { type: GraphQLString, resolve: () => 'a field of its own' },
  },
});

let items: Item[] = [];
let maybe: unknown = null;
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      page: {
        type: new GraphQLNonNull(Page),
        args: { first: { type: GraphQLInt } },
        resolve: async (_s, args: { first?: number }) => ({
          nodes: items.slice(0, args.first ?? items.length),
          maybe,
        }),
      },
      pages: {
        type: new GraphQLList(Page),
        resolve: () => [
          { nodes: items.slice(0, 1), maybe },
          { nodes: items, maybe },
        ],
      },
    },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: { page: { type: new GraphQLNonNull(Page), resolve: () => ({ nodes: items, maybe }) } },
  }),
});

const item = (n: number, over: Item = {}): Item => ({
  id: `c${n}`,
  name: `app "${n}" \u2028 \u0000 é`,
  state: n % 2 ? 'running' : 'exited',
  at: `t${n}`,
  note: n % 3 ? null : `n${n}`,
  size: n % 4 ? n * 1000 : undefined,
  extra: { n, list: [1, 'two'] },
  tags: ['a', String(n)],
  ...over,
});

/** The executor's answer as Apollo would send it, for a document run `times` times. */
async function answers(
  query: string,
  times = 3,
  variables?: Record<string, unknown>,
  before?: (run: number) => void,
): Promise<string[]> {
  const execute = createQueryExecutor(schema);
  const document = parse(query);
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    before?.(i);
    out.push(stringifyResult(await execute(request(document, variables))));
  }
  return out;
}

function request(document: DocumentNode, variables?: Record<string, unknown>) {
  return {
    document,
    operation: document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode,
    operationName: undefined,
    variables,
    contextValue: {},
  };
}

/** graphql-jit without the rewrite (what the executor falls back to), errors as message and path. */
async function plainJit(query: string, variables?: Record<string, unknown>): Promise<unknown> {
  const compiled = compileQuery(schema, parse(query));
  if (!isCompiledQuery(compiled)) throw new Error('not compiled');
  const r = await compiled.query(undefined, {}, variables ?? {});
  return { data: r.data, errors: r.errors?.map((e) => ({ message: e.message, path: e.path })) };
}
const shape = (text: string): unknown => {
  const r = JSON.parse(text) as { data: unknown; errors?: { message: string; path: unknown }[] };
  return { data: r.data, errors: r.errors?.map((e) => ({ message: e.message, path: e.path })) };
};

describe('lists answered from cached JSON', () => {
  it('answers exactly what graphql-js does: aliases, __typename, fragments, enums, scalars, nulls, unicode', async () => {
    items = Array.from({ length: 12 }, (_, i) => item(i));
    maybe = [item(1), null, item(2)];
    const query = `query Q($n: Int) {
      page(first: $n) {
        total
        nodes { __typename id label: name state at note size ...More ... on Item { id at } }
        maybe { id kind: __typename }
        more
      }
      again: page { nodes { id } }
    }
    fragment More on Item { state note }`;
    let callsBeforeThird = -1;
    const [first, second, third] = await answers(query, 3, { n: 10 }, (run) => {
      if (run === 2) callsBeforeThird = stampCalls;
    });
    expect(first).toContain('"label":"app \\"0\\"');
    expect(second).toBe(first);
    expect(third).toBe(first);
    // the third run wrote every item from its cached text: the lists were rewritten
    expect(stampCalls).toBe(callsBeforeThird);
    expect(first!.endsWith('}\n')).toBe(true);
  });

  it('writes an item again when a value it came from changes, and only then', async () => {
    items = [item(1), item(2), item(3)];
    maybe = null;
    const execute = createQueryExecutor(schema);
    const document = parse('{ page { nodes { id name at } maybe { id } } }');
    const run = async () => stringifyResult(await execute(request(document)));
    await run(); // graphql-js
    await run(); // compiled: every item written
    stampCalls = 0;
    const unchanged = await run();
    expect(stampCalls).toBe(0);
    items[1]!['name'] = 'renamed in place';
    items[2] = { ...items[2]!, at: 'later' };
    const changed = await run();
    expect(stampCalls).toBe(2);
    expect(JSON.parse(changed)).toEqual({
      data: {
        page: {
          nodes: [
            { id: 'c1', name: items[0]!['name'], at: 'at t1' },
            { id: 'c2', name: 'renamed in place', at: 'at t2' },
            { id: 'c3', name: items[2]!['name'], at: 'at later' },
          ],
          maybe: null,
        },
      },
    });
    expect(changed).not.toBe(unchanged);
    // the same items in another order, then one fewer: the list is written anew each time
    items.reverse();
    const ids = async () =>
      (JSON.parse(await run()) as { data: { page: { nodes: { id: string }[] } } }).data.page.nodes.map(
        (n) => n.id,
      );
    expect(await ids()).toEqual(['c3', 'c2', 'c1']);
    items.pop();
    expect(await ids()).toEqual(['c3', 'c2']);
    expect(await ids()).toEqual(['c3', 'c2']);
  });

  it('falls back to graphql-jit for what is out of the ordinary, with its errors and nulls', async () => {
    const cases: { name: string; items: Item[]; maybe?: unknown; query: string }[] = [
      {
        name: 'null in a non-null field',
        items: [item(1), item(2, { name: null })],
        query: '{ page { nodes { id name } } }',
      },
      {
        name: 'a value the scalar refuses',
        items: [item(1, { at: 7 })],
        query: '{ page { nodes { id at } } }',
      },
      {
        name: 'an enum value unknown',
        items: [item(1, { state: 'paused' })],
        query: '{ page { nodes { state } } }',
      },
      {
        name: 'a null item in a non-null list',
        items: [item(1), null as never],
        query: '{ page { nodes { id } } }',
      },
      {
        name: 'a function-valued property',
        items: [item(1, { note: () => 'called' })],
        query: '{ page { nodes { note } } }',
      },
      {
        name: 'a list that is not an array',
        items: [],
        maybe: new Set([item(5)]),
        query: '{ page { maybe { id } } }',
      },
      { name: 'NaN in an Int', items: [item(1, { size: Number.NaN })], query: '{ page { nodes { size } } }' },
    ];
    for (const c of cases) {
      items = c.items;
      maybe = c.maybe ?? null;
      const [, compiled, again] = await answers(c.query);
      expect(shape(compiled!), c.name).toEqual(await plainJit(c.query));
      expect(again, c.name).toBe(compiled);
    }
  });

  it('leaves alone what it cannot hold to the same answer', async () => {
    items = [item(1), item(2)];
    maybe = [item(3)];
    const queries = [
      // fragments beside the list, a key asked twice, directives, a resolver, objects and lists
      '{ page { ...P } } fragment P on Page { nodes { id } }',
      '{ page { nodes { id } nodes { name } } }',
      '{ page { nodes @include(if: true) { id } } }',
      '{ page { nodes { id note @skip(if: true) } } }',
      '{ page { nodes { upper } } }',
      '{ page { nodes { extra tags } } }',
      '{ page { nodes { __proto__: id name } } }',
      '{ pages { nodes { id } more } }',
      '{ page { maybe { id } maybe__json } }',
    ];
    for (const query of queries) {
      const [first, second] = await answers(query, 2);
      expect(second, query).toBe(first);
    }
  });

  it('answers mutations on graphql-js, the JSON text as parsed JSON elsewhere', async () => {
    items = [item(1)];
    const [first, second] = await answers('mutation { page { nodes { id name } } }');
    expect(second).toBe(first);
    expect(JSON.stringify({ a: new JsonText('[{"id":"c1"}]') })).toBe('{"a":[{"id":"c1"}]}');
  });
});
