import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { badInput } from '../core/errors.js';
import type { GatewayContext } from './context.js';
import { AuditEntry } from '../schema/audit-entry.type.js';
import { toAuditEntry } from './map.js';

const MAX_AUDIT_PAGE = 500;

@Resolver(() => AuditEntry)
export class AuditResolver {
  @Query(() => [AuditEntry], {
    description: 'The audit log, newest first (admins only).',
    complexity: ({ args, childComplexity }) =>
      1 + childComplexity * Math.min(Number(args['first'] ?? 50), MAX_AUDIT_PAGE),
  })
  async auditLog(
    @Arg('first', () => Int, { nullable: true, description: 'How many entries (default 50, at most 500).' })
    first: number | undefined,
    @Arg('before', () => String, {
      nullable: true,
      description: 'Only entries older than the entry with this id.',
    })
    before: string | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<AuditEntry[]> {
    const limit = first ?? 50;
    if (limit < 0 || limit > MAX_AUDIT_PAGE)
      throw badInput(`first must be between 0 and ${MAX_AUDIT_PAGE}`, 'first');
    return (await ctx.services.audit.list({ limit, before: before ?? undefined })).map(toAuditEntry);
  }
}
