import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor, freePort } from '../helpers/test-env.js';
import {
  ADMIN_PASSWORD,
  AGENT_TOKEN,
  TempDirs,
  TestClient,
  gatewayConfig,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface VolumeView {
  name: string;
  nodeId: string;
  driver: string;
  options: Array<{ key: string; value: string }>;
  labels: Array<{ key: string; value: string }>;
  mountpoint: string | null;
  sizeBytes: number | null;
  usedBy: Array<{ id: string; name: string }>;
  createdAt: string | null;
}
interface NodeView {
  id: string;
  ip: string;
}

const VOLUME_FIELDS =
  'name nodeId driver options { key value } labels { key value } mountpoint sizeBytes usedBy { id name } createdAt';

/** Each file of a tar stream: its path and the sha256 of its bytes, read as the stream comes. */
async function tarDigests(
  body: ReadableStream<Uint8Array>,
  onChunk?: () => void,
): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (c: unknown) => {
      hash.update(c as Uint8Array);
      onChunk?.();
    });
    stream.on('end', () => {
      if (header.type === 'file') digests.set(header.name.replace(/^\.\//, ''), hash.digest('hex'));
      next();
    });
  });
  await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), extract);
  return digests;
}

/** The text of every file in a tar stream, one after another. */
async function tarText(body: ReadableStream<Uint8Array>): Promise<string> {
  const extract = tar.extract();
  let text = '';
  extract.on('entry', (_h, s, next) => {
    s.on('data', (c: unknown) => (text += Buffer.from(c as Uint8Array).toString()));
    s.on('end', next);
  });
  await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), extract);
  return text;
}

/** A process's resident set in bytes (VmRSS of /proc/<pid>/status). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** `humpback gateway` in a child process (embedded store in `dataDir`), with `nodeArgs` for node. */
async function spawnGateway(
  dataDir: string,
  nodeArgs: readonly string[] = [],
): Promise<{ proc: ChildProcess; url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/humpback.ts', 'gateway'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      VITEST: undefined,
      HUMPBACK_LOG_LEVEL: 'warn',
      HUMPBACK_LISTEN: `127.0.0.1:${port}`,
      HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
      HUMPBACK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUMPBACK_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  try {
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`gateway exited with ${proc.exitCode}`);
        const res = await fetch(`${url}/healthz`).catch(() => undefined);
        return res?.ok || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'gateway /healthz' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, url: `${url}/graphql`, stop };
}

/**
 * Volumes on the real engines: agents in this process (helper image: the test image), the real
 * gateway over HTTP. Per-node lists, create/use/refuse/remove, the archive download, a meta's
 * per-instance volumes, the policy for non-admins, and NFS up to the mount (the kernel here has no
 * NFS client: see the NFS test).
 */
