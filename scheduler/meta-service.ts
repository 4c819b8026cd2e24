import { randomUUID } from 'node:crypto';
import { containerConfigProblems, withVolumeIndex } from '../core/container-config.js';
import type { ContainerConfig } from '../core/container-config.js';
import { badFields, badInput, conflict, notFound } from '../core/errors.js';
import { imageName, parseImageRef } from '../core/image-ref.js';
import { OutboundUrlPolicy } from '../core/outbound-url.js';
import type { MetaRecord, Store, WebhookDeliveryRecord, WebhookSetting } from '../core/store/store.js';
import type { CreateMetaInput, MetaService, UpdateMetaInput } from '../core/services.js';
import type { ContainerAction } from '../core/domain.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { parseConstraints } from './constraints.js';
import type { Scheduler } from './scheduler.js';

/** Upper bound on a meta's instances: a typo should not start a million containers. */
export const MAX_INSTANCES = 1000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** humpback-center MakeUniqueMetaID: rand.UUID(true), a dashed UUID. */
const V1_META_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function validateInstances(n: number, min: number): number {
  if (!Number.isInteger(n) || n < min || n > MAX_INSTANCES) {
    throw badInput(`instances must be a whole number from ${min} to ${MAX_INSTANCES}`, 'instances');
  }
  return n;
}

function validateConfig(config: ContainerConfig): { image: string; imageTag: string } {
  if (!NAME.test(config.name ?? '')) {
    throw badInput(
      'config.name: letters, digits, _ . - (starting with a letter or digit), at most 63',
      'config.name',
    );
  }
  let ref;
  try {
    ref = parseImageRef(config.image);
  } catch (err) {
    throw badInput(`config.image: ${(err as Error).message}`, 'config.image');
  }
  // Whatever an agent would refuse is refused now, before the meta is stored and scheduled.
  // `{index}` in volume names stands for each instance's index: checked as instance 1 would be.
  const problems = containerConfigProblems(withVolumeIndex(config, 1));
  if (problems.length > 0) throw badFields(problems, 'config');
  return { image: imageName(ref), imageTag: ref.tag ?? 'latest' };
}

/**
 * Each URL is checked like a delivery would check it (scheme, credentials, the host's addresses) and
 * refused naming the hook and why. A host that does not resolve now is kept: every delivery checks
 * again after resolving, so a name cannot get in now and point inside later.
 */
async function validateWebhooks(
  hooks: readonly WebhookSetting[] | undefined,
  policy: OutboundUrlPolicy,
): Promise<WebhookSetting[]> {
  const list = hooks ?? [];
  const checked = await Promise.all(list.map((h) => policy.resolve(h.url)));
  return list.map((h, i) => {
    const result = checked[i]!;
    if (!result.ok && result.refused) {
      throw badInput(`webhooks[${i}].url: ${result.reason}`, `webhooks[${i}].url`);
    }
    // It travels as X-Humpback-Token: what a header cannot carry would fail every delivery.
    if (h.secretToken && /[^\x20-\x7e\x80-\xff]/.test(h.secretToken)) {
      throw badInput(
        `webhooks[${i}].secretToken: only printable ASCII or Latin-1 characters (it is sent as a header)`,
        `webhooks[${i}].secretToken`,
      );
    }
    return { url: h.url, secretToken: h.secretToken || undefined };
  });
}

function normalizeConstraints(constraints: readonly string[] | undefined): string[] {
  const list = (constraints ?? []).map((c) => c.trim()).filter((c) => c !== '');
  parseConstraints(list); // throws BAD_USER_INPUT naming the bad one
  return list;
}

export interface ClusterMetaServiceOptions {
  store: Store;
  scheduler: Scheduler;
  clock?: Clock | undefined;
  /** Where webhooks may point; the dispatcher should use the same. @default new OutboundUrlPolicy() */
  urlPolicy?: OutboundUrlPolicy | undefined;
}

/**
 * MetaService for cluster mode: validates, writes the desired state to the store, then has the
 * leader's scheduler converge the meta (here, or forwarded from a follower) before answering.
 */
export class ClusterMetaService implements MetaService {
  private readonly store: Store;
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly urlPolicy: OutboundUrlPolicy;

  constructor(options: ClusterMetaServiceOptions) {
    this.store = options.store;
    this.scheduler = options.scheduler;
    this.clock = options.clock ?? systemClock;
    this.urlPolicy = options.urlPolicy ?? new OutboundUrlPolicy();
  }

