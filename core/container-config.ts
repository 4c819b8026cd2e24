/**
 * A container's configuration as Humpback users give it (GraphQL ContainerConfigInput, a meta's
 * config). The agent client turns it into Humpback's PascalCase wire format.
 */
export interface ContainerConfig {
  name: string;
  image: string;
  command?: string[] | undefined;
  env?: string[] | undefined;
  hostname?: string | undefined;
  /** host | bridge | none | <network> */
  networkMode?: string | undefined;
  ports?: PortMapping[] | undefined;
  volumes?: VolumeBinding[] | undefined;
  dns?: string[] | undefined;
  extraHosts?: string[] | undefined;
  /** no | always | on-failure | unless-stopped */
  restartPolicy?: string | undefined;
  labels?: Record<string, string> | undefined;
  cpuShares?: number | undefined;
  memoryMB?: number | undefined;
}

export interface PortMapping {
  privatePort: number;
  /** 0 or undefined: the agent allocates one from DOCKER_CONTAINER_PORTS_RANGE. */
  publicPort?: number | undefined;
  /** tcp (default) or udp */
  type?: string | undefined;
}

export interface VolumeBinding {
  containerPath: string;
  hostPath: string;
  readOnly?: boolean | undefined;
}
