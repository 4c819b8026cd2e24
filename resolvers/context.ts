import type { ChannelListener } from '../core/bus/channels.js';
import type { Logger } from '../core/logger.js';
import { Access } from '../core/authorization.js';
import type { Services, Viewer } from '../core/services.js';

/** What every resolver gets as its context: one per HTTP request or graphql-ws subscription. */
export interface GatewayContext {
  /** undefined: no valid token (only `login` is allowed). */
  viewer: Viewer | undefined;
  services: Services;
  hub: ChannelListener;
  /** Who is calling, for login rate limiting (the client IP). */
  clientKey: string;
  logger: Logger;
  /** What the viewer may do (core/authorization.ts); every resolver asks it. */
  access: Access;
  /** The gateway as this client reached it (`http(s)://host[:port]`), for URLs it is given. */
  baseUrl?: string | undefined;
}

/** Builds a context; the transports call this. */
export function createContext(input: {
  viewer: Viewer | undefined;
  services: Services;
  hub: ChannelListener;
  clientKey: string;
  logger: Logger;
  baseUrl?: string | undefined;
}): GatewayContext {
  return { ...input, access: new Access(input.viewer, input.services) };
}

/** `Bearer <token>` → token; anything else → undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}
