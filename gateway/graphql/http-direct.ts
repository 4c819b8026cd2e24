/**
 * `POST /graphql` with a plain JSON body, answered straight from node:http: the same body checks,
 * the same Apollo Server call and the same answers as the express route (http-server.ts), without
 * express. Express 5 costs some 50-90 µs of CPU per request before a handler runs (it re-prototypes
 * the request and response and walks its router; express.json adds some 20 µs more), against some
 * 20 µs for node:http itself: more than the gateway spends executing a cached query of 100
 * containers (bench/gateway-query.ts). Every other request (GET, other paths, other content types or
 * encodings, no Content-Length, a body over the limit) goes to express untouched, and
 * test/integration/graphql-http-direct.test.ts holds both routes to the same answers.
 */
import type http from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GatewayContext } from '../../resolvers/context.js';
import { jsonNestsDeeper } from './cost.js';
import { documentSizeError, variablesTooDeep } from './guards.js';
import type { Limits } from './limits.js';

/** The media types express.json reads that this path takes too: JSON in UTF-8 (the default). */
const PLAIN_JSON = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*(?:utf-8|"utf-8")[ \t]*)?$/i;

export interface DirectGraphqlOptions {
  apollo: ApolloServer<GatewayContext>;
  limits: Pick<Limits, 'maxBodyBytes' | 'maxDocumentBytes' | 'maxVariablesDepth'>;
  /** The context of one request: what the express route's context function gives. */
  context: (req: http.IncomingMessage) => Promise<GatewayContext>;
  /** An error's answer, as the express app's last error handler (errorHandler) gives it. */
  errorAnswer: (err: Error & { status?: number }) => { status: number; body: unknown };
}

/**
 * A request listener that takes the requests it can answer exactly as the express route would and
 * returns true for them; false means "not mine" (nothing of the request was read).
 */
export function directGraphql(
  options: DirectGraphqlOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const { limits } = options;
  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/graphql') return false;
    const type = req.headers['content-type'];
    if (type === undefined || !PLAIN_JSON.test(type)) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const lengthHeader = req.headers['content-length'];
    if (lengthHeader === undefined || !/^\d{1,15}$/.test(lengthHeader)) return false;
    if (req.headers['transfer-encoding'] !== undefined) return false;
    // over the limit: express answers 413 without reading it
    if (Number(lengthHeader) > limits.maxBodyBytes) return false;

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      answer(options, req, res, raw).catch((err: unknown) => {
        if (res.headersSent) res.destroy(err instanceof Error ? err : undefined);
        else send(res, options.errorAnswer(err instanceof Error ? err : new Error(String(err))));
      });
    });
    return true;
  };
}

async function answer(
  options: DirectGraphqlOptions,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  raw: Buffer,
): Promise<void> {
  const { limits } = options;
  // express.json's `verify` (http-server.ts): the body object and `variables` sit above the
  // variables' own levels
  if (jsonNestsDeeper(raw, limits.maxVariablesDepth + 2)) {
    send(
      res,
      options.errorAnswer(Object.assign(variablesTooDeep(limits.maxVariablesDepth), { status: 400 })),
    );
    return;
  }
  let body: unknown;
  try {
    body = parseJsonBody(raw);
  } catch (err) {
    send(res, options.errorAnswer(Object.assign(err as Error, { status: 400 })));
    return;
  }
  const query = (body as { query?: unknown } | null)?.query;
  const tooLong = typeof query === 'string' ? documentSizeError(query, limits.maxDocumentBytes) : undefined;
  if (tooLong) {
    send(res, {
      status: 400,
      body: { errors: [{ message: tooLong.message, extensions: tooLong.extensions }] },
    });
    return;
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await options.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: 'POST', headers, search: '', body },
    context: () => options.context(req),
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    const text = response.body.string;
    if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** What express's res.status(status).json(body) sends. */
function send(res: http.ServerResponse, { status, body }: { status: number; body: unknown }): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

const FIRST_NON_WHITESPACE = /^[ \t\n\r]*([^ \t\n\r]|$)/;

/**
 * The body as express.json (body-parser, strict) parses it: UTF-8 without a BOM, empty as `{}`,
 * only an object or array at the top, and its error messages.
 */
export function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  if (text[0] !== '{' && text[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(text)?.[1] || undefined;
    if (first !== '{' && first !== '[') throw strictViolation(text, first);
  }
  return JSON.parse(text);
}

/**
 * body-parser's refusal of a body that is not an object or array: JSON.parse's message about the
 * first character, with that character in it.
 */
function strictViolation(text: string, first: string | undefined): SyntaxError {
  const index = first === undefined ? -1 : text.indexOf(first);
  const partial = index === -1 ? '' : text.slice(0, index) + '#'.repeat(text.length - index);
  try {
    JSON.parse(partial);
    return new SyntaxError('strict violation');
  } catch (err) {
    const error = err as SyntaxError;
    error.message = error.message.replace(/#+/g, (placeholder) =>
      text.substring(index, index + placeholder.length),
    );
    return error;
  }
}
