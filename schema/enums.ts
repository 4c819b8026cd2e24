import { registerEnumType } from 'type-graphql';
import { ContainerAction, ContainerState, MetaEventType, NodeStatus } from '../core/domain.js';

// The domain's vocabulary (core/domain.ts), registered with type-graphql here once.
export { ContainerAction, ContainerState, MetaEventType, NodeStatus };

/** How an audited operation ended. */
export enum AuditOutcome {
  OK = 'ok',
  ERROR = 'error',
}

registerEnumType(NodeStatus, {
  name: 'NodeStatus',
  description: "A node's health as the gateway sees it.",
  valuesConfig: {
    PENDING: { description: 'Known but not checked yet.' },
    HEALTHY: { description: 'The agent answers and its Docker Engine works.' },
    UNHEALTHY: { description: 'The agent answers but reports a problem, or health checks fail.' },
    DISCONNECTED: { description: 'The agent is gone (ZooKeeper session expired or unreachable).' },
  },
});
registerEnumType(ContainerState, { name: 'ContainerState', description: "A container's Docker state." });
registerEnumType(ContainerAction, {
  name: 'ContainerAction',
  description: 'An operation on a container (or on every container of a meta).',
});
registerEnumType(MetaEventType, {
  name: 'MetaEventType',
  description: "Humpback's seven meta events, sent to webhooks and to metaEvents subscribers.",
});
registerEnumType(AuditOutcome, {
  name: 'AuditOutcome',
  description: 'How an audited operation ended.',
  valuesConfig: { OK: { description: 'It succeeded.' }, ERROR: { description: 'It failed.' } },
});
