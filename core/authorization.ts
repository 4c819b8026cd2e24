import { badInput, ErrorCode, forbidden, HumpbackError, notFound } from './errors.js';
import { containerGroupIds } from './labels.js';
import type { ContainerConfig } from './container-config.js';
import type { ContainerRecord, GroupRecord, MetaRecord, NodeRecord } from './store/store.js';
import { containerPolicyProblems, reservedLabelProblems, volumeNamePattern } from './container-policy.js';
import type { Services, TokenScope, VolumeInfo, Viewer } from './services.js';

/**
 * Who may do what: the one authorization module. Every resolver, subscription, route and socket asks
 * an `Access` (one per request or connection); the rules are the two tables below, written once.
 *
 * - Admins may do everything (and their privileged container settings are audited with the call).
 * - The cluster's servers are the admins': only they put servers in groups and label nodes.
 * - Everyone else acts within groups, by their role in each group (ROLE_ACTIONS).
 * - An API token acts as its user within its scope (SCOPE_ALLOWS); the auth service drops the
 *   admin flag of a WRITE token's viewer, so `viewer.admin` is already what the token may.
 */

/** A user's role in a group: from the group's `owners`, its grants to the user's teams, or `public`. */
export type GroupRole = 'OWNER' | 'OPERATOR' | 'VIEWER';

/**
 * What can be done to a group and what is in it: `read` the group and its nodes, containers, metas,
 * logs and stats; `operate` also create, operate and remove its containers and metas and use its
 * nodes' images; `edit` also change the group itself (name, description, cluster mode, public flag,
 * owners and grants).
 */
export type GroupAction = 'read' | 'operate' | 'edit';

/**
 * The role table: what each role may do in its group. The README's "Roles and tokens" shows the same.
 *
 * | role     | read | operate | edit |
 * |----------|------|---------|------|
 * | OWNER    | yes  | yes     | yes  |
 * | OPERATOR | yes  | yes     |      |
 * | VIEWER   | yes  |         |      |
 *
 * A public group gives every logged-in user VIEWER; admins are OWNER everywhere.
 */
export const ROLE_ACTIONS: Readonly<Record<GroupRole, readonly GroupAction[]>> = {
  OWNER: ['read', 'operate', 'edit'],
  OPERATOR: ['read', 'operate'],
  VIEWER: ['read'],
};

/**
 * What an API token's scope allows besides its user's rights: READ only queries and subscriptions
 * (even an admin's), WRITE also mutations but never an admin's rights, ADMIN all its user may.
 * Login tokens are ADMIN.
 */
export const SCOPE_ALLOWS: Readonly<Record<TokenScope, { mutations: boolean; adminRights: boolean }>> = {
  READ: { mutations: false, adminRights: true },
  WRITE: { mutations: true, adminRights: false },
  ADMIN: { mutations: true, adminRights: true },
};

const RANK: Readonly<Record<GroupRole, number>> = { VIEWER: 1, OPERATOR: 2, OWNER: 3 };

/** The viewer's role in `group`, if any: the highest of what they are given (admins: OWNER everywhere). */
export function roleIn(group: GroupRecord, viewer: Viewer): GroupRole | undefined {
  if (viewer.admin || group.owners.includes(viewer.userId)) return 'OWNER';
  let best: GroupRole | undefined = group.public ? 'VIEWER' : undefined;
  const teams = viewer.teamIds ?? [];
  for (const grant of group.grants ?? []) {
    if (teams.includes(grant.teamId) && (!best || RANK[grant.role] > RANK[best])) best = grant.role;
  }
  return best;
}

/** May the viewer do `action` in `group`? */
export function mayInGroup(viewer: Viewer, group: GroupRecord, action: GroupAction): boolean {
  const role = roleIn(group, viewer);
  return role !== undefined && ROLE_ACTIONS[role].includes(action);
}

/** The ids of `groups` in which the viewer may do `action`; undefined for admins (every group). */
export function groupIdsFor(
  viewer: Viewer,
  groups: readonly GroupRecord[],
  action: GroupAction,
): Set<string> | undefined {
  if (viewer.admin) return undefined;
  return new Set(groups.filter((g) => mayInGroup(viewer, g, action)).map((g) => g.id));
}

