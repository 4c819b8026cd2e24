/**
 * Image jobs (build, load, commit, push, pull) on a node's agent: the job is stored at once, its
 * agent's NDJSON progress becomes log lines and progress, published on the bus for every gateway's
 * `imageJobProgress` subscribers, and stored (every `flushMs` and at the end). Upload bodies are
 * streamed from disk to the agent, never held in memory.
 */
import { randomUUID } from 'node:crypto';
import { Transform } from 'node:stream';
import type { EventBus } from '../../core/bus.js';
import { badInput, notFound } from '../../core/errors.js';
import { isImageRef } from '../../core/image-ref.js';
import {
  encodeRegistryAuth,
  REGISTRY_AUTH_HEADER,
  type RegistryCredentials,
} from '../../core/registry-auth.js';
import type {
  BuildInput,
  ImageJobEvent,
  ImageJobService,
  RegistryService,
  Viewer,
} from '../../core/services.js';
import type { ImageJobKind, ImageJobRecord, NodeRecord, Store } from '../../core/store/store.js';
import type { UploadStore } from '../../core/uploads.js';
import { ndjsonValues } from '../../agent/ndjson.js';
import type { NodeAgent } from '../cluster/agent-pool.js';
import { usableNode, type ServiceDeps } from './container-service.js';
import { ProgressTracker, type JobMessage } from './image-job-progress.js';

/** The bus channel of job events (only this service listens). */
export const IMAGE_JOB_CHANNEL = 'humpback:image-job';

interface JobBusMessage {
  /** The job without its log (the subscribers keep theirs). */
  job: ImageJobRecord;
  /** The index of `line` in the log. */
  seq?: number | undefined;
  line?: string | undefined;
  progress?: number | undefined;
}

export interface ImageJobServiceOptions {
  store: Store;
  bus: EventBus;
  deps: ServiceDeps;
  uploads: UploadStore;
  registries: Pick<RegistryService, 'credentialsFor' | 'list'>;
  /** How often a running job's log is written to the store. @default 250 */
  flushMs?: number | undefined;
  /** How often a running job's beat is written; a beat older than 3 of these fails the job. @default 5000 */
  beatMs?: number | undefined;
}

/** The error of a job whose gateway died (or restarted) while it ran. */
export const ORPHANED_JOB_ERROR = 'gateway restarted while the job ran';

const FINAL = new Set(['SUCCEEDED', 'FAILED']);

function checkRef(image: string, field: string): string {
  const ref = image.trim();
  if (!isImageRef(ref)) throw badInput(`${field}: ${JSON.stringify(image)} is not an image reference`, field);
  return ref;
}

type Opener = (agent: NodeAgent) => Promise<Response>;

export class AgentImageJobService implements ImageJobService {
  private readonly running = new Map<string, ImageJobRecord>();
  private readonly watchers = new Map<string, Set<(m: JobBusMessage) => void>>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(private readonly o: ImageJobServiceOptions) {}

  static async open(o: ImageJobServiceOptions): Promise<AgentImageJobService> {
    const service = new AgentImageJobService(o);
    service.unsubscribe = await o.bus.subscribe(IMAGE_JOB_CHANNEL, (raw) => {
      const m = raw as JobBusMessage;
      for (const w of service.watchers.get(m.job.id) ?? []) w(m);
    });
    await service.sweep();
    service.sweeper = setInterval(() => void service.sweep(), service.beatMs);
    service.sweeper.unref();
    return service;
  }

  private get beatMs(): number {
    return this.o.beatMs ?? 5000;
  }

