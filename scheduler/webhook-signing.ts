import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook request signing. A request carries `X-Humpback-Token: <secretToken>` (Humpback v1
 * compatibility) and `X-Humpback-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the
 * secret token>`, so a receiver can check the body was not altered and came from us.
 */

export const TOKEN_HEADER = 'X-Humpback-Token';
export const SIGNATURE_HEADER = 'X-Humpback-Signature';

/** `sha256=<hex>` of `body` keyed by `secret`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Constant-time check of a signature header against a body (for receivers and tests). */
export function verifySignature(body: string, secret: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signBody(body, secret));
  const actual = Buffer.from(header);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The headers of one webhook request. Without a secret token, neither token nor signature is sent. */
export function webhookHeaders(body: string, secretToken: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json;charset=utf-8',
    'User-Agent': 'humpback-webhook/1',
  };
  if (secretToken) {
    headers[TOKEN_HEADER] = secretToken;
    headers[SIGNATURE_HEADER] = signBody(body, secretToken);
  }
  return headers;
}

/** How long to wait before a webhook delivery's next attempt, and when to give up. */
export interface RetryPolicy {
  /** Delay before attempt `attempt + 1` after `attempt` failed ones (attempt >= 1), in ms. */
  delayMs(attempt: number): number;
  /** Attempts after which a delivery is abandoned. */
  maxAttempts: number;
}

export interface BackoffOptions {
  /** @default 1000 */
  baseMs?: number | undefined;
  /** @default 300_000 (5 min) */
  maxMs?: number | undefined;
  /** @default 2 */
  factor?: number | undefined;
  /** @default 10 */
  maxAttempts?: number | undefined;
  /** Source of jitter in [0, 1). @default Math.random */
  random?: (() => number) | undefined;
}

/**
 * Exponential backoff with "equal jitter": base·factor^(n-1), capped at maxMs, of which the upper
 * half is randomised so receivers coming back are not hit by every sender at once.
 */
export function exponentialBackoff(options: BackoffOptions = {}): RetryPolicy {
  const base = options.baseMs ?? 1000;
  const max = options.maxMs ?? 300_000;
  const factor = options.factor ?? 2;
  const random = options.random ?? Math.random;
  return {
    maxAttempts: options.maxAttempts ?? 10,
    delayMs(attempt) {
      const full = Math.min(max, base * factor ** Math.max(0, attempt - 1));
      return Math.round(full / 2 + (full / 2) * random());
    },
  };
}
