import { randomBytes } from 'node:crypto';

/**
 * A JSON value kept as its exact text (a webhook body whose int64 `Timestamp` a JS number would
 * round), written verbatim by `stringifyExact`. Anything else that stringifies it gets the parsed
 * value (valid JSON, but numbers above 2^53 rounded).
 */
export class ExactJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    if (!collecting) return JSON.parse(this.text);
    const token = `${TOKEN_PREFIX}${collecting.size.toString(36)}`;
    collecting.set(token, this.text);
    return token;
  }
}

// A per-process random mark: no string a client sent can pose as a placeholder.
const TOKEN_PREFIX = `\u0000exact-${randomBytes(9).toString('hex')}-`;
/** How JSON.stringify writes a placeholder (its NUL escaped), quotes included. */
const PLACEHOLDER = new RegExp(
  `"${JSON.stringify(TOKEN_PREFIX).slice(1, -1).replace(/\\/g, '\\\\')}([0-9a-z]+)"`,
  'g',
);
let collecting: Map<string, string> | undefined;

/** JSON.stringify, with every ExactJson inside written as its own text. */
export function stringifyExact(value: unknown): string {
  const outer = collecting;
  const texts = new Map<string, string>();
  collecting = texts;
  let json: string;
  try {
    json = JSON.stringify(value);
  } finally {
    collecting = outer;
  }
  if (texts.size === 0) return json;
  return json.replace(PLACEHOLDER, (m, seq: string) => texts.get(`${TOKEN_PREFIX}${seq}`) ?? m);
}
