import type { VolumeInput } from '../gql/graphql';

/**
 * One line of the forms' volume field: `/host/path:/container[:ro]` (a bind), `name:/container[:ro]`
 * (a named volume; `{index}` in a service's is each instance's index) or
 * `nfs://server/export/path:/container[:ro]` (an NFS export). Throws Error with a plain message.
 */
export function parseVolumeLine(line: string): VolumeInput {
  const nfs = /^nfs:\/\/([^/:]+)(\/[^:]*):(\/[^:]*)(?::(ro|rw))?$/.exec(line);
  if (nfs) {
    return { nfs: { server: nfs[1]!, path: nfs[2]! }, containerPath: nfs[3]!, readOnly: nfs[4] === 'ro' };
  }
  const [source, containerPath, mode] = line.split(':');
  if (!source || !containerPath)
    throw new Error(
      `Volume "${line}" should look like /host/path:/container/path[:ro], name:/path or nfs://server/export:/path`,
    );
  const readOnly = mode === 'ro';
  return source.startsWith('/')
    ? { hostPath: source, containerPath, readOnly }
    : { volume: source, containerPath, readOnly };
}
