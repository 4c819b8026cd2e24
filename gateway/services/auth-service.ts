import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { badInput, conflict, ErrorCode, HumpbackError, notFound } from '../../core/errors.js';
import type { EventBus } from '../../core/bus.js';
import { SCOPE_ALLOWS } from '../../core/authorization.js';
import type { Logger } from '../../core/logger.js';
import {
  StoreConflictError,
  type AttemptLimit,
  type Store,
  type UserRecord,
} from '../../core/store/store.js';
import { addressThrottleKey } from '../graphql/client-ip.js';
import type { AuthService, Viewer } from '../../core/services.js';
import { highestScope, StoreTokenService } from './token-service.js';

export interface AuthServiceOptions {
  store: Store;
  /** From GatewayConfig: HUMPBACK_JWT_SECRET (else generated and kept in `settings`) and HUMPBACK_ADMIN_PASSWORD. */
  config: { jwtSecret: string | undefined; adminPassword: string | undefined };
  logger?: Logger | undefined;
  /** Milliseconds since the epoch. @default Date.now */
  now?: (() => number) | undefined;
  /** How long a login token is valid, in seconds. @default 43200 (12 hours) */
  tokenTtlSeconds?: number | undefined;
  /** bcrypt cost. @default 10 */
  bcryptRounds?: number | undefined;
  /**
   * Login attempts per username that go through at once; after them each further attempt waits,
   * `loginBackoffMs` first and twice as long each time after, up to `maxLoginBackoffMs`. A right
   * password resets its username. @default 10
   */
  maxFailedLogins?: number | undefined;
  /**
   * The same per client address (an IPv6 client by its /64), counting only the attempts that failed.
   * @default 50
   */
  maxFailedLoginsPerClient?: number | undefined;
  /** The first wait, in milliseconds. @default 1000 */
  loginBackoffMs?: number | undefined;
  /** The longest wait, in milliseconds. @default 300000 (5 minutes) */
  maxLoginBackoffMs?: number | undefined;
  /** A username or address is forgotten this long after its last attempt and wait. @default 900000 (15 minutes) */
  rateLimitWindowMs?: number | undefined;
  /** How long a verified token's user is trusted before it is re-read from the store. @default 5000 */
  userCacheMs?: number | undefined;
  /**
   * Where every gateway hears that tokens may have stopped working (a revoked token, a changed
   * password): each forgets what it cached and closes those graphql-ws connections at once.
   * @default none: only this gateway's listeners hear it
   */
  bus?: EventBus | undefined;
}

/** The bus channel of `accessChanged` (no payload that matters: every cache is dropped). */
export const ACCESS_CHANGED_CHANNEL = 'humpback:access-changed';
const MIN_PASSWORD = 8;

function checkPassword(password: string, field: string): void {
  if (password.length < MIN_PASSWORD) throw badInput(`${field}: at least ${MIN_PASSWORD} characters`, field);
  if (password.length > 200) throw badInput(`${field}: at most 200 characters`, field);
}

const ISSUER = 'humpback';
const SECRET_SETTING = 'jwtSecret';
/** The first admin's username. */
export const FIRST_ADMIN = 'admin';

/** Usernames longer than this are counted under a hash (keys in the store stay small). */
const MAX_PLAIN_KEY = 64;

/**
 * Passwords with bcryptjs, HS256 JWTs with jose, and login throttling per username and per client
 * address, counted in the store (so every gateway sharing it counts together) before the password is
 * checked.
 */
export class StoreAuthService implements AuthService {
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly rounds: number;
  private readonly userLimit: Omit<AttemptLimit, 'key'>;
  private readonly clientLimit: Omit<AttemptLimit, 'key'>;
  private readonly userCacheMs: number;
  private readonly users = new Map<string, { user: UserRecord | undefined; until: number }>();
  private readonly verified = new Map<string, { viewer: Viewer; until: number }>();
  private readonly expiries = new Map<string, number>();
  private dummyHash: string | undefined;
  private teamsOf: { byUser: Map<string, string[]>; until: number } | undefined;
  private readonly listeners = new Set<() => void>();
  private unsubscribe: (() => Promise<void>) | undefined;
  /** API tokens (the resolvers' `tokens` service): verified here, beside login tokens. */
  readonly tokens: StoreTokenService;

