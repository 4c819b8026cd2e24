/**
 * The request limits of the GraphQL transports (HTTP and graphql-ws), with their defaults, and what
 * both transports are built from.
 */
import type http from 'node:http';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import type { ChannelListener } from '../../core/bus/channels.js';
import type { GatewayConfig } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { Services } from '../../core/services.js';
import type { MaskOptions } from './guards.js';
import type { Metrics } from './metrics.js';

/**
 * What one GraphQL request may ask, on HTTP and graphql-ws alike. Everything but the complexity is
 * checked before anything in the document runs, in time linear in the request, so that no request
 * costs more than a few milliseconds before it is refused; refusals say which limit they met.
 */
export interface GatewayLimits {
  /** Deepest field nesting an operation may have. @default 10 */
  maxDepth?: number | undefined;
  /** Highest complexity an operation may have (see the `complexity` options in resolvers/). @default 10000 */
  maxComplexity?: number | undefined;
  /**
   * Largest HTTP body and WebSocket message, in bytes: a query text and its variables fit in far less,
   * and JSON.parse of a large body alone takes milliseconds. @default 262144
   */
  maxBodyBytes?: number | undefined;
  /** Longest query text, in bytes (UTF-8). @default 32768 */
  maxDocumentBytes?: number | undefined;
  /** Most tokens (names, punctuation, values; comments do not count) a query text may have. @default 1000 */
  maxTokens?: number | undefined;
  /** Most selections a document may make with every fragment spread expanded in place. @default 1000 */
  maxSelections?: number | undefined;
  /**
   * Most pairs of fields answering at the same place in the response (`me { id id }` is one pair,
   * three fragments that each ask `me { id }` make three): validation compares each pair. @default 1000
   */
  maxFieldMerges?: number | undefined;
  /** Most operations one document may hold (a request runs one of them). @default 20 */
  maxOperations?: number | undefined;
  /** Deepest nesting of objects and arrays in an operation's variables. @default 16 */
  maxVariablesDepth?: number | undefined;
  /** Largest variables of one operation, in bytes of JSON. @default 65536 */
  maxVariablesBytes?: number | undefined;
  /** Most operations one graphql-ws connection may run at once; more are refused one by one. @default 100 */
  maxOperationsPerSocket?: number | undefined;
}

export type Limits = { [K in keyof GatewayLimits]-?: number };

/** The limits with their defaults filled in. */
export function resolveLimits(given: GatewayLimits = {}): Limits {
  return {
    maxDepth: given.maxDepth ?? 10,
    maxComplexity: given.maxComplexity ?? 10_000,
    maxBodyBytes: given.maxBodyBytes ?? 256 * 1024,
    maxDocumentBytes: given.maxDocumentBytes ?? 32 * 1024,
    maxTokens: given.maxTokens ?? 1000,
    maxSelections: given.maxSelections ?? 1000,
    maxFieldMerges: given.maxFieldMerges ?? 1000,
    maxOperations: given.maxOperations ?? 20,
    maxVariablesDepth: given.maxVariablesDepth ?? 16,
    maxVariablesBytes: given.maxVariablesBytes ?? 64 * 1024,
    maxOperationsPerSocket: given.maxOperationsPerSocket ?? 100,
  };
}

/** Validation stops after this many errors (each costs a scan of the document for its location). */
export const MAX_VALIDATION_ERRORS = 10;

/** What both GraphQL transports (http-server.ts, ws-server.ts) are built from. */
export interface TransportDeps {
  config: Pick<GatewayConfig, 'development'> & object;
  schema: GraphQLSchema;
  services: Services;
  hub: ChannelListener;
  logger: Logger;
  limits: Limits;
  mask: MaskOptions;
  validationRules: ValidationRule[];
  metrics: Metrics;
  httpServer: http.Server;
}
