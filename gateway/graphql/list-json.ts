/**
 * Lists answered from each item's cached JSON text. A list of objects whose selection holds only
 * plain leaf fields (`containers { nodes { id name state createdAt } }`: what API clients polling a
 * list mostly ask) costs the gateway more to build and serialise than everything else in the
 * request: graphql-jit builds one result object per item, JSON.stringify then walks them all again.
 * Such a list's items rarely change between two requests, so each item's JSON text is kept, keyed by
 * the source object, and used again while every value it was written from is still the same (`===`,
 * read afresh on every request: a changed or replaced record is written anew, whatever its origin).
 *
 * How: compiled queries (executor.ts) are rewritten so that such a list field `f` is asked as a
 * synthetic scalar field `f__json` of an internal copy of the schema (the public one never shows it);
 * its resolver reads the list as the default resolver would and answers one `JsonText` holding the
 * list's text. `stringifyResult` writes the answer with those texts in place. Anything out of the
 * ordinary (a null where the schema says non-null, a value a scalar refuses, a list that is not an
 * array) throws `IRREGULAR`, and the executor runs the query again unrewritten, so errors and their
 * paths are exactly graphql-jit's. test/unit/list-json.test.ts holds both ways to the same bytes.
 */
import {
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLUnionType,
  Kind,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLFieldConfigMap,
  type GraphQLLeafType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** JSON text put into a result as is by `stringifyResult`. */
export class JsonText {
  constructor(readonly text: string) {}
  /** For whoever serialises a result some other way: the same JSON. */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** Thrown by a list's resolver when the list is out of the ordinary: run the query unrewritten. */
export const IRREGULAR = new Error('list-json: irregular list, run the query unrewritten');

/** Where a result holds JsonText: response keys down to them (lists along the way are walked). */
export interface JsonPaths {
  readonly children: ReadonlyMap<string, JsonPaths>;
}

/** A document with its cacheable lists rewritten, and where their texts will be in the result. */
export interface RewrittenDocument {
  document: DocumentNode;
  paths: JsonPaths;
}

const SUFFIX = '__json';
const JSON_TEXT = new GraphQLScalarType({
  name: `HumpbackJsonText${SUFFIX}`,
  description: 'Internal: JSON text written into the answer as is.',
  serialize: (value) => value,
});

/** What one list of one document writes per item. */
interface ListPlan {
  readonly listField: string;
  readonly listNullable: boolean;
  readonly itemNullable: boolean;
  /**
   * Per selected field: `"key":` (with a leading comma after the first), what to read, its type;
   * `__typename` has no type, its prefix holds its value too.
   */
  readonly fields: readonly {
    prefix: string;
    name: string;
    type: GraphQLLeafType | null;
    nonNull: boolean;
  }[];
  readonly memo: WeakMap<object, { values: unknown[]; text: string }>;
  /** The list this plan wrote last. */
  last?: { parts: readonly string[]; json: JsonText };
}

export interface ListJson {
  /** The schema rewritten documents are compiled against: the public one plus the `__json` fields. */
  readonly schema: GraphQLSchema;
  /** The operation with its cacheable lists rewritten; undefined when it has none. */
  rewrite(document: DocumentNode, operation: OperationDefinitionNode): RewrittenDocument | undefined;
}

export function createListJson(publicSchema: GraphQLSchema): ListJson {
  const plans = new WeakMap<FieldNode, ListPlan>();
  const resolveList = (source: unknown, info: GraphQLResolveInfo): JsonText | null => {
    const plan = plans.get(info.fieldNodes[0]!);
    if (!plan) throw IRREGULAR;
    return listText(plan, source);
  };
  const schema = withJsonFields(publicSchema, resolveList);
  // the internal schema has no `__json` field where the name was taken: such a list is left alone
  const hasJsonField = (parent: string, field: string) =>
    (schema.getType(parent) as GraphQLObjectType).getFields()[`${field}${SUFFIX}`]?.type === JSON_TEXT;
  return {
    schema,
    rewrite: (document, operation) => rewrite(publicSchema, document, operation, { plans, hasJsonField }),
  };
}

/** The list's text, or IRREGULAR. */
function listText(plan: ListPlan, source: unknown): JsonText | null {
  const list = (source as Record<string, unknown> | null)?.[plan.listField];
  if (list == null) {
    if (plan.listNullable) return null;
    throw IRREGULAR;
  }
  if (!Array.isArray(list)) throw IRREGULAR;
  const { last } = plan;
  let same = last !== undefined && last.parts.length === list.length;
  const parts = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    const text = itemText(plan, list[i]);
    parts[i] = text;
    if (same && text !== last!.parts[i]) same = false;
  }
  // every item's text as the last time (a list polled, nothing changed): the same whole text
  if (same) return last!.json;
  const json = new JsonText(`[${parts.join(',')}]`);
  plan.last = { parts, json };
  return json;
}

function itemText(plan: ListPlan, item: unknown): string {
  if (item == null) {
    if (plan.itemNullable) return 'null';
    throw IRREGULAR;
  }
  if (typeof item !== 'object') throw IRREGULAR;
  const { fields } = plan;
  const source = item as Record<string, unknown>;
  const known = plan.memo.get(source);
  if (known) {
    let same = true;
    for (let i = 0; i < fields.length && same; i++) {
      const f = fields[i]!;
      if (f.type) same = source[f.name] === known.values[i];
    }
    if (same) return known.text;
  }
  const values = new Array<unknown>(fields.length);
  let text = '{';
  let cacheable = true;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    text += f.prefix;
    if (!f.type) continue;
    const raw = source[f.name];
    // the default resolver calls a function-valued property: leave that to graphql-jit
    if (typeof raw === 'function') throw IRREGULAR;
    values[i] = raw;
    if (raw !== null && typeof raw === 'object') cacheable = false;
    if (raw == null) {
      if (f.nonNull) throw IRREGULAR;
      text += 'null';
      continue;
    }
    let serialized: unknown;
    try {
      serialized = f.type.serialize(raw);
    } catch {
      throw IRREGULAR;
    }
    const json = serialized === undefined ? undefined : JSON.stringify(serialized);
    if (json === undefined || Number.isNaN(serialized)) throw IRREGULAR;
    text += json;
  }
  text += '}';
  // only primitive values can be compared for a later hit (an object could change inside)
  if (cacheable) plan.memo.set(source, { values, text });
  return text;
}

