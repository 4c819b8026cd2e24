/**
 * How a request to an agent fails, as AgentClient throws it: the agent answered an error, could not be
 * reached, or could not prove it holds the token.
 */
import type { ErrorBody } from '../core/agent-wire.js';

/** The agent answered with an error. */
export class AgentError extends Error {
  readonly code: number;
  readonly detail: string;
  /** The agent itself answered (its JSON error body), not a proxy in front of it. */
  readonly fromAgent: boolean;
  constructor(
    readonly status: number,
    body: Partial<ErrorBody>,
    readonly url: string,
  ) {
    super(body.Message || `agent answered ${status}`);
    this.name = 'AgentError';
    this.fromAgent = typeof body.Code === 'number';
    this.code = this.fromAgent ? body.Code! : status;
    this.detail = body.Detail ?? '';
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
}

/** The agent could not be reached (connection refused, reset, DNS, timeout). */
export class AgentUnreachableError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`agent at ${new URL(url).host} unreachable: ${describe(cause)}`);
    this.name = 'AgentUnreachableError';
  }
}

/**
 * What answers at the address did not prove it holds the agent token (wrong token, not an agent, or a
 * relay in front of one); it was not sent the token.
 */
export class AgentUnverifiedError extends Error {
  constructor(
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      `the agent at ${address} could not prove it holds HUMPBACK_AGENT_TOKEN (${reason}); it was not sent the token`,
    );
    this.name = 'AgentUnverifiedError';
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const c = (err as Error & { cause?: unknown }).cause;
    if (err.name === 'TimeoutError') return 'timed out';
    if (c instanceof Error) return `${err.message} (${(c as Error & { code?: string }).code ?? c.message})`;
    return err.message;
  }
  return String(err);
}
