/** The errors the agent answers with (Humpback's `{Code, Message, Detail}` and an HTTP status). */
import type { ErrorBody } from '../core/agent-wire.js';

/** An error the agent answers with: HTTP status plus Humpback's `{Code, Detail, Message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail = '',
  ) {
    super(message);
    this.name = 'HttpError';
  }

  toBody(): ErrorBody {
    return { Code: this.status, Message: this.message, Detail: this.detail };
  }
}

export const badRequest = (message: string, detail = ''): HttpError => new HttpError(400, message, detail);
export const notFound = (message: string, detail = ''): HttpError => new HttpError(404, message, detail);
