/**
 * What the agent does to volumes: list (with the containers using each and Docker's size), create
 * (NFS as Docker's local driver with type=nfs), remove, clear, and stream a volume's content out
 * (Docker's archive API) or in (an uploaded tar) through a short-lived helper container made from
 * the agent's helper image. Docker's errors leave here as HttpErrors.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { nfsDriverOptions } from '../core/container-config.js';
import type { CreateVolumeBody, NfsBody, VolumeListItem } from '../core/agent-wire.js';
import type { Logger } from '../core/logger.js';
import { dockerCall, dockerMessage, ensureImage, toHttpError } from './docker-runtime.js';
import { HttpError } from './http-error.js';

/** Marks the agent's helper containers: they are not "using" a volume, and may be cleaned up. */
export const HELPER_LABEL = 'humpback.volume-helper';
/** Where a helper container mounts the volume. */
const MOUNT = '/volume';

/** Docker's local-driver options for an NFS body. */
export function nfsOptions(nfs: NfsBody): Record<string, string> {
  return nfsDriverOptions({ server: nfs.Server, path: nfs.Path, options: nfs.Options });
}

export class VolumeOps {
  /** Helper container id → its removal under way. */
  private readonly helperRemovals = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    /** The image helper containers are made from (it needs `sh`, `find` and `rm`). */
    private readonly helperImage: string,
    private readonly log: Logger,
  ) {}

  /** `GET /volumes`: every volume on the engine, also those made outside Humpback. */
  async list(): Promise<VolumeListItem[]> {
    const [volumes, users, sizes] = await Promise.all([
      dockerCall('listing volumes', () => this.docker.listVolumes()),
      this.users(),
      this.sizes(),
    ]);
    return (volumes.Volumes ?? []).map((v) => toItem(v, users, sizes));
  }

  /** `GET /volumes/:name`. */
  async get(name: string): Promise<VolumeListItem> {
    const [volume, users, sizes] = await Promise.all([
      dockerCall(`volume ${name}`, () => this.docker.getVolume(name).inspect()),
      this.users(),
      this.sizes(),
    ]);
    return toItem(volume, users, sizes);
  }

  /** `POST /volumes`: Docker answers with the existing volume when one of that name exists. */
  async create(body: CreateVolumeBody): Promise<VolumeListItem> {
    const options = body.Nfs
      ? { Driver: 'local', DriverOpts: { ...body.DriverOpts, ...nfsOptions(body.Nfs) } }
      : { Driver: body.Driver ?? 'local', DriverOpts: body.DriverOpts ?? {} };
    await dockerCall(`creating volume ${body.Name}`, () =>
      this.docker.createVolume({ Name: body.Name, ...options, Labels: body.Labels ?? {} }),
    );
    return this.get(body.Name);
  }

  /** Makes the NFS volume `name` unless the engine has one of that name (before a container uses it). */
  async ensureNfs(name: string, nfs: NfsBody): Promise<void> {
    try {
      await this.docker.getVolume(name).inspect();
      return;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw toHttpError(err, `volume ${name}`);
    }
    await this.create({ Name: name, Nfs: nfs });
  }

  /** `DELETE /volumes/:name`: 409 while a container uses it, unless `force` (then Docker decides). */
  async remove(name: string, force: boolean): Promise<void> {
    if (!force) await this.refuseInUse(name, 'removing');
    // Our own helpers (a download that has just ended is still removing its helper) do not hold it.
    await this.removeHelpersOf(name);
    await dockerCall(`removing volume ${name}`, () => this.docker.getVolume(name).remove({ force }));
  }

  /** `POST /volumes/:name/clear`: deletes everything in it; 409 while a container uses it. */
  async clear(name: string): Promise<void> {
    await this.get(name);
    await this.refuseInUse(name, 'clearing');
    await this.withHelper(
      name,
      ['find', MOUNT, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '{}', ';'],
      async (c) => {
        await dockerCall(`clearing volume ${name}`, () => c.start());
        const result = (await dockerCall(`clearing volume ${name}`, () => c.wait())) as {
          StatusCode: number;
        };
        if (result.StatusCode !== 0) {
          throw new HttpError(500, `clearing volume ${name}: failed`, `exit code ${result.StatusCode}`);
        }
      },
    );
  }

  /**
   * `GET /volumes/:name/archive`: a tar of the volume (or of `path` in it), entries named relative to
   * the volume's root, streamed from Docker as it reads; the helper container goes when it ends.
   */
  async archive(name: string, path: string | undefined): Promise<Readable> {
    await this.get(name);
    const inner = normalisePath(path);
    const helper = await this.createHelper(name, ['true']);
    const done = (): void => void this.removeHelper(helper);
    try {
      const source = (await dockerCall(`reading volume ${name}`, () =>
        helper.getArchive({ path: inner ? `${MOUNT}/${inner}` : `${MOUNT}/.` }),
      )) as unknown as Readable;
      const parent = inner ? posix.dirname(inner) : '.';
      const out = parent === '.' ? source : rebase(source, parent);
      out.once('close', done);
      return out;
    } catch (err) {
      done();
      throw err;
    }
  }

  /** `PUT /volumes/:name/archive`: unpacks the tar `body` into the volume (or into `path` in it). */
  async restore(name: string, path: string | undefined, body: Readable): Promise<void> {
    await this.get(name);
    const inner = normalisePath(path);
    if (inner) await this.run(name, ['mkdir', '-p', `${MOUNT}/${inner}`]);
    await this.withHelper(name, ['true'], (c) =>
      dockerCall(`restoring volume ${name}`, () =>
        c.putArchive(body, { path: inner ? `${MOUNT}/${inner}` : MOUNT }),
      ),
    );
  }

  private async run(name: string, cmd: string[]): Promise<void> {
    await this.withHelper(name, cmd, async (c) => {
      await c.start();
      const r = (await c.wait()) as { StatusCode: number };
      if (r.StatusCode !== 0)
        throw new HttpError(500, `volume ${name}: ${cmd[0]} failed`, `exit ${r.StatusCode}`);
    });
  }

  private async withHelper<T>(
    name: string,
    cmd: string[],
    fn: (c: Docker.Container) => Promise<T>,
  ): Promise<T> {
    const helper = await this.createHelper(name, cmd);
    try {
      return await fn(helper);
    } finally {
      await this.removeHelper(helper);
    }
  }

  private async createHelper(name: string, cmd: string[]): Promise<Docker.Container> {
    await dockerCall(`helper image ${this.helperImage}`, () => ensureImage(this.docker, this.helperImage));
    return dockerCall(`helper container for volume ${name}`, () =>
      this.docker.createContainer({
        name: `humpback-volume-${randomBytes(6).toString('hex')}`,
        Image: this.helperImage,
        Cmd: cmd,
        Labels: { [HELPER_LABEL]: name },
        HostConfig: { NetworkMode: 'none', Binds: [`${name}:${MOUNT}`] },
      }),
    );
  }

  /**
   * One removal per helper however many ask (the end of a download and a volume's removal may both):
   * Docker answers a second remove with "removal already in progress" before the first is done, and
   * the volume would still be in use for whoever took that answer as done.
   */
  private removeHelper(helper: Docker.Container): Promise<void> {
    let removal = this.helperRemovals.get(helper.id);
    if (!removal) {
      removal = helper
        .remove({ force: true })
        .catch((err: unknown) => {
          this.log.warn(
            { container: helper.id, err: dockerMessage(err) },
            'could not remove a volume helper',
          );
        })
        .finally(() => this.helperRemovals.delete(helper.id));
      this.helperRemovals.set(helper.id, removal);
    }
    return removal;
  }

  private async removeHelpersOf(name: string): Promise<void> {
    const helpers = await dockerCall('listing containers', () =>
      this.docker.listContainers({ all: true, filters: { label: [`${HELPER_LABEL}=${name}`] } }),
    );
    await Promise.all(helpers.map((c) => this.removeHelper(this.docker.getContainer(c.Id))));
  }

  private async refuseInUse(name: string, doing: string): Promise<void> {
    const users = (await this.users()).get(name) ?? [];
    if (users.length > 0) {
      throw new HttpError(
        409,
        `${doing} volume ${name}: in use`,
        `used by container(s) ${users.map((id) => id.slice(0, 12)).join(', ')}`,
      );
    }
  }

  /** Volume name → ids of the containers (any state, helpers excepted) that mount it. */
  private async users(): Promise<Map<string, string[]>> {
    const list = await dockerCall('listing containers', () => this.docker.listContainers({ all: true }));
    const users = new Map<string, string[]>();
    for (const c of list) {
      if (c.Labels?.[HELPER_LABEL] !== undefined) continue;
      for (const m of c.Mounts ?? []) {
        if (m.Type !== 'volume' || !m.Name) continue;
        const ids = users.get(m.Name) ?? [];
        ids.push(c.Id);
        users.set(m.Name, ids);
      }
    }
    return users;
  }

  /** Volume name → bytes, where Docker reports it (`/system/df`); empty when Docker cannot say. */
  private async sizes(): Promise<Map<string, number>> {
    try {
      const df = (await this.docker.df()) as {
        Volumes?: Array<{ Name: string; UsageData?: { Size: number } | null }> | null;
      };
      const sizes = new Map<string, number>();
      for (const v of df.Volumes ?? []) {
        const size = v.UsageData?.Size;
        if (typeof size === 'number' && size >= 0) sizes.set(v.Name, size);
      }
      return sizes;
    } catch (err) {
      this.log.debug({ err: dockerMessage(err) }, 'volume sizes unavailable');
      return new Map();
    }
  }
}

