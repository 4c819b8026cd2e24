/**
 * What the agent says about its node and engine: ping, Docker's info and version, the node data it
 * registers. Docker's errors leave here as HttpErrors.
 */
import type Docker from 'dockerode';
import type { NodeData } from '../core/node-data.js';
import { dockerCall } from './docker-runtime.js';
import { HttpError } from './http-error.js';
import type { PingBody } from '../core/agent-wire.js';
import { APP_VERSION } from './node-info.js';

export class NodeOps {
  constructor(
    private readonly docker: Docker,
    /** The node key and fresh node data. */
    private readonly nodeData: () => Promise<{ key: string; data: NodeData }>,
  ) {}

  /** 503 when Docker does not answer. */
  async ping(): Promise<PingBody> {
    try {
      const v = await this.docker.version();
      return { Status: 'ok', AppVersion: APP_VERSION, DockerVersion: v.Version };
    } catch (err) {
      throw new HttpError(503, 'Docker Engine unreachable', String((err as Error).message ?? err));
    }
  }

  /** Docker's info, as Docker gives it. */
  dockerInfo(): Promise<unknown> {
    return dockerCall('docker info', () => this.docker.info() as Promise<unknown>);
  }

  /** Docker's version, as Docker gives it. */
  dockerVersion(): Promise<Docker.DockerVersion> {
    return dockerCall('docker version', () => this.docker.version());
  }

  /** `GET /nodeinfo`: `{key, ...NodeData}`, what the node registers in ZooKeeper, with fresh usage. */
  async nodeInfo(): Promise<NodeData & { key: string }> {
    const { key, data } = await dockerCall('node info', this.nodeData);
    return { key, ...data };
  }
}
