import type { ContainerRecord, NodeRecord } from '../store/store.js';
import type { ContainerState, MetaEventType, NodeStatus } from '../domain.js';
import type { EventBus } from '../bus.js';

/**
 * Bus channels that feed GraphQL subscriptions. The cluster cache and the scheduler publish on them
 * (through any EventBus: in-process or Redis), every gateway subscribes once per channel and fans the
 * messages out in memory to its GraphQL subscribers.
 */
export const CHANNEL = {
  /** A container changed state. Payload: ContainerStatusMessage. */
  containerStatus: 'humpback:container-status',
  /** A node changed status. Payload: NodeStatusMessage. */
  nodeStatus: 'humpback:node-status',
  /** One of the seven Humpback meta events. Payload: MetaEventMessage. */
  metaEvent: 'humpback:meta-event',
} as const;

export type Channel = (typeof CHANNEL)[keyof typeof CHANNEL];

export interface ContainerStatusMessage {
  container: ContainerRecord;
  /** null when the container is new to the cache. */
  previousState: ContainerState | null;
  /** ISO 8601 time of the change. */
  at: string;
  /** The groups the container belongs to (core/labels.ts containerGroupIds), for access and the groupId filter. */
  groupIds: string[];
}

export interface NodeStatusMessage {
  node: NodeRecord;
  /** null when the node is new to the cache. */
  previousStatus: NodeStatus | null;
  /** ISO 8601 time of the change. */
  at: string;
  /** Groups whose servers include the node. */
  groupIds: string[];
}

export interface MetaEventMessage {
  event: MetaEventType;
  /** Humpback's Timestamp (the same number as in the webhook body). */
  timestamp: number;
  groupId: string;
  metaId: string;
  /** The webhook body as JSON: {Timestamp, Event, MetaBase{...}, HookContainers[...]}, every SecretToken "". */
  payload: unknown;
  /** The same payload as its exact JSON text (Timestamp an exact int64), what MetaEvent.payload writes. */
  payloadJson?: string | undefined;
}

export interface ChannelMessage {
  [CHANNEL.containerStatus]: ContainerStatusMessage;
  [CHANNEL.nodeStatus]: NodeStatusMessage;
  [CHANNEL.metaEvent]: MetaEventMessage;
}

/** Typed publish: what the cluster cache and the scheduler call. */
export function publishEvent<C extends Channel>(
  bus: EventBus,
  channel: C,
  message: ChannelMessage[C],
): Promise<void> {
  return bus.publish(channel, message);
}

/**
 * Route keys: a subscriber whose filter requires one of them (its node, meta or group) is handed only
 * the messages that carry it, so that thousands of subscribers each watching one node do not each
 * test every message.
 */
export const route = {
  node: (id: string): string => `node:${id}`,
  meta: (id: string): string => `meta:${id}`,
  group: (id: string): string => `group:${id}`,
};

/** The route keys a message carries, each once (a listener must not be handed a message twice). */
export function routesOf<C extends Channel>(channel: C, message: ChannelMessage[C]): string[] {
  switch (channel) {
    case CHANNEL.containerStatus: {
      const m = message as ContainerStatusMessage;
      const keys = [route.node(m.container.nodeId)];
      if (m.container.metaId) keys.push(route.meta(m.container.metaId));
      for (const g of new Set(m.groupIds)) keys.push(route.group(g));
      return keys;
    }
    case CHANNEL.nodeStatus:
      return [...new Set((message as NodeStatusMessage).groupIds)].map(route.group);
    case CHANNEL.metaEvent: {
      const m = message as MetaEventMessage;
      return [route.meta(m.metaId), route.group(m.groupId)];
    }
    default:
      return [];
  }
}

/** What resolvers need of the gateway's subscription hub: a filtered stream of one channel's messages. */
export interface ChannelListener {
  /**
   * Messages of `channel` that pass `filter`. With `routeKey`, only messages carrying that key
   * (routesOf) are tested: give it when the filter requires it.
   */
  listen<C extends Channel>(
    channel: C,
    filter: (message: ChannelMessage[C]) => boolean,
    routeKey?: string,
  ): AsyncIterableIterator<ChannelMessage[C]>;
}
