import type { Logger } from '../core/logger.js';
import type { Services, Viewer } from './services.js';
import type { SubscriptionHub } from './subscriptions.js';

/** What every resolver gets as its context: one per HTTP request or graphql-ws subscription. */
export interface GatewayContext {
  /** undefined: no valid token (only `login` is allowed). */
  viewer: Viewer | undefined;
  services: Services;
  hub: SubscriptionHub;
  /** Who is calling, for login rate limiting (the client IP). */
  clientKey: string;
  logger: Logger;
  /** Per-context memo of the group ids a non-admin viewer owns. */
  ownedGroups?: Promise<Set<string>> | undefined;
}

/** Builds a context; the transports call this. */
export function createContext(input: {
  viewer: Viewer | undefined;
  services: Services;
  hub: SubscriptionHub;
  clientKey: string;
  logger: Logger;
}): GatewayContext {
  return { ...input, ownedGroups: undefined };
}

/** `Bearer <token>` → token; anything else → undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