  /**
   * Fails the QUEUED or RUNNING jobs no live gateway runs: not in this process and with a beat
   * (or, before the first, a creation time) older than three beats.
   */
  async sweep(): Promise<void> {
    try {
      const stale = Date.now() - 3 * this.beatMs;
      for (const j of await this.o.store.list('imageJobs')) {
        if (FINAL.has(j.status) || this.running.has(j.id)) continue;
        if (Date.parse(j.beatAt ?? j.createdAt) > stale) continue;
        const failed: ImageJobRecord = {
          ...j,
          status: 'FAILED',
          error: ORPHANED_JOB_ERROR,
          finishedAt: new Date().toISOString(),
        };
        await this.o.store.put('imageJobs', j.id, failed);
        this.publish({ job: { ...failed, log: [] } });
      }
    } catch (err) {
      this.o.deps.logger.warn({ err }, 'could not fail the image jobs of dead gateways');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.unsubscribe?.();
  }

  async list(filter: {
    nodeId?: string | undefined;
    nodeIds?: ReadonlySet<string> | undefined;
    first: number;
  }): Promise<ImageJobRecord[]> {
    const all = await this.o.store.list('imageJobs');
    return all
      .map((j) => this.running.get(j.id) ?? j)
      .filter(
        (j) =>
          (!filter.nodeId || j.nodeId === filter.nodeId) && (!filter.nodeIds || filter.nodeIds.has(j.nodeId)),
      )
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id))
      .slice(0, Math.max(0, filter.first))
      .map(copy);
  }

  async get(id: string): Promise<ImageJobRecord | undefined> {
    const local = this.running.get(id);
    if (local) return copy(local);
    return this.o.store.get('imageJobs', id);
  }

  async build(nodeId: string, input: BuildInput, viewer: Viewer): Promise<ImageJobRecord> {
    const tag = checkRef(input.tag, 'tag');
    const { node } = usableNode(this.o.deps, nodeId);
    const upload = await this.o.uploads.open(input.uploadId, viewer.userId);
    const q = new URLSearchParams({ tag });
    if (input.dockerfile) q.set('dockerfile', input.dockerfile);
    if (input.buildArgs && Object.keys(input.buildArgs).length)
      q.set('buildargs', JSON.stringify(input.buildArgs));
    // A Dockerfile's FROM may name any registry: the build gets the credentials of every one.
    const config: Record<string, RegistryCredentials> = {};
    for (const r of await this.o.registries.list()) {
      const c = await this.o.registries.credentialsFor(`${r.host}/x`);
      if (c) config[r.host] = c;
    }
    const headers: Record<string, string> = Object.keys(config).length
      ? { 'x-registry-config': Buffer.from(JSON.stringify(config)).toString('base64url') }
      : {};
    return this.start(
      'BUILD',
      node,
      viewer,
      tag,
      (a) => a.stream(`building ${tag}`, `/image-jobs/build?${q}`, { body: upload.read(), headers }),
      () => this.o.uploads.discard(upload.uploadId),
    );
  }

  async load(nodeId: string, uploadId: string, viewer: Viewer): Promise<ImageJobRecord> {
    const { node } = usableNode(this.o.deps, nodeId);
    const upload = await this.o.uploads.open(uploadId, viewer.userId);
    const started: { job?: ImageJobRecord } = {};
    let sent = 0;
    const tracker = new ProgressTracker();
    // Docker says nothing while it reads a load's tar: the bytes sent are its progress.
    const meter = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        sent += chunk.length;
        const p = tracker.changed(upload.sizeBytes ? (sent / upload.sizeBytes) * 0.99 : undefined);
        const live = started.job && this.running.get(started.job.id);
        if (live && p !== undefined) this.progress(live, p);
        done(null, chunk);
      },
    });
    const job = await this.start(
      'LOAD',
      node,
      viewer,
      undefined,
      (a) => a.stream('loading images', '/image-jobs/load', { body: upload.read().pipe(meter) }),
      () => this.o.uploads.discard(upload.uploadId),
    );
    started.job = job;
    return job;
  }

  async commit(containerId: string, tag: string, viewer: Viewer): Promise<ImageJobRecord> {
    const ref = checkRef(tag, 'tag');
    const container = this.o.deps.cache.findContainer(containerId);
    if (!container) throw notFound('container', containerId);
    const { node } = usableNode(this.o.deps, container.nodeId);
    return this.start('COMMIT', node, viewer, ref, (a) =>
      a.stream(`committing ${container.name}`, '/image-jobs/commit', {
        body: { Container: container.id, Tag: ref },
      }),
    );
  }

  push(nodeId: string, image: string, viewer: Viewer): Promise<ImageJobRecord> {
    return this.transfer('PUSH', nodeId, image, viewer);
  }

  pull(nodeId: string, image: string, viewer: Viewer): Promise<ImageJobRecord> {
    return this.transfer('PULL', nodeId, image, viewer);
  }

  watch(id: string): AsyncIterableIterator<ImageJobEvent> {
    return new JobWatch(this, id);
  }

  /** @internal JobWatch's hook: listen to one job's bus messages. */
  listen(id: string, fn: (m: JobBusMessage) => void): () => void {
    const set = this.watchers.get(id) ?? new Set();
    set.add(fn);
    this.watchers.set(id, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(id);
    };
  }

  private async transfer(
    kind: 'PUSH' | 'PULL',
    nodeId: string,
    image: string,
    viewer: Viewer,
  ): Promise<ImageJobRecord> {
    const ref = checkRef(image, 'image');
    const { node } = usableNode(this.o.deps, nodeId);
    const auth = await this.o.registries.credentialsFor(ref);
    const headers: Record<string, string> = auth ? { [REGISTRY_AUTH_HEADER]: encodeRegistryAuth(auth) } : {};
    const path = kind === 'PUSH' ? '/image-jobs/push' : '/image-jobs/pull';
    return this.start(kind, node, viewer, ref, (a) =>
      a.stream(`${kind.toLowerCase()}ing ${ref}`, path, { body: { Image: ref }, headers }),
    );
  }

  private async start(
    kind: ImageJobKind,
    node: NodeRecord,
    viewer: Viewer,
    image: string | undefined,
    open: Opener,
    after?: () => Promise<void>,
  ): Promise<ImageJobRecord> {
    const job: ImageJobRecord = {
      id: randomUUID(),
      kind,
      status: 'RUNNING',
      nodeId: node.id,
      image,
      userId: viewer.userId,
      log: [],
      createdAt: new Date().toISOString(),
      beatAt: new Date().toISOString(),
    };
    await this.o.store.create('imageJobs', job.id, job);
    this.running.set(job.id, job);
    void this.run(job, this.o.deps.pool.forNode(node), open, after);
    return copy(job);
  }

  private publish(m: JobBusMessage): void {
    this.o.bus
      .publish(IMAGE_JOB_CHANNEL, m)
      .catch((err: unknown) =>
        this.o.deps.logger.warn({ err, job: m.job.id }, 'could not publish an image job event'),
      );
  }

  private progress(job: ImageJobRecord, progress: number): void {
    job.progress = progress;
    this.publish({ job: { ...job, log: [] }, progress });
  }

  private line(job: ImageJobRecord, line: string): void {
    job.log.push(line);
    this.publish({ job: { ...job, log: [] }, seq: job.log.length - 1, line });
  }

  private async run(
    job: ImageJobRecord,
    agent: NodeAgent,
    open: Opener,
    after?: () => Promise<void>,
  ): Promise<void> {
    const { store, deps } = this.o;
    let dirty = false;
    let beat = Date.now();
    const flush = setInterval(() => {
      if (!dirty && Date.now() - beat < this.beatMs) return;
      dirty = false;
      beat = Date.now();
      job.beatAt = new Date(beat).toISOString();
      store
        .put('imageJobs', job.id, copy(job))
        .catch((err: unknown) => deps.logger.warn({ err, job: job.id }, 'could not store an image job'));
    }, this.o.flushMs ?? 250);
    const tracker = new ProgressTracker();
    let result: JobMessage['result'];
    let failed: string | undefined;
    try {
      const res = await open(agent);
      for await (const m of ndjsonValues<JobMessage & { failed?: string }>(res.body!)) {
        if (m.result) result = m.result;
        else if (m.failed !== undefined) failed = m.failed;
        else {
          const { lines, progress } = tracker.next(m);
          const error = m.errorDetail?.message ?? m.error;
          if (error) lines.push(`ERROR: ${error}`);
          for (const l of lines) this.line(job, l);
          if (progress !== undefined) this.progress(job, progress);
        }
        dirty = true;
      }
      if (!result && failed === undefined) failed = "the agent's progress stream ended early";
    } catch (err) {
      failed = (err as Error).message;
    } finally {
      clearInterval(flush);
    }
    // Before the image line: that event is the first with the final status, which ends the watches.
    job.finishedAt = new Date().toISOString();
    if (result) {
      job.image = job.kind === 'LOAD' ? result.image : (job.image ?? result.image);
      job.status = 'SUCCEEDED';
      job.progress = 1;
      if (result.id) this.line(job, `image ${job.image} (${result.id})`);
    } else {
      job.status = 'FAILED';
      job.error = failed;
      deps.logger.info({ job: job.id, kind: job.kind, node: job.nodeId, error: failed }, 'image job failed');
    }
    try {
      await store.put('imageJobs', job.id, copy(job));
    } catch (err) {
      deps.logger.warn({ err, job: job.id }, 'could not store a finished image job');
    }
    this.running.delete(job.id);
    this.publish({
      job: { ...job, log: [] },
      ...(job.progress !== undefined ? { progress: job.progress } : {}),
    });
    await after?.().catch((err: unknown) =>
      deps.logger.warn({ err, job: job.id }, 'could not remove the upload'),
    );
  }
}

