import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { forbidden } from '../core/errors.js';
import type { GatewayContext } from '../gateway/context.js';
import {
  CHANNEL,
  type ContainerStatusMessage,
  type MetaEventMessage,
  type NodeStatusMessage,
} from '../gateway/subscriptions.js';
import { ContainerStatusEvent } from '../schema/container-status-event.type.js';
import type { ContainerState, MetaEventType, NodeStatus } from '../schema/enums.js';
import { MetaEvent } from '../schema/meta-event.type.js';
import { NodeStatusEvent } from '../schema/node-status-event.type.js';
import { accessibleGroup, assertNodeVisible, requireViewer, visibleGroupIds } from './access.js';
import { toContainer, toNode } from './map.js';

type Data = SubscribeResolverData<unknown, Record<string, string | null | undefined>, GatewayContext>;

const canSee = (visible: Set<string> | undefined, groupIds: readonly string[]): boolean =>
  !visible || groupIds.some((id) => visible.has(id));

/** Admins may watch a meta that does not exist (yet); others only metas of groups they own. */
async function assertMetaVisible(context: GatewayContext, metaId: string, visible: Set<string> | undefined) {
  if (!visible) return;
  const meta = await context.services.metas.get(metaId);
  if (!meta || !visible.has(meta.groupId)) throw forbidden(`meta ${metaId} is not in a group you own`);
}

// Access is checked when the subscription starts; when the viewer's access changes later,
// gateway/ws-sessions.ts closes the connection (4403) and the client subscribes again.

async function subscribeContainerStatus({ args, context }: Data) {
  requireViewer(context);
  const { groupId, metaId } = args;
  let { nodeId } = args;
  if (groupId) await accessibleGroup(context, groupId);
  const visible = await visibleGroupIds(context);
  if (metaId) await assertMetaVisible(context, metaId, visible);
  if (nodeId) {
    const node = await context.services.nodes.get(nodeId);
    if (node) {
      nodeId = node.id;
      await assertNodeVisible(context, node);
    } else if (visible) {
      throw forbidden(`node ${nodeId} is not in a group you own`);
    }
  }
  return context.hub.listen(CHANNEL.containerStatus, (m) => {
    const c = m.container;
    const groups = c.groupId && !m.groupIds.includes(c.groupId) ? [...m.groupIds, c.groupId] : m.groupIds;
    return (
      (!groupId || groups.includes(groupId)) &&
      (!nodeId || c.nodeId === nodeId) &&
      (!metaId || c.metaId === metaId) &&
      canSee(visible, groups)
    );
  });
}

async function subscribeNodeStatus({ args, context }: Data) {
  requireViewer(context);
  const { groupId } = args;
  if (groupId) await accessibleGroup(context, groupId);
  const visible = await visibleGroupIds(context);
  return context.hub.listen(
    CHANNEL.nodeStatus,
    (m) => (!groupId || m.groupIds.includes(groupId)) && canSee(visible, m.groupIds),
  );
}

async function subscribeMetaEvents({ args, context }: Data) {
  requireViewer(context);
  const { groupId, metaId } = args;
  if (groupId) await accessibleGroup(context, groupId);
  const visible = await visibleGroupIds(context);
  if (metaId) await assertMetaVisible(context, metaId, visible);
  return context.hub.listen(
    CHANNEL.metaEvent,
    (m) =>
      (!groupId || m.groupId === groupId) && (!metaId || m.metaId === metaId) && canSee(visible, [m.groupId]),
  );
}

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
      previousState: message.previousState as ContainerState | null,
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
      previousStatus: message.previousStatus as NodeStatus | null,
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
      event: message.event as MetaEventType,
      timestamp: message.timestamp,
      groupId: message.groupId,
      metaId: message.metaId,
      payload: message.payload,
    };
  }
}
