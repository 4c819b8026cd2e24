import type { NodeStatus } from '../core/domain.js';
import type { Clock } from './clock.js';

/**
 * Which lost nodes have been given up on. A node that stops being HEALTHY/PENDING (UNHEALTHY,
 * DISCONNECTED) is *lost*; after `delayMs` without coming back it is *migrated*: its instances no
 * longer count and are recreated elsewhere (same name and index). A node that comes back before
 * cancels that; one that comes back after has its stale copies removed by the reconciler. The delay
 * counts from when the node was lost (NodeRecord.statusSince), so a gateway that takes over as leader
 * does not start it again.
 *
 * While discovery itself is down (the gateway lost ZooKeeper) nothing is declared migrated: the
 * timers are held and start again, in full, once discovery is back.
 */
type NodePhase =
  | { phase: 'lost'; since: number; cancel: () => void }
  | { phase: 'migrated'; since: number }
  | { phase: 'held'; since: number };

export interface MigrationTrackerOptions {
  clock: Clock;
  /** CENTER_MIGRATE_DELAY in ms. */
  delayMs: number;
  /** A lost node is now migrated: recreate its instances elsewhere. */
  onMigrate: (nodeId: string) => void;
  /** A migrated node came back: remove its stale copies. */
  onReturn: (nodeId: string) => void;
}

export const isLostStatus = (status: NodeStatus | undefined): boolean =>
  status === undefined || status === 'UNHEALTHY' || status === 'DISCONNECTED';

export class MigrationTracker {
  private readonly nodes = new Map<string, NodePhase>();
  private frozen = false;

  constructor(private readonly options: MigrationTrackerOptions) {}

  /**
   * Feed every node status change (and the initial status of each node). `since`: when the node was
   * lost, if earlier than now (a new leader taking over a node lost under the previous one); the
   * delay then runs from there.
   */
  nodeStatus(nodeId: string, status: NodeStatus | undefined, since?: number): void {
    const current = this.nodes.get(nodeId);
    if (!isLostStatus(status)) {
      if (!current) return;
      this.nodes.delete(nodeId);
      if (current.phase === 'lost') current.cancel();
      if (current.phase === 'migrated') this.options.onReturn(nodeId);
      return;
    }
    if (current) return;
    const now = this.options.clock.now();
    this.arm(nodeId, since !== undefined && since < now ? since : now);
  }

  /** Forget a node entirely (it left the cluster). */
  forget(nodeId: string): void {
    const current = this.nodes.get(nodeId);
    if (current?.phase === 'lost') current.cancel();
    this.nodes.delete(nodeId);
  }

  isMigrated(nodeId: string): boolean {
    return this.nodes.get(nodeId)?.phase === 'migrated';
  }

  /** Nodes lost and waiting for the delay (or held while frozen). */
  pending(): string[] {
    return [...this.nodes].filter(([, p]) => p.phase !== 'migrated').map(([id]) => id);
  }

  /** Discovery is down: hold every migration until `thaw`. */
  freeze(): void {
    if (this.frozen) return;
    this.frozen = true;
    for (const [id, p] of this.nodes) {
      if (p.phase === 'lost') {
        p.cancel();
        this.nodes.set(id, { phase: 'held', since: p.since });
      }
    }
  }

  /** Discovery is back: held nodes wait the full delay again from now. */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const [id, p] of this.nodes) if (p.phase === 'held') this.arm(id, this.options.clock.now());
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  close(): void {
    for (const p of this.nodes.values()) if (p.phase === 'lost') p.cancel();
    this.nodes.clear();
  }

  private arm(nodeId: string, since: number): void {
    if (this.frozen) {
      this.nodes.set(nodeId, { phase: 'held', since });
      return;
    }
    const elapsed = this.options.clock.now() - since;
    const cancel = this.options.clock.setTimeout(
      () => {
        const p = this.nodes.get(nodeId);
        if (p?.phase !== 'lost' || this.frozen) return;
        this.nodes.set(nodeId, { phase: 'migrated', since: p.since });
        this.options.onMigrate(nodeId);
      },
      Math.max(0, this.options.delayMs - elapsed),
    );
    this.nodes.set(nodeId, { phase: 'lost', since, cancel });
  }
}
