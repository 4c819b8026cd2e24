// Registries and the image pipeline on the test environment's three real engines and its real
// registry (basic auth): credentials checked and kept encrypted, a tarball uploaded and built on n1
// with its log streamed, pushed, browsed, deployed as a meta of 3 pulling with the stored
// credentials; load, commit, a broken build, and a user outside the node's groups.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

const run = promisify(execFile);
const env = loadTestEnv();
const reg = env.registry;
const suffix = randomBytes(3).toString('hex');
const repo = `hbreg/app-${suffix}`;
const appImage = `${reg.address}/${repo}:1`;
const loadTag = `hbreg-load-${suffix}:1`;
const commitTag = `hbreg-commit-${suffix}:1`;
const tmp = new TempDirs();
const agents = new Map<string, RunningAgent & { address: string }>();
let gateway: RunningGateway;
let admin: TestClient;
let groupId: string;
let nodeIds: Record<string, string> = {};
let registryId: string;
let metaId: string | undefined;

interface Job {
  id: string;
  kind: string;
  status: string;
  nodeId: string;
  image: string | null;
  log: string[];
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}
const JOB = 'id kind status nodeId image log error createdAt finishedAt';

/** A tarball of `files` (name → content), uploaded; its uploadId. */
async function uploadTar(client: TestClient, files: Record<string, string>): Promise<string> {
  const dir = tmp.make('hb-ctx-');
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  const tar = path.join(tmp.make('hb-tar-'), 'ctx.tar');
  await run('tar', ['-C', dir, '-cf', tar, '.']);
  return uploadFile(client, tar);
}