function toItem(
  v: Docker.VolumeInspectInfo & { CreatedAt?: string },
  users: Map<string, string[]>,
  sizes: Map<string, number>,
): VolumeListItem {
  return {
    Name: v.Name,
    Driver: v.Driver,
    Mountpoint: v.Mountpoint,
    Options: v.Options ?? null,
    Labels: v.Labels ?? null,
    CreatedAt: v.CreatedAt ?? null,
    Size: sizes.get(v.Name) ?? null,
    UsedBy: users.get(v.Name) ?? [],
  };
}

/** `path` inside the volume without leading, trailing or doubled slashes; undefined for the root. */
function normalisePath(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const p = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, '');
  if (p.split('/').includes('..')) throw new HttpError(400, 'invalid query', 'query.path: inside the volume');
  return p || undefined;
}

/** The tar `source` with `parent/` put before each entry's name (streamed, entry by entry). */
function rebase(source: Readable, parent: string): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    header.name = posix.join(parent, header.name);
    if (header.linkname && header.type === 'link') header.linkname = posix.join(parent, header.linkname);
    stream.pipe(pack.entry(header, next));
  });
  extract.on('finish', () => pack.finalize());
  const out = new PassThrough();
  pipeline(source, extract).catch((err: unknown) => out.destroy(err as Error));
  pack.on('error', (err) => out.destroy(err));
  pack.pipe(out);
  out.once('close', () => source.destroy());
  return out;
}
