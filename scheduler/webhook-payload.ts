import type { ContainerConfig } from '../core/container-config.js';
import type { ContainerRecord, MetaRecord } from '../core/store/store.js';
import type { MetaEventType } from '../core/domain.js';

/**
 * Humpback's webhook body, also the `payload` of the metaEvents subscription:
 * `{Timestamp, Event, MetaBase{GroupId, MetaId, Instances, WebHooks[{Url}], ImageTag, Config},
 * HookContainers[{IP, Name, Container}]}`. Secret tokens are never in it.
 */
export interface HookPayload {
  /** Unix time in nanoseconds, as Humpback v1 sent it (Go's UnixNano). */
  Timestamp: number;
  Event: MetaEventType;
  MetaBase: {
    GroupId: string;
    MetaId: string;
    Instances: number;
    WebHooks: Array<{ Url: string }>;
    ImageTag: string;
    Config: ContainerConfig;
  };
  HookContainers: HookContainer[];
}

export interface HookContainer {
  /** The IP of the node running the container. */
  IP: string;
  /** The node's name. */
  Name: string;
  Container: {
    Id: string;
    Name: string;
    Image: string;
    State: string;
    Status: string;
    Index: number | null;
    NodeId: string;
    Created: string;
  };
}

/** A container with the node it runs on, as the payload needs it. */
export interface PlacedContainer {
  container: ContainerRecord;
  node: { ip: string; name: string } | undefined;
}

/** Milliseconds to Humpback's nanosecond Timestamp. */
export function hookTimestamp(ms: number): number {
  return ms * 1_000_000;
}

export function buildHookPayload(
  event: MetaEventType,
  meta: MetaRecord,
  containers: readonly PlacedContainer[],
  nowMs: number,
): HookPayload {
  return {
    Timestamp: hookTimestamp(nowMs),
    Event: event,
    MetaBase: {
      GroupId: meta.groupId,
      MetaId: meta.id,
      Instances: meta.instances,
      WebHooks: meta.webhooks.map((w) => ({ Url: w.url })),
      ImageTag: meta.imageTag,
      Config: meta.config,
    },
    HookContainers: containers
      .slice()
      .sort((a, b) => (a.container.index ?? 0) - (b.container.index ?? 0))
      .map(({ container, node }) => ({
        IP: node?.ip ?? '',
        Name: node?.name ?? '',
        Container: {
          Id: container.id,
          Name: container.name,
          Image: container.image,
          State: container.state,
          Status: container.status,
          Index: container.index ?? null,
          NodeId: container.nodeId,
          Created: container.createdAt,
        },
      })),
  };
}