async function uploadFile(client: TestClient, file: string): Promise<string> {
  const res = await fetch(gateway.url.replace(/\/graphql$/, '/uploads'), {
    method: 'POST',
    headers: { authorization: `Bearer ${client.token}` },
    body: await readFile(file),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { uploadId: string }).uploadId;
}

/** Waits for the job to end; the job as it ended. */
function finished(client: TestClient, id: string): Promise<Job> {
  return waitFor(
    async () => {
      const { imageJob } = await client.request<{ imageJob: Job }>(
        `query($id: ID!) { imageJob(id: $id) { ${JOB} } }`,
        { id },
      );
      return imageJob.status === 'SUCCEEDED' || imageJob.status === 'FAILED' ? imageJob : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, description: `image job ${id} to end` },
  );
}

const push = async (image: string): Promise<Job> => {
  const { pushImage } = await admin.request<{ pushImage: Job }>(
    `mutation($n: ID!, $i: String!) { pushImage(nodeId: $n, image: $i) { ${JOB} } }`,
    { n: nodeIds['n1'], i: image },
  );
  return finished(admin, pushImage.id);
};

const removeImages = async (name: string, images: string[]): Promise<void> => {
  const docker = dockerFor(engineNamed(env, name));
  for (const i of images)
    await docker
      .getImage(i)
      .remove({ force: true })
      .catch(() => undefined);
};

beforeAll(async () => {
  for (const name of ['n1', 'n2', 'n3'])
    agents.set(name, await startTestAgent(engineNamed(env, name), tmp.make(`hb-agent-${name}-`)));
  gateway = await startTestGateway({ config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-gw-') }) });
  admin = new TestClient(gateway.url);
  await admin.login();
  const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
    'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
    {
      input: {
        name: `hbreg-${suffix}`,
        clusterMode: true,
        servers: [...agents.values()].map((a) => a.address),
      },
    },
  );
  groupId = createGroup.id;
  const nodes = await healthyNodes(admin, groupId, 3);
  nodeIds = Object.fromEntries(nodes.map((n) => [env.engines.find((e) => e.ip === n.ip)!.name, n.id]));
}, 60_000);

afterAll(async () => {
  if (metaId)
    await admin.request('mutation($id: ID!) { removeMeta(id: $id) }', { id: metaId }).catch(() => undefined);
  for (const name of ['n1', 'n2', 'n3'])
    await removeImages(name, [appImage, loadTag, commitTag, `hbreg-broken-${suffix}:1`]);
  await admin?.close();
  await gateway?.close();
  for (const a of agents.values()) await a.close();
  tmp.cleanup();
}, 60_000);

describe('registries and the image pipeline', () => {
  it('refuses wrong credentials with BAD_USER_INPUT and stores nothing; keeps the right ones encrypted', async () => {
    const add =
      'mutation($input: RegistryInput!) { addRegistry(input: $input) { id name url username insecure createdAt } }';
    const wrong = await admin.raw(add, {
      input: {
        name: 'test',
        url: reg.address,
        username: reg.username,
        password: 'wrong-password',
        insecure: true,
      },
    });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(wrong.errors?.[0]?.message).toContain('refused the credentials');
    expect((await admin.request<{ registries: unknown[] }>('{ registries { id } }')).registries).toEqual([]);

    const { addRegistry } = await admin.request<{ addRegistry: { id: string } }>(add, {
      input: {
        name: 'test',
        url: reg.address,
        username: reg.username,
        password: reg.password,
        insecure: true,
      },
    });
    registryId = addRegistry.id;
    expect(addRegistry).toEqual({
      id: expect.any(String),
      name: 'test',
      url: reg.address,
      username: reg.username,
      insecure: true,
      createdAt: expect.any(String),
    });
    const stored = await gateway.core.store.get('registries', registryId);
    expect(JSON.stringify(stored)).not.toContain(reg.password);
    expect(stored?.secret).toMatch(/^v1:/);
  });

  it('builds an uploaded tarball on n1 with its log streamed, pushes it and shows it in the browser', async () => {
    const uploadId = await uploadTar(admin, {
      'docker/Dockerfile.app': `FROM ${env.image}\nARG GREETING\nRUN echo "$GREETING" > /greeting\nCMD ["sh", "-c", "cat /greeting; trap 'exit 0' TERM; while true; do sleep 1; done"]\n`,
    });
    const { buildImage } = await admin.request<{ buildImage: Job }>(
      `mutation($n: ID!, $u: ID!, $t: String!) { buildImage(nodeId: $n, uploadId: $u, tag: $t, dockerfile: "docker/Dockerfile.app", buildArgs: [{ key: "GREETING", value: "hello-${suffix}" }]) { ${JOB} } }`,
      { n: nodeIds['n1'], u: uploadId, t: appImage },
    );
    expect(buildImage).toMatchObject({ kind: 'BUILD', nodeId: nodeIds['n1'], image: appImage, error: null });
    const events = await admin.subscribe<{
      imageJobProgress: { job: Job; line: string | null; progress: number | null };
    }>(`subscription($id: ID!) { imageJobProgress(jobId: $id) { job { ${JOB} } line progress } }`, {
      id: buildImage.id,
    });
    const last = await events.next(
      (e) => e.imageJobProgress.job.status !== 'RUNNING',
      60_000,
      'the build to end',
    );
    events.stop();
    expect(last.imageJobProgress.job.status).toBe('SUCCEEDED');
    expect(events.seen[0]!.imageJobProgress.line).toBeNull(); // the job as it stood
    const log = last.imageJobProgress.job.log;
    expect(log.some((l) => l.startsWith('Step 1/'))).toBe(true);
    // every line arrived once, in order, as the stored log has them
    const lines = [
      ...events.seen[0]!.imageJobProgress.job.log,
      ...events.seen.slice(1).flatMap((e) => (e.imageJobProgress.line ? [e.imageJobProgress.line] : [])),
    ];
    expect(lines).toEqual(log);
    expect((await finished(admin, buildImage.id)).log).toEqual(log);

    const pushed = await push(appImage);
    expect(pushed.status, pushed.error ?? '').toBe('SUCCEEDED');
    const info = await dockerFor(engineNamed(env, 'n1')).getImage(appImage).inspect();
    const digest = info.RepoDigests.find((d) => d.startsWith(`${reg.address}/${repo}@`))!.split('@')[1];

    const { registryRepositories } = await admin.request<{
      registryRepositories: Array<{
        name: string;
        tags: Array<{ name: string; digest: string; sizeBytes: number; created: string }>;
      }>;
    }>(
      'query($r: ID!, $s: String) { registryRepositories(registryId: $r, search: $s) { name tags { name digest sizeBytes created } } }',
      {
        r: registryId,
        s: `APP-${suffix}`,
      },
    );
    expect(registryRepositories).toEqual([
      {
        name: repo,
        tags: [{ name: '1', digest, sizeBytes: expect.any(Number), created: expect.any(String) }],
      },
    ]);
  }, 120_000);

  it("pulls the pushed image on n2 as a PULL job with its progress streamed; an unknown tag fails with the registry's words", async () => {
    await removeImages('n2', [appImage]);
    const start = `mutation($n: ID!, $i: String!) { startPull(nodeId: $n, image: $i) { ${JOB} } }`;
    const { startPull } = await admin.request<{ startPull: Job }>(start, { n: nodeIds['n2'], i: appImage });
    expect(startPull).toEqual({
      id: expect.any(String),
      kind: 'PULL',
      status: 'RUNNING',
      nodeId: nodeIds['n2'],
      image: appImage,
      log: [],
      error: null,
      createdAt: expect.any(String),
      finishedAt: null,
    });
    const events = await admin.subscribe<{
      imageJobProgress: { job: Job; line: string | null; progress: number | null };
    }>(`subscription($id: ID!) { imageJobProgress(jobId: $id) { job { ${JOB} } line progress } }`, {
      id: startPull.id,
    });
    const last = await events.next(
      (e) => e.imageJobProgress.job.status !== 'RUNNING',
      60_000,
      'the pull to end',
    );
    events.stop();
    const job = last.imageJobProgress.job;
    expect(job.status).toBe('SUCCEEDED');
    expect(job.error).toBeNull();
    expect(job.log).toContain(`Status: Downloaded newer image for ${appImage}`);
    expect(job.log.some((l) => /: Pull complete$/.test(l))).toBe(true);
    // The layers' bytes as progress while it ran (the last event is the image line, without progress).
    expect(events.seen.some((e) => (e.imageJobProgress.progress ?? 0) > 0)).toBe(true);
    expect(events.seen.filter((e) => e.imageJobProgress.line !== null).length).toBeGreaterThan(2);
    const info = await dockerFor(engineNamed(env, 'n2')).getImage(appImage).inspect();
    expect(job.log.at(-1)).toBe(`image ${appImage} (${info.Id})`);
    // The job stays queryable with its whole log.
    const { imageJob } = await admin.request<{ imageJob: Job }>(
      `query($id: ID!) { imageJob(id: $id) { ${JOB} } }`,
      { id: startPull.id },
    );
    expect(imageJob).toEqual(job);

    const missing = `${reg.address}/${repo}:no-such-tag`;
    const failed = await admin.request<{ startPull: Job }>(start, { n: nodeIds['n2'], i: missing });
    const end = await finished(admin, failed.startPull.id);
    expect(end.kind).toBe('PULL');
    expect(end.status).toBe('FAILED');
    expect(end.error).toMatch(/manifest unknown|not found/);
    expect(end.finishedAt).not.toBeNull();
  }, 90_000);

  it('starts a meta of 3 with the pushed image on all three nodes, each pulling with the stored credentials', async () => {
    for (const name of ['n2', 'n3']) await removeImages(name, [appImage]);
    const { createMeta } = await admin.request<{ createMeta: { id: string } }>(
      'mutation($input: CreateMetaInput!) { createMeta(input: $input) { id } }',
      {
        input: {
          groupId,
          instances: 3,
          config: { name: `hbreg-meta-${suffix}`, image: appImage, networkMode: 'none' },
        },
      },
    );
    metaId = createMeta.id;
    const containers = await waitFor(
      async () => {
        const { meta } = await admin.request<{
          meta: { containers: Array<{ nodeId: string; state: string }> };
        }>('query($id: ID!) { meta(id: $id) { containers { nodeId state } } }', { id: metaId });
        const up = meta.containers.filter((c) => c.state === 'RUNNING');
        return up.length === 3 ? up : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, description: 'three running instances' },
    );
    expect(new Set(containers.map((c) => c.nodeId))).toEqual(new Set(Object.values(nodeIds)));
  }, 90_000);

  it('commits a container and loads a docker save tar into runnable images', async () => {
    const n1 = dockerFor(engineNamed(env, 'n1'));
    const { containers } = await admin.request<{
      containers: { nodes: Array<{ id: string; nodeId: string }> };
    }>('query($m: ID) { containers(metaId: $m, first: 10) { nodes { id nodeId } } }', { m: metaId });
    const source = containers.nodes.find((c) => c.nodeId === nodeIds['n1'])!;
    const { commitContainer } = await admin.request<{ commitContainer: Job }>(
      `mutation($c: ID!, $t: String!) { commitContainer(containerId: $c, tag: $t) { ${JOB} } }`,
      { c: source.id, t: commitTag },
    );
    const committed = await finished(admin, commitContainer.id);
    expect(committed).toMatchObject({ status: 'SUCCEEDED', image: commitTag, nodeId: nodeIds['n1'] });
    await runs('n1', commitTag, `hello-${suffix}`);

    // a docker save tar of the built image, under another name, loaded on n2
    await n1.getImage(appImage).tag({ repo: loadTag.split(':')[0]!, tag: '1' });
    const tar = path.join(tmp.make('hb-save-'), 'image.tar');
    await pipeline(await n1.getImage(loadTag).get(), createWriteStream(tar));
    await n1.getImage(loadTag).remove();
    const uploadId = await uploadFile(admin, tar);
    const { loadImage } = await admin.request<{ loadImage: Job }>(
      `mutation($n: ID!, $u: ID!) { loadImage(nodeId: $n, uploadId: $u) { ${JOB} } }`,
      { n: nodeIds['n2'], u: uploadId },
    );
    const loaded = await finished(admin, loadImage.id);
    expect(loaded).toMatchObject({ status: 'SUCCEEDED', kind: 'LOAD', image: loadTag });
    await runs('n2', loadTag, `hello-${suffix}`);
  }, 90_000);

  it("fails a broken Dockerfile's build with Docker's words", async () => {
    const uploadId = await uploadTar(admin, { Dockerfile: `FROM ${env.image}\nRUN exit 3\n` });
    const { buildImage } = await admin.request<{ buildImage: Job }>(
      `mutation($n: ID!, $u: ID!, $t: String!) { buildImage(nodeId: $n, uploadId: $u, tag: $t) { ${JOB} } }`,
      { n: nodeIds['n1'], u: uploadId, t: `hbreg-broken-${suffix}:1` },
    );
    const job = await finished(admin, buildImage.id);
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatch(/returned a non-zero code: 3/);
    expect(job.finishedAt).not.toBeNull();
  }, 60_000);

  it("refuses a job of a user outside the node's groups, and hides the jobs there", async () => {
    const name = `hbreg-user-${suffix}`;
    await admin.request(
      'mutation($u: String!) { createUser(input: { username: $u, password: "password-123", admin: false }) { id } }',
      { u: name },
    );
    const user = new TestClient(gateway.url);
    await user.login(name, 'password-123');
    const uploadId = await uploadTar(user, { Dockerfile: `FROM ${env.image}\n` });
    const refused = await user.raw(
      `mutation($n: ID!, $u: ID!) { buildImage(nodeId: $n, uploadId: $u, tag: "hbreg-nope:1") { id } }`,
      { n: nodeIds['n1'], u: uploadId },
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await user.request<{ imageJobs: unknown[] }>('{ imageJobs { id } }')).imageJobs).toEqual([]);
    const pushRefused = await user.raw('mutation($n: ID!) { pushImage(nodeId: $n, image: "x:1") { id } }', {
      n: nodeIds['n1'],
    });
    expect(pushRefused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('upgrades a container to a tag it pulls with the stored credentials', async () => {
    const image2 = appImage.replace(/:1$/, ':2');
    await dockerFor(engineNamed(env, 'n1'))
      .getImage(appImage)
      .tag({ repo: `${reg.address}/${repo}`, tag: '2' });
    const pushed = await push(image2);
    expect(pushed.status, pushed.error ?? '').toBe('SUCCEEDED');
    await removeImages('n2', [image2]);
    const n2 = dockerFor(engineNamed(env, 'n2'));
    await expect(n2.getImage(image2).inspect()).rejects.toThrow(/no such image/i);
    const { createContainer } = await admin.request<{ createContainer: { id: string } }>(
      'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }',
      { n: nodeIds['n2'], c: { name: `hbreg-up-${suffix}`, image: appImage, networkMode: 'none' } },
    );
    try {
      const { upgradeContainer } = await admin.request<{
        upgradeContainer: { id: string; image: string; state: string };
      }>('mutation($id: ID!) { upgradeContainer(id: $id, imageTag: "2") { id image state } }', {
        id: createContainer.id,
      });
      expect(upgradeContainer).toEqual({ id: expect.any(String), image: image2, state: 'RUNNING' });
      const info = await n2.getContainer(upgradeContainer.id).inspect();
      expect(info.Config.Image).toBe(image2);
      expect((await n2.getImage(image2).inspect()).RepoTags).toContain(image2);
    } finally {
      await n2
        .getContainer(`hbreg-up-${suffix}`)
        .remove({ force: true })
        .catch(() => undefined);
      await removeImages('n1', [image2]);
      await removeImages('n2', [image2]);
    }
  }, 90_000);

  it('deletes a tag from the registry', async () => {
    const del = await admin.request<{ deleteRegistryTag: boolean }>(
      'mutation($r: ID!, $p: String!) { deleteRegistryTag(registryId: $r, repository: $p, tag: "1") }',
      { r: registryId, p: repo },
    );
    expect(del.deleteRegistryTag).toBe(true);
    const { registryRepositories } = await admin.request<{
      registryRepositories: Array<{ name: string; tags: unknown[] }>;
    }>(
      'query($r: ID!, $s: String) { registryRepositories(registryId: $r, search: $s) { name tags { name } } }',
      { r: registryId, s: repo },
    );
    expect(registryRepositories).toEqual([{ name: repo, tags: [] }]);
  });
});

/** Runs `image` on the node until it printed `expected`, then removes the container. */
async function runs(node: string, image: string, expected: string): Promise<void> {
  const docker = dockerFor(engineNamed(env, node));
  const c = await docker.createContainer({
    Image: image,
    HostConfig: { NetworkMode: 'none' },
    name: `hbreg-run-${randomBytes(3).toString('hex')}`,
  });
  try {
    await c.start();
    await waitFor(async () => (await c.logs({ stdout: true, stderr: true })).toString().includes(expected), {
      timeoutMs: 10_000,
      intervalMs: 100,
      description: `${image} to print ${expected}`,
    });
  } finally {
    await c.remove({ force: true });
  }
}
