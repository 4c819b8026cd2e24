/**
 * Reading a request for the route tables: the body, query and path parameters validated with the
 * zod schemas of core/agent-wire.ts, every problem a 400 naming the field.
 */
import type { Request } from 'express';
import type { z } from 'zod';
import { badRequest } from '../http-error.js';
import { foldV1Keys } from '../v1-compat.js';
import { containerIdParam, imageRefSchema } from '../../core/agent-wire.js';

/** `value` as `schema` says (a body folded as Go decodes it, foldV1Keys), or a 400 naming `where` and each bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  if (where === 'body' && value === undefined) {
    throw badRequest('invalid body', 'expected a JSON body sent with Content-Type: application/json');
  }
  // Bodies as Go clients (humpback-web, humpback-center) send them: keys in any case, "" as absent.
  const r = schema.safeParse(where === 'body' ? foldV1Keys(value, schema) : (value ?? {}));
  if (r.success) return r.data;
  const detail = r.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw badRequest(`invalid ${where}`, detail);
}

/** The query as `schema` says. Express 5 keeps repeated keys as arrays; the agent takes the last one. */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  req: Request,
  /** Rewrites the raw values first (v1's forms of a value). */
  adapt: (q: Record<string, string>) => Record<string, string> = (q) => q,
): z.output<S> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.query)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof last === 'string') out[k] = last;
  }
  return parse(schema, adapt(out), 'query');
}

/** The image reference of `/images/*ref`, its `/`s kept. */
export function imageParam(req: Request): string {
  const raw = req.params['ref'] as unknown;
  const ref = Array.isArray(raw) ? raw.join('/') : String(raw ?? '');
  return parse(imageRefSchema, ref, 'image');
}

/** The container id, id prefix or name of `/containers/:id`, without a leading `/`. */
export function idParam(req: Request): string {
  return parse(containerIdParam, req.params['id'], 'container id').replace(/^\//, '');
}
