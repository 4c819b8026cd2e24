import type { MiddlewareFn } from 'type-graphql';
import type { GatewayContext } from '../gateway/context.js';

const SECRET_KEY = /password|secret|token/i;

/** A copy of `value` with every password, secret and token replaced by "[redacted]". */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v);
    return out;
  }
  return value;
}

/** Writes every mutation to the audit log: who, which, its arguments without secrets, and the outcome. */
export const Audited: MiddlewareFn<GatewayContext> = async ({ args, context, info }, next) => {
  const entry = {
    userId: context.viewer?.userId ?? null,
    operation: info.fieldName,
    args: redact(args) as Record<string, unknown>,
  };
  try {
    const result: unknown = await next();
    // login has no viewer yet: record who logged in
    const userId = entry.userId ?? (result as { user?: { id?: string } } | null)?.user?.id ?? null;
    await context.services.audit.record({ ...entry, userId, outcome: 'ok' });
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    try {
      await context.services.audit.record({ ...entry, outcome: 'error', error: message });
    } catch (auditErr) {
      context.logger.error({ err: auditErr, operation: entry.operation }, 'audit record failed');
    }
    throw err;
  }
};