const unauthenticated = (): HumpbackError =>
  new HumpbackError(ErrorCode.UNAUTHENTICATED, 'log in first: send Authorization: Bearer <token>');

const denied = (what: string, action: GroupAction): HumpbackError =>
  forbidden(`you may not ${action === 'read' ? 'see' : action} ${what}`);

/** What an Access reads. */
export type AccessServices = Pick<Services, 'groups' | 'nodes' | 'containers' | 'metas' | 'volumes'>;

/**
 * One viewer's access, for one request or one graphql-ws operation. Lookups of things the viewer may
 * not see answer FORBIDDEN whether or not they exist (a non-admin cannot probe for ids); admins get
 * NOT_FOUND for what does not exist.
 */
export class Access {
  private groupList: Promise<GroupRecord[]> | undefined;
  private readonly scopes = new Map<GroupAction, Promise<Set<string> | undefined>>();

  constructor(
    readonly viewer: Viewer | undefined,
    private readonly services: AccessServices,
  ) {}

  /** The viewer, or UNAUTHENTICATED. */
  requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** The viewer if an admin, else FORBIDDEN. */
  requireAdmin(why = 'only admins may do this'): Viewer {
    const viewer = this.requireViewer();
    if (!viewer.admin) throw forbidden(why);
    return viewer;
  }

  /**
   * FORBIDDEN for a READ token: it runs queries and subscriptions only (every mutation's rule asks
   * this; so should any route that changes something).
   */
  requireWriteScope(): Viewer {
    const viewer = this.requireViewer();
    if (viewer.token && !SCOPE_ALLOWS[viewer.token.scope].mutations)
      throw forbidden(`a ${viewer.token.scope} token cannot change anything`);
    return viewer;
  }

  private groups(): Promise<GroupRecord[]> {
    this.groupList ??= this.services.groups.list();
    return this.groupList;
  }

  /** Ids of the groups in which the viewer may do `action`; undefined for admins (all). */
  groupIds(action: GroupAction): Promise<Set<string> | undefined> {
    const viewer = this.requireViewer();
    let scope = this.scopes.get(action);
    if (!scope) {
      scope = viewer.admin
        ? Promise.resolve(undefined)
        : this.groups().then((g) => groupIdsFor(viewer, g, action));
      this.scopes.set(action, scope);
    }
    return scope;
  }

  /** True when the viewer may do `action` in at least one of `groupIds`. */
  async mayInAny(groupIds: readonly string[], action: GroupAction): Promise<boolean> {
    const scope = await this.groupIds(action);
    return !scope || groupIds.some((id) => scope.has(id));
  }

  /** The group, if the viewer may do `action` in it. */
  async group(id: string, action: GroupAction): Promise<GroupRecord> {
    const viewer = this.requireViewer();
    const group = await this.services.groups.get(id);
    if (group && mayInGroup(viewer, group, action)) return group;
    throw group || !viewer.admin ? denied(`group ${id}`, action) : notFound('group', id);
  }

  /** Groups whose servers include the node. */
  groupsOfNode(node: NodeRecord): Promise<string[]> {
    return this.services.nodes.groupsOf(node.id);
  }

  /** The node (id, ip or hostname), if it is in a group where the viewer may do `action`. */
  async node(idOrAddress: string, action: GroupAction): Promise<NodeRecord> {
    const viewer = this.requireViewer();
    const node = await this.services.nodes.get(idOrAddress);
    if (node && (await this.mayInAny(await this.groupsOfNode(node), action))) return node;
    throw node || !viewer.admin ? denied(`node ${idOrAddress}`, action) : notFound('node', idOrAddress);
  }

  /** The groups a container belongs to: its meta's group, or the groups of its node (single mode). */
  async groupsOfContainer(container: ContainerRecord): Promise<string[]> {
    return containerGroupIds(container, await this.services.nodes.groupsOf(container.nodeId));
  }

  /** The container (full id or unique prefix), if the viewer may do `action` to it. */
  async container(idOrPrefix: string, action: GroupAction): Promise<ContainerRecord> {
    const viewer = this.requireViewer();
    const container = await this.services.containers.get(idOrPrefix);
    if (container && (await this.mayInAny(await this.groupsOfContainer(container), action))) return container;
    throw container || !viewer.admin
      ? denied(`container ${idOrPrefix}`, action)
      : notFound('container', idOrPrefix);
  }