const copy = (j: ImageJobRecord): ImageJobRecord => ({ ...j, log: [...j.log] });

/**
 * One subscriber's view of a job: the job as it stands first, then each event with the log so far,
 * ending after SUCCEEDED or FAILED. Listens before it reads the job, so no line falls between.
 */
class JobWatch implements AsyncIterableIterator<ImageJobEvent> {
  private readonly queue: JobBusMessage[] = [];
  private waiting: ((r: IteratorResult<ImageJobEvent>) => void) | undefined;
  private readonly off: () => void;
  private snapshot: Promise<ImageJobRecord | undefined> | undefined;
  private log: string[] = [];
  private done = false;

  constructor(
    private readonly service: AgentImageJobService,
    private readonly id: string,
  ) {
    this.off = service.listen(id, (m) => {
      this.queue.push(m);
      this.wake();
    });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ImageJobEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<ImageJobEvent>> {
    if (this.done) return { done: true, value: undefined };
    if (!this.snapshot) {
      this.snapshot = this.service.get(this.id);
      const job = await this.snapshot;
      if (!job) return this.finish();
      this.log = [...job.log];
      if (FINAL.has(job.status)) this.end();
      return { done: false, value: { job } };
    }
    for (;;) {
      const m = this.queue.shift();
      if (m) {
        if (m.line !== undefined) {
          if (m.seq !== undefined && m.seq < this.log.length) continue; // in the snapshot already
          this.log.push(m.line);
        }
        if (FINAL.has(m.job.status)) this.end();
        return {
          done: false,
          value: { job: { ...m.job, log: [...this.log] }, line: m.line, progress: m.progress },
        };
      }
      if (this.done) return { done: true, value: undefined };
      const r = await new Promise<IteratorResult<ImageJobEvent> | undefined>((resolve) => {
        this.waiting = resolve as (r: IteratorResult<ImageJobEvent>) => void;
      });
      if (r) return r;
    }
  }

  async return(): Promise<IteratorResult<ImageJobEvent>> {
    return this.finish();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    (w as ((r: undefined) => void) | undefined)?.(undefined);
  }

  /** No more messages after this event. */
  private end(): void {
    this.done = true;
    this.off();
  }

  private finish(): IteratorResult<ImageJobEvent> {
    this.end();
    const w = this.waiting;
    this.waiting = undefined;
    w?.({ done: true, value: undefined });
    return { done: true, value: undefined };
  }
}
