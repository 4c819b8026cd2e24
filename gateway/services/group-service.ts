import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { GroupRecord, MetaRecord, Store } from '../../core/store/store.js';
import { badInput, conflict, notFound } from '../../core/errors.js';
import type { GroupService, MetaService, Viewer, GroupChanges, NewGroup } from '../../core/services.js';
import type { CacheWriter } from '../cluster/cache-writer.js';
import { normalizeServer } from '../cluster/cluster-cache.js';

export interface GroupServiceOptions {
  store: Store;
  writer: CacheWriter;
  /** Cluster-mode clean-up on delete / turning cluster mode off; resolved late (the scheduler's). */
  metas?: (() => MetaService | undefined) | undefined;
  /** Called after any change to groups on this gateway (the node watcher follows servers). */
  onChange?: (() => void) | undefined;
  /** @default () => new Date() */
  now?: (() => Date) | undefined;
}

const MAX_NAME = 100;
const MAX_DESCRIPTION = 1000;
/** The most servers a group may have. */
export const MAX_SERVERS = 1000;
/** humpback-web's group ids (UUIDs); the 8 first characters name its cluster containers. */
const V1_GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9-]{7,63}$/;

function checkName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw badInput('a group needs a name', 'name');
  if (trimmed.length > MAX_NAME) throw badInput(`name: at most ${MAX_NAME} characters`, 'name');
  return trimmed;
}

function checkDescription(description: string | undefined): string | undefined {
  if (description !== undefined && description.length > MAX_DESCRIPTION) {
    throw badInput(`description: at most ${MAX_DESCRIPTION} characters`, 'description');
  }
  return description;
}

const MAX_HOST_PATHS = 100;

/** Absolute, normalised host directories without duplicates (container-policy's allowed prefixes). */
export function normalizeHostPaths(paths: readonly string[]): string[] {
  if (paths.length > MAX_HOST_PATHS)
    throw badInput(`at most ${MAX_HOST_PATHS} allowed host paths per group`, 'allowedHostPaths');
  return [
    ...new Set(
      paths.map((p, i) => {
        const path = p.trim();
        if (!path.startsWith('/') || path.length > 4096 || /[:\0]/.test(path)) {
          throw badInput(
            `allowedHostPaths.${i}: an absolute host directory without ':' is expected, got ${JSON.stringify(p)}`,
            'allowedHostPaths',
          );
        }
        return posix.normalize(path).replace(/(.)\/+$/, '$1');
      }),
    ),
  ];
}

/** Servers normalised (lower case) without duplicates, in the order given. */
export function normalizeServers(servers: readonly string[]): string[] {
  if (servers.length > MAX_SERVERS) throw badInput(`at most ${MAX_SERVERS} servers per group`, 'servers');
  return [...new Set(servers.map(normalizeServer))];
}

/**
 * Turning cluster mode off removes every meta of the group and its containers: refused unless the
 * caller confirmed it, saying what would go.
 */
export function assertClusterOffConfirmed(
  group: GroupRecord,
  input: { clusterMode?: boolean | undefined; confirmRemoveClusterContainers?: boolean | undefined },
  metas: readonly MetaRecord[],
): void {
  if (!group.clusterMode || input.clusterMode !== false || input.confirmRemoveClusterContainers === true)
    return;
  const instances = metas.reduce((n, m) => n + m.instances, 0);
  const names = metas.map((m) => m.name).join(', ');
  throw badInput(
    metas.length === 0
      ? 'turning cluster mode off removes the cluster containers of this group (it has no metas now); set confirmRemoveClusterContainers: true'
      : `turning cluster mode off removes ${metas.length} meta(s) (${names}) and their ${instances} container instance(s); set confirmRemoveClusterContainers: true`,
    'confirmRemoveClusterContainers',
  );
}

/** Groups in the store; every change is announced so caches and the node watcher follow. */
export class StoreGroupService implements GroupService {
  private readonly now: () => Date;

