import type { MiddlewareFn } from 'type-graphql';
import { ErrorCode, HumpbackError } from '../core/errors.js';
import type { GatewayContext } from './context.js';

const SECRET_KEY = /password|secret|token/i;
/** Deeper than any input type of the schema: what lies below is not copied. */
const MAX_DEPTH = 20;

/** A copy of `value` with every password, secret and token replaced by "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}

const codeOf = (err: unknown): string => (err instanceof HumpbackError ? err.code : 'ERROR');

/**
 * Writes every mutation to the audit log: who, which, its arguments without secrets (cut down when
 * long), and the outcome. A request refused before its caller was authenticated (no valid token; a
 * throttled login) is only counted: nothing it sent is written (see AuditService.recordRefusal).
 */
export const Audited: MiddlewareFn<GatewayContext> = async ({ args, context, info }, next) => {
  const operation = info.fieldName;
  const refused = async (err: unknown): Promise<void> => {
    try {
      await context.services.audit.recordRefusal({
        operation,
        code: codeOf(err),
        clientKey: context.clientKey,
      });
    } catch (auditErr) {
      context.logger.error({ err: auditErr, operation }, 'audit record failed');
    }
  };
  if (!context.viewer && operation !== 'login') {
    try {
      // Resolvers refuse without a viewer; a mutation that did not is audited below like any other.
      const result: unknown = await next();
      await context.services.audit.record({
        userId: null,
        operation,
        args: redact(args) as Record<string, unknown>,
        outcome: 'ok',
      });
      return result;
    } catch (err) {
      await refused(err);
      throw err;
    }
  }
  const entry = {
    userId: context.viewer?.userId ?? null,
    operation,
    args: redact(args) as Record<string, unknown>,
  };
  try {
    const result: unknown = await next();
    // login has no viewer yet: record who logged in
    const userId = entry.userId ?? (result as { user?: { id?: string } } | null)?.user?.id ?? null;
    await context.services.audit.record({ ...entry, userId, outcome: 'ok' });
    return result;
  } catch (err) {
    if (err instanceof HumpbackError && err.code === ErrorCode.RATE_LIMITED && !context.viewer) {
      // a throttled login: counted, like other refusals, so a flood of them cannot fill the log
      await refused(err);
      throw err;
    }
    const message = err instanceof Error ? err.message : String(err);
    try {
      await context.services.audit.record({ ...entry, outcome: 'error', error: message });
    } catch (auditErr) {
      context.logger.error({ err: auditErr, operation: entry.operation }, 'audit record failed');
    }
    throw err;
  }
};
