import { posix } from 'node:path';
import type { ContainerConfig } from './container-config.js';
import { RESERVED_LABEL_PREFIX } from './labels.js';

/**
 * The container policy for everyone but admins: settings that reach beyond the container (the host's
 * files, the Docker socket, the host's or another container's network namespace) are refused, so a
 * group's users cannot take over a node or read another group's data. Admins may use them; the
 * audit log records the call with its config. Checked in one place (core/authorization.ts
 * `Access.checkContainerConfig`) for createContainer, createMeta and updateMeta.
 */
export interface ContainerPolicy {
  /**
   * Host directories that containers of the group may bind (set by an admin per group); a bind must
   * be one of them or below one. Empty: no host paths at all.
   */
  allowedHostPaths: readonly string[];
}

/** Sockets of container engines: binding one is root on the host, wherever an admin allows binds. */
const ENGINE_SOCKET =
  /(^|\/)(docker|containerd|podman|crio|dockershim)\.sock$|^\/(var\/)?run\/(docker|containerd)(\/|$)/;

/** `prefix` is `path` or one of its parent directories (both normalised, absolute). */
export function isUnder(path: string, prefix: string): boolean {
  const p = posix.normalize(path);
  const q = posix.normalize(prefix).replace(/\/+$/, '') || '/';
  return q === '/' || p === q || p.startsWith(`${q}/`);
}

/** What in `config` the policy refuses, each naming the field; empty when it keeps to the policy. */
export function containerPolicyProblems(config: ContainerConfig, policy: ContainerPolicy): string[] {
  const problems: string[] = [];
  const network = config.networkMode?.trim().toLowerCase() ?? '';
  if (network === 'host') problems.push('config.networkMode: use the host network ("host")');
  if (network.startsWith('container:')) {
    problems.push(`config.networkMode: join another container's network ("${config.networkMode}")`);
  }
  (config.volumes ?? []).forEach((v, i) => {
    // An NFS export is a mount of another server: admins choose which (volumes: only admins make them).
    if (v.nfs) problems.push(`config.volumes.${i}.nfs: mount an NFS export (${v.nfs.server}:${v.nfs.path})`);
    // Named volumes (no leading /) live in Docker's volume store, not in the host's files.
    if (v.hostPath === undefined || !v.hostPath.startsWith('/')) return;
    const field = `config.volumes.${i}.hostPath`;
    const normalised = posix.normalize(v.hostPath);
    if (ENGINE_SOCKET.test(normalised)) {
      problems.push(`${field}: mount the container engine's socket (${v.hostPath})`);
    } else if (!policy.allowedHostPaths.some((prefix) => isUnder(normalised, prefix))) {
      const allowed = policy.allowedHostPaths.length
        ? ` (this group allows ${policy.allowedHostPaths.join(', ')})`
        : ' (this group allows none)';
      problems.push(`${field}: bind the host path ${v.hostPath}${allowed}`);
    }
  });
  // Legacy links show the linked container's environment; log drivers other than the local ones
  // send the output to an address of the user's choosing.
  if (config.links?.length) problems.push('config.links: link other containers (their environment shows)');
  const driver = config.logConfig?.type;
  if (driver && !LOCAL_LOG_DRIVERS.has(driver)) {
    problems.push(
      `config.logConfig.type: use the log driver ${JSON.stringify(driver)} (others may use json-file, local, none)`,
    );
  }
  return problems;
}

const LOCAL_LOG_DRIVERS = new Set(['json-file', 'local', 'none']);

/**
 * Labels under `humpback.` say which meta and group a container is an instance of; the scheduler
 * sets them. A user's container with them would pass for another group's instance, so nobody may.
 */
export function reservedLabelProblems(config: ContainerConfig): string[] {
  return Object.keys(config.labels ?? {})
    .filter((key) => key.toLowerCase().startsWith(RESERVED_LABEL_PREFIX))
    .map(
      (key) =>
        `config.labels: ${key} is reserved (labels starting with ${RESERVED_LABEL_PREFIX} are set by Humpback)`,
    );
}

/**
 * Volume settings only admins may use, each naming the field: an NFS export, another driver than
 * `local`, or driver options (the local driver's `type=none,o=bind,device=/etc` binds any host path).
 */
export function volumePolicyProblems(input: {
  driver?: string | null | undefined;
  options?: readonly unknown[] | null | undefined;
  nfs?: unknown;
}): string[] {
  const problems: string[] = [];
  if (input.nfs != null) problems.push('input.nfs: make an NFS volume');
  if (input.driver != null && input.driver !== '' && input.driver !== 'local')
    problems.push(`input.driver: use the volume driver ${input.driver}`);
  if (input.options != null && input.options.length > 0)
    problems.push('input.options: give driver options (they can bind host paths)');
  return problems;
}

/** A volume name of a config, as a pattern: `{index}` stands for any instance index. */
export function volumeNamePattern(name: string): RegExp {
  const parts = name.split('{index}').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('\\d+')}$`);
}
