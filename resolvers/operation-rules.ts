import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { ErrorCode, HumpbackError } from '../core/errors.js';
import type { GroupAction } from '../core/authorization.js';
import type { GatewayContext } from './context.js';
import { Audited } from './audit.middleware.js';
import { toContainerConfig, type ContainerConfigInput } from '../schema/container-config.input.js';
import { volumePolicyProblems } from '../core/container-policy.js';

/**
 * The rule of every GraphQL operation (root field of Query, Mutation and Subscription), applied before
 * its resolver runs: the schema does not build while an operation has none (a new operation cannot
 * be reachable by accident). What a role may do is core/authorization.ts's ROLE_ACTIONS.
 */

type Args = Record<string, unknown>;

/** Something in the arguments the rule is about: which kind, and where its id is. */
interface Target {
  kind: 'group' | 'node' | 'container' | 'meta';
  /** The argument holding its id (`input.groupId` for a field of an input). */
  arg: string;
  /** An absent argument is no target (lists that the resolver filters by what the viewer may see). */
  optional?: true;
}

/** A group action on the targets (every one given must allow it). */
interface GroupRule {
  access: GroupAction;
  on: readonly Target[];
  /** Settings of the call only admins may use. */
  adminOnly?: AdminOnly;
  /** The container config the call runs, checked against the container policy. */
  config?: (args: Args) => ContainerConfigInput | null | undefined;
  /** The node and volume (argument paths) whose content the call touches (Access.volume). */
  volume?: { node: string; name: string };
  /**
   * When a target does not exist or may not be seen: `null` answers null (nullable lookups);
   * `allow` lets admins watch what does not exist yet (subscriptions). Default: an error.
   */
  missing?: 'null' | 'allow';
}

export type OperationRule =
  /** Without a token (login). */
  | { access: 'anyone' }
  /** Any logged-in user; what it lists is filtered to what they may read. */
  | { access: 'user'; adminOnly?: AdminOnly }
  /** Admins only. */
  | { access: 'admin' }
  | GroupRule;

/** The reason a call needs an admin, or undefined when it does not. */
type AdminOnly = (args: Args) => string | undefined;

const read = (...on: Target[]): GroupRule => ({ access: 'read', on });
const operate = (...on: Target[]): GroupRule => ({ access: 'operate', on });
const group = (arg: string, optional?: true): Target => ({
  kind: 'group',
  arg,
  ...(optional && { optional }),
});
const node = (arg: string, optional?: true): Target => ({ kind: 'node', arg, ...(optional && { optional }) });
const container = (arg: string): Target => ({ kind: 'container', arg });
const meta = (arg: string, optional?: true): Target => ({ kind: 'meta', arg, ...(optional && { optional }) });

const input = (args: Args): Args => (args['input'] ?? {}) as Args;
/** Servers are the cluster's: only admins put them in groups, or say which host paths a group may bind. */
const groupSettingsOfAdmins: AdminOnly = (args) => {
  const { servers, allowedHostPaths } = input(args);
  const creating = args['id'] === undefined;
  if (creating && input(args)['id'] != null) return 'only admins may choose a group id';
  if (creating ? Array.isArray(servers) && servers.length > 0 : servers != null)
    return 'only admins choose the servers of a group';
  if (allowedHostPaths != null) return 'only admins choose the host paths a group may bind';
  return undefined;
};

