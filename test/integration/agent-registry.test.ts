// "Image missing → pull" against a real private registry (Docker Distribution from Debian's
// docker-registry package). It runs inside the engine's network namespace on 127.0.0.1, which Docker
// trusts over plain HTTP without --insecure-registry. The test environment installs docker-registry.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../agent/client.js';
import { AgentError } from '../../agent/client-errors.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import {
  dockerFor,
  engineNamed,
  loadTestEnv,
  spawnInNetns,
  waitFor,
  type NetnsProcess,
} from '../helpers/test-env.js';

const REGISTRY_BIN = '/usr/bin/docker-registry';
const env = loadTestEnv();
const engine = engineNamed(env, 'n1');
const docker: Docker = dockerFor(engine);
const TOKEN = `agent-reg-token-${randomBytes(8).toString('hex')}`;
const run = randomBytes(3).toString('hex');
const port = 30800 + Math.floor(Math.random() * 1900); // below the ephemeral range
const repo = `127.0.0.1:${port}/hb/busybox`;

let dir: string;
let registry: NetnsProcess | undefined;
let agent: RunningAgent;
let client: AgentClient;

async function follow(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = out?.find((o) => o.error);
      if (err || failed) reject(err ?? new Error(failed!.error));
      else resolve();
    }),
  );
}

/** Pushes the test image to the registry as `repo:tag`, then forgets it locally. */
async function publish(source: string, tag: string): Promise<void> {
  await docker.getImage(source).tag({ repo, tag });
  await follow(await docker.getImage(`${repo}:${tag}`).push({ authconfig: {} } as object));
  await docker.getImage(`${repo}:${tag}`).remove();
}

describe('pulling from a private registry', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hbagent-registry-'));
    const config = path.join(dir, 'config.yml');
    await writeFile(
      config,
      `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
    );
    registry = spawnInNetns(engine.netnsPath, REGISTRY_BIN, ['serve', config]);
    // Ready when a push goes through.
    await waitFor(
      async () => {
        try {
          await publish(env.image, '1');
          return true;
        } catch {
          return false;
        }
      },
      { description: 'a push to the registry', timeoutMs: 20_000, intervalMs: 300 },
    );
    await publish(env.imageV2, '2');
    agent = await startAgent({
      dockerEndpoint: engine.dockerEndpoint,
      listen: { host: '127.0.0.1', port: 0 },
      clusterEnabled: false,
      clusterUris: undefined,
      clusterName: 'humpback/center',
      heartbeatSeconds: 10,
      portsRange: undefined,
      agentToken: TOKEN,
      dataDir: dir,
    });
    client = new AgentClient({ baseUrl: agent.url, token: TOKEN, timeoutMs: 30_000 });
  });

  afterAll(async () => {
    await agent?.close();
    const mine = await docker.listContainers({ all: true, filters: { name: [`hbagent-reg-${run}`] } });
    await Promise.all(
      mine.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    for (const tag of ['1', '2'])
      await docker
        .getImage(`${repo}:${tag}`)
        .remove({ force: true })
        .catch(() => undefined);
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a container from an image it first has to pull, then upgrades with a pull', async () => {
    await expect(docker.getImage(`${repo}:1`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const name = `hbagent-reg-${run}-web`;
    const c = await client.createContainer({
      name,
      image: `${repo}:1`,
      command: ['sleep', '1000'],
      networkMode: 'none',
    });
    expect(c).toMatchObject({ name, image: `${repo}:1`, state: 'running' });
    expect((await docker.getImage(`${repo}:1`).inspect()).Id).toBeTruthy();

    await expect(docker.getImage(`${repo}:2`).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const up = await client.upgradeContainer(name, '2', { timeoutSeconds: 1 });
    expect(up).toMatchObject({ name, image: `${repo}:2`, state: 'running' });
    expect(up.config.env).toContain('HUMPBACK_TEST_VERSION=2');
  });

  it('POST /images pulls a missing image and lists it', async () => {
    await docker
      .getImage(`${repo}:1`)
      .remove({ force: true })
      .catch(() => undefined);
    const img = await client.pullImage(`${repo}:1`);
    expect(img.tags).toContain(`${repo}:1`);
    expect((await client.images()).some((i) => i.tags.includes(`${repo}:1`))).toBe(true);
  });

  it('answers 404 for a tag or repository the registry does not have, and creates nothing', async () => {
    for (const ref of [`${repo}:no-such-tag`, `${repo}-nope:1`]) {
      const err = await client.pullImage(ref).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect((err as AgentError).status).toBe(404);
      expect((err as AgentError).message).toMatch(/not found in its registry/);
    }
    const name = `hbagent-reg-${run}-missing`;
    const err = await client
      .createContainer({ name, image: `${repo}:no-such-tag`, networkMode: 'none' })
      .catch((e: unknown) => e);
    expect((err as AgentError).status).toBe(404);
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
