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
import { V1_AGENT_API_VERSION, type V1PingConfig } from './v1-compat.js';

/** `GET /dockerversion` as humpback-agent v1 answers it. */
export interface DockerVersionBody {
  /** The Docker API version the agent speaks to the engine. */
  ClientVersion: string;
  /** Docker's version, as Docker gives it. */
  ServerVersion: Docker.DockerVersion;
}

export class NodeOps {
  constructor(
    private readonly docker: Docker,
    /** The node key and fresh node data. */
    private readonly nodeData: () => Promise<{ key: string; data: NodeData }>,
    /** humpback-agent v1's configuration fields, which `/ping` also answers. */
    private readonly v1Config: () => Omit<V1PingConfig, 'DockerAPIVersion'> = () => ({
      DockerEndPoint: '',
      DockerNodeHTTPAddr: '',
      DockerContainerPortsRange: '0-0',
      DockerClusterEnabled: false,
      DockerClusterURIs: '',
      DockerClusterName: '',
      DockerClusterHeartBeat: '',
      DockerClusterTTL: '',
      DockerComposePath: '',
      DockerComposePackageMaxSize: 0,
      LogLevel: 0,
    }),
  ) {}

  /**
   * `{Status, AppVersion, DockerVersion, HumpbackVersion}` and v1's configuration fields; AppVersion is
   * the humpback-agent API level v1 clients compare. 503 when Docker does not answer.
   */
  async ping(): Promise<PingBody & V1PingConfig> {
    try {
      const v = await this.docker.version();
      return {
        Status: 'ok',
        AppVersion: V1_AGENT_API_VERSION,
        HumpbackVersion: APP_VERSION,
        DockerVersion: v.Version,
        ...this.v1Config(),
        DockerAPIVersion: v.ApiVersion,
      };
    } catch (err) {
      throw new HttpError(503, 'Docker Engine unreachable', String((err as Error).message ?? err));
    }
  }

  /** Docker's info, as Docker gives it. */
  dockerInfo(): Promise<unknown> {
    return dockerCall('docker info', () => this.docker.info() as Promise<unknown>);
  }

  /** `{ClientVersion, ServerVersion}` (humpback-agent v1's shape); ServerVersion as Docker gives it. */
  async dockerVersion(): Promise<DockerVersionBody> {
    const v = await dockerCall('docker version', () => this.docker.version());
    return { ClientVersion: v.ApiVersion, ServerVersion: v };
  }

  /** `GET /nodeinfo`: `{key, ...NodeData}`, what the node registers in ZooKeeper, with fresh usage. */
  async nodeInfo(): Promise<NodeData & { key: string }> {
    const { key, data } = await dockerCall('node info', this.nodeData);
    return { key, ...data };
  }
}