/**
 * The public schema with a nullable `<field>__json` scalar beside every list-of-objects field that
 * has no resolver of its own (the lists a connection or record holds). Output composite types are
 * rebuilt (they refer to each other); scalars, enums and input types are the public ones.
 */
function withJsonFields(
  schema: GraphQLSchema,
  resolve: (source: unknown, info: GraphQLResolveInfo) => JsonText | null,
): GraphQLSchema {
  const types = new Map<string, GraphQLNamedType>();
  const named = <T extends GraphQLNamedType>(type: T): T => types.get(type.name) as T;
  const output = (type: GraphQLType): GraphQLOutputType =>
    isNonNullType(type)
      ? new GraphQLNonNull(output(type.ofType))
      : isListType(type)
        ? new GraphQLList(output(type.ofType))
        : named(type as GraphQLNamedType & GraphQLOutputType);
  const fields =
    <S>(map: GraphQLFieldConfigMap<S, unknown>, withJson: boolean) =>
    () => {
      const out: GraphQLFieldConfigMap<S, unknown> = {};
      for (const [name, field] of Object.entries(map)) {
        out[name] = { ...field, type: output(field.type) };
        if (withJson && listOfObjects(field.type) && !field.resolve && !(`${name}${SUFFIX}` in map))
          out[`${name}${SUFFIX}`] = {
            type: JSON_TEXT,
            args: field.args ?? {},
            resolve: (s, _a, _c, i) => resolve(s, i),
          };
      }
      return out;
    };
  for (const type of Object.values(schema.getTypeMap())) {
    // scalars, enums, input types and the introspection types stay as they are
    let copy: GraphQLNamedType = type;
    const introspection = type.name.startsWith('__');
    if (isObjectType(type) && !introspection) {
      const c = type.toConfig();
      copy = new GraphQLObjectType({
        ...c,
        interfaces: () => c.interfaces.map(named),
        fields: fields(c.fields, true),
      });
    } else if (isInterfaceType(type) && !introspection) {
      // interfaces keep their fields: only object types' lists are rewritten
      const c = type.toConfig();
      copy = new GraphQLInterfaceType({
        ...c,
        interfaces: () => c.interfaces.map(named),
        fields: fields(c.fields, false),
      });
    } else if (isUnionType(type)) {
      const c = type.toConfig();
      copy = new GraphQLUnionType({ ...c, types: () => c.types.map(named) });
    }
    types.set(type.name, copy);
  }
  const root = (t: GraphQLObjectType | null | undefined) => (t ? named(t) : null);
  return new GraphQLSchema({
    query: root(schema.getQueryType()),
    mutation: root(schema.getMutationType()),
    subscription: root(schema.getSubscriptionType()),
    types: [...types.values(), JSON_TEXT],
    directives: schema.getDirectives(),
  });
}