/** The rules, by `Type.field`. */
export const OPERATION_RULES: Readonly<Record<string, OperationRule>> = {
  'Query.me': { access: 'user' },
  'Query.users': { access: 'admin' },
  'Query.groups': { access: 'user' },
  'Query.group': { ...read(group('id')), missing: 'null' },
  'Query.nodes': read(group('groupId', true)),
  'Query.node': { ...read(node('id')), missing: 'null' },
  'Query.metas': read(group('groupId')),
  'Query.meta': { ...read(meta('id')), missing: 'null' },
  'Query.webhookDeliveries': read(meta('metaId')),
  'Query.containers': read(group('groupId', true), node('nodeId', true), meta('metaId', true)),
  'Query.container': { ...read(container('id')), missing: 'null' },
  'Query.containerLogs': read(container('id')),
  'Query.containerStats': read(container('id')),
  'Query.images': read(node('nodeId')),
  'Query.auditLog': { access: 'admin' },

  'Mutation.login': { access: 'anyone' },
  'Mutation.createUser': { access: 'admin' },
  'Mutation.deleteUser': { access: 'admin' },
  'Mutation.createGroup': { access: 'user', adminOnly: groupSettingsOfAdmins },
  'Mutation.updateGroup': { access: 'edit', on: [group('id')], adminOnly: groupSettingsOfAdmins },
  'Mutation.deleteGroup': { access: 'edit', on: [group('id')] },
  'Mutation.addServer': { access: 'admin' },
  'Mutation.removeServer': { access: 'admin' },
  'Mutation.setNodeLabels': { access: 'admin' },
  'Mutation.createMeta': {
    ...operate(group('input.groupId')),
    // a chosen id takes over the containers that carry it (importing a Humpback v1 meta)
    adminOnly: (args) => (input(args)['id'] != null ? 'only admins may choose a meta id' : undefined),
    config: (args) => input(args)['config'] as ContainerConfigInput,
  },
  'Mutation.updateMeta': {
    ...operate(meta('id')),
    config: (args) => input(args)['config'] as ContainerConfigInput | null | undefined,
  },
  'Mutation.upgradeMeta': operate(meta('id')),
  'Mutation.operateMeta': operate(meta('id')),
  'Mutation.removeMeta': operate(meta('id')),
  'Mutation.createContainer': {
    ...operate(node('nodeId')),
    config: (args) => args['config'] as ContainerConfigInput,
  },
  'Mutation.operateContainer': operate(container('id')),
  'Mutation.removeContainer': operate(container('id')),
  'Mutation.pullImage': operate(node('nodeId')),
  'Mutation.removeImage': operate(node('nodeId')),

  // Volumes (issue 11): reading a node's volumes is reading the node; making one with NFS, another
  // driver or driver options is the admins' (the local driver's options can bind host paths);
  // touching a volume's content also needs that no other group's container uses it.
  'Query.volumes': read(node('nodeId')),
  'Mutation.createVolume': {
    ...operate(node('nodeId')),
    adminOnly: (args) => {
      const problems = volumePolicyProblems(input(args));
      return problems.length ? `only admins may: ${problems.join('; ')}` : undefined;
    },
  },
  'Mutation.removeVolume': { ...operate(node('nodeId')), volume: { node: 'nodeId', name: 'name' } },
  'Mutation.clearVolume': { ...operate(node('nodeId')), volume: { node: 'nodeId', name: 'name' } },
  'Mutation.restoreVolume': { ...operate(node('nodeId')), volume: { node: 'nodeId', name: 'name' } },
  // registries and image jobs (issue 10): registries are the cluster's (admins change them, users
  // browse them); a job runs with the operate rights on its node; a job of a node the viewer may
  // not read is as none (the resolvers check).
  'Query.registries': { access: 'user' },
  'Query.registryRepositories': { access: 'user' },
  'Query.imageJobs': read(node('nodeId', true)),
  'Query.imageJob': { access: 'user' },
  'Mutation.addRegistry': { access: 'admin' },
  'Mutation.updateRegistry': { access: 'admin' },
  'Mutation.removeRegistry': { access: 'admin' },
  'Mutation.deleteRegistryTag': { access: 'admin' },
  'Mutation.buildImage': operate(node('nodeId')),
  'Mutation.loadImage': operate(node('nodeId')),
  'Mutation.commitContainer': operate(container('containerId')),
  'Mutation.pushImage': operate(node('nodeId')),
  'Mutation.startPull': operate(node('nodeId')),
  'Subscription.imageJobProgress': { access: 'user' },

  'Subscription.containerStatusChanged': {
    ...read(group('groupId', true), node('nodeId', true), meta('metaId', true)),
    missing: 'allow',
  },
  'Subscription.nodeStatusChanged': read(group('groupId', true)),
  'Subscription.metaEvents': { ...read(group('groupId', true), meta('metaId', true)), missing: 'allow' },

  // Accounts and tenancy (issue 13): a user's own tokens and password; admins manage users and teams;
  // a group's OWNERs its grants. Every mutation also needs a token scope that may change things.
  'Query.apiTokens': { access: 'user' },
  'Query.teams': { access: 'user' },
  'Mutation.createApiToken': { access: 'user' },
  'Mutation.revokeApiToken': { access: 'user' },
  'Mutation.changePassword': { access: 'user' },
  'Mutation.setUserPassword': { access: 'admin' },
  'Mutation.setUserAdmin': { access: 'admin' },
  'Mutation.createTeam': { access: 'admin' },
  'Mutation.deleteTeam': { access: 'admin' },
  'Mutation.addTeamMember': { access: 'admin' },
  'Mutation.removeTeamMember': { access: 'admin' },
  'Mutation.grantGroup': { access: 'edit', on: [group('groupId')] },
  'Mutation.revokeGroup': { access: 'edit', on: [group('groupId')] },
  // Notifications (issue 12): channels are the cluster's, so admins only.
  'Query.notificationChannels': { access: 'admin' },
  'Mutation.addNotificationChannel': { access: 'admin' },
  'Mutation.removeNotificationChannel': { access: 'admin' },
  // Observability and container operations: live logs and stats, the console, rename and upgrade.
  'Subscription.containerLogs': read(container('id')),
  'Subscription.containerStats': read(container('id')),
  'Mutation.startExec': operate(container('containerId')),
  'Mutation.renameContainer': operate(container('id')),
  'Mutation.upgradeContainer': operate(container('id')),
};

function argAt(args: Args, path: string): unknown {
  let value: unknown = args;
  for (const key of path.split('.')) value = (value as Args | null | undefined)?.[key];
  return value;
}

