// Import order is schema order: type-graphql lists operations as their classes are declared.
import { UserResolver } from './user.resolver.js';
import { GroupResolver } from './group.resolver.js';
import { NodeResolver } from './node.resolver.js';
import { MetaResolver } from './meta.resolver.js';
import { ContainerResolver } from './container.resolver.js';
import { ContainerLiveResolver } from './container-live.resolver.js';
import { ImageResolver } from './image.resolver.js';
import { VolumeResolver } from './volume.resolver.js';
import { AuditResolver } from './audit.resolver.js';
import { SubscriptionResolver } from './subscription.resolver.js';
import { AccountResolver } from './account.resolver.js';
import { TeamResolver } from './team.resolver.js';
import { NotificationResolver } from './notification.resolver.js';
import { ContainerUsageResolver, MetaUsageResolver, NodeUsageResolver } from './usage.resolver.js';
import { RegistryResolver } from './registry.resolver.js';
import { ImageJobResolver } from './image-job.resolver.js';

/** Every resolver class. */
export const resolvers = [
  UserResolver,
  GroupResolver,
  NodeResolver,
  MetaResolver,
  ContainerResolver,
  ContainerLiveResolver,
  ImageResolver,
  VolumeResolver,
  AuditResolver,
  SubscriptionResolver,
  AccountResolver,
  TeamResolver,
  NodeUsageResolver,
  ContainerUsageResolver,
  MetaUsageResolver,
  NotificationResolver,
  RegistryResolver,
  ImageJobResolver,
] as const;
