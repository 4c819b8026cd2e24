import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { GatewayContext } from './context.js';
import {
  CHANNEL,
  route,
  type ContainerStatusMessage,
  type MetaEventMessage,
  type NodeStatusMessage,
} from '../core/bus/channels.js';
import { ContainerStatusEvent } from '../schema/container-status-event.type.js';
import { MetaEvent } from '../schema/meta-event.type.js';
import { ExactJson } from '../core/exact-json.js';
import { NodeStatusEvent } from '../schema/node-status-event.type.js';
import { toContainer, toNode } from './map.js';

type Data = SubscribeResolverData<unknown, Record<string, string | null | undefined>, GatewayContext>;

const canSee = (visible: Set<string> | undefined, groupIds: readonly string[]): boolean =>
  !visible || groupIds.some((id) => visible.has(id));

// The operation's rule (resolvers/operation-rules.ts) checked the arguments before these run; they
// filter what the viewer may read. When the viewer's access changes later, gateway/graphql/ws-sessions.ts
// closes the connection (4403) and the client subscribes again.

async function subscribeContainerStatus({ args, context }: Data) {
  const { groupId, metaId } = args;
  let { nodeId } = args;
  if (nodeId) nodeId = (await context.services.nodes.get(nodeId))?.id ?? nodeId;
  const visible = await context.access.groupIds('read');
  return context.hub.listen(
    CHANNEL.containerStatus,
    (m) =>
      (!groupId || m.groupIds.includes(groupId)) &&
      (!nodeId || m.container.nodeId === nodeId) &&
      (!metaId || m.container.metaId === metaId) &&
      canSee(visible, m.groupIds),
    metaId ? route.meta(metaId) : nodeId ? route.node(nodeId) : groupId ? route.group(groupId) : undefined,
  );
}

async function subscribeNodeStatus({ args, context }: Data) {
  const { groupId } = args;
  const visible = await context.access.groupIds('read');
  return context.hub.listen(
    CHANNEL.nodeStatus,
    (m) => (!groupId || m.groupIds.includes(groupId)) && canSee(visible, m.groupIds),
    groupId ? route.group(groupId) : undefined,
  );
}

async function subscribeMetaEvents({ args, context }: Data) {
  const { groupId, metaId } = args;
  const visible = await context.access.groupIds('read');
  return context.hub.listen(
    CHANNEL.metaEvent,
    (m) =>
      (!groupId || m.groupId === groupId) && (!metaId || m.metaId === metaId) && canSee(visible, [m.groupId]),
    metaId ? route.meta(metaId) : groupId ? route.group(groupId) : undefined,
  );
}

/**
 * A subscription's arguments choose its events (its `subscribe`); its resolver reads only the event,
 * never them: a gateway executes an event once for all subscriptions that differ only in those
 * arguments (gateway/graphql/subscriptions.ts, variablesOnlyChooseEvents).
 */
@Resolver()
export class SubscriptionResolver {
  @Subscription(() => ContainerStatusEvent, {
    description: 'Container state changes the viewer may see, optionally of one group, node or meta.',
    subscribe: (data) => subscribeContainerStatus(data as Data),
  })
  containerStatusChanged(
    @Root() message: ContainerStatusMessage,
    @Arg('groupId', () => ID, { nullable: true, description: "Only containers on the group's nodes." })
    _groupId: string | undefined,
    @Arg('nodeId', () => ID, {
      nullable: true,
      description: 'Only containers on this node (id, ip or hostname).',
    })
    _nodeId: string | undefined,
    @Arg('metaId', () => ID, { nullable: true, description: 'Only instances of this meta.' })
    _metaId: string | undefined,
  ): ContainerStatusEvent {
    return {
      container: toContainer(message.container),
      previousState: message.previousState,
      at: message.at,
    };
  }

  @Subscription(() => NodeStatusEvent, {
    description: 'Node status changes the viewer may see, optionally of one group.',
    subscribe: (data) => subscribeNodeStatus(data as Data),
  })
  nodeStatusChanged(
    @Root() message: NodeStatusMessage,
    @Arg('groupId', () => ID, { nullable: true, description: 'Only nodes of this group.' })
    _groupId: string | undefined,
  ): NodeStatusEvent {
    return {
      node: toNode(message.node),
      previousStatus: message.previousStatus,
      at: message.at,
    };
  }

  @Subscription(() => MetaEvent, {
    description: 'Meta events (the webhook events) the viewer may see, optionally of one group or meta.',
    subscribe: (data) => subscribeMetaEvents(data as Data),
  })
  metaEvents(
    @Root() message: MetaEventMessage,
    @Arg('groupId', () => ID, { nullable: true, description: 'Only metas of this group.' })
    _groupId: string | undefined,
    @Arg('metaId', () => ID, { nullable: true, description: 'Only this meta.' })
    _metaId: string | undefined,
  ): MetaEvent {
    return {
      event: message.event,
      timestamp: message.timestamp,
      groupId: message.groupId,
      metaId: message.metaId,
      // its exact text: the int64 Timestamp is not rounded to a double on the way out
      payload: message.payloadJson ? new ExactJson(message.payloadJson) : message.payload,
    };
  }
}