/**
 * Checks `rule` for a call: throws UNAUTHENTICATED / FORBIDDEN (NOT_FOUND for an admin naming what
 * does not exist), or resolves to 'null' when a nullable lookup should answer null, else 'allow'.
 */
export async function authorize(
  ctx: GatewayContext,
  rule: OperationRule,
  args: Args,
): Promise<'allow' | 'null'> {
  const { access } = ctx;
  if (rule.access === 'anyone') return 'allow';
  if (rule.access === 'admin') {
    access.requireAdmin();
    return 'allow';
  }
  access.requireViewer();
  const adminReason = rule.adminOnly?.(args);
  if (adminReason) access.requireAdmin(adminReason);
  if (rule.access === 'user') return 'allow';

  const groupIds: string[] = [];
  for (const target of rule.on) {
    const id = argAt(args, target.arg);
    if (id == null && target.optional) continue;
    try {
      groupIds.push(...(await targetGroups(ctx, target, String(id), rule.access)));
    } catch (err) {
      if (!isRefusal(err)) throw err;
      if (rule.missing === 'null') return 'null';
      if (rule.missing === 'allow' && access.viewer?.admin) continue;
      throw err;
    }
  }
  const config = rule.config?.(args);
  if (config) {
    const parsed = toContainerConfig(config);
    await access.checkContainerConfig(parsed, groupIds);
    if (parsed.volumes?.some((v) => v.volume !== undefined))
      await access.checkVolumeMounts(parsed, await mountNodes(ctx, rule, args, groupIds));
  }
  if (rule.volume) {
    const nodeId = String(argAt(args, rule.volume.node));
    const node = await ctx.services.nodes.get(nodeId);
    await access.volume(node?.id ?? nodeId, String(argAt(args, rule.volume.name)));
  }
  return 'allow';
}

/** Where a config's named volumes would be mounted: the node of the call, else its groups' nodes. */
async function mountNodes(
  ctx: GatewayContext,
  rule: GroupRule,
  args: Args,
  groupIds: readonly string[],
): Promise<string[]> {
  const target = rule.on.find((t) => t.kind === 'node');
  if (target) {
    const node = await ctx.services.nodes.get(String(argAt(args, target.arg)));
    return node ? [node.id] : [];
  }
  const lists = await Promise.all(groupIds.map((groupId) => ctx.services.nodes.list({ groupId })));
  return lists.flat().map((n) => n.id);
}

const isRefusal = (err: unknown): boolean =>
  err instanceof HumpbackError && (err.code === ErrorCode.FORBIDDEN || err.code === ErrorCode.NOT_FOUND);

async function targetGroups(
  ctx: GatewayContext,
  target: Target,
  id: string,
  action: GroupAction,
): Promise<string[]> {
  const { access } = ctx;
  switch (target.kind) {
    case 'group':
      return [(await access.group(id, action)).id];
    case 'node':
      return access.groupsOfNode(await access.node(id, action));
    case 'container':
      return access.groupsOfContainer(await access.container(id, action));
    case 'meta':
      return [(await access.meta(id, action)).groupId];
  }
}

const ROOT_TYPES = ['Query', 'Mutation', 'Subscription'] as const;

/**
 * Puts every operation behind its rule: the resolver (and for subscriptions the subscribe function)
 * runs only when the rule allows; mutations are written to the audit log (resolvers/audit.middleware.ts)
 * whatever the outcome. Throws when an operation has no rule.
 */
export function applyOperationRules(schema: GraphQLSchema): GraphQLSchema {
  const missing: string[] = [];
  for (const typeName of ROOT_TYPES) {
    const type = schema.getType(typeName);
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const rule = OPERATION_RULES[`${typeName}.${field.name}`];
      if (!rule) {
        missing.push(`${typeName}.${field.name}`);
        continue;
      }
      const key = typeName === 'Subscription' ? 'subscribe' : 'resolve';
      const inner = field[key] as GraphQLFieldResolver<unknown, GatewayContext> | undefined;
      if (!inner) continue;
      const mutation = typeName === 'Mutation' && rule.access !== 'anyone';
      const guarded: GraphQLFieldResolver<unknown, GatewayContext, Args> = async (
        source,
        args,
        ctx,
        info,
      ) => {
        // A READ token changes nothing (issue 13): refused before any lookup the rule makes, so that
        // what a lookup finds (or does not) never answers a READ token's mutation instead.
        if (mutation) ctx.access.requireWriteScope();
        const verdict = await authorize(ctx, rule, args);
        return verdict === 'null' ? null : inner(source, args, ctx, info);
      };
      // Every mutation is audited, refusals by its rule included.
      field[key] =
        typeName === 'Mutation'
          ? (root, args: Args, context: GatewayContext, info) =>
              Audited({ root, args, context, info }, async () => guarded(root, args, context, info))
          : guarded;
    }
  }
  if (missing.length > 0) throw new Error(`operations without an authorization rule: ${missing.join(', ')}`);
  return schema;
}