  private constructor(
    private readonly store: Store,
    private readonly key: Uint8Array,
    private readonly logger: Logger | undefined,
    options: AuthServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.ttl = options.tokenTtlSeconds ?? 12 * 3600;
    this.rounds = options.bcryptRounds ?? 10;
    const backoff = {
      baseDelayMs: options.loginBackoffMs ?? 1000,
      maxDelayMs: options.maxLoginBackoffMs ?? 5 * 60_000,
      windowMs: options.rateLimitWindowMs ?? 15 * 60_000,
    };
    this.userLimit = { free: options.maxFailedLogins ?? 10, ...backoff };
    this.clientLimit = { free: options.maxFailedLoginsPerClient ?? 50, ...backoff };
    this.userCacheMs = options.userCacheMs ?? 5000;
    this.tokens = new StoreTokenService({
      store,
      logger,
      now: this.now,
      onRevoked: () => this.accessChanged(),
    });
  }

  /** Loads or creates the signing secret and, on an empty store, the first admin. */
  static async open(options: AuthServiceOptions): Promise<StoreAuthService> {
    const { store, config, logger } = options;
    const secret = config.jwtSecret ?? (await loadOrCreateSecret(store));
    const service = new StoreAuthService(store, new TextEncoder().encode(secret), logger, options);
    service.bus = options.bus;
    service.unsubscribe = await options.bus?.subscribe(ACCESS_CHANGED_CHANNEL, () => service.heard());
    if ((await store.list('users')).length === 0) {
      if (config.adminPassword) {
        await service.createUser({ username: FIRST_ADMIN, password: config.adminPassword, admin: true });
        logger?.info({ username: FIRST_ADMIN }, 'created the first admin from HUMPBACK_ADMIN_PASSWORD');
      } else {
        logger?.warn('no users yet and HUMPBACK_ADMIN_PASSWORD is unset: nobody can log in');
      }
    }
    return service;
  }

