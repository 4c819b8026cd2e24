import type { GroupRecord } from '../../core/store/store.js';
import type { Logger } from '../../core/logger.js';
import { groupIdsFor } from '../../core/authorization.js';
import type { Services, Viewer } from '../../core/services.js';

/** What a session needs of its socket. */
interface Closable {
  close(code: number, reason: string): void;
}

interface Session {
  token: string;
  /** The groups the viewer could see when the connection opened ('*': admin). */
  scope: string;
}

/** graphql-ws close codes of the session checks. */
export const SESSION_CLOSE = {
  /**
   * The token expired or was revoked, its user was deleted, changed their password or lost admin:
   * log in again (clients should not retry).
   */
  unauthorized: 4401,
  /** The viewer's access changed (teams, grants, owners, a public flag): subscribe again. */
  accessChanged: 4403,
} as const;

function scopeOf(viewer: Viewer, groups: readonly GroupRecord[]): string {
  const readable = groupIdsFor(viewer, groups, 'read');
  return readable ? [...readable].sort().join(',') : '*';
}

/**
 * The open graphql-ws connections, checked again every `intervalMs`: a connection whose token
 * expired or whose user was deleted is closed with 4401, one whose access changed with 4403 (the
 * client reconnects and its subscriptions start again with what the viewer may see now). While the
 * store cannot be reached nothing is closed: an outage is not a reason to log everyone out.
 */
export class WsSessions {
  private readonly sessions = new Map<Closable, Session>();
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  private again = false;
  private readonly offAccessChanged: (() => void) | undefined;

  constructor(
    private readonly services: Pick<Services, 'auth' | 'groups'>,
    intervalMs: number,
    private readonly logger?: Logger,
  ) {
    this.timer = setInterval(() => this.checkSoon(), intervalMs);
    this.timer.unref();
    // Pushed, not polled: a revoked token or an ended session is closed as soon as any gateway says so.
    this.offAccessChanged = services.auth.onAccessChanged?.(() => this.checkSoon(true));
  }

  /** Runs a check unless one is running; `again`: then once more after it (something changed since). */
  private checkSoon(again = false): void {
    if (this.checking) {
      this.again ||= again;
      return;
    }
    this.checking = true;
    void this.check().finally(() => {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.checkSoon();
      }
    });
  }

  async open(socket: Closable, token: string, viewer: Viewer): Promise<void> {
    const groups = viewer.admin ? [] : await this.services.groups.list();
    this.sessions.set(socket, { token, scope: scopeOf(viewer, groups) });
  }

  closed(socket: Closable): void {
    this.sessions.delete(socket);
  }

  /** One pass over every connection (the timer calls it; tests may too). */
  async check(): Promise<void> {
    if (this.sessions.size === 0) return;
    let groups: GroupRecord[];
    try {
      groups = await this.services.groups.list();
    } catch (err) {
      this.logger?.warn({ err }, 'session check skipped: the store cannot be reached');
      return;
    }
    for (const [socket, session] of this.sessions) {
      let viewer: Viewer | undefined;
      try {
        viewer = await this.services.auth.verify(session.token);
      } catch (err) {
        this.logger?.warn({ err }, 'session check skipped: the store cannot be reached');
        return;
      }
      if (!viewer) {
        this.sessions.delete(socket);
        socket.close(SESSION_CLOSE.unauthorized, 'Token expired or revoked');
      } else if (scopeOf(viewer, groups) !== session.scope) {
        this.sessions.delete(socket);
        socket.close(SESSION_CLOSE.accessChanged, 'Access changed: subscribe again');
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.offAccessChanged?.();
  }
}
