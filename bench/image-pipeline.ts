/**
 * What the image pipeline costs through Humpback over talking to Docker directly: the same image
 * (a Dockerfile tarball: FROM the test image, COPY of a fresh random payload, so every layer is new
 * to the registry) built on n1, pushed to the test environment's registry (basic auth) and pulled on
 * n2, rounds of the two sides alternated in one process.
 *   - Humpback: GraphQL on a real gateway (its own process, as deployed) with real agents on n1 and
 *     n2 (in this process), the registry added with its credentials: POST /uploads (streamed from
 *     disk), buildImage on n1, pushImage, each job followed to its end over `imageJobProgress`
 *     (graphql-ws), then pullImage on n2. `upload` is printed apart (the direct side has no such
 *     hop), and each job's own run time (createdAt to finishedAt) beside its step.
 *   - Direct: dockerode on the same engines: build from the same kind of tar stream, push with the
 *     same credentials (X-Registry-Auth), pull on n2, each progress stream read to its end.
 * Both sides' images are removed from n1 and n2 after every round, so every pull is real (the base
 * image stays, as it would on a node). Prints each side's median per step and in total, the paired
 * per-round ratios and the ratio Humpback/direct (goal <= 1.10), with the load average.
 * Needs the test environment (`npm run test:env up`).
 *
 *   npx tsx bench/image-pipeline.ts [--rounds 4] [--payload-mb 8]
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type Docker from 'dockerode';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { dockerFor, engineNamed, loadTestEnv } from '../test/helpers/test-env.js';
import { TempDirs, TestClient, healthyNodes, startTestAgent } from '../test/integration/gateway-harness.js';
import { spawnGateway } from './lib/gateway-process.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '4' },
    'payload-mb': { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const PAYLOAD = Number(values['payload-mb']) * 1024 * 1024;

const run = promisify(execFile);
const env = loadTestEnv();
const reg = env.registry;
const tmp = new TempDirs();
const suffix = randomBytes(3).toString('hex');
const n1 = dockerFor(engineNamed(env, 'n1'));
const n2 = dockerFor(engineNamed(env, 'n2'));
const authconfig = { username: reg.username, password: reg.password, serveraddress: reg.address };

type Side = 'humpback' | 'direct';
type Step = 'build' | 'push' | 'pull';
const STEPS: Step[] = ['build', 'push', 'pull'];
/** `upload` and the jobs' own run times (`buildJob`, `pushJob`) are Humpback's only. */
type Timing = Record<Step, number> & { upload: number; buildJob: number; pushJob: number };

/** A fresh build context as a tar file: a Dockerfile and `PAYLOAD` random bytes. */
async function contextTar(): Promise<string> {
  const dir = tmp.make('hb-bench-ctx-');
  await writeFile(path.join(dir, 'payload.bin'), randomBytes(PAYLOAD));
  await writeFile(path.join(dir, 'Dockerfile'), `FROM ${env.image}\nCOPY payload.bin /payload.bin\n`);
  const out = tmp.make('hb-bench-tar-');
  await mkdir(out, { recursive: true });
  const tar = path.join(out, 'ctx.tar');
  await run('tar', ['-C', dir, '-cf', tar, '.']);
  return tar;
}

/** Reads a Docker progress stream to its end; throws with Docker's words on an error message. */
function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = err?.message ?? out.find((m) => m.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      },
    );
  });
}

interface Humpback {
  client: TestClient;
  uploadsUrl: string;
  nodeIds: Record<string, string>;
  ws: ReturnType<typeof createClient>;
}

/** Waits over `imageJobProgress` for the job to end; throws if it FAILED. */
function jobEnd(h: Humpback, jobId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let status = 'RUNNING';
    let error: string | null = null;
    h.ws.subscribe<{ imageJobProgress: { job: { status: string; error: string | null } } }>(
      {
        query: 'subscription($id: ID!) { imageJobProgress(jobId: $id) { job { status error } } }',
        variables: { id: jobId },
      },
      {
        next: (v) => {
          if (v.data) ({ status, error } = v.data.imageJobProgress.job);
        },
        error: (err) => reject(err instanceof Error ? err : new Error(JSON.stringify(err))),
        complete: () =>
          status === 'SUCCEEDED' ? resolve() : reject(new Error(`job ${jobId} ${status}: ${error}`)),
      },
    );
  });
}

