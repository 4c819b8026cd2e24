import { describe, expect, it } from 'vitest';
import { containerPolicyProblems, isUnder, reservedLabelProblems } from '../../core/container-policy.js';

const config = (extra: Record<string, unknown>) => ({ name: 'c', image: 'busybox', ...extra });

describe('container policy', () => {
  it('takes a prefix as whole directories, after normalising both paths', () => {
    expect(isUnder('/data', '/data')).toBe(true);
    expect(isUnder('/data/app', '/data/')).toBe(true);
    expect(isUnder('/database', '/data')).toBe(false);
    expect(isUnder('/data/../etc', '/data')).toBe(false);
    expect(isUnder('/data//x/./y', '/data/x')).toBe(true);
    expect(isUnder('/anything', '/')).toBe(true);
  });

  it('names every refused setting and passes what stays inside the container', () => {
    expect(
      containerPolicyProblems(
        config({
          networkMode: 'Host',
          volumes: [
            { containerPath: '/a', hostPath: '/srv/app/data' },
            { containerPath: '/b', hostPath: 'named-volume' },
            { containerPath: '/c', hostPath: '/srv/app/../../run/docker.sock' },
            { containerPath: '/d', hostPath: '/srv/other' },
            { containerPath: '/e', hostPath: '/srv/app/containerd.sock' },
          ],
        }),
        { allowedHostPaths: ['/srv/app'] },
      ),
    ).toEqual([
      'config.networkMode: use the host network ("host")',
      "config.volumes.2.hostPath: mount the container engine's socket (/srv/app/../../run/docker.sock)",
      'config.volumes.3.hostPath: bind the host path /srv/other (this group allows /srv/app)',
      "config.volumes.4.hostPath: mount the container engine's socket (/srv/app/containerd.sock)",
    ]);
    expect(
      containerPolicyProblems(config({ networkMode: 'container:abc' }), { allowedHostPaths: [] }),
    ).toEqual(['config.networkMode: join another container\'s network ("container:abc")']);
    expect(containerPolicyProblems(config({ networkMode: 'bridge' }), { allowedHostPaths: [] })).toEqual([]);
  });

  it("keeps Humpback's own labels to Humpback, in any case", () => {
    expect(reservedLabelProblems(config({ labels: { 'HUMPBACK.group': 'g', app: 'x' } }))).toEqual([
      'config.labels: HUMPBACK.group is reserved (labels starting with humpback. are set by Humpback)',
    ]);
    expect(reservedLabelProblems(config({ labels: { app: 'x' } }))).toEqual([]);
  });
});
