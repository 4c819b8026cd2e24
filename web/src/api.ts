import { createClient, type Client } from 'graphql-ws';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { TypedDocumentString } from './gql/graphql';

/** Anything with a query text: a generated document or a plain string. */
type Doc<R, V> = TypedDocumentString<R, V> | string;

const TOKEN_KEY = 'humpback.token';

export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string): void => localStorage.setItem(TOKEN_KEY, token),
  clear: (): void => localStorage.removeItem(TOKEN_KEY),
};

const FRIENDLY: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your session has expired. Please sign in again.',
  BAD_LOGIN: 'Wrong username or password.',
  FORBIDDEN: 'You are not allowed to do this.',
  BAD_USER_INPUT: 'Some of what you entered is not valid.',
  NOT_FOUND: 'It does not exist (any more).',
  CONFLICT: 'This clashes with something that already exists or is changing.',
  NODE_UNAVAILABLE: 'The node cannot be reached right now.',
  ENGINE_ERROR: 'Docker on the node, or the image registry, refused or failed this.',
  STORE_UNAVAILABLE: 'The gateway cannot reach its database (Redis) right now. Try again in a moment.',
  META_BUSY: 'This service is busy with other work (for example a migration). Try again in a moment.',
  RATE_LIMITED: 'Too many attempts. Wait a minute and try again.',
  GRAPHQL_VALIDATION_FAILED: 'This gateway does not offer this feature.',
  INTERNAL_SERVER_ERROR: 'The gateway hit an unexpected error.',
  NETWORK: 'Cannot reach the Humpback gateway. Check that it is running and try again.',
};

/** An error from the API, with a message for people and the code for programs. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    /** Every bad field of a BAD_USER_INPUT, as `field: why` (the gateway's extensions.fields). */
    readonly fields: readonly string[] = [],
  ) {
    super(friendlyMessage(code, detail));
    this.name = 'ApiError';
  }

  /** The gateway does not have this query or field (an older or smaller schema). */
  get unavailable(): boolean {
    return this.code === 'GRAPHQL_VALIDATION_FAILED';
  }
}

function friendlyMessage(code: string, detail: string): string {
  const base = FRIENDLY[code] ?? 'Something went wrong.';
  if (!detail || code === 'INTERNAL_SERVER_ERROR' || code === 'NETWORK') return base;
  return `${base} (${detail})`;
}

interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string; fields?: unknown };
}

function toApiError(errors: readonly GraphQLErrorLike[]): ApiError {
  const first = errors[0];
  const code = first?.extensions?.code ?? 'INTERNAL_SERVER_ERROR';
  const detail = first?.message ?? '';
  // graphql-js validation messages ("Cannot query field ...") mean the feature is missing.
  if (
    code === 'INTERNAL_SERVER_ERROR' &&
    /^Cannot query field|^Unknown argument|^Unknown type/.test(detail)
  ) {
    return new ApiError('GRAPHQL_VALIDATION_FAILED', detail);
  }
  const fields = first?.extensions?.fields;
  return new ApiError(code, detail, Array.isArray(fields) ? fields.map(String) : []);
}

/** Called when the gateway says the token is no longer good. */
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

/** One GraphQL request over HTTP. */
export async function request<R, V>(doc: Doc<R, V>, variables?: V): Promise<R> {
  const token = tokenStore.get();
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: doc.toString(), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('NETWORK', '');
  }
  let body: { data?: R | null; errors?: GraphQLErrorLike[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new ApiError(response.ok ? 'INTERNAL_SERVER_ERROR' : 'NETWORK', `HTTP ${response.status}`);
  }
  if (body.errors && body.errors.length > 0) {
    const error = toApiError(body.errors);
    if (error.code === 'UNAUTHENTICATED' && token) onUnauthenticated();
    throw error;
  }
  if (!body.data) throw new ApiError('INTERNAL_SERVER_ERROR', 'empty response');
  return body.data;
}

let wsClient: Client | undefined;

