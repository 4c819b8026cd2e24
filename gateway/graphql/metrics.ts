/** The gateway's Prometheus metrics (`/metrics`) and the Apollo plugin that feeds them. */
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayContext } from '../../resolvers/context.js';

export interface Metrics {
  registry: Registry;
  operations: Counter<'transport' | 'type'>;
  durations: Histogram<'type' | 'outcome'>;
  wsConnections: Gauge;
  deliveries: Counter;
  subscriptionExecutions: Gauge;
  /** Webhook delivery attempts by result (the leader's dispatcher counts them). */
  webhookDeliveries: Counter<'result'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'humpback_' });
  return {
    registry,
    operations: new Counter({
      name: 'humpback_graphql_operations_total',
      help: 'GraphQL operations started, by transport and kind',
      labelNames: ['transport', 'type'],
      registers: [registry],
    }),
    durations: new Histogram({
      name: 'humpback_graphql_request_duration_seconds',
      help: 'HTTP GraphQL request duration, by operation type and outcome',
      labelNames: ['type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'humpback_ws_connections',
      help: 'Authenticated graphql-ws connections',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'humpback_subscription_deliveries_total',
      help: 'Subscription results sent to graphql-ws clients',
      registers: [registry],
    }),
    subscriptionExecutions: new Gauge({
      name: 'humpback_subscription_executions',
      help: 'Distinct subscription executions shared by the connected clients',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'humpback_webhook_deliveries_total',
      help: 'Webhook delivery attempts by this gateway, by result (delivered, failed, refused)',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

export function metricsPlugin(metrics: Metrics): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      metrics.operations.inc({ transport: 'http', type: 'request' });
      return {
        async willSendResponse(requestContext) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const type = requestContext.operation?.operation ?? 'unknown';
          const outcome = requestContext.errors?.length ? 'error' : 'ok';
          metrics.durations.observe({ type, outcome }, seconds);
        },
      };
    },
  };
}
