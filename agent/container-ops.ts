/**
 * Everything the agent does to containers, from one Docker call (list, inspect, remove) to many:
 * create-and-start with pull, port allocation and cleanup; operations; upgrade with rollback; logs;
 * stats; the container event stream. Docker's errors leave here as HttpErrors.
 */
import type { RegistryCredentials } from '../core/registry-auth.js';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { withTag } from '../core/image-ref.js';
import type { Logger } from '../core/logger.js';
import type { z } from 'zod';
import { recreateOptions, toContainerBody, toCreateOptions, toStatsBody } from './container-mapping.js';
import {
  demuxLogs,
  dockerCall,
  dockerMessage,
  dockerStatus,
  ensureImage,
  pullImage,
  toHttpError,
} from './docker-runtime.js';
import { HttpError, badRequest } from './http-error.js';
import type {
  ContainerBody,
  ContainerStatsBody,
  CreateContainerBody,
  eventsQuery,
  logsQuery,
  OperateContainerBody,
} from '../core/agent-wire.js';
import { ndjsonLines } from './ndjson.js';
import type { PortAllocator, PortProtocol, PortReservation } from './port-allocator.js';
import type { VolumeOps } from './volume-ops.js';

/** Seconds Docker waits after SIGTERM before SIGKILL on stop, restart and upgrade. @default 10 */
const DEFAULT_STOP_TIMEOUT = 10;

export class ContainerOps {
  constructor(
    private readonly docker: Docker,
    private readonly ports: PortAllocator | undefined,
    private readonly log: Logger,
    /** Makes the NFS volumes a container mounts (on this node) before it is created. */
    private readonly volumes?: Pick<VolumeOps, 'ensureNfs'> | undefined,
  ) {}