  async login(
    username: string,
    password: string,
    clientKey: string,
  ): Promise<{ token: string; user: UserRecord }> {
    const now = this.now();
    const id = username.toLowerCase();
    const userKey = `login:user:${id.length > MAX_PLAIN_KEY ? sha256(id) : id}`;
    const clientKeyed = `login:client:${addressThrottleKey(clientKey)}`;
    // Counted before the password is checked, in one atomic step: parallel guesses cannot all pass.
    const gate = await this.store.countAttempt(
      [
        { key: userKey, ...this.userLimit },
        { key: clientKeyed, ...this.clientLimit },
      ],
      now,
    );
    if (gate.outcome === 'wait') {
      const retryAfterSeconds = Math.ceil(gate.retryAfterMs / 1000);
      throw new HumpbackError(
        ErrorCode.RATE_LIMITED,
        `too many failed logins: try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds },
      );
    }
    const user = await this.store.get('users', id);
    // Compare against a dummy hash for unknown users so both cases take the same time.
    this.dummyHash ??= await bcrypt.hash(randomBytes(16).toString('hex'), this.rounds);
    const ok = await bcrypt.compare(password, user?.passwordHash ?? this.dummyHash);
    if (!user || !ok) throw new HumpbackError(ErrorCode.UNAUTHENTICATED, 'wrong username or password');
    await this.store.settleAttempt({ reset: [userKey], release: [clientKeyed] });
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({ username: user.username, ep: user.sessionEpoch ?? 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(user.id)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttl)
      .sign(this.key);
    return { token, user };
  }

  async verify(token: string): Promise<Viewer | undefined> {
    const now = this.now();
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit.viewer;
    const viewer = await this.verifyUncached(token);
    // A verified token is trusted for userCacheMs (never past its expiry): the HMAC and the user
    // lookup are then not repeated on every request.
    if (viewer) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(token, {
        viewer,
        until: Math.min(now + this.userCacheMs, this.expiries.get(token) ?? now),
      });
    }
    this.expiries.delete(token);
    return viewer;
  }

  private async verifyUncached(token: string): Promise<Viewer | undefined> {
    if (token.startsWith('hbt_')) return this.verifyApiToken(token);
    let subject: string | undefined;
    let epoch = 0;
    try {
      // A token must say when it was issued and when it expires, no later than the TTL after issue:
      // one without exp (or with a far one) would otherwise be valid forever.
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
        requiredClaims: ['iat', 'exp', 'sub'],
        maxTokenAge: this.ttl,
      });
      if (payload.exp! - payload.iat! > this.ttl) return undefined;
      subject = payload.sub;
      epoch = typeof payload['ep'] === 'number' ? payload['ep'] : 0;
      this.expiries.set(token, payload.exp! * 1000);
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return undefined;
      throw err;
    }
    if (!subject) return undefined;
    // The user is re-read (briefly cached) so deleting a user or changing admin takes effect; a token
    // from before the last password change or demotion is over.
    const user = await this.cachedUser(subject);
    if (!user || epoch !== (user.sessionEpoch ?? 0)) return undefined;
    return {
      userId: user.id,
      username: user.username,
      admin: user.admin,
      teamIds: await this.teamIds(user.id),
    };
  }

  private async verifyApiToken(token: string): Promise<Viewer | undefined> {
    const record = await this.tokens.check(token);
    if (!record) return undefined;
    const user = await this.cachedUser(record.userId);
    if (!user) return undefined;
    if (record.expiresAt) this.expiries.set(token, Date.parse(record.expiresAt));
    else this.expiries.set(token, Number.MAX_SAFE_INTEGER);
    const scope = highestScope(record.scopes);
    return {
      userId: user.id,
      username: user.username,
      admin: user.admin && SCOPE_ALLOWS[scope].adminRights,
      teamIds: await this.teamIds(user.id),
      token: { id: record.id, scope },
    };
  }

  private async teamIds(userId: string): Promise<string[]> {
    const now = this.now();
    if (!this.teamsOf || this.teamsOf.until <= now) {
      const byUser = new Map<string, string[]>();
      for (const team of await this.store.list('teams')) {
        for (const member of team.members) byUser.set(member, [...(byUser.get(member) ?? []), team.id]);
      }
      this.teamsOf = { byUser, until: now + this.userCacheMs };
    }
    return this.teamsOf.byUser.get(userId) ?? [];
  }

  private bus: EventBus | undefined;

  /**
   * Tokens may have stopped working or access changed (a revoked token, a password, admin, teams or
   * grants): this gateway forgets what it cached now, and every gateway hears it over the bus.
   */
  async accessChanged(): Promise<void> {
    this.forget();
    if (this.bus) await this.bus.publish(ACCESS_CHANGED_CHANNEL, { at: new Date(this.now()).toISOString() });
    else this.heard();
  }

  onAccessChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private forget(): void {
    this.users.clear();
    this.verified.clear();
    this.teamsOf = undefined;
  }

  private heard(): void {
    this.forget();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.logger?.error({ err }, 'an access-change listener threw');
      }
    }
  }

  /** Stops listening on the bus. */
  async close(): Promise<void> {
    await this.unsubscribe?.();
  }

  async changePassword(userId: string, oldPassword: string, newPassword: string): Promise<void> {
    checkPassword(newPassword, 'newPassword');
    const id = userId.toLowerCase();
    const key = `login:user:${id.length > MAX_PLAIN_KEY ? sha256(id) : id}`;
    // Guesses of the old password are throttled with the logins of that username.
    const gate = await this.store.countAttempt([{ key, ...this.userLimit }], this.now());
    if (gate.outcome === 'wait') {
      const retryAfterSeconds = Math.ceil(gate.retryAfterMs / 1000);
      throw new HumpbackError(
        ErrorCode.RATE_LIMITED,
        `too many wrong passwords: try again in ${retryAfterSeconds} s`,
        {
          retryAfterSeconds,
        },
      );
    }
    const user = await this.store.get('users', id);
    if (!user) throw notFound('user', userId);
    if (!(await bcrypt.compare(oldPassword, user.passwordHash)))
      throw badInput('the old password is wrong', 'oldPassword');
    await this.store.settleAttempt({ reset: [key], release: [] });
    await this.writePassword(id, newPassword);
  }

  async setUserPassword(userId: string, password: string): Promise<void> {
    checkPassword(password, 'password');
    await this.writePassword(userId.toLowerCase(), password);
  }

  private async writePassword(id: string, password: string): Promise<void> {
    const passwordHash = await bcrypt.hash(password, this.rounds);
    const updated = await this.store.update('users', id, (u) =>
      u ? { ...u, passwordHash, sessionEpoch: (u.sessionEpoch ?? 0) + 1 } : undefined,
    );
    if (!updated) throw notFound('user', id);
    await this.accessChanged();
  }

  async setUserAdmin(userId: string, admin: boolean, by: Viewer): Promise<UserRecord> {
    const id = userId.toLowerCase();
    if (!admin && id === by.userId) throw badInput('you cannot take your own admin rights', 'userId');
    const updated = await this.store.update('users', id, (u) =>
      u
        ? {
            ...u,
            admin,
            // A demotion ends the sessions that were issued while the user was an admin.
            sessionEpoch: (u.sessionEpoch ?? 0) + (u.admin && !admin ? 1 : 0),
          }
        : undefined,
    );
    if (!updated) throw notFound('user', userId);
    await this.accessChanged();
    return updated;
  }

  async createUser(input: { username: string; password: string; admin: boolean }): Promise<UserRecord> {
    const id = input.username.toLowerCase();
    const user: UserRecord = {
      id,
      username: input.username,
      passwordHash: await bcrypt.hash(input.password, this.rounds),
      admin: input.admin,
      createdAt: new Date(this.now()).toISOString(),
    };
    try {
      await this.store.create('users', id, user);
    } catch (err) {
      if (err instanceof StoreConflictError)
        throw conflict(`user ${JSON.stringify(input.username)} already exists`);
      throw err;
    }
    this.users.delete(id);
    this.verified.clear();
    return user;
  }

  listUsers(): Promise<UserRecord[]> {
    return this.store.list('users');
  }

  async deleteUser(id: string, by?: Viewer): Promise<boolean> {
    if (by && id.toLowerCase() === by.userId) throw badInput('you cannot delete yourself', 'id');
    const deleted = await this.store.delete('users', id.toLowerCase());
    if (deleted) {
      for (const t of await this.tokens.list(id.toLowerCase())) await this.store.delete('apiTokens', t.id);
    }
    await this.accessChanged();
    return deleted;
  }

  private async cachedUser(id: string): Promise<UserRecord | undefined> {
    const now = this.now();
    const hit = this.users.get(id);
    if (hit && hit.until > now) return hit.user;
    const user = await this.store.get('users', id);
    if (this.users.size > 10_000) this.users.clear();
    this.users.set(id, { user, until: now + this.userCacheMs });
    return user;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function loadOrCreateSecret(store: Store): Promise<string> {
  const existing = await store.get('settings', SECRET_SETTING);
  if (existing) return existing.value;
  const value = randomBytes(32).toString('base64url');
  try {
    await store.create('settings', SECRET_SETTING, { id: SECRET_SETTING, value });
    return value;
  } catch (err) {
    // another gateway created it first: use theirs
    if (!(err instanceof StoreConflictError)) throw err;
    const winner = await store.get('settings', SECRET_SETTING);
    if (!winner) throw err;
    return winner.value;
  }
}
