import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { badInput, forbidden, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ApiTokenRecord, Store } from '../../core/store/store.js';
import type { TokenScope, TokenService, Viewer } from '../../core/services.js';

/** Every API token starts with this, then 32 hex characters of its id, then its secret. */
export const API_TOKEN_PREFIX = 'hbt_';
const ID_LENGTH = 32;
const MAX_NAME = 100;
const MAX_DAYS = 3650;
/** A token's last use is written at most this often (a busy script does not write on every call). */
const LAST_USED_RESOLUTION_MS = 60_000;

const SCOPE_RANK: Readonly<Record<TokenScope, number>> = { READ: 1, WRITE: 2, ADMIN: 3 };

/** The highest of a token's scopes (they are cumulative: ADMIN includes WRITE includes READ). */
export function highestScope(scopes: readonly TokenScope[]): TokenScope {
  return scopes.reduce<TokenScope>((a, b) => (SCOPE_RANK[b] > SCOPE_RANK[a] ? b : a), 'READ');
}

export function isApiToken(token: string): boolean {
  return token.startsWith(API_TOKEN_PREFIX);
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export interface TokenServiceOptions {
  store: Store;
  /** Called after a token was revoked (the auth service forgets it and closes its connections). */
  onRevoked: (record: ApiTokenRecord) => Promise<void>;
  logger?: Logger | undefined;
  /** Milliseconds since the epoch. @default Date.now */
  now?: (() => number) | undefined;
}

/**
 * API tokens in the store: `hbt_<id><secret>`, 256 random bits of secret, kept only as the SHA-256
 * of the whole token (a high-entropy token needs no slow hash), compared in constant time.
 */
export class StoreTokenService implements TokenService {
  private readonly now: () => number;

  constructor(private readonly o: TokenServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  async create(
    viewer: Viewer,
    input: { name: string; scopes: readonly TokenScope[]; expiresInDays?: number | undefined },
  ): Promise<{ token: string; record: ApiTokenRecord }> {
    const name = input.name.trim();
    if (!name) throw badInput('a token needs a name', 'name');
    if (name.length > MAX_NAME) throw badInput(`name: at most ${MAX_NAME} characters`, 'name');
    if (input.scopes.length === 0)
      throw badInput('scopes: give at least one of READ, WRITE, ADMIN', 'scopes');
    const days = input.expiresInDays;
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > MAX_DAYS))
      throw badInput(`expiresInDays: a whole number from 1 to ${MAX_DAYS}`, 'expiresInDays');
    // A token cannot hold more than its maker: ADMIN only from an admin's session or ADMIN token.
    if (input.scopes.includes('ADMIN') && !viewer.admin)
      throw forbidden('only admins may create ADMIN tokens');
    if (viewer.token && SCOPE_RANK[highestScope(input.scopes)] > SCOPE_RANK[viewer.token.scope])
      throw forbidden(`a ${viewer.token.scope} token cannot create a token of a higher scope`);
    const id = randomBytes(ID_LENGTH / 2).toString('hex');
    const token = `${API_TOKEN_PREFIX}${id}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const record: ApiTokenRecord = {
      id,
      userId: viewer.userId,
      name,
      scopes: [...new Set(input.scopes)],
      tokenHash: sha256(token),
      createdAt: new Date(now).toISOString(),
      ...(days !== undefined ? { expiresAt: new Date(now + days * 86_400_000).toISOString() } : {}),
    };
    await this.o.store.create('apiTokens', id, record);
    return { token, record };
  }

  async list(userId: string): Promise<ApiTokenRecord[]> {
    const all = await this.o.store.list('apiTokens');
    return all
      .filter((t) => t.userId === userId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  async revoke(viewer: Viewer, id: string): Promise<void> {
    const record = await this.o.store.get('apiTokens', id);
    // Someone else's token is NOT_FOUND too: its id tells a non-admin nothing.
    if (!record || (record.userId !== viewer.userId && !viewer.admin)) throw notFound('API token', id);
    await this.o.store.delete('apiTokens', id);
    await this.o.onRevoked(record);
  }

  /** The token's record when it is one of ours, not revoked and not expired; records its use. */
  async check(token: string): Promise<ApiTokenRecord | undefined> {
    if (!isApiToken(token)) return undefined;
    const id = token.slice(API_TOKEN_PREFIX.length, API_TOKEN_PREFIX.length + ID_LENGTH);
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const record = await this.o.store.get('apiTokens', id);
    if (!record) return undefined;
    const given = Buffer.from(sha256(token), 'hex');
    const kept = Buffer.from(record.tokenHash, 'hex');
    if (given.length !== kept.length || !timingSafeEqual(given, kept)) return undefined;
    const now = this.now();
    if (record.expiresAt && Date.parse(record.expiresAt) <= now) return undefined;
    if (!record.lastUsedAt || Date.parse(record.lastUsedAt) + LAST_USED_RESOLUTION_MS <= now) {
      const lastUsedAt = new Date(now).toISOString();
      // A revoke in between wins: a deleted record stays deleted.
      await this.o.store
        .update('apiTokens', id, (t) => (t ? { ...t, lastUsedAt } : undefined))
        .catch((err: unknown) => this.o.logger?.warn({ err, token: id }, 'could not record a token use'));
      record.lastUsedAt = lastUsedAt;
    }
    return record;
  }
}