  constructor(private readonly o: GroupServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  private async changed(): Promise<void> {
    await this.o.writer.groupsChanged();
    this.o.onChange?.();
  }

  async list(): Promise<GroupRecord[]> {
    const groups = await this.o.store.list('groups');
    return groups.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  get(id: string): Promise<GroupRecord | undefined> {
    return this.o.store.get('groups', id);
  }

  private async assertNameFree(name: string, except?: string): Promise<void> {
    const lower = name.toLowerCase();
    const clash = (await this.o.store.list('groups')).find(
      (g) => g.name.toLowerCase() === lower && g.id !== except,
    );
    if (clash) throw conflict(`a group named ${JSON.stringify(clash.name)} exists already`);
  }

  /** A new id, or the one chosen to import a Humpback v1 group (its GroupId, which no group has). */
  private async newGroupId(chosen: string | undefined): Promise<string> {
    if (chosen === undefined) return randomUUID();
    const id = chosen.trim();
    if (!V1_GROUP_ID.test(id)) {
      throw badInput(
        `id must be a Humpback v1 GroupId: 8 to 64 letters, digits or dashes (got ${JSON.stringify(chosen)})`,
        'id',
      );
    }
    if (await this.o.store.get('groups', id)) throw conflict(`a group with id ${id} already exists`);
    return id;
  }

  async create(input: NewGroup, owner: Viewer): Promise<GroupRecord> {
    const name = checkName(input.name);
    await this.assertNameFree(name);
    const id = await this.newGroupId(input.id);
    const at = this.now().toISOString();
    const group: GroupRecord = {
      id,
      name,
      description: checkDescription(input.description),
      clusterMode: input.clusterMode,
      servers: normalizeServers(input.servers),
      owners: [owner.userId],
      public: input.public ?? false,
      allowedHostPaths: normalizeHostPaths(input.allowedHostPaths ?? []),
      createdAt: at,
      updatedAt: at,
    };
    await this.o.store.create('groups', group.id, group);
    await this.changed();
    return group;
  }

  async update(id: string, input: GroupChanges): Promise<GroupRecord> {
    const current = await this.o.store.get('groups', id);
    if (!current) throw notFound('group', id);
    const turningOff = current.clusterMode && input.clusterMode === false;
    const metas = turningOff ? await this.metasOf(id) : [];
    assertClusterOffConfirmed(current, input, metas);
    const name = input.name !== undefined ? checkName(input.name) : undefined;
    if (name !== undefined) await this.assertNameFree(name, id);
    const description = checkDescription(input.description);
    const servers = input.servers !== undefined ? normalizeServers(input.servers) : undefined;
    const allowedHostPaths =
      input.allowedHostPaths !== undefined ? normalizeHostPaths(input.allowedHostPaths) : undefined;
    let owners: string[] | undefined;
    if (input.owners !== undefined) {
      owners = [...new Set(input.owners.map((o) => o.trim().toLowerCase()).filter(Boolean))];
      const users = new Set((await this.o.store.list('users')).map((u) => u.id));
      const unknown = owners.find((o) => !users.has(o));
      if (unknown) throw badInput(`owners: no user ${JSON.stringify(unknown)}`, 'owners');
    }

    for (const meta of metas) await this.o.metas?.()?.remove(meta.id);

    const updated = await this.o.store.update('groups', id, (g) =>
      g
        ? {
            ...g,
            ...(name !== undefined ? { name } : {}),
            ...(input.description !== undefined ? { description } : {}),
            ...(input.clusterMode !== undefined ? { clusterMode: input.clusterMode } : {}),
            ...(servers !== undefined ? { servers } : {}),
            ...(allowedHostPaths !== undefined ? { allowedHostPaths } : {}),
            ...(owners !== undefined ? { owners } : {}),
            ...(input.public !== undefined ? { public: input.public } : {}),
            updatedAt: this.now().toISOString(),
          }
        : undefined,
    );
    if (!updated) throw notFound('group', id);
    await this.changed();
    return updated;
  }

  private async metasOf(groupId: string): Promise<MetaRecord[]> {
    const metas = this.o.metas?.();
    if (metas) return metas.list(groupId);
    return (await this.o.store.list('metas')).filter((m) => m.groupId === groupId);
  }

  async delete(id: string): Promise<boolean> {
    const current = await this.o.store.get('groups', id);
    if (!current) return false;
    const metas = await this.metasOf(id);
    if (metas.length > 0) {
      throw conflict(
        `group ${JSON.stringify(current.name)} still has ${metas.length} meta(s); remove them first`,
      );
    }
    const deleted = await this.o.store.delete('groups', id);
    if (deleted) await this.changed();
    return deleted;
  }

  async addServer(groupId: string, address: string): Promise<GroupRecord> {
    const server = normalizeServer(address);
    const updated = await this.o.store.update('groups', groupId, (g) =>
      g && !g.servers.includes(server)
        ? { ...g, servers: [...g.servers, server], updatedAt: this.now().toISOString() }
        : g,
    );
    if (!updated) throw notFound('group', groupId);
    if (updated.servers.length > MAX_SERVERS)
      throw badInput(`at most ${MAX_SERVERS} servers per group`, 'address');
    await this.changed();
    return updated;
  }

  async removeServer(groupId: string, address: string): Promise<GroupRecord> {
    const server = normalizeServer(address);
    const current = await this.o.store.get('groups', groupId);
    if (!current) throw notFound('group', groupId);
    if (!current.servers.includes(server)) throw notFound(`server in group ${current.name}:`, address);
    const updated = await this.o.store.update('groups', groupId, (g) =>
      g
        ? { ...g, servers: g.servers.filter((s) => s !== server), updatedAt: this.now().toISOString() }
        : undefined,
    );
    if (!updated) throw notFound('group', groupId);
    await this.changed();
    return updated;
  }
}
