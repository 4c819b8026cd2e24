/**
 * Whether an agent would take a container config: the agent's own validation of its create body
 * (models.ts), run on the gateway's side and reported in the gateway's field names.
 */
import type { ContainerConfig } from '../core/container-config.js';
import { toCreateBody } from './client-mapping.js';
import { createContainerBody } from './models.js';

/** The gateway's names for the agent body's fields (in problem reports). */
const CONFIG_FIELD: Record<string, string> = {
  Name: 'name',
  Image: 'image',
  Command: 'command',
  Env: 'env',
  HostName: 'hostname',
  NetworkMode: 'networkMode',
  Ports: 'ports',
  PrivatePort: 'privatePort',
  PublicPort: 'publicPort',
  Type: 'type',
  Volumes: 'volumes',
  ContainerVolume: 'containerPath',
  HostVolume: 'hostPath',
  Dns: 'dns',
  Extrahosts: 'extraHosts',
  RestartPolicy: 'restartPolicy',
  Labels: 'labels',
  CPUShares: 'cpuShares',
  Memory: 'memoryMB',
};

/**
 * What an agent would refuse in a container config, as `config.<field>: why` (empty when it would
 * accept it): the gateway and the scheduler turn bad input away with this before storing or sending
 * anything.
 */
export function containerConfigProblems(config: ContainerConfig): string[] {
  const result = createContainerBody.safeParse(toCreateBody(config));
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.map((p) => (typeof p === 'string' ? (CONFIG_FIELD[p] ?? p) : String(p)));
    return `${['config', ...path].join('.')}: ${issue.message}`;
  });
}
