/**
 * What Humpback v1's clients (humpback-web, humpback-center) send and expect, read as the agent's own
 * wire format: JSON keys matched case-insensitively onto the schema's names as Go's encoding/json
 * does, Go's zero values (`""`, `null`) as absent, the `Id` of v1's in-place update, the log `since`
 * date, and v1's `/ping` fields. Pure functions.
 */
import type { z } from 'zod';

/**
 * The AppVersion `/ping` reports to v1 clients: the humpback-agent release whose API this agent
 * answers (humpback-web compares it as a string and enables features at "1.3.3" and "1.3.4").
 */
export const V1_AGENT_API_VERSION = '1.4.0';

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under optional/nullable/default/pipe wrappers, and whether it may be absent. */
function unwrap(schema: z.ZodType): { core: z.ZodType; optional: boolean } {
  let s = schema;
  let optional = false;
  for (;;) {
    const d = defOf(s);
    if ((d.type === 'optional' || d.type === 'nullable' || d.type === 'default') && d.innerType) {
      optional = true;
      s = d.innerType;
    } else if (d.type === 'pipe' && d.in) s = d.in;
    else return { core: s, optional };
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `value` with its keys renamed to `schema`'s as Go decodes JSON into a struct: an exact match, else
 * a case-insensitive one (humpback-web sends `{action, container, imagetag}`, `{image}`, Ports with
 * `IP`); the last of two keys naming one field wins. A field that may be absent and is sent as `""`
 * or `null` (Go's zero values: `ImageTag: ""`, `Links: null`) is absent. Keys the schema does not
 * name are dropped, as Go drops them; records (Labels, LogConfig.Config) are kept as sent. Nested
 * objects and arrays of objects are folded the same way.
 */
export function foldV1Keys(value: unknown, schema: z.ZodType): unknown {
  const { core } = unwrap(schema);
  const d = defOf(core);
  if (d.type === 'array' && d.element && Array.isArray(value))
    return value.map((v) => foldV1Keys(v, d.element!));
  if (d.type !== 'object' || !d.shape || !isPlainObject(value)) return value;
  const shape = d.shape;
  const byLower = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = key in shape ? key : byLower.get(key.toLowerCase());
    if (name === undefined) continue;
    const field = shape[name]!;
    if ((v === '' || v === null) && unwrap(field).optional) {
      delete out[name];
      continue;
    }
    out[name] = foldV1Keys(v, field);
  }
  return out;
}

/**
 * The `Id` of a `POST /containers` body (any case), when it names a container: v1's in-place update
 * (humpback-web's container edit sends the container's name there; humpback-center sends `""`).
 */
export function v1UpdateTarget(body: unknown): string | undefined {
  if (!isPlainObject(body)) return undefined;
  let id: unknown;
  for (const [k, v] of Object.entries(body))
    if (k === 'Id' || (id === undefined && k.toLowerCase() === 'id')) id = v;
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : undefined;
}

/** humpback-agent v1 takes the logs' `since` as a date, `2006-01-02`; as unix seconds (UTC midnight). */
export function v1LogsSince(since: string | undefined): string | undefined {
  const m = since === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(since);
  if (!m) return since;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(t) ? since : String(Math.floor(t / 1000));
}

/** What the agent's configuration says for v1's `/ping` (humpback-agent's `models.Config`). */
export interface V1PingConfig {
  DockerEndPoint: string;
  DockerAPIVersion: string;
  DockerNodeHTTPAddr: string;
  DockerContainerPortsRange: string;
  DockerClusterEnabled: boolean;
  DockerClusterURIs: string;
  DockerClusterName: string;
  DockerClusterHeartBeat: string;
  DockerClusterTTL: string;
  /** Compose projects are not supported: '' and 0. */
  DockerComposePath: string;
  DockerComposePackageMaxSize: number;
  LogLevel: number;
}
