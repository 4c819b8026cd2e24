// Import order is schema order: type-graphql lists operations as their classes are declared.
import { UserResolver } from './user.resolver.js';
import { GroupResolver } from './group.resolver.js';
import { NodeResolver } from './node.resolver.js';
import { MetaResolver } from './meta.resolver.js';
import { ContainerResolver } from './container.resolver.js';
import { ContainerLiveResolver } from './container-live.resolver.js';
import { ImageResolver } from './image.resolver.js';
import { AuditResolver } from './audit.resolver.js';
import { SubscriptionResolver } from './subscription.resolver.js';

/** Every resolver class. */
export const resolvers = [
  UserResolver,
  GroupResolver,
  NodeResolver,
  MetaResolver,
  ContainerResolver,
  ContainerLiveResolver,
  ImageResolver,
  AuditResolver,
  SubscriptionResolver,
] as const;
