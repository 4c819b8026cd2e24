import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { UsageSample, UsageSubject } from '../core/store/usage.js';
import { Container } from '../schema/container.type.js';
import { Meta } from '../schema/meta.type.js';
import { Node } from '../schema/node.type.js';
import { UsagePoint, UsageRange } from '../schema/usage.type.js';
import type { GatewayContext } from './context.js';

// A history is reached through its node, container or meta, which the viewer could already see.

function toUsagePoint(s: UsageSample): UsagePoint {
  return {
    at: new Date(s.at),
    cpuPercent: s.cpuPercent,
    memoryUsedBytes: s.memoryUsedBytes,
    networkRxBytes: s.networkRxBytes ?? null,
    networkTxBytes: s.networkTxBytes ?? null,
  };
}

async function history(ctx: GatewayContext, subject: UsageSubject, range: UsageRange): Promise<UsagePoint[]> {
  return (await ctx.services.usage.history(subject, range)).map(toUsagePoint);
}

const RANGE = { description: 'HOUR (10 s points), DAY (5 min) or WEEK (1 h).' };
const complexity = { complexity: 20 };

@Resolver(() => Node)
export class NodeUsageResolver {
  @FieldResolver(() => [UsagePoint], {
    description: "The node's CPU, memory and network history.",
    ...complexity,
  })
  usageHistory(
    @Root() node: Node,
    @Arg('range', () => UsageRange, RANGE) range: UsageRange,
    @Ctx() ctx: GatewayContext,
  ): Promise<UsagePoint[]> {
    return history(ctx, { kind: 'node', id: node.id }, range);
  }
}

@Resolver(() => Container)
export class ContainerUsageResolver {
  @FieldResolver(() => [UsagePoint], {
    description: "The container's CPU, memory and network history (while it runs; gone when it is removed).",
    ...complexity,
  })
  usageHistory(
    @Root() container: Container,
    @Arg('range', () => UsageRange, RANGE) range: UsageRange,
    @Ctx() ctx: GatewayContext,
  ): Promise<UsagePoint[]> {
    return history(ctx, { kind: 'container', id: container.id }, range);
  }
}

@Resolver(() => Meta)
export class MetaUsageResolver {
  @FieldResolver(() => [UsagePoint], {
    description: "The sum of the meta's running instances' history.",
    ...complexity,
  })
  usageHistory(
    @Root() meta: Meta,
    @Arg('range', () => UsageRange, RANGE) range: UsageRange,
    @Ctx() ctx: GatewayContext,
  ): Promise<UsagePoint[]> {
    return history(ctx, { kind: 'meta', id: meta.id }, range);
  }
}