  async list(groupId: string): Promise<MetaRecord[]> {
    return (await this.store.list('metas'))
      .filter((m) => m.groupId === groupId)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(id: string): Promise<MetaRecord | undefined> {
    return this.store.get('metas', id);
  }

  private async require(id: string): Promise<MetaRecord> {
    const meta = await this.store.get('metas', id);
    if (!meta) throw notFound('meta', id);
    return meta;
  }

  async create(input: CreateMetaInput): Promise<MetaRecord> {
    const group = await this.store.get('groups', input.groupId);
    if (!group) throw notFound('group', input.groupId);
    if (!group.clusterMode) throw badInput(`group ${group.id} is not in cluster mode`, 'groupId');
    const instances = validateInstances(input.instances, 1);
    const { image, imageTag } = validateConfig(input.config);
    const constraints = normalizeConstraints(input.constraints);
    const webhooks = await validateWebhooks(input.webhooks, this.urlPolicy);
    const existing = await this.list(input.groupId);
    if (existing.some((m) => m.name === input.config.name)) {
      throw conflict(`group ${group.name} already has a meta named ${input.config.name}`);
    }
    const id = await this.newMetaId(input.id);
    const now = new Date(this.clock.now()).toISOString();
    const meta: MetaRecord = {
      id,
      groupId: input.groupId,
      name: input.config.name,
      image,
      imageTag,
      instances,
      config: input.config,
      constraints,
      webhooks,
      removeDelay: input.removeDelay ?? false,
      recovery: input.recovery ?? true,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.create('metas', meta.id, meta);
    return (
      (await this.scheduler.execute({ op: 'reconcile', metaId: meta.id, event: 'CreateMetaEvent' })) ?? meta
    );
  }

  /** A new id, or the one chosen to import a Humpback v1 meta (a UUID no meta has). */
  private async newMetaId(chosen: string | undefined): Promise<string> {
    if (chosen === undefined) return randomUUID();
    const id = chosen.trim().toLowerCase();
    if (!V1_META_ID.test(id)) {
      throw badInput(
        `id must be a Humpback v1 MetaId, a UUID such as 9a8b7c6d-0000-4000-8000-000000000002 (got ${JSON.stringify(chosen)})`,
        'id',
      );
    }
    if (await this.store.get('metas', id)) throw conflict(`a meta with id ${id} already exists`);
    return id;
  }

  async update(id: string, input: UpdateMetaInput): Promise<MetaRecord> {
    const meta = await this.require(id);
    this.scheduler.assertNotBusy(meta);
    const patch: Partial<MetaRecord> = {};
    if (input.instances !== undefined) patch.instances = validateInstances(input.instances, 0);
    if (input.config !== undefined) {
      if (input.config.name !== meta.name) {
        throw badInput(
          `config.name cannot change (${meta.name}); create another meta instead`,
          'config.name',
        );
      }
      Object.assign(patch, validateConfig(input.config), { config: input.config });
    }
    if (input.constraints !== undefined) patch.constraints = normalizeConstraints(input.constraints);
    if (input.webhooks !== undefined) patch.webhooks = await validateWebhooks(input.webhooks, this.urlPolicy);
    if (input.removeDelay !== undefined) patch.removeDelay = input.removeDelay;
    if (input.recovery !== undefined) patch.recovery = input.recovery;
    const updatedAt = new Date(this.clock.now()).toISOString();
    const saved = await this.store.update('metas', id, (current) =>
      current ? { ...current, ...patch, updatedAt } : current,
    );
    if (!saved) throw notFound('meta', id);
    return (await this.scheduler.execute({ op: 'reconcile', metaId: id, event: 'UpdateMetaEvent' })) ?? saved;
  }

  async upgrade(id: string, imageTag: string): Promise<MetaRecord> {
    const meta = await this.require(id);
    this.scheduler.assertNotBusy(meta);
    if (imageTag === meta.imageTag) {
      throw badInput(`meta ${meta.name} already runs tag ${JSON.stringify(imageTag)}`, 'imageTag');
    }
    return (await this.scheduler.execute({ op: 'upgrade', metaId: id, imageTag })) ?? meta;
  }

  async operate(id: string, action: ContainerAction): Promise<MetaRecord> {
    const meta = await this.require(id);
    this.scheduler.assertNotBusy(meta);
    return (await this.scheduler.execute({ op: 'operate', metaId: id, action })) ?? meta;
  }

  async remove(id: string): Promise<boolean> {
    const meta = await this.store.get('metas', id);
    if (!meta) return false;
    this.scheduler.assertNotBusy(meta);
    await this.scheduler.tombstone(id);
    await this.store.delete('metas', id);
    await this.scheduler.execute({ op: 'remove', metaId: id, meta });
    return true;
  }

  /** Removes every meta of a group (cluster mode turned off); returns how many. */
  async removeGroupMetas(groupId: string): Promise<number> {
    const metas = await this.list(groupId);
    for (const m of metas) await this.remove(m.id);
    return metas.length;
  }

  async deliveries(metaId: string, first: number): Promise<WebhookDeliveryRecord[]> {
    return this.scheduler.dispatcher.deliveries(metaId, first);
  }
}