/** The shared graphql-ws client; recreated after sign-in and sign-out. */
function ws(): Client {
  if (!wsClient) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    wsClient = createClient({
      url,
      lazy: true,
      retryAttempts: Infinity,
      // 4401: the token expired or the user was deleted; retrying with it cannot help.
      shouldRetry: (event) => !isCloseEvent(event, 4401),
      on: {
        closed: (event) => {
          if (isCloseEvent(event, 4401) && tokenStore.get()) onUnauthenticated();
        },
      },
      retryWait: async (retries) => {
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries)));
      },
      connectionParams: () => {
        const token = tokenStore.get();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    });
  }
  return wsClient;
}

function isCloseEvent(event: unknown, code: number): boolean {
  return typeof event === 'object' && event !== null && (event as { code?: unknown }).code === code;
}

export function resetLiveConnection(): void {
  void wsClient?.dispose();
  wsClient = undefined;
}

/** Subscribes; returns the unsubscribe function. */
export function subscribe<R, V>(
  doc: Doc<R, V>,
  variables: V,
  onData: (data: R) => void,
  onError: (error: ApiError) => void,
): () => void {
  return ws().subscribe<R>(
    { query: doc.toString(), variables: (variables ?? {}) as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors && result.errors.length > 0) onError(toApiError(result.errors));
        else if (result.data) onData(result.data);
      },
      error: (err) => {
        if (Array.isArray(err)) onError(toApiError(err as GraphQLErrorLike[]));
        else onError(new ApiError('NETWORK', ''));
      },
      complete: () => {},
    },
  );
}

export interface QueryState<R> {
  data: R | undefined;
  error: ApiError | undefined;
  loading: boolean;
  refetch: () => void;
}

/**
 * Runs a query and keeps its result; `key` changes (the variables, serialized) rerun it. `pollMs`
 * reruns it on a timer (used for usage figures, which have no subscription).
 */
export function useQuery<R, V>(
  doc: Doc<R, V>,
  variables: V,
  options: { skip?: boolean; pollMs?: number } = {},
): QueryState<R> {
  const [state, setState] = useState<{ data: R | undefined; error: ApiError | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: !options.skip,
  });
  const key = JSON.stringify(variables ?? {});
  const seq = useRef(0);
  const varsRef = useRef(variables);
  varsRef.current = variables;

  const run = useCallback(() => {
    if (options.skip) return;
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    request(doc, varsRef.current).then(
      (data) => mine === seq.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) =>
        mine === seq.current && setState((s) => ({ data: s.data, error: asApiError(error), loading: false })),
    );
    // doc is a module constant; key stands for the variables
  }, [key, options.skip]);

  useEffect(() => {
    run();
    if (!options.pollMs) return;
    const timer = setInterval(run, options.pollMs);
    return () => clearInterval(timer);
  }, [run, options.pollMs]);

  return { ...state, refetch: run };
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError('INTERNAL_SERVER_ERROR', String(error));
}

/**
 * Calls `onEvent` for every event of a subscription while mounted. Reports the connection state so
 * pages can say whether they are live.
 */
export function useSubscription<R, V>(
  doc: Doc<R, V>,
  variables: V,
  onEvent: (data: R) => void,
  options: { skip?: boolean } = {},
): ApiError | undefined {
  const [error, setError] = useState<ApiError | undefined>();
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = JSON.stringify(variables ?? {});
  useEffect(() => {
    if (options.skip) return;
    setError(undefined);
    return subscribe(
      doc,
      JSON.parse(key) as V,
      (data) => handler.current(data),
      (err) => setError(err),
    );
  }, [key, options.skip]);
  return error;
}

/** Calls `fn` at most once per `ms` after a burst of calls (refetch after a burst of events). */
export function useDebounced(fn: () => void, ms = 300): () => void {
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => latest.current(), ms);
  }, [ms]);
}

/** One mutation as useMutation keeps it: run it, know whether it is running, keep its error. */
export interface Mutation<A extends unknown[], R> {
  run: (...args: A) => Promise<R | undefined>;
  busy: boolean;
  error: ApiError | undefined;
  reset: () => void;
}

/** State for one mutation: run it, know whether it is running, keep its error. */
export function useMutation<A extends unknown[], R>(fn: (...args: A) => Promise<R>): Mutation<A, R> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const latest = useRef(fn);
  latest.current = fn;
  const run = useCallback(async (...args: A) => {
    setBusy(true);
    setError(undefined);
    try {
      return await latest.current(...args);
    } catch (err) {
      setError(asApiError(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { run, busy, error, reset: () => setError(undefined) };
}