describe('volumes on the real engines', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const prefix = `hbvol-${suffix}`;
  const names = ['n1', 'n2', 'n3'];
  const agents: Array<RunningAgent & { address: string }> = [];
  let gateway: RunningGateway | undefined;
  let admin: TestClient;
  let groupId: string;
  let nodes: NodeView[];
  let n1: string;

  const nodeOf = (engine: string): string => nodes.find((n) => n.ip === engineNamed(env, engine).ip)!.id;
  const engineOfNode = (nodeId: string): string =>
    names.find((e) => engineNamed(env, e).ip === nodes.find((n) => n.id === nodeId)!.ip)!;

  const volumes = async (client: TestClient, nodeId: string): Promise<VolumeView[]> =>
    (
      await client.request<{ volumes: VolumeView[] }>(
        `query($n: ID!) { volumes(nodeId: $n) { ${VOLUME_FIELDS} } }`,
        { n: nodeId },
      )
    ).volumes;
  const volume = async (nodeId: string, name: string): Promise<VolumeView | undefined> =>
    (await volumes(admin, nodeId)).find((v) => v.name === name);

  const archiveUrl = (nodeId: string, name: string, path?: string): string =>
    `${gateway!.url.replace(/\/graphql$/, '')}/volumes/${nodeId}/${name}/archive${path ? `?path=${encodeURIComponent(path)}` : ''}`;
  const download = (
    nodeId: string,
    name: string,
    token: string | undefined = admin.token,
    path?: string,
  ): Promise<Response> =>
    fetch(archiveUrl(nodeId, name, path), { headers: token ? { authorization: `Bearer ${token}` } : {} });

  /** Runs `script` in a container of the test image on `nodeId` with the volume at /data; waits for its end. */
  const runOnce = async (
    nodeId: string,
    volumeName: string,
    script: string,
    keep = false,
  ): Promise<string> => {
    const name = `${prefix}-run-${randomBytes(2).toString('hex')}`;
    const { createContainer } = await admin.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: nodeId,
        c: {
          name,
          image: env.image,
          networkMode: 'none',
          command: ['sh', '-c', script],
          volumes: [{ containerPath: '/data', volume: volumeName }],
        },
      },
    );
    const docker = dockerFor(engineNamed(env, engineOfNode(nodeId)));
    const result = (await docker.getContainer(createContainer.id).wait()) as { StatusCode: number };
    expect(result.StatusCode).toBe(0);
    if (!keep) await docker.getContainer(createContainer.id).remove({ force: true });
    return createContainer.id;
  };

  beforeAll(async () => {
    for (const name of names)
      agents.push(
        await startTestAgent(engineNamed(env, name), tmp.make(`hb-vol-${name}-`), {
          HUMPBACK_HELPER_IMAGE: env.image,
        }),
      );
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-vol-gw-') }),
    });
    admin = new TestClient(gateway.url);
    await admin.login();
    const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: prefix, clusterMode: true, servers: agents.map((a) => a.address) } },
    );
    groupId = createGroup.id;
    nodes = await waitFor(
      async () => {
        const data = await admin.request<{ nodes: NodeView[] }>(
          'query($g: ID!) { nodes(groupId: $g, status: HEALTHY) { id ip } }',
          { g: groupId },
        );
        return data.nodes.length === 3 ? data.nodes : undefined;
      },
      { timeoutMs: 20_000, description: 'three HEALTHY nodes' },
    );
    n1 = nodeOf('n1');
  });

  afterAll(async () => {
    await admin?.close();
    await gateway?.close();
    for (const name of names) {
      const docker = dockerFor(engineNamed(env, name));
      const list = await docker.listContainers({ all: true }).catch(() => []);
      for (const c of list.filter((c) => c.Names.some((n) => n.includes(suffix))))
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      const vols = (await docker.listVolumes().catch(() => ({ Volumes: [] }))).Volumes ?? [];
      for (const v of vols.filter((v) => v.Name.includes(suffix) || v.Labels?.['hbvol-test'] === suffix))
        await docker
          .getVolume(v.Name)
          .remove({ force: true })
          .catch(() => undefined);
    }
    for (const a of agents) await a.close().catch(() => undefined);
    tmp.cleanup();
  });

  it('creates, lists (also volumes made outside Humpback), uses, refuses removal in use, clears and removes', async () => {
    const name = `${prefix}-a`;
    const { createVolume } = await admin.request<{ createVolume: VolumeView }>(
      `mutation($n: ID!, $i: CreateVolumeInput!) { createVolume(nodeId: $n, input: $i) { ${VOLUME_FIELDS} } }`,
      { n: n1, i: { name, labels: [{ key: 'team', value: 'blue' }] } },
    );
    expect(createVolume).toEqual({
      name,
      nodeId: n1,
      driver: 'local',
      options: [],
      labels: [{ key: 'team', value: 'blue' }],
      mountpoint: expect.stringContaining(name) as string,
      sizeBytes: expect.any(Number) as number,
      usedBy: [],
      createdAt: expect.any(String) as string,
    });
    const outside = `${prefix}-outside`;
    await dockerFor(engineNamed(env, 'n1')).createVolume({ Name: outside });
    const listed = (await volumes(admin, n1)).map((v) => v.name);
    expect(listed).toEqual(expect.arrayContaining([name, outside]));

    const holder = `${prefix}-holder`;
    const { createContainer } = await admin.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: n1,
        c: {
          name: holder,
          image: env.image,
          networkMode: 'none',
          command: ['sh', '-c', 'echo kept > /data/file; trap "exit 0" TERM; while true; do sleep 1; done'],
          volumes: [{ containerPath: '/data', volume: name }],
        },
      },
    );
    expect((await volume(n1, name))?.usedBy).toEqual([{ id: createContainer.id, name: holder }]);
    const remove = `mutation($n: ID!, $v: String!) { removeVolume(nodeId: $n, name: $v) }`;
    expect(await admin.errorCode(remove, { n: n1, v: name })).toBe('CONFLICT');
    expect(
      await admin.errorCode(`mutation($n: ID!, $v: String!) { clearVolume(nodeId: $n, name: $v) }`, {
        n: n1,
        v: name,
      }),
    ).toBe('CONFLICT');
    // The volume is untouched by the refusals.
    expect((await volume(n1, name))?.name).toBe(name);

    await admin.request('mutation($id: ID!) { removeContainer(id: $id, force: true) }', {
      id: createContainer.id,
    });
    expect((await volume(n1, name))?.usedBy).toEqual([]);
    const before = await tarDigests((await download(n1, name)).body!);
    expect([...before.keys()]).toEqual(['file']);
    await admin.request(`mutation($n: ID!, $v: String!) { clearVolume(nodeId: $n, name: $v) }`, {
      n: n1,
      v: name,
    });
    expect((await tarDigests((await download(n1, name)).body!)).size).toBe(0);
    expect(await admin.request(remove, { n: n1, v: name })).toEqual({ removeVolume: true });
    expect(await admin.request(remove, { n: n1, v: outside })).toEqual({ removeVolume: true });
    const after = (await volumes(admin, n1)).map((v) => v.name);
    expect(after).not.toContain(name);
    expect(after).not.toContain(outside);
  });

  it('streams a volume as a tar of paths relative to its root; 401 without a token', async () => {
    const name = `${prefix}-tar`;
    await runOnce(
      n1,
      name,
      'mkdir -p /data/sub/deep && echo one > /data/a.txt && echo two > /data/sub/deep/b.txt',
    );
    const res = await download(n1, name);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-tar');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(Object.fromEntries(await tarDigests(res.body!))).toEqual({
      'a.txt': sha('one\n'),
      'sub/deep/b.txt': sha('two\n'),
    });
    // ?path= : only that part, still named from the volume's root.
    expect(
      Object.fromEntries(await tarDigests((await download(n1, name, admin.token, 'sub/deep')).body!)),
    ).toEqual({
      'sub/deep/b.txt': sha('two\n'),
    });
    expect((await fetch(archiveUrl(n1, name))).status).toBe(401);
    expect((await download(n1, name, 'not-a-token')).status).toBe(401);
    expect((await download(n1, `${prefix}-missing`)).status).toBe(404);
    // No helper container is left behind (each goes as its stream ends).
    const docker = dockerFor(engineNamed(env, 'n1'));
    await waitFor(
      async () =>
        (await docker.listContainers({ all: true, filters: { label: ['humpback.volume-helper'] } }))
          .length === 0 || undefined,
      { description: 'helper containers removed' },
    );
  });

  it('removes a volume whose download helper is still going (it is ours, not a user)', async () => {
    const name = `${prefix}-linger`;
    await runOnce(n1, name, 'echo x > /data/x');
    // What a download leaves for a moment after its stream ended: a helper container on the volume.
    const docker = dockerFor(engineNamed(env, 'n1'));
    const helper = await docker.createContainer({
      name: `${name}-helper`,
      Image: env.image,
      Cmd: ['true'],
      Labels: { 'humpback.volume-helper': name },
      HostConfig: { NetworkMode: 'none', Binds: [`${name}:/volume`] },
    });
    expect(
      await admin.request('mutation($n: ID!, $v: String!) { removeVolume(nodeId: $n, name: $v) }', {
        n: n1,
        v: name,
      }),
    ).toEqual({ removeVolume: true });
    await expect(helper.inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(docker.getVolume(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('restores a downloaded tar byte for byte into a new volume (restoreVolume from POST /uploads)', async () => {
    const source = `${prefix}-src`;
    await runOnce(
      n1,
      source,
      'mkdir -p /data/d/e && dd if=/dev/urandom of=/data/d/e/blob bs=1024 count=300 2>/dev/null && echo note > /data/n.txt',
    );
    const tarBytes = Buffer.from(await (await download(n1, source)).arrayBuffer());
    const base = gateway!.url.replace(/\/graphql$/, '');
    const up = await fetch(`${base}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/x-tar' },
      body: tarBytes,
    });
    expect(up.status).toBe(201);
    const { uploadId } = (await up.json()) as { uploadId: string };
    const target = `${prefix}-dst`;
    await admin.request(
      'mutation($n: ID!, $i: CreateVolumeInput!) { createVolume(nodeId: $n, input: $i) { name } }',
      {
        n: nodeOf('n2'),
        i: { name: target },
      },
    );
    const restore =
      'mutation($n: ID!, $v: String!, $u: ID!, $p: String) { restoreVolume(nodeId: $n, name: $v, uploadId: $u, path: $p) }';
    expect(await admin.request(restore, { n: nodeOf('n2'), v: target, u: uploadId })).toEqual({
      restoreVolume: true,
    });
    const want = await tarDigests(new Blob([tarBytes]).stream());
    expect([...want.keys()].sort()).toEqual(['d/e/blob', 'n.txt']);
    expect(await tarDigests((await download(nodeOf('n2'), target)).body!)).toEqual(want);
    // The upload is used up: a second restore names it.
    const again = await admin.raw(restore, { n: nodeOf('n2'), v: target, u: uploadId, p: 'copy' });
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(again.errors?.[0]?.message).toContain(uploadId);
  });

  it('downloads a 50 MB volume with the gateway process growing by less than 20 MB', async () => {
    const name = `${prefix}-big`;
    await runOnce(
      n1,
      name,
      'dd if=/dev/urandom of=/data/big bs=1048576 count=50 2>/dev/null && sha256sum /data/big > /data/big.sha',
    );
    // A gateway of its own in a child process, so its RSS is the gateway's alone (the agents stay here).
    // V8 grows its young generation to up to 3 x 16 MB under any fast allocation (50 MB passing through
    // in 64 KB chunks is that), whether or not anything is held: with it fixed at 1 MB, what the RSS
    // still gains is what the gateway keeps of the stream. A buffered volume would add its 50 MB.
    const child = await spawnGateway(tmp.make('hb-vol-gw2-'), ['--max-semi-space-size=1']);
    try {
      const other = new TestClient(child.url);
      await other.login();
      await other.request('mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }', {
        input: { name: `${prefix}-rss`, clusterMode: false, servers: [agents[0]!.address] },
      });
      const base = child.url.replace(/\/graphql$/, '');
      const get = (path?: string) =>
        fetch(`${base}/volumes/${n1}/${name}/archive${path ? `?path=${path}` : ''}`, {
          headers: { authorization: `Bearer ${other.token}` },
        });
      const shaLine = await waitFor(
        async () => {
          const r = await get('big.sha');
          return r.ok ? tarText(r.body!) : undefined;
        },
        { timeoutMs: 20_000, description: 'the node HEALTHY on the second gateway' },
      );
      // One whole download first: the code paths it loads and compiles once are not what is measured.
      await tarDigests((await get()).body!, () => undefined);
      const baseline = rssOf(child.proc.pid!);
      let peak = baseline;
      const digests = await tarDigests((await get()).body!, () => {
        peak = Math.max(peak, rssOf(child.proc.pid!));
      });
      expect([...digests.keys()].sort()).toEqual(['big', 'big.sha']);
      // The bytes are the volume's: sha256sum ran inside the container that wrote them.
      expect(digests.get('big')).toBe(shaLine.split(/\s+/)[0]);
      expect(peak - baseline).toBeLessThan(20 * 1024 * 1024);
    } finally {
      await child.stop();
    }
  });

  it('gives each instance of a meta of 3 its own data-{index} volume, kept when the instance is recreated', async () => {
    const metaName = `${prefix}-m`;
    const { createMeta } = await admin.request<{
      createMeta: { id: string; containers: Array<{ nodeId: string; index: number }> };
    }>(
      `mutation($input: CreateMetaInput!) { createMeta(input: $input) { id containers { nodeId index } } }`,
      {
        input: {
          groupId,
          instances: 3,
          config: {
            name: metaName,
            image: env.image,
            networkMode: 'none',
            command: [
              'sh',
              '-c',
              'echo started >> /data/starts; trap "exit 0" TERM; while true; do sleep 1; done',
            ],
            volumes: [{ containerPath: '/data', volume: `${prefix}-data-{index}` }],
          },
        },
      },
    );
    const where = new Map(createMeta.containers.map((c) => [c.index, c.nodeId]));
    expect(where.size).toBe(3);
    const first = [...where.keys()].sort()[0]!;
    for (const [index, nodeId] of where) {
      const v = await waitFor(() => volume(nodeId, `${prefix}-data-${index}`), {
        description: `data-${index}`,
      });
      expect(v.usedBy).toHaveLength(1);
    }
    const starts = async (index: number): Promise<string> =>
      tarText((await download(where.get(index)!, `${prefix}-data-${index}`, admin.token, 'starts')).body!);
    await waitFor(async () => ((await starts(first)) === 'started\n' ? true : undefined), {
      description: 'first start written',
    });
    // The upgrade recreates every instance (same node, new container): the volume and its data stay.
    const { upgradeMeta } = await admin.request<{
      upgradeMeta: { containers: Array<{ id: string; nodeId: string; index: number }> };
    }>('mutation($id: ID!) { upgradeMeta(id: $id, imageTag: "v2") { containers { id nodeId index } } }', {
      id: createMeta.id,
    });
    expect(new Map(upgradeMeta.containers.map((c) => [c.index, c.nodeId]))).toEqual(where);
    await waitFor(async () => ((await starts(first)) === 'started\nstarted\n' ? true : undefined), {
      description: 'the recreated instance appended to the same volume',
    });
    await admin.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id });
  });

  it('makes NFS volumes (local driver, type=nfs) and reports the mount failure in Docker’s words', async () => {
    // This machine's kernel has no NFS client (no nfs in /proc/filesystems): Docker makes the volume,
    // and every mount of it fails with "no such device". Everything up to the mount call is real.
    const server = env.nfs?.server ?? env.bridgeIp;
    const exportPath = env.nfs?.exportPath ?? '/export';
    const name = `${prefix}-nfs`;
    const { createVolume } = await admin.request<{ createVolume: VolumeView }>(
      `mutation($n: ID!, $i: CreateVolumeInput!) { createVolume(nodeId: $n, input: $i) { ${VOLUME_FIELDS} } }`,
      { n: n1, i: { name, nfs: { server, path: exportPath, options: 'vers=4,soft' } } },
    );
    expect(createVolume.driver).toBe('local');
    expect(createVolume.options).toEqual([
      { key: 'device', value: `:${exportPath}` },
      { key: 'o', value: `addr=${server},vers=4,soft` },
      { key: 'type', value: 'nfs' },
    ]);
    // A container with `nfs` in its config: the agent makes the volume on its node, Docker mounts it.
    const res = await admin.raw<unknown>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: nodeOf('n2'),
        c: {
          name: `${prefix}-nfsuser`,
          image: env.image,
          networkMode: 'none',
          command: ['ls', '/data'],
          volumes: [{ containerPath: '/data', nfs: { server, path: exportPath } }],
        },
      },
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('ENGINE_ERROR');
    expect(res.errors?.[0]?.message).toMatch(/failed to mount local volume: mount :\/export.*no such device/);
    const made = (await volumes(admin, nodeOf('n2'))).find((v) =>
      v.options.some((o) => o.value === `addr=${server}`),
    );
    expect(made?.name).toMatch(/^nfs-[0-9a-f]{16}$/);
    await dockerFor(engineNamed(env, 'n2')).getVolume(made!.name).remove();
    await admin.request(`mutation($n: ID!, $v: String!) { removeVolume(nodeId: $n, name: $v) }`, {
      n: n1,
      v: name,
    });
  });

  it('keeps non-admins to their own volumes: no NFS or driver options, nothing another group’s container uses', async () => {
    await admin.request(
      'mutation { createUser(input: { username: "vol-user", password: "password-123", admin: false }) { id } }',
    );
    const user = new TestClient(gateway!.url);
    await user.login('vol-user', 'password-123');
    const me = await user.request<{ me: { id: string } }>('{ me { id } }');
    // The user's single-mode group shares n1 with the admin's cluster group.
    const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      { input: { name: `${prefix}-u`, clusterMode: false, servers: [agents[0]!.address] } },
    );
    await admin.request(
      'mutation($id: ID!, $o: [String!]) { updateGroup(id: $id, input: { owners: $o }) { id } }',
      {
        id: createGroup.id,
        o: [me.me.id],
      },
    );
    const create = `mutation($n: ID!, $i: CreateVolumeInput!) { createVolume(nodeId: $n, input: $i) { name } }`;
    expect(
      await user.errorCode(create, {
        n: n1,
        i: { name: `${prefix}-u1`, nfs: { server: '10.0.0.1', path: '/x' } },
      }),
    ).toBe('FORBIDDEN');
    expect(
      await user.errorCode(create, {
        n: n1,
        i: {
          name: `${prefix}-u1`,
          options: [
            { key: 'type', value: 'none' },
            { key: 'o', value: 'bind' },
            { key: 'device', value: '/etc' },
          ],
        },
      }),
    ).toBe('FORBIDDEN');
    expect(await user.request(create, { n: n1, i: { name: `${prefix}-u1` } })).toEqual({
      createVolume: { name: `${prefix}-u1` },
    });
    expect((await volumes(user, n1)).map((v) => v.name)).toContain(`${prefix}-u1`);

    // The admin group's meta instance on n1 uses a volume: it is not the user's.
    const { createMeta } = await admin.request<{
      createMeta: { id: string; containers: Array<{ nodeId: string; index: number }> };
    }>(
      `mutation($input: CreateMetaInput!) { createMeta(input: $input) { id containers { nodeId index } } }`,
      {
        input: {
          groupId,
          instances: 3,
          config: {
            name: `${prefix}-secret`,
            image: env.image,
            networkMode: 'none',
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            volumes: [{ containerPath: '/data', volume: `${prefix}-secret-{index}` }],
          },
        },
      },
    );
    const onN1 = createMeta.containers.find((c) => c.nodeId === n1)!;
    const secret = `${prefix}-secret-${onN1.index}`;
    const mount = await user.raw<unknown>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      {
        n: n1,
        c: {
          name: `${prefix}-steal`,
          image: env.image,
          networkMode: 'none',
          volumes: [{ containerPath: '/d', volume: secret }],
        },
      },
    );
    expect(mount.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(mount.errors?.[0]?.message).toContain(
      `config.volumes.0.volume: ${secret} is used by a container of another group`,
    );
    for (const op of ['clearVolume', 'removeVolume']) {
      expect(
        await user.errorCode(`mutation($n: ID!, $v: String!) { ${op}(nodeId: $n, name: $v) }`, {
          n: n1,
          v: secret,
        }),
      ).toBe('FORBIDDEN');
    }
    expect((await download(n1, secret, user.token)).status).toBe(403);
    // Its own volume: downloadable, removable.
    expect((await download(n1, `${prefix}-u1`, user.token)).status).toBe(200);
    expect(
      await user.request(`mutation($n: ID!, $v: String!) { removeVolume(nodeId: $n, name: $v) }`, {
        n: n1,
        v: `${prefix}-u1`,
      }),
    ).toEqual({ removeVolume: true });
    // The user does not see the other group's container in usedBy.
    expect((await volumes(user, n1)).find((v) => v.name === secret)?.usedBy).toEqual([]);
    await admin.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: createMeta.id });
    await user.close();
  });
});
