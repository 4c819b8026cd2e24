/**
 * Console sessions: `startExec` makes an exec session on the container's agent and a one-time ticket
 * for it, bound to the user who asked and valid for 30 s; the exec WebSocket (gateway/graphql/
 * exec-socket.ts) takes the ticket once, checks again that the user may operate the container, and
 * attaches the session through the agent.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type WebSocket from 'ws';
import { Access, type AccessServices } from '../../core/authorization.js';
import { ErrorCode, HumpbackError, badInput, notFound } from '../../core/errors.js';
import type { ExecConnection, ExecService, ExecSessionInfo, Viewer } from '../../core/services.js';
import type { ServiceDeps } from './container-service.js';
import { callAgent, usableNode } from './container-service.js';

export interface ExecOptions {
  /** How long a ticket may be used. @default 30000 */
  ticketTtlMs?: number | undefined;
  /** @default Date.now */
  now?: (() => number) | undefined;
}

interface Ticket {
  ticket: Buffer;
  viewer: Viewer;
  containerId: string;
  nodeId: string;
  execId: string;
  expiresAt: number;
}

const MAX_COMMAND_WORDS = 256;
const DEFAULT_SHELL = ['/bin/sh'];

export class ExecTickets implements ExecService {
  private readonly tickets = new Map<string, Ticket>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Set by wiring once every service exists: the access check at connect. */
  access: AccessServices | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    options: ExecOptions = {},
  ) {
    this.ttlMs = options.ticketTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async start(
    viewer: Viewer,
    containerId: string,
    options: { command: string[]; tty: boolean; baseUrl: string },
  ): Promise<ExecSessionInfo> {
    const command = options.command.length ? options.command : DEFAULT_SHELL;
    if (
      command.length > MAX_COMMAND_WORDS ||
      command.some((w) => !w || w.length > 4096 || w.includes('\0'))
    ) {
      throw badInput(
        `command: 1 to ${MAX_COMMAND_WORDS} non-empty words of at most 4096 characters, no NUL`,
        'command',
      );
    }
    const container = this.deps.cache.findContainer(containerId);
    if (!container) throw notFound('container', containerId);
    if (container.state !== 'RUNNING') {
      throw new HumpbackError(ErrorCode.CONFLICT, `container ${container.name} is not running`);
    }
    const { node, agent } = usableNode(this.deps, container.nodeId);
    const execId = await callAgent(this.deps, node, () =>
      agent.createExec(container.id, command, options.tty),
    );
    this.sweep();
    const id = randomUUID();
    const ticket = randomBytes(32);
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(id, { ticket, viewer, containerId: container.id, nodeId: node.id, execId, expiresAt });
    const base = options.baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
    return {
      id,
      url: `${base}/exec/${id}?ticket=${ticket.toString('base64url')}`,
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  /**
   * Takes the ticket of session `id` (used once, whatever follows) and attaches the session.
   * UNAUTHENTICATED for a missing, wrong, used or expired ticket; FORBIDDEN when `presentedBy` (the
   * user of credentials sent with the upgrade) is another user or the user may no longer operate the
   * container; NODE_UNAVAILABLE when the agent cannot be reached.
   */
  async connect(id: string, ticket: string, presentedBy?: string): Promise<ExecConnection> {
    const t = this.tickets.get(id);
    const given = Buffer.from(ticket, 'base64url');
    if (!t || given.length !== t.ticket.length || !timingSafeEqual(given, t.ticket)) {
      throw new HumpbackError(ErrorCode.UNAUTHENTICATED, 'no such exec session, or a wrong ticket');
    }
    this.tickets.delete(id);
    if (t.expiresAt <= this.now()) {
      throw new HumpbackError(ErrorCode.UNAUTHENTICATED, 'the exec ticket expired: start the exec again');
    }
    if (presentedBy !== undefined && presentedBy !== t.viewer.userId) {
      throw new HumpbackError(ErrorCode.FORBIDDEN, 'this exec session belongs to another user');
    }
    if (!this.access) throw new Error('ExecTickets.access not wired');
    await new Access(t.viewer, this.access).container(t.containerId, 'operate');
    const node = this.deps.cache.getNode(t.nodeId);
    if (!node) throw notFound('node', t.nodeId);
    const agent = this.deps.pool.forNode(node);
    const ws = await callAgent(this.deps, node, () => agent.attachExec(t.execId));
    return execConnection(ws);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, t] of this.tickets) if (t.expiresAt <= now) this.tickets.delete(id);
  }
}

/** The agent's exec WebSocket as an ExecConnection. */
function execConnection(ws: WebSocket): ExecConnection {
  return {
    input: (data) => ws.send(data, { binary: true }),
    resize: (cols, rows) => ws.send(JSON.stringify({ resize: { cols, rows } })),
    onOutput: (fn) =>
      ws.on('message', (data, isBinary) => {
        if (isBinary) fn(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
      }),
    onEnd: (fn) => ws.on('close', (_code, reason) => fn(reason.toString() || 'ended')),
    close: () => ws.close(1000),
  };
}
