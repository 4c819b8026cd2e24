/**
 * Which network modes a Docker Engine's containers can use. `host` and `none` work wherever their
 * networks exist; `bridge` is tried for real: a throwaway container on the bridge network is started
 * (from an empty image imported for the probe, with an entrypoint that does not exist, so nothing
 * runs). The engine sets up a container's network before it executes anything, so a start that fails
 * only because the entrypoint is missing proves bridge networking; any other failure (e.g. "could not
 * find bridge docker0") says it does not work. The probe removes its container and image.
 */
import type Docker from 'dockerode';

/** The image the probe imports (and removes again). */
export const PROBE_IMAGE = 'humpback/network-probe:latest';
const PROBE_ENTRYPOINT = '/humpback-network-probe';

export interface NetworkModes {
  /** The modes that work, of bridge, host and none. */
  works: string[];
  /** Why bridge does not work (undefined when it does). */
  bridgeProblem?: string | undefined;
}

/** An empty root file system: a tar of only its two end blocks. */
const EMPTY_TAR = Buffer.alloc(1024);

async function importProbeImage(docker: Docker): Promise<boolean> {
  const had = await docker
    .getImage(PROBE_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (had) return false;
  const [repo, tag] = PROBE_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(EMPTY_TAR as never, { repo, tag });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
  return true;
}

/** Starts a container on the bridge network; undefined when its network came up, else why not. */
async function bridgeProblem(docker: Docker): Promise<string | undefined> {
  const imported = await importProbeImage(docker);
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      Image: PROBE_IMAGE,
      Entrypoint: [PROBE_ENTRYPOINT],
      Labels: { 'humpback.probe': 'network' },
      HostConfig: { NetworkMode: 'bridge' },
    });
    await container.start();
    return undefined;
  } catch (err) {
    const message = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
    if (message.includes(PROBE_ENTRYPOINT)) return undefined;
    return message.trim();
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
    if (imported) {
      await docker
        .getImage(PROBE_IMAGE)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}

/** Which network modes work on the engine (bridge only when a container's bridge network comes up). */
export async function networkModes(docker: Docker): Promise<NetworkModes> {
  const names = new Set((await docker.listNetworks()).map((n) => n.Name));
  const others = ['host', 'none'].filter((m) => names.has(m));
  if (!names.has('bridge')) {
    return {
      works: others,
      bridgeProblem: 'this engine has no bridge network, e.g. dockerd --bridge=none',
    };
  }
  const problem = await bridgeProblem(docker);
  return problem === undefined
    ? { works: ['bridge', ...others] }
    : { works: others, bridgeProblem: `bridge networking fails on this engine: ${problem}` };
}

/** One line for a banner: the modes that work, and why bridge does not when it does not. */
export function networkingLine(modes: NetworkModes): string {
  const list = modes.works.join(', ');
  return modes.bridgeProblem === undefined
    ? `networking:   ${list}`
    : `networking:   ${list} (${modes.bridgeProblem}: use ${modes.works.join(' or ')})`;
}
