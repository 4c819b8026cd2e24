/** Every error code a client can see in `extensions.code`. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  NODE_UNAVAILABLE = 'NODE_UNAVAILABLE',
  /**
   * The node's Docker Engine, or the image registry it pulls from, refused or failed the operation
   * (a pull that cannot reach its registry, a start that fails); the message carries their words.
   */
  ENGINE_ERROR = 'ENGINE_ERROR',
  /** The gateway cannot reach its store (Redis) right now; nothing was changed, try again. */
  STORE_UNAVAILABLE = 'STORE_UNAVAILABLE',
  /** The meta is migrating or otherwise busy with work that must finish first. */
  META_BUSY = 'META_BUSY',
  RATE_LIMITED = 'RATE_LIMITED',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/**
 * A client-facing error: its message is meant for the user and its code for programs. A plain error
 * of the domain: the GraphQL edge shows `extensions` (graphql-js copies them from the error a
 * resolver throws) and gateway/graphql/guards.ts decides what a client may see.
 */
export class HumpbackError extends Error {
  readonly extensions: Readonly<Record<string, unknown>> & { readonly code: ErrorCode };

  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message);
    this.name = 'HumpbackError';
    this.extensions = { ...extensions, code };
  }

  get code(): ErrorCode {
    return this.extensions.code;
  }
}

export const badInput = (message: string, field?: string): HumpbackError =>
  new HumpbackError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

/** Bad input in several fields at once: all of them in the message and in `extensions.fields`. */
export const badFields = (problems: readonly string[], field: string): HumpbackError =>
  new HumpbackError(ErrorCode.BAD_USER_INPUT, problems.join('; '), { field, fields: [...problems] });
export const notFound = (what: string, id: string): HumpbackError =>
  new HumpbackError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(id)} not found`);
export const conflict = (message: string): HumpbackError => new HumpbackError(ErrorCode.CONFLICT, message);
export const forbidden = (message = 'you may not do this'): HumpbackError =>
  new HumpbackError(ErrorCode.FORBIDDEN, message);
export const nodeUnavailable = (node: string, why: string): HumpbackError =>
  new HumpbackError(ErrorCode.NODE_UNAVAILABLE, `node ${node} is unavailable: ${why}`);