  async inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      throw toHttpError(err, `container ${id}`);
    }
  }

  async get(id: string): Promise<ContainerBody> {
    return toContainerBody(await this.inspect(id));
  }

  /** `GET /containers`: Docker's list, as Docker gives it. */
  list(all: boolean): Promise<Docker.ContainerInfo[]> {
    return dockerCall('listing containers', () => this.docker.listContainers({ all }));
  }

  /** `GET /containers/:id/status`: the name and Docker's state. */
  async status(id: string): Promise<{ Id: string; Name: string } & Docker.ContainerInspectInfo['State']> {
    const info = await this.inspect(id);
    return { Id: info.Id, Name: info.Name.replace(/^\//, ''), ...info.State };
  }

  /** Creates and starts; pulls a missing image; removes the container again if it does not start. */
  /** `auth`: the credentials for the image's registry (X-Registry-Auth), for the pull. */
  async create(body: CreateContainerBody, auth?: RegistryCredentials): Promise<ContainerBody> {
    const reservations: PortReservation[] = [];
    try {
      for (const v of body.Volumes ?? []) if (v.Nfs) await this.volumes?.ensureNfs(v.HostVolume, v.Nfs);
      const allocated = await this.allocatePorts(body, reservations);
      const options = toCreateOptions(body, allocated);
      const container = await this.createPulling(options, body.Image, auth);
      const started = container.start();
      const early = this.inspectBehind(container, started);
      try {
        await started;
      } catch (err) {
        this.log.warn(
          { container: body.Name, err: dockerMessage(err) },
          'start failed; removing the container',
        );
        await container.remove({ force: true, v: true }).catch((e: unknown) => {
          this.log.error(
            { container: body.Name, err: dockerMessage(e) },
            'could not remove the container that failed to start',
          );
        });
        throw toHttpError(err, `starting container ${body.Name}`);
      }
      return toContainerBody((await early) ?? (await container.inspect()));
    } finally {
      for (const r of reservations) r.release();
    }
  }

  /**
   * humpback-agent v1's in-place update (`POST /containers` with an `Id`): the old container is
   * renamed aside and stopped, the body is created and started, the old one is removed. If the new one
   * cannot be created or started, the old one gets its name (and its running state) back.
   */
  async replace(
    target: string,
    body: CreateContainerBody,
    auth?: RegistryCredentials,
  ): Promise<ContainerBody> {
    const old = await this.inspect(target);
    const name = old.Name.replace(/^\//, '');
    const oldC = this.docker.getContainer(old.Id);
    const wasRunning = old.State.Running || old.State.Restarting;
    const log = this.log.child({ container: name, id: old.Id });
    await oldC
      .rename({ name: `${name.slice(0, 200)}-updating-${randomBytes(3).toString('hex')}` })
      .catch((err: unknown) => {
        throw toHttpError(err, `update ${name}: renaming the old container`);
      });
    let created: ContainerBody;
    try {
      if (wasRunning) await ignore304(oldC.stop({ t: DEFAULT_STOP_TIMEOUT }));
      created = await this.create(body, auth);
    } catch (err) {
      log.warn({ err: dockerMessage(err) }, 'update failed; restoring the old container');
      await oldC
        .rename({ name })
        .catch((e: unknown) => log.error({ err: dockerMessage(e) }, 'rollback: renaming back failed'));
      if (wasRunning)
        await ignore304(oldC.start()).catch((e: unknown) =>
          log.error({ err: dockerMessage(e) }, 'rollback: restarting the old container failed'),
        );
      const e =
        err instanceof HttpError ? err : toHttpError(err, `update ${name}: stopping the old container`);
      throw new HttpError(e.status, `${e.message}; the old container was restored`, e.detail);
    }
    await oldC
      .remove({ force: true, v: true })
      .catch((e: unknown) =>
        log.error({ err: dockerMessage(e) }, 'update: the new container runs, removing the old one failed'),
      );
    log.info({ newId: created.Id }, 'updated in place');
    return created;
  }

  /**
   * The create's answer, asked while `started` is on its way (one Docker round trip less on every
   * create than asking after it): Docker holds the container's lock while it starts, so an inspect it
   * reads behind the start is answered once the start is done. One that Docker read before the start
   * took the lock (StartedAt still unset) is asked once more while the start is still on its way
   * (bench/agent-steps.ts: the first wins about a third of the time, the second most of the rest, a
   * third hardly ever); undefined when none was read after the start (or one failed): the caller asks
   * again.
   */
  private async inspectBehind(
    container: Docker.Container,
    started: Promise<unknown>,
  ): Promise<Docker.ContainerInspectInfo | undefined> {
    let done = false;
    started.then(
      () => (done = true),
      () => (done = true),
    );
    for (let i = 0; i < 2 && !done; i++) {
      const info = await container.inspect().catch(() => undefined);
      if (!info) return undefined;
      if (hasStarted(info)) return info;
    }
    return undefined;
  }

  /** Ports for PublicPort 0 from the range; null without a range (exposed, not published, as in v1). */
  private async allocatePorts(body: CreateContainerBody, out: PortReservation[]): Promise<number[] | null> {
    const wanted = (body.Ports ?? []).filter((p) => !p.PublicPort);
    if (wanted.length === 0) return [];
    if (!this.ports) return null;
    const fixed = (body.Ports ?? []).map((p) => p.PublicPort ?? 0).filter((p) => p > 0);
    const result: number[] = [];
    // One reservation per port keeps the protocol of each probe right.
    for (const p of wanted) {
      const r = await this.ports.allocate(1, (p.Type || 'tcp') as PortProtocol, [...fixed, ...result]);
      out.push(r);
      result.push(...r.ports);
    }
    return result;
  }

  private async createPulling(
    options: Docker.ContainerCreateOptions,
    image: string,
    auth: RegistryCredentials | undefined,
  ): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(options);
    } catch (err) {
      if (dockerStatus(err) !== 404 || !/no such image/i.test(dockerMessage(err))) {
        throw toHttpError(err, `creating container ${options.name}`);
      }
    }
    try {
      this.log.info({ image }, 'image missing; pulling');
      await pullImage(this.docker, image, auth);
    } catch (err) {
      throw toHttpError(err, `pulling image ${image}`);
    }
    try {
      return await this.docker.createContainer(options);
    } catch (err) {
      throw toHttpError(err, `creating container ${options.name}`);
    }
  }

  /** `PUT /containers`: returns the container after the action (the new one for an upgrade). */
  async operate(
    body: OperateContainerBody & { Timeout?: number | undefined },
    auth?: RegistryCredentials,
  ): Promise<ContainerBody> {
    const info = await this.inspect(body.Container);
    const c = this.docker.getContainer(info.Id);
    const t = body.Timeout ?? DEFAULT_STOP_TIMEOUT;
    const what = `${body.Action} container ${body.Container}`;
    try {
      switch (body.Action) {
        case 'start':
          await ignore304(c.start());
          break;
        case 'stop':
          await ignore304(c.stop({ t }));
          break;
        case 'restart':
          await c.restart({ t });
          break;
        case 'kill':
          await c.kill();
          break;
        case 'pause':
          await c.pause();
          break;
        case 'unpause':
          await c.unpause();
          break;
        case 'rename':
          await c.rename({ name: body.NewName! });
          break;
        case 'upgrade':
          return await this.upgrade(info, body.ImageTag!, t, auth);
        default: {
          const never: never = body.Action;
          throw badRequest(`unknown action ${String(never)}`);
        }
      }
    } catch (err) {
      throw toHttpError(err, what);
    }
    return this.get(info.Id);
  }

  /**
   * Rename the old container aside, pull the new tag, create the same config on it, start it, remove
   * the old one. On any failure the new container goes and the old one gets its name (and its running
   * state) back.
   */
  private async upgrade(
    old: Docker.ContainerInspectInfo,
    tag: string,
    stopTimeout: number,
    auth: RegistryCredentials | undefined,
  ): Promise<ContainerBody> {
    const name = old.Name.replace(/^\//, '');
    const image = withTag(old.Config.Image, tag);
    const aside = `${name.slice(0, 200)}-upgrading-${randomBytes(3).toString('hex')}`;
    const oldC = this.docker.getContainer(old.Id);
    const wasRunning = old.State.Running || old.State.Restarting;
    const log = this.log.child({ container: name, from: old.Config.Image, to: image });
    let oldImage: Docker.ImageInspectInfo | undefined;
    try {
      oldImage = await this.docker.getImage(old.Image).inspect();
    } catch {
      oldImage = undefined;
    }
    await oldC.rename({ name: aside }).catch((err: unknown) => {
      throw toHttpError(err, `upgrade ${name}: renaming the old container`);
    });
    let created: Docker.Container | undefined;
    let step = 'pulling the image';
    try {
      await ensureImage(this.docker, image, auth);
      step = 'stopping the old container';
      if (wasRunning) await ignore304(oldC.stop({ t: stopTimeout }));
      step = 'creating the new container';
      created = await this.docker.createContainer(recreateOptions(old, oldImage, image, name));
      step = 'starting the new container';
      await created.start();
      step = 'removing the old container';
      await oldC.remove({ force: true });
      log.info({ id: created.id }, 'upgraded');
      return toContainerBody(await created.inspect());
    } catch (err) {
      log.warn({ step, err: dockerMessage(err) }, 'upgrade failed; restoring the old container');
      if (created) {
        await created
          .remove({ force: true })
          .catch((e: unknown) =>
            log.error({ err: dockerMessage(e) }, 'rollback: removing the new container failed'),
          );
      }
      await oldC
        .rename({ name })
        .catch((e: unknown) =>
          log.error({ err: dockerMessage(e) }, 'rollback: renaming the old container back failed'),
        );
      if (wasRunning) {
        await ignore304(oldC.start()).catch((e: unknown) =>
          log.error({ err: dockerMessage(e) }, 'rollback: restarting the old container failed'),
        );
      }
      const e = toHttpError(err, `upgrade ${name} to ${image}: ${step}`);
      throw new HttpError(e.status, `${e.message}; the old container was restored`, e.detail);
    }
  }

  async remove(id: string, force: boolean): Promise<void> {
    // Docker resolves names and id prefixes itself; no inspect first (removal is on the hot path).
    try {
      await this.docker.getContainer(id).remove({ force, v: true });
    } catch (err) {
      throw toHttpError(err, `removing container ${id}`);
    }
  }

  /** The lines of stdout and stderr (interleaved as Docker kept them), the last `tail` or all. */
  async logs(id: string, q: z.output<typeof logsQuery>): Promise<string[]> {
    const info = await this.inspect(id);
    const buf = await dockerCall(`logs of container ${id}`, () =>
      this.docker.getContainer(info.Id).logs({
        stdout: true,
        stderr: true,
        follow: false,
        tail: q.tail === undefined || q.tail === 'all' ? 'all' : Number(q.tail),
        ...(q.since ? { since: Number(q.since) } : {}),
      } as Docker.ContainerLogsOptions & { follow: false }),
    );
    const text = demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)), info.Config.Tty);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /**
   * Docker's container events from `since` until `until` (or on), one NDJSON line each, until
   * `signal` aborts. Opening the stream fails as an HttpError (before anything is answered); once
   * open, the lines end when Docker's stream ends, fails or is aborted.
   */
  async events(q: z.output<typeof eventsQuery>, signal: AbortSignal): Promise<AsyncIterable<string>> {
    const stream = (await dockerCall('docker events', () =>
      this.docker.getEvents({
        ...(q.since ? { since: q.since } : {}),
        ...(q.until ? { until: q.until } : {}),
        filters: { type: ['container'] },
        abortSignal: signal,
      } as Parameters<Docker['getEvents']>[0]),
    )) as NodeJS.ReadableStream & { destroy?: () => void };
    const cut = (): void => stream.destroy?.();
    if (signal.aborted) cut();
    else signal.addEventListener('abort', cut, { once: true });
    return ndjsonLines(stream);
  }

  async stats(id: string): Promise<ContainerStatsBody> {
    const info = await this.inspect(id);
    try {
      const s = (await this.docker
        .getContainer(info.Id)
        .stats({ stream: false })) as unknown as Docker.ContainerStats;
      return toStatsBody(info.Id, info.Name.replace(/^\//, ''), s);
    } catch (err) {
      throw toHttpError(err, `stats of container ${id}`);
    }
  }

  async allStats(): Promise<ContainerStatsBody[]> {
    let list: Docker.ContainerInfo[];
    try {
      list = await this.docker.listContainers({ all: false });
    } catch (err) {
      throw toHttpError(err, 'listing containers');
    }
    const out = await Promise.all(
      list.map(async (c) => {
        try {
          const s = (await this.docker
            .getContainer(c.Id)
            .stats({ stream: false })) as unknown as Docker.ContainerStats;
          return toStatsBody(c.Id, (c.Names[0] ?? '').replace(/^\//, ''), s);
        } catch {
          return undefined; // gone meanwhile
        }
      }),
    );
    return out.filter((s): s is ContainerStatsBody => s !== undefined);
  }
}

/** Whether an inspect was read after the container's first start (Docker's zero time until then). */
function hasStarted(info: Docker.ContainerInspectInfo): boolean {
  return !!info.State?.StartedAt && !info.State.StartedAt.startsWith('0001-');
}

async function ignore304(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (dockerStatus(err) !== 304) throw err;
  }
}
