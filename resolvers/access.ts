import { ErrorCode, forbidden, HumpbackError, notFound } from '../core/errors.js';
import type { ContainerRecord, GroupRecord, MetaRecord, NodeRecord } from '../core/store/store.js';
import type { GatewayContext } from '../gateway/context.js';
import type { Viewer } from '../gateway/services.js';

/** The viewer, or UNAUTHENTICATED. */
export function requireViewer(ctx: GatewayContext): Viewer {
  if (!ctx.viewer)
    throw new HumpbackError(ErrorCode.UNAUTHENTICATED, 'log in first: send Authorization: Bearer <token>');
  return ctx.viewer;
}

/** The viewer if an admin, else FORBIDDEN. */
export function requireAdmin(ctx: GatewayContext): Viewer {
  const viewer = requireViewer(ctx);
  if (!viewer.admin) throw forbidden('only admins may do this');
  return viewer;
}

/** Group ids the viewer may see; undefined for admins (everything). */
export async function visibleGroupIds(ctx: GatewayContext): Promise<Set<string> | undefined> {
  const viewer = requireViewer(ctx);
  if (viewer.admin) return undefined;
  ctx.ownedGroups ??= ctx.services.groups
    .list()
    .then((groups) => new Set(groups.filter((g) => g.owners.includes(viewer.userId)).map((g) => g.id)));
  return ctx.ownedGroups;
}

export const ownsGroup = (group: GroupRecord, viewer: Viewer): boolean =>
  viewer.admin || group.owners.includes(viewer.userId);

/** The group if it exists and the viewer may see it; NOT_FOUND / FORBIDDEN otherwise. */
export async function accessibleGroup(ctx: GatewayContext, groupId: string): Promise<GroupRecord> {
  const viewer = requireViewer(ctx);
  const group = await ctx.services.groups.get(groupId);
  if (!group) throw viewer.admin ? notFound('group', groupId) : forbidden(`you do not own group ${groupId}`);
  if (!ownsGroup(group, viewer)) throw forbidden(`you do not own group ${groupId}`);
  return group;
}

/** Throws FORBIDDEN unless one of `groupIds` is visible to the viewer. */
export async function assertAnyGroupVisible(
  ctx: GatewayContext,
  groupIds: readonly string[],
  what: string,
): Promise<void> {
  const visible = await visibleGroupIds(ctx);
  if (!visible) return;
  if (!groupIds.some((id) => visible.has(id))) throw forbidden(`${what} is not in a group you own`);
}

/** The node (by id, ip or hostname) if the viewer may see it. */
export async function accessibleNode(ctx: GatewayContext, idOrAddress: string): Promise<NodeRecord> {
  requireViewer(ctx);
  const node = await ctx.services.nodes.get(idOrAddress);
  if (!node) throw notFound('node', idOrAddress);
  await assertNodeVisible(ctx, node);
  return node;
}

export async function assertNodeVisible(ctx: GatewayContext, node: NodeRecord): Promise<void> {
  if ((await visibleGroupIds(ctx)) === undefined) return;
  await assertAnyGroupVisible(ctx, await ctx.services.nodes.groupsOf(node.id), `node ${node.id}`);
}

/** The container (full id or unique prefix) if the viewer may see it. */
export async function accessibleContainer(ctx: GatewayContext, idOrPrefix: string): Promise<ContainerRecord> {
  requireViewer(ctx);
  const container = await ctx.services.containers.get(idOrPrefix);
  if (!container) throw notFound('container', idOrPrefix);
  await assertContainerVisible(ctx, container);
  return container;
}

export async function assertContainerVisible(ctx: GatewayContext, container: ContainerRecord): Promise<void> {
  if ((await visibleGroupIds(ctx)) === undefined) return;
  const groupIds = await ctx.services.nodes.groupsOf(container.nodeId);
  if (container.groupId) groupIds.push(container.groupId);
  await assertAnyGroupVisible(ctx, groupIds, `container ${container.id}`);
}

/** The meta if the viewer may see its group. */
export async function accessibleMeta(ctx: GatewayContext, id: string): Promise<MetaRecord> {
  requireViewer(ctx);
  const meta = await ctx.services.metas.get(id);
  if (!meta) throw notFound('meta', id);
  await assertAnyGroupVisible(ctx, [meta.groupId], `meta ${id}`);
  return meta;
}
