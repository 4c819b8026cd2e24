import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/**
 * What a document asks of the server, measured in time linear in the document: every fragment is
 * walked once and its result reused wherever it is spread, so `...F1 ...F1` nested 23 times costs 23
 * steps here, not 2^23.
 */
export interface DocumentShape {
  /** Operations in the document (graphql validates each one's variables on its own). */
  operations: number;
  /** The deepest field nesting of any operation; introspection fields (`__schema`, ...) do not count. */
  depth: number;
  /**
   * Selections (fields, inline fragments, fragment spreads) of the operations with every spread
   * expanded in place, plus those of fragments no operation uses (validation walks those too).
   */
  selections: number;
  /**
   * Pairs of fields answering at the same place in the response (the same field asked twice, or by
   * two fragments): graphql's OverlappingFieldsCanBeMerged compares each such pair, so its work grows
   * with their square. Only counted when `selections` is at most `countMergesUpTo`; otherwise undefined.
   */
  merges: { pairs: number; worstPath: string; worstCount: number } | undefined;
  /** Selection nodes this measurement walked (for tests: at most the document's own plus `selections`). */
  visited: number;
}

interface Shape {
  depth: number;
  selections: number;
}

const NONE: Shape = { depth: 0, selections: 0 };

/**
 * Measures a parsed document. `countMergesUpTo` bounds the only walk that expands fragments (the
 * merge count): it runs only when the expanded document has at most that many selections.
 */
export function measureDocument(document: DocumentNode, options: { countMergesUpTo: number }): DocumentShape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    // the last definition of a name wins, as in graphql's ValidationContext.getFragment
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let visited = 0;
  // 'walking' marks a fragment on the current path: a cycle, which NoFragmentCyclesRule reports
  const shapes = new Map<string, Shape | 'walking'>();
  const fragmentShape = (name: string): Shape => {
    const known = shapes.get(name);
    if (known === 'walking') return NONE;
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return NONE;
    shapes.set(name, 'walking');
    const shape = shapeOf(fragment.selectionSet);
    shapes.set(name, shape);
    return shape;
  };
  const shapeOf = (set: SelectionSetNode): Shape => {
    let depth = 0;
    let selections = 0;
    for (const selection of set.selections) {
      visited++;
      selections++;
      if (selection.kind === Kind.FIELD) {
        const inner = selection.selectionSet ? shapeOf(selection.selectionSet) : NONE;
        selections += inner.selections;
        if (!selection.name.value.startsWith('__')) depth = Math.max(depth, inner.depth + 1);
      } else {
        const inner =
          selection.kind === Kind.INLINE_FRAGMENT
            ? shapeOf(selection.selectionSet)
            : fragmentShape(selection.name.value);
        selections += inner.selections;
        depth = Math.max(depth, inner.depth);
      }
    }
    return { depth, selections };
  };

  const roots: SelectionSetNode[] = [];
  let depth = 0;
  let selections = 0;
  let operations = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    operations++;
    const shape = shapeOf(definition.selectionSet);
    depth = Math.max(depth, shape.depth);
    selections += shape.selections;
    roots.push(definition.selectionSet);
  }
  for (const [name, fragment] of fragments) {
    if (shapes.has(name)) continue; // used by an operation: already counted where it is spread
    selections += fragmentShape(name).selections;
    roots.push(fragment.selectionSet);
  }

  let merges: DocumentShape['merges'];
  if (selections <= options.countMergesUpTo) {
    merges = { pairs: 0, worstPath: '', worstCount: 0 };
    for (const root of roots) visited += countMerges(root, fragments, merges);
  }
  return { operations, depth, selections, merges, visited };
}

interface Place {
  count: number;
  below: Map<string, Place> | undefined;
}

/**
 * Walks one root with its fragments expanded, counting how many fields answer at each response path
 * (`me.id`); a path asked for n times adds n(n-1)/2 pairs. Returns the selections walked.
 */
function countMerges(
  root: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  merges: NonNullable<DocumentShape['merges']>,
): number {
  let walked = 0;
  const path: string[] = [];
  const spreading = new Set<string>();
  const walk = (set: SelectionSetNode, places: Map<string, Place>): void => {
    for (const selection of set.selections) {
      walked++;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        let place = places.get(key);
        if (!place) places.set(key, (place = { count: 0, below: undefined }));
        merges.pairs += place.count; // the new field pairs with each one already there
        place.count++;
        path.push(key);
        if (place.count > merges.worstCount) {
          merges.worstCount = place.count;
          merges.worstPath = path.join('.');
        }
        if (selection.selectionSet) walk(selection.selectionSet, (place.below ??= new Map()));
        path.pop();
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, places);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || spreading.has(name)) continue;
        spreading.add(name);
        walk(fragment.selectionSet, places);
        spreading.delete(name);
      }
    }
  };
  walk(root, new Map());
  return walked;
}

/**
 * How deep (objects and arrays inside the variables object: `{ "a": [1] }` is 1 deep) and how large
 * (about its JSON size in bytes, not counting string escapes) a variables value is, walked without
 * recursion so any depth is safe. The walk stops as soon as either limit
 * is passed: the figures then only say "more than the limit".
 */
export function measureVariables(
  variables: unknown,
  limits: { maxDepth: number; maxBytes: number },
): { depth: number; bytes: number } {
  let depth = 0;
  let bytes = 0;
  const stack: Array<[value: unknown, depth: number]> = [[variables, 0]];
  while (stack.length > 0) {
    const [value, level] = stack.pop()!;
    if (typeof value === 'object' && value !== null && level > depth) depth = level;
    if (depth > limits.maxDepth || bytes > limits.maxBytes) break;
    if (typeof value === 'string') bytes += value.length + 2;
    else if (typeof value === 'number' || typeof value === 'boolean') bytes += String(value).length;
    else if (value === null || typeof value !== 'object') bytes += 4;
    else if (Array.isArray(value)) {
      bytes += 2 + value.length;
      for (const item of value) stack.push([item, level + 1]);
    } else {
      const entries = Object.entries(value);
      bytes += 2 + entries.length;
      for (const [key, item] of entries) {
        bytes += key.length + 3;
        stack.push([item, level + 1]);
      }
    }
  }
  return { depth, bytes };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether JSON text nests objects and arrays more than `maxDepth` deep (the outermost object is 1):
 * a scan of its bytes that stops at the first level too deep. JSON.parse takes some 200 ms over a
 * megabyte of `[[[[`, so request bodies and messages are scanned before they are parsed.
 */
export function jsonNestsDeeper(json: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      for (i++; i < json.length && json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/**
 * The JSON text with every object or array nested more than `maxDepth` deep replaced by null, in one
 * scan: what is left says what a message refused as too deep was (its `id` and `type`).
 */
export function pruneJson(json: Uint8Array, maxDepth: number): string {
  const kept: Uint8Array[] = [];
  let from = 0;
  let depth = 0;
  let cutAt = -1; // where the value being cut out starts
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === QUOTE) {
      for (i++; i < json.length && json[i] !== QUOTE; i++) if (json[i] === BACKSLASH) i++;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth && cutAt < 0) cutAt = i;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (depth-- === maxDepth + 1 && cutAt >= 0) {
        kept.push(json.subarray(from, cutAt), NULL_JSON);
        from = i + 1;
        cutAt = -1;
      }
    }
  }
  if (cutAt >= 0) kept.push(json.subarray(from, cutAt), NULL_JSON);
  else kept.push(json.subarray(from));
  return Buffer.concat(kept).toString('utf8');
}

const NULL_JSON = Buffer.from('null');
