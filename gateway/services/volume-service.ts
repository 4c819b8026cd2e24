import { Readable } from 'node:stream';
import { VOLUME_NAME } from '../../core/agent-wire.js';
import type { UploadStore } from '../../core/uploads.js';
import { badInput } from '../../core/errors.js';
import type { NewVolume, VolumeInfo, VolumeService } from '../../core/services.js';
import type { ContainerRecord } from '../../core/store/store.js';
import type { AgentVolume } from '../../agent/client-types.js';
import { callAgent, usableNode, type ServiceDeps } from './container-service.js';

function checkName(name: string, field = 'name'): string {
  if (!VOLUME_NAME.test(name))
    throw badInput(`${field}: letters, digits, _ . - (starting with a letter or digit), at most 255`, field);
  return name;
}

/** A path inside a volume: relative, without `..`. */
function checkPath(path: string | undefined): string | undefined {
  if (path == null || path === '') return undefined;
  if (path.includes('\0') || path.split('/').includes('..'))
    throw badInput('path: a path inside the volume, without ..', 'path');
  return path;
}

/** Volumes of one node, through its agent; `usedBy` in the cluster cache's records. */
export class AgentVolumeService implements VolumeService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly uploads: UploadStore,
  ) {}

  private info(nodeId: string, v: AgentVolume): VolumeInfo {
    const usedBy = v.usedBy
      .map((id) => this.deps.cache.findContainer(id))
      .filter((c): c is ContainerRecord => c !== undefined);
    return {
      name: v.name,
      nodeId,
      driver: v.driver,
      options: v.options,
      labels: v.labels,
      mountpoint: v.mountpoint || undefined,
      sizeBytes: v.sizeBytes,
      usedBy,
      createdAt: v.createdAt,
    };
  }

  async list(nodeId: string): Promise<VolumeInfo[]> {
    const { node, agent } = usableNode(this.deps, nodeId);
    const list = await callAgent(this.deps, node, () => agent.volumes());
    return list.map((v) => this.info(node.id, v)).sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(nodeId: string, name: string): Promise<VolumeInfo | undefined> {
    return (await this.list(nodeId)).find((v) => v.name === name);
  }

  async create(nodeId: string, input: NewVolume): Promise<VolumeInfo> {
    checkName(input.name, 'input.name');
    if (input.nfs && input.driver && input.driver !== 'local')
      throw badInput('input.driver: an NFS volume uses the local driver', 'input.driver');
    if (input.nfs && !input.nfs.path.startsWith('/'))
      throw badInput('input.nfs.path: an absolute path on the NFS server', 'input.nfs.path');
    const { node, agent } = usableNode(this.deps, nodeId);
    return this.info(node.id, await callAgent(this.deps, node, () => agent.createVolume(input)));
  }

  async remove(nodeId: string, name: string, force: boolean): Promise<boolean> {
    checkName(name);
    const { node, agent } = usableNode(this.deps, nodeId);
    await callAgent(this.deps, node, () => agent.removeVolume(name, force));
    return true;
  }

  async clear(nodeId: string, name: string): Promise<boolean> {
    checkName(name);
    const { node, agent } = usableNode(this.deps, nodeId);
    await callAgent(this.deps, node, () => agent.clearVolume(name));
    return true;
  }

  archive(
    nodeId: string,
    name: string,
    path: string | undefined,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    checkName(name);
    const inner = checkPath(path);
    const { node, agent } = usableNode(this.deps, nodeId);
    return callAgent(this.deps, node, () => agent.volumeArchive(name, inner, signal));
  }

  async restore(
    nodeId: string,
    name: string,
    upload: { uploadId: string; userId: string },
    path: string | undefined,
  ): Promise<boolean> {
    checkName(name);
    const inner = checkPath(path);
    const { node, agent } = usableNode(this.deps, nodeId);
    const file = await this.uploads.open(upload.uploadId, upload.userId);
    // The tar goes to the agent as it is read from disk; an hour is the most a restore may take.
    const body = Readable.toWeb(file.read()) as ReadableStream<Uint8Array>;
    const signal = AbortSignal.timeout(60 * 60_000);
    await callAgent(this.deps, node, () => agent.restoreVolume(name, inner, body, signal));
    await this.uploads.discard(upload.uploadId);
    return true;
  }
}