/** `[T]`, `[T!]!` and the like for an object type T. */
function listOfObjects(type: GraphQLType): boolean {
  const list = isNonNullType(type) ? type.ofType : type;
  if (!isListType(list)) return false;
  const item = isNonNullType(list.ofType) ? list.ofType.ofType : list.ofType;
  return isObjectType(item);
}

interface Lists {
  /** The plan of each rewritten field, for its resolver (which gets the field's node). */
  plans: WeakMap<FieldNode, ListPlan>;
  hasJsonField(parent: string, field: string): boolean;
}

/**
 * Rewrites the operation's cacheable lists. Below a selection set that spreads fragments, or below
 * a response key asked twice, nothing is rewritten: fields merged from elsewhere would no longer
 * match.
 */
function rewrite(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  lists: Lists,
): RewrittenDocument | undefined {
  const root = operation.operation === 'query' ? schema.getQueryType() : undefined;
  if (!root) return undefined;
  const replaced = new Map<FieldNode, FieldNode>();
  const paths = walk(document, root, operation.selectionSet, replaced, lists);
  if (!paths) return undefined;
  const rewritten = visit(document, { Field: (node) => replaced.get(node) });
  // visit() rebuilds the nodes above a replaced one: the plans are keyed by the replacements, which
  // it leaves as they are
  return { document: rewritten, paths };
}

function walk(
  document: DocumentNode,
  parent: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  replaced: Map<FieldNode, FieldNode>,
  lists: Lists,
): JsonPaths | undefined {
  if (selectionSet.selections.some((s) => s.kind !== Kind.FIELD)) return undefined;
  const fieldNodes = selectionSet.selections as readonly FieldNode[];
  const keyCount = new Map<string, number>();
  for (const f of fieldNodes) keyCount.set(responseKey(f), (keyCount.get(responseKey(f)) ?? 0) + 1);
  const children = new Map<string, JsonPaths>();
  for (const node of fieldNodes) {
    const key = responseKey(node);
    if (keyCount.get(key) !== 1 || !node.selectionSet) continue;
    const field = parent.getFields()[node.name.value];
    if (!field) continue;
    const plan =
      node.directives?.length || !lists.hasJsonField(parent.name, field.name)
        ? undefined
        : listPlan(document, field, node);
    if (plan) {
      const replacement: FieldNode = {
        kind: Kind.FIELD,
        alias: { kind: Kind.NAME, value: key },
        name: { kind: Kind.NAME, value: `${node.name.value}${SUFFIX}` },
        arguments: node.arguments ?? [],
        directives: [],
      };
      lists.plans.set(replacement, plan);
      replaced.set(node, replacement);
      children.set(key, { children: new Map() });
      continue;
    }
    const type = getNamedType(field.type);
    if (!isObjectType(type)) continue;
    const below = walk(document, type, node.selectionSet, replaced, lists);
    if (below) children.set(key, below);
  }
  return children.size ? { children } : undefined;
}

