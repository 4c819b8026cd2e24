/**
 * The domain's vocabulary, defined once: every process, the store, the bus messages and the GraphQL
 * schema (schema/enums.ts registers these with type-graphql) use these names. Each is an object of
 * its values and, under the same name, the union type of them.
 */

function valuesOf<const T extends string>(...values: T[]): { readonly [K in T]: K } {
  return Object.freeze(Object.fromEntries(values.map((v) => [v, v]))) as { readonly [K in T]: K };
}

/** A node's health as the gateway sees it. */
export const NodeStatus = valuesOf('PENDING', 'HEALTHY', 'UNHEALTHY', 'DISCONNECTED');
export type NodeStatus = keyof typeof NodeStatus;

/** A container's Docker state. */
export const ContainerState = valuesOf(
  'CREATED',
  'RUNNING',
  'PAUSED',
  'RESTARTING',
  'EXITED',
  'DEAD',
  'REMOVING',
);
export type ContainerState = keyof typeof ContainerState;

/** What operateContainer and operateMeta do. */
export const ContainerAction = valuesOf('START', 'STOP', 'RESTART', 'KILL', 'PAUSE', 'UNPAUSE');
export type ContainerAction = keyof typeof ContainerAction;

/** Humpback's seven meta events, sent to webhooks and to metaEvents subscribers. */
export const MetaEventType = valuesOf(
  'CreateMetaEvent',
  'RemoveMetaEvent',
  'OperateMetaEvent',
  'UpdateMetaEvent',
  'UpgradeMetaEvent',
  'MigrateMetaEvent',
  'RecoveryMetaEvent',
);
export type MetaEventType = keyof typeof MetaEventType;

/** The ranges of a usage history, by the span each covers (samples of 10 s, 5 min, 1 h). */
export const UsageRange = valuesOf('HOUR', 'DAY', 'WEEK');
export type UsageRange = keyof typeof UsageRange;

/** What a notification channel can be told about. */
export const NotificationEvent = valuesOf(
  'NODE_DOWN',
  'NODE_UP',
  'MIGRATION',
  'RECOVERY_FAILED',
  'META_FAILED',
);
export type NotificationEvent = keyof typeof NotificationEvent;