  /** The meta, if the viewer may do `action` in its group. */
  async meta(id: string, action: GroupAction): Promise<MetaRecord> {
    const viewer = this.requireViewer();
    const meta = await this.services.metas.get(id);
    if (meta && (await this.mayInAny([meta.groupId], action))) return meta;
    throw meta || !viewer.admin ? denied(`meta ${id}`, action) : notFound('meta', id);
  }

  /**
   * FORBIDDEN unless `config` keeps to the container policy of the groups it would run in
   * (core/container-policy.ts): admins may use every setting. Humpback's own labels: BAD_USER_INPUT
   * for everyone.
   */
  async checkContainerConfig(config: ContainerConfig, groupIds: readonly string[]): Promise<void> {
    const viewer = this.requireViewer();
    const reserved = reservedLabelProblems(config);
    if (reserved.length > 0) throw badInput(reserved.join('; '), 'config.labels');
    if (viewer.admin) return;
    const wanted = new Set(groupIds);
    const allowedHostPaths = (await this.groups())
      .filter((g) => wanted.has(g.id) && mayInGroup(viewer, g, 'operate'))
      .flatMap((g) => g.allowedHostPaths ?? []);
    const problems = containerPolicyProblems(config, { allowedHostPaths });
    if (problems.length > 0) {
      throw new HumpbackError(ErrorCode.FORBIDDEN, `only admins may: ${problems.join('; ')}`, {
        fields: problems,
      });
    }
  }

  // ---- volumes: a volume a container of another group uses is that group's, not the viewer's ----

  /** The containers of `volume` that are in no group where the viewer may operate. */
  private async foreignUsers(volume: VolumeInfo): Promise<ContainerRecord[]> {
    const foreign: ContainerRecord[] = [];
    for (const c of volume.usedBy) {
      if (!(await this.mayInAny(await this.groupsOfContainer(c), 'operate'))) foreign.push(c);
    }
    return foreign;
  }

  /**
   * The volume on the node, if the viewer may touch its content (clear, remove, download, restore):
   * FORBIDDEN while a container of a group where they may not operate uses it. NOT_FOUND when the
   * node has no such volume.
   */
  async volume(nodeId: string, name: string): Promise<VolumeInfo> {
    const viewer = this.requireViewer();
    const volume = await this.services.volumes.get(nodeId, name);
    if (!volume) throw notFound('volume', name);
    if (viewer.admin) return volume;
    if ((await this.foreignUsers(volume)).length > 0)
      throw forbidden(`volume ${name} is used by a container of a group you may not operate`);
    return volume;
  }

  /**
   * FORBIDDEN when `config` mounts a named volume that a container of another group uses on one of
   * `nodeIds` (the node of a single-mode container, the group's nodes for a meta). `{index}` in a
   * name stands for every instance index. Admins may mount every volume.
   */
  async checkVolumeMounts(config: ContainerConfig, nodeIds: readonly string[]): Promise<void> {
    const viewer = this.requireViewer();
    const named = (config.volumes ?? [])
      .map((v, i) => ({ i, name: v.volume }))
      .filter((v): v is { i: number; name: string } => v.name !== undefined);
    if (viewer.admin || named.length === 0) return;
    const problems: string[] = [];
    for (const nodeId of new Set(nodeIds)) {
      let volumes: VolumeInfo[];
      try {
        volumes = await this.services.volumes.list(nodeId);
      } catch {
        continue; // a node that does not answer runs nothing now; its volumes are checked when it is asked
      }
      for (const { i, name } of named) {
        const pattern = volumeNamePattern(name);
        for (const v of volumes.filter((x) => pattern.test(x.name))) {
          if ((await this.foreignUsers(v)).length > 0)
            problems.push(`config.volumes.${i}.volume: ${v.name} is used by a container of another group`);
        }
      }
    }
    if (problems.length > 0) {
      throw new HumpbackError(ErrorCode.FORBIDDEN, `you may not: ${problems.join('; ')}`, {
        fields: problems,
      });
    }
  }
}