/** The plan of a list field asked with only leaf fields (fragments on its type flattened). */
function listPlan(
  document: DocumentNode,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
): ListPlan | undefined {
  if (field.resolve || !listOfObjects(field.type) || !node.selectionSet) return undefined;
  const list = isNonNullType(field.type) ? field.type.ofType : field.type;
  if (!isListType(list)) return undefined;
  const itemType = getNamedType(list) as GraphQLObjectType;
  if (itemType.isTypeOf) return undefined;
  const leaves = leafSelections(document, itemType, node.selectionSet);
  if (!leaves?.length) return undefined;
  const seen = new Set<string>();
  const fields: ListPlan['fields'][number][] = [];
  for (const leaf of leaves) {
    const key = responseKey(leaf);
    if (seen.has(key)) continue; // merged by validation: the same field
    seen.add(key);
    const prefix = `${fields.length ? ',' : ''}${JSON.stringify(key)}:`;
    if (leaf.name.value === '__typename') {
      fields.push({
        prefix: prefix + JSON.stringify(itemType.name),
        name: '__typename',
        type: null,
        nonNull: true,
      });
      continue;
    }
    const def = itemType.getFields()[leaf.name.value];
    const leafType = def && getNamedType(def.type);
    if (!def || def.resolve || !leafType || !isLeafType(leafType) || isListType(nullableOf(def.type)))
      return undefined;
    fields.push({ prefix, name: def.name, type: leafType, nonNull: isNonNullType(def.type) });
  }
  return {
    listField: field.name,
    listNullable: !isNonNullType(field.type),
    itemNullable: !isNonNullType(list.ofType),
    fields,
    memo: new WeakMap(),
  };
}

/** The fields of a selection, fragments on `type` inlined; undefined when anything else is in it. */
function leafSelections(
  document: DocumentNode,
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  depth = 0,
): FieldNode[] | undefined {
  if (depth > 10) return undefined;
  const out: FieldNode[] = [];
  for (const s of selectionSet.selections) {
    if (s.directives?.length) return undefined;
    if (s.kind === Kind.FIELD) {
      if (s.selectionSet) return undefined;
      out.push(s);
      continue;
    }
    let inner: SelectionSetNode;
    if (s.kind === Kind.INLINE_FRAGMENT) {
      if (s.typeCondition && s.typeCondition.name.value !== type.name) return undefined;
      inner = s.selectionSet;
    } else {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
      );
      if (fragment?.kind !== Kind.FRAGMENT_DEFINITION || fragment.typeCondition.name.value !== type.name)
        return undefined;
      if (fragment.directives?.length) return undefined;
      inner = fragment.selectionSet;
    }
    const fields = leafSelections(document, type, inner, depth + 1);
    if (!fields) return undefined;
    out.push(...fields);
  }
  return out;
}

const nullableOf = (type: GraphQLType): GraphQLType => (isNonNullType(type) ? type.ofType : type);
const responseKey = (node: FieldNode): string => node.alias?.value ?? node.name.value;

/** Where each answer's JsonText is, for `stringifyResult`: set by the executor. */
const pathsOf = new WeakMap<object, JsonPaths>();

export function markJsonPaths(data: object, paths: JsonPaths): void {
  pathsOf.set(data, paths);
}

/**
 * Apollo's `stringifyResult`: JSON.stringify (and a newline, as Apollo's own), with the JsonText of
 * rewritten lists written in place.
 */
export function stringifyResult(value: { errors?: unknown; data?: unknown; extensions?: unknown }): string {
  const paths = value.data && typeof value.data === 'object' ? pathsOf.get(value.data) : undefined;
  if (!paths) return `${JSON.stringify(value)}\n`;
  let out = '{';
  const add = (key: string, text: string | undefined) => {
    if (text === undefined) return;
    out += `${out.length > 1 ? ',' : ''}"${key}":${text}`;
  };
  add('errors', JSON.stringify(value.errors));
  add('data', write(value.data, paths));
  add('extensions', JSON.stringify(value.extensions));
  return `${out}}\n`;
}

function write(value: unknown, paths: JsonPaths): string {
  if (value instanceof JsonText) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => write(v, paths)).join(',')}]`;
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
    return JSON.stringify(value) ?? 'null';
  let out = '{';
  for (const [key, v] of Object.entries(value)) {
    const below = paths.children.get(key);
    const text = below && v !== undefined ? write(v, below) : JSON.stringify(v);
    if (text !== undefined) out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}