/** The job's own run time (createdAt to finishedAt, the gateway's clock): no GraphQL round trips. */
async function jobTime(h: Humpback, id: string): Promise<number> {
  const { imageJob } = await h.client.request<{ imageJob: { createdAt: string; finishedAt: string } }>(
    'query($id: ID!) { imageJob(id: $id) { createdAt finishedAt } }',
    { id },
  );
  return Date.parse(imageJob.finishedAt) - Date.parse(imageJob.createdAt);
}

async function humpbackRound(h: Humpback, tar: string, tag: string): Promise<Timing> {
  const t0 = performance.now();
  const res = await fetch(h.uploadsUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.client.token}` },
    body: await openAsBlob(tar),
  });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  const { uploadId } = (await res.json()) as { uploadId: string };
  const t1 = performance.now();
  const { buildImage } = await h.client.request<{ buildImage: { id: string } }>(
    'mutation($n: ID!, $u: ID!, $t: String!) { buildImage(nodeId: $n, uploadId: $u, tag: $t) { id } }',
    { n: h.nodeIds['n1'], u: uploadId, t: tag },
  );
  await jobEnd(h, buildImage.id);
  const t2 = performance.now();
  const { pushImage } = await h.client.request<{ pushImage: { id: string } }>(
    'mutation($n: ID!, $i: String!) { pushImage(nodeId: $n, image: $i) { id } }',
    { n: h.nodeIds['n1'], i: tag },
  );
  await jobEnd(h, pushImage.id);
  const t3 = performance.now();
  await h.client.request('mutation($n: ID!, $i: String!) { pullImage(nodeId: $n, image: $i) { id } }', {
    n: h.nodeIds['n2'],
    i: tag,
  });
  const t4 = performance.now();
  const buildJob = await jobTime(h, buildImage.id);
  const pushJob = await jobTime(h, pushImage.id);
  return { upload: t1 - t0, build: t2 - t0, push: t3 - t2, pull: t4 - t3, buildJob, pushJob };
}

async function directRound(tar: string, tag: string): Promise<Timing> {
  const t0 = performance.now();
  await follow(
    n1,
    await n1.buildImage(createReadStream(tar), {
      t: tag,
      registryconfig: { [reg.address]: authconfig },
    }),
  );
  const t1 = performance.now();
  await follow(n1, await n1.getImage(tag).push({ authconfig }));
  const t2 = performance.now();
  await follow(n2, await n2.pull(tag, { authconfig }));
  const t3 = performance.now();
  return { upload: 0, build: t1 - t0, push: t2 - t1, pull: t3 - t2, buildJob: 0, pushJob: 0 };
}

async function removeImage(tag: string): Promise<void> {
  for (const d of [n1, n2])
    await d
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
}

async function setUp(): Promise<{ h: Humpback; close: () => Promise<void> }> {
  const agents = [
    await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-bench-agent-n1-')),
    await startTestAgent(engineNamed(env, 'n2'), tmp.make('hb-bench-agent-n2-')),
  ];
  // Its own process, as deployed: the upload and the job streams do not share this one's event loop.
  const gateway = await spawnGateway({ HUMPBACK_DATA_DIR: tmp.make('hb-bench-gw-') });
  const client = new TestClient(gateway.url);
  await client.login();
  const { createGroup } = await client.request<{ createGroup: { id: string } }>(
    'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
    { input: { name: `bench-img-${suffix}`, clusterMode: true, servers: agents.map((a) => a.address) } },
  );
  const nodes = await healthyNodes(client, createGroup.id, 2);
  const nodeIds = Object.fromEntries(nodes.map((n) => [env.engines.find((e) => e.ip === n.ip)!.name, n.id]));
  await client.request('mutation($input: RegistryInput!) { addRegistry(input: $input) { id } }', {
    input: {
      name: 'bench',
      url: reg.address,
      username: reg.username,
      password: reg.password,
      insecure: true,
    },
  });
  let acked!: () => void;
  const ack = new Promise<void>((resolve) => (acked = resolve));
  const ws = createClient({
    url: gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${client.token}` },
    lazy: false,
    retryAttempts: 0,
    on: { connected: () => acked() },
  });
  await ack;
  const h = { client, uploadsUrl: gateway.url.replace(/\/graphql$/, '/uploads'), nodeIds, ws };
  return {
    h,
    close: async () => {
      await ws.dispose();
      await client.close();
      await gateway.stop();
      for (const a of agents) await a.close();
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const total = (t: Timing): number => t.build + t.push + t.pull;
const line = (t: Timing, side: Side): string =>
  side === 'humpback'
    ? `build ${fmt(t.build)} (upload ${fmt(t.upload)}, job ${fmt(t.buildJob)})  push ${fmt(t.push)} (job ${fmt(t.pushJob)})  pull ${fmt(t.pull)}  total ${fmt(total(t))}`
    : `build ${fmt(t.build)}  push ${fmt(t.push)}  pull ${fmt(t.pull)}  total ${fmt(total(t))}`;

async function oneRound(h: Humpback, side: Side, r: number): Promise<Timing> {
  const tag = `${reg.address}/hbbench/pipeline-${suffix}:${side}-${r < 0 ? 'warm' : r}`;
  const tar = await contextTar();
  try {
    return side === 'humpback' ? await humpbackRound(h, tar, tag) : await directRound(tar, tag);
  } finally {
    await removeImage(tag);
  }
}

const { h, close } = await setUp();
try {
  console.log(
    `n1 builds and pushes to ${reg.address}, n2 pulls; payload ${PAYLOAD / 1048576} MB per image, ${ROUNDS} rounds each side; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  // Warm-up (not counted): both paths once.
  await oneRound(h, 'direct', -1);
  await oneRound(h, 'humpback', -1);
  const results: Record<Side, Timing[]> = { humpback: [], direct: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Side[] = r % 2 === 0 ? ['humpback', 'direct'] : ['direct', 'humpback'];
    for (const side of order) {
      const t = await oneRound(h, side, r);
      results[side].push(t);
      console.log(`round ${r + 1} ${side.padEnd(8)} ${line(t, side)}`);
    }
  }
  const med = (s: Side): Timing => ({
    upload: median(results[s].map((t) => t.upload)),
    build: median(results[s].map((t) => t.build)),
    push: median(results[s].map((t) => t.push)),
    pull: median(results[s].map((t) => t.pull)),
    buildJob: median(results[s].map((t) => t.buildJob)),
    pushJob: median(results[s].map((t) => t.pushJob)),
  });
  const hm = med('humpback');
  const dm = med('direct');
  const medTotal = (s: Side): number => median(results[s].map(total));
  console.log('');
  console.log(
    `median direct:   ${line(dm, 'direct').replace(/total .*/, `total ${fmt(medTotal('direct'))}`)}`,
  );
  console.log(
    `median humpback: ${line(hm, 'humpback').replace(/total .*/, `total ${fmt(medTotal('humpback'))}`)}`,
  );
  const paired = results.humpback.map((t, i) => total(t) / total(results.direct[i]!));
  console.log(
    `paired ratios per round: ${paired.map((x) => x.toFixed(3)).join(' ')}, median ${median(paired).toFixed(3)}`,
  );
  console.log(
    `ratio humpback/direct: total ${(medTotal('humpback') / medTotal('direct')).toFixed(3)} (goal <= 1.10), ${STEPS.map(
      (s) => `${s} ${(hm[s] / dm[s]).toFixed(3)}`,
    ).join(', ')}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await close();
  tmp.cleanup();
}
