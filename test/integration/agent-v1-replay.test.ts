// Humpback v1's clients against the real agent on a real engine: every request exactly as
// humpback-web (Angular, its services under src/client/app/services/) or humpback-center (Go,
// cluster/client.go, bodies marshalled from humpback/common models) sends it, each case citing where
// it comes from, asserting v1's status code and the fields that caller reads.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, type AgentConfig } from '../../core/config.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import { dockerFor, engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';

const env = loadTestEnv();
const engine = engineNamed(env, 'n2');
const docker: Docker = dockerFor(engine);
const run = randomBytes(3).toString('hex');
const PREFIX = `hbv1-${run}`;
const TAG = `humpback-test/v1replay:${run}`;
let n = 0;
const uniqueName = (what: string): string => `${PREFIX}-${what}-${++n}`;

let dataDir: string;
/** As v1 was deployed: no token (ENABLE_AUTHORIZATION=false), no DOCKER_CONTAINER_PORTS_RANGE. */
let agent: RunningAgent;

function config(over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    dockerEndpoint: engine.dockerEndpoint,
    listen: { host: '127.0.0.1', port: 0 },
    clusterEnabled: false,
    clusterUris: undefined,
    clusterName: 'humpback/center',
    heartbeatSeconds: 10,
    portsRange: undefined,
    agentToken: '',
    authorizationEnabled: false,
    dataDir,
    ...over,
  };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hbv1-'));
  agent = await startAgent(config());
  await docker.getImage(env.image).tag({ repo: TAG.split(':')[0]!, tag: run });
});

afterAll(async () => {
  await agent?.close();
  const mine = await docker.listContainers({ all: true, filters: { name: [PREFIX] } });
  await Promise.all(
    mine.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => 0),
    ),
  );
  await docker
    .getImage(TAG)
    .remove()
    .catch(() => 0);
  await rm(dataDir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  // The callers read the JSON as untyped objects; so do these tests.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One request as the caller sends it: the body string verbatim, JSON content type, no token. */
async function send(
  method: string,
  route: string,
  body?: string,
  headers: Record<string, string> = {},
  base = agent.url,
): Promise<Answer> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const web = '/dockerapi/v2';
const center = '/v1';

/** humpback-web container-new.page.ts onSubmit(): the config it builds, bridge mode, one port. */
function webCreateBody(name: string, publicPort: number, envs: string[], command = 'sleep 1000'): string {
  return JSON.stringify({
    Name: name,
    Image: env.image,
    Command: command,
    HostName: '',
    NetworkMode: 'bridge',
    RestartPolicy: 'no',
    Ports: [{ PrivatePort: 80, Type: 'tcp', PublicPort: publicPort, IP: '0.0.0.0' }],
    Volumes: [],
    Env: envs,
    Dns: null,
    Links: [],
    Labels: {},
    CPUShares: 0,
    Memory: 0,
  });
}

/** humpback-center's models.Container as Go marshals it (humpback/common models/container.go). */
function centerCreateBody(name: string, metaId: string, index: number): string {
  return (
    `{"Id":"","Image":"${env.image}","Command":"sleep 1000","CommandWithoutEntryPoint":"","Name":"${name}",` +
    `"Ports":[{"PrivatePort":8080,"PublicPort":0,"Type":"tcp","Ip":""}],"Volumes":null,"Dns":null,` +
    `"Env":["HUMPBACK_CLUSTER_GROUPID=g1","HUMPBACK_CLUSTER_METAID=${metaId}",` +
    `"HUMPBACK_CLUSTER_CONTAINER_INDEX=${index}"],"HostName":"","NetworkMode":"bridge","Extrahosts":null,` +
    `"Links":null,"Ulimits":null,"Labels":null,"LogConfig":{"Type":"","Config":null}}`
  );
}

/** humpback-center's models.ContainerOperate as Go marshals it: every field, "" when unused. */
const centerOperate = (action: string, container: string, imageTag = '', newName = ''): string =>
  `{"Action":"${action}","Container":"${container}","ImageTag":"${imageTag}","NewName":"${newName}"}`;

describe('humpback-web', () => {
  it('ComposeService.getAgentInfo (/ping): an AppVersion container-new.page.ts accepts (>= "1.3.4")', async () => {
    const r = await send('GET', `${web}/ping`);
    expect(r.status).toBe(200);
    expect(typeof r.json.AppVersion).toBe('string');
    expect(r.json.AppVersion >= '1.3.4').toBe(true);
    expect(r.json.DockerClusterEnabled).toBe(false);
    expect(r.json.DockerContainerPortsRange).toBe('0-0');
  });

  it('ComposeService.getDockerVersion and getService (container-list.page.ts getService)', async () => {
    const v = await send('GET', `${web}/dockerversion`);
    expect(v.status).toBe(200);
    expect(v.json.ServerVersion.Version).toMatch(/^\d+\./);
    expect(typeof v.json.ClientVersion).toBe('string');
    const s = await send('GET', `${web}/services`);
    expect(s).toEqual({ status: 200, json: [] });
  });

  it('ContainerService.getDockerInfo (container-new.page.ts getTargetLogDriver): LoggingDriver', async () => {
    const r = await send('GET', `${web}/dockerinfo`);
    expect(r.status).toBe(200);
    expect(r.json.LoggingDriver).toBe('json-file');
  });

  it('ImageService.pullImage {image}, getImages (VirtualSize, RepoTags), deleteImage by repo:tag', async () => {
    const pulled = await send('POST', `${web}/images`, JSON.stringify({ image: env.imageV2 }));
    expect(pulled.status).toBe(200);
    const list = await send('GET', `${web}/images`);
    expect(list.status).toBe(200);
    const mine = (list.json as Array<Record<string, unknown>>).find((i) =>
      (i['RepoTags'] as string[] | null)?.includes(TAG),
    );
    expect(mine).toBeDefined();
    expect(mine!['VirtualSize']).toBe(mine!['Size']);
    expect(typeof mine!['Created']).toBe('number');
    // container-list.page.ts rmImage(): a duplicated image is deleted by its repo:tag.
    const del = await send('DELETE', `${web}/images/${TAG}`);
    expect(del.status).toBe(200);
    await expect(docker.getImage(TAG).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('ContainerService.create (container-new.page.ts onSubmit): PublicPort 0 without a range is exposed, unpublished', async () => {
    const name = uniqueName('web');
    const r = await send('POST', `${web}/containers`, webCreateBody(name, 0, ['A=1']));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ Id: expect.stringMatching(/^[0-9a-f]{64}$/), Name: name });
    const info = await docker.getContainer(name).inspect();
    expect(info.State.Running).toBe(true);
    expect(Object.keys(info.Config.ExposedPorts ?? {})).toEqual(['80/tcp']);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(info.Config.Cmd).toEqual(['sleep', '1000']);
    expect(info.Config.Env).toContain('A=1');

    // ContainerService.get (container-list.page.ts getContainers): Names, Id, Status.
    const list = await send('GET', `${web}/containers?all=true`);
    expect(list.status).toBe(200);
    const row = (list.json as Array<{ Id: string; Names: string[]; Status: string }>).find(
      (c) => c.Id === r.json.Id,
    );
    expect(row?.Names[0]).toBe(`/${name}`);
    expect(row?.Status).toMatch(/^Up /);

    // ContainerService.getById(ip, id) (container-detail.page.ts): Docker's inspect.
    const raw = await send('GET', `${web}/containers/${name}?originaldata=true`);
    expect(raw.status).toBe(200);
    expect(raw.json).toMatchObject({ Id: r.json.Id, Name: `/${name}`, State: { Running: true } });
    expect(raw.json.Config.Image).toBe(env.image);
  });

  it('ContainerService.getById(ip, id, true) (container-clone/container-new edit): the fields the form reads', async () => {
    const name = uniqueName('form');
    await send('POST', `${web}/containers`, webCreateBody(name, 0, ['B=2']));
    const r = await send('GET', `${web}/containers/${name}?originaldata=false`);
    expect(r.status).toBe(200);
    const c = r.json;
    expect(c.Name).toBe(name);
    expect(c.Image).toBe(env.image);
    expect(c.CommandWithoutEntryPoint).toBe('sleep 1000');
    expect(c.NetworkMode).toBe('bridge');
    expect(c.RestartPolicy).toBe('no');
    expect(c.Ports).toEqual([]);
    expect(c.Env).toContain('B=2');
    expect(c.Links).toEqual([]);
    expect(c.Labels).toEqual((await docker.getImage(env.image).inspect()).Config.Labels ?? {});
    expect(c.LogConfig).toEqual({ Type: 'json-file', Config: {} });
    expect(c.CPUShares).toBe(0);
    expect(c.Memory).toBe(0);
    expect(Array.isArray(c.Volumes)).toBe(true);
    expect(Array.isArray(c.Ulimits)).toBe(true);
  });

  it('ContainerService.create with config.Id (container-new.page.ts edit): updates in place', async () => {
    const name = uniqueName('edit');
    const port = 29200 + Math.floor(Math.random() * 1500); // below the ephemeral range
    const first = await send('POST', `${web}/containers`, webCreateBody(name, port, ['V=1']));
    expect(first.status).toBe(200);
    // The edit form posts the same config with Id = the container's name; the fixed port is only
    // free for the new container because the old one was stopped first.
    const body = { ...JSON.parse(webCreateBody(name, port, ['V=2'])), Id: name };
    const r = await send('POST', `${web}/containers`, JSON.stringify(body));
    expect(r.status).toBe(200);
    expect(r.json.Name).toBe(name);
    expect(r.json.Id).not.toBe(first.json.Id);
    const info = await docker.getContainer(name).inspect();
    expect(info.Id).toBe(r.json.Id);
    expect(info.State.Running).toBe(true);
    expect(info.Config.Env).toContain('V=2');
    expect(info.HostConfig.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(port) }],
    });
    await expect(docker.getContainer(first.json.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('an in-place update of a container that does not exist is a 404, as in v1, and creates nothing', async () => {
    const name = uniqueName('ghost');
    const body = { ...JSON.parse(webCreateBody(name, 0, [])), Id: name };
    const r = await send('POST', `${web}/containers`, JSON.stringify(body));
    expect(r.status).toBe(404);
    expect(typeof r.json.Detail).toBe('string');
    expect(await docker.listContainers({ all: true, filters: { name: [name] } })).toEqual([]);
  });

  it('an in-place update whose new container cannot start restores the old one', async () => {
    const name = uniqueName('editfail');
    const first = await send('POST', `${web}/containers`, webCreateBody(name, 0, ['V=1']));
    const body = { ...JSON.parse(webCreateBody(name, 0, ['V=2'], '/no/such/binary')), Id: name };
    const r = await send('POST', `${web}/containers`, JSON.stringify(body));
    // v1 answered 500 here (and had already removed the old container); the web shows err.Detail.
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.json.Message).toMatch(/the old container was restored/);
    expect(typeof r.json.Detail).toBe('string');
    const info = await docker.getContainer(name).inspect();
    expect(info.Id).toBe(first.json.Id);
    expect(info.State.Running).toBe(true);
    const mine = await docker.listContainers({ all: true, filters: { name: [name] } });
    expect(mine.map((c) => c.Id)).toEqual([first.json.Id]);
  });

  it('ContainerService.operate {action, container} with a 14-character id (container-list.page.ts operate)', async () => {
    const name = uniqueName('op');
    const created = await send('POST', `${web}/containers`, webCreateBody(name, 0, []));
    const id = (created.json.Id as string).substring(0, 14);
    const expected: Record<string, (s: Docker.ContainerInspectInfo['State']) => boolean> = {
      stop: (s) => !s.Running,
      start: (s) => s.Running,
      pause: (s) => s.Paused,
      unpause: (s) => s.Running && !s.Paused,
      restart: (s) => s.Running,
      kill: (s) => !s.Running,
    };
    for (const [action, holds] of Object.entries(expected)) {
      const r = await send('PUT', `${web}/containers`, JSON.stringify({ action, container: id }));
      expect(r.status, action).toBe(200);
      expect(holds((await docker.getContainer(name).inspect()).State), action).toBe(true);
    }
  });

  it('ContainerService.rename {action, container, newName}; upgradeImage {action, container, imagetag}', async () => {
    const name = uniqueName('ren');
    const created = await send('POST', `${web}/containers`, webCreateBody(name, 0, []));
    const renamed = `${name}-b`;
    const r = await send(
      'PUT',
      `${web}/containers`,
      JSON.stringify({ action: 'rename', container: name, newName: renamed }),
    );
    expect(r.status).toBe(200);
    expect((await docker.getContainer(created.json.Id).inspect()).Name).toBe(`/${renamed}`);
    const tag = env.imageV2.split(':').pop()!;
    const u = await send(
      'PUT',
      `${web}/containers`,
      JSON.stringify({ action: 'upgrade', container: renamed, imagetag: tag }),
    );
    expect(u.status).toBe(200);
    const info = await docker.getContainer(renamed).inspect();
    expect(info.Config.Image).toBe(env.imageV2);
    expect(info.Id).toBe(u.json.Id);
  });

  it('ContainerService.getLogs ?tail=100 (container-log.page.ts), and v1 since=<date>', async () => {
    const name = uniqueName('logs');
    const created = await send(
      'POST',
      `${web}/containers`,
      webCreateBody(name, 0, [], 'sh -c "echo hello-v1; sleep 1000"'),
    );
    await waitFor(
      async () => {
        const r = await send('GET', `${web}/containers/${created.json.Id}/logs?tail=100`);
        return r.status === 200 && (r.json as string[]).some((l) => l.includes('hello-v1'));
      },
      { timeoutMs: 20_000 },
    );
    const since = await send('GET', `${web}/containers/${name}/logs?tail=100&since=2000-01-01`);
    expect(since.status).toBe(200);
    expect((since.json as string[]).some((l) => l.includes('hello-v1'))).toBe(true);
  });

  it('container-monitor.page.ts updateChart: fetch /v1/containers/:id/stats reads CPUUsage, MemoryUsage', async () => {
    const name = uniqueName('stats');
    await send('POST', `${web}/containers`, webCreateBody(name, 0, []));
    const r = await send('GET', `${center}/containers/${name}/stats`);
    expect(r.status).toBe(200);
    expect(r.json.ContainerName).toBe(name);
    expect(r.json.CPUUsage).toMatch(/^\d+\.\d{2}$/);
    expect(Number.isInteger(r.json.MemoryUsage)).toBe(true);
    expect(r.json.MemoryUsage).toBe(Math.floor(r.json.MemoryUsageBytes / 1024));
    expect(r.json.MemoryLimit).toBe(Math.floor(r.json.MemoryLimitBytes / 1024));
    for (const f of ['NetworkIn', 'NetowrkOut', 'IOBytesRead', 'IOBytesWrite', 'MemoryPercent'])
      expect(typeof r.json[f], f).toBe('number');
  });

  it('ContainerService.delete ?force=true (container-list.page.ts rmContainer)', async () => {
    const name = uniqueName('del');
    const created = await send('POST', `${web}/containers`, webCreateBody(name, 0, []));
    const r = await send(
      'DELETE',
      `${web}/containers/${(created.json.Id as string).substring(0, 14)}?force=true`,
    );
    expect(r.status).toBe(200);
    await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('humpback-center (cluster/client.go)', () => {
  it('GetDockerInfoRequest: the fields engine.go updateSpecs reads', async () => {
    const r = await send('GET', `${center}/dockerinfo`);
    expect(r.status).toBe(200);
    for (const f of ['ID', 'Name', 'Driver', 'KernelVersion', 'Architecture', 'OperatingSystem', 'OSType'])
      expect(typeof r.json[f], f).toBe('string');
    expect(r.json.NCPU).toBeGreaterThan(0);
    expect(r.json.MemTotal).toBeGreaterThan(0);
    expect(r.json.ServerVersion).toMatch(/^\d+\./);
    expect(Array.isArray(r.json.Labels)).toBe(true);
  });

  it('CreateContainerRequest, GetContainerRequest, GetContainersRequest (engine.go CreateContainer)', async () => {
    const name = `CLUSTER-${run}-${uniqueName('c')}-1`;
    const r = await send('POST', `${center}/containers`, centerCreateBody(name, `meta-${run}`, 1));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ Id: expect.stringMatching(/^[0-9a-f]{64}$/), Name: name });
    const one = await send('GET', `${center}/containers/${r.json.Id}?originaldata=true`);
    expect(one.status).toBe(200);
    expect(one.json.Id).toBe(r.json.Id);
    expect(one.json.Config.Env).toContain(`HUMPBACK_CLUSTER_METAID=meta-${run}`);
    expect(one.json.State.Running).toBe(true);
    // PublicPort 0 without DOCKER_CONTAINER_PORTS_RANGE: exposed, not published (v1 makeSystemIdlePort).
    expect(Object.keys(one.json.Config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(one.json.HostConfig.PortBindings ?? {}).toEqual({});
    const all = await send('GET', `${center}/containers?all=true`);
    expect(all.status).toBe(200);
    expect((all.json as Array<{ Id: string }>).some((c) => c.Id === r.json.Id)).toBe(true);
  });

  it('OperateContainerRequest with ImageTag "" and NewName "": rename to -expel; stop, start, restart', async () => {
    const name = `CLUSTER-${run}-${uniqueName('o')}-1`;
    const { json } = await send('POST', `${center}/containers`, centerCreateBody(name, `meta-${run}`, 1));
    // engine.go RemoveContainer: rename to <name>-<8 of a uuid>-expel first.
    const expel = `${name}-${randomBytes(4).toString('hex')}-expel`;
    const r = await send('PUT', `${center}/containers`, centerOperate('rename', json.Id, '', expel));
    expect(r.status).toBe(200);
    expect((await docker.getContainer(json.Id).inspect()).Name).toBe(`/${expel}`);
    for (const [action, running] of [
      ['stop', false],
      ['start', true],
      ['restart', true],
    ] as const) {
      const r = await send('PUT', `${center}/containers`, centerOperate(action, json.Id));
      expect(r.status, action).toBe(200);
      expect((await docker.getContainer(json.Id).inspect()).State.Running, action).toBe(running);
    }
  });

  it('UpgradeContainerRequest reads the new Id; RemoveContainerRequest ?force=true', async () => {
    const name = `CLUSTER-${run}-${uniqueName('u')}-1`;
    const { json } = await send('POST', `${center}/containers`, centerCreateBody(name, `meta-${run}`, 1));
    const tag = env.imageV2.split(':').pop()!;
    const u = await send('PUT', `${center}/containers`, centerOperate('upgrade', json.Id, tag));
    expect(u.status).toBe(200);
    expect(u.json.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(u.json.Id).not.toBe(json.Id);
    const after = await send('GET', `${center}/containers/${u.json.Id}?originaldata=true`);
    expect(after.json.Config.Image).toBe(env.imageV2);
    expect(after.json.Name).toBe(`/${name}`);
    const d = await send('DELETE', `${center}/containers/${u.json.Id}?force=true`);
    expect(d.status).toBe(200);
    await expect(docker.getContainer(u.json.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('ENABLE_AUTHORIZATION and AUTHORIZATION_TOKEN (humpback-agent 1.4)', () => {
  const TOKEN = `v1-replay-token-${randomBytes(8).toString('hex')}`;
  const baseEnv = (): Record<string, string> => ({
    DOCKER_ENDPOINT: engine.dockerEndpoint,
    DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
    HUMPBACK_DATA_DIR: dataDir,
  });

  it('by default requires AUTHORIZATION_TOKEN, sent bare as 1.4 sends it or as Bearer', async () => {
    const a = await startAgent(loadAgentConfig({ ...baseEnv(), AUTHORIZATION_TOKEN: TOKEN }));
    try {
      expect((await send('GET', `${web}/ping`, undefined, {}, a.url)).status).toBe(401);
      expect((await send('GET', `${web}/ping`, undefined, { authorization: TOKEN }, a.url)).status).toBe(200);
      const bearer = { authorization: `Bearer ${TOKEN}` };
      expect((await send('GET', `${center}/containers?all=true`, undefined, bearer, a.url)).status).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('ENABLE_AUTHORIZATION=false serves without a token and warns at start', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino({ level: 'warn' }, sink);
    const a = await startAgent(loadAgentConfig({ ...baseEnv(), ENABLE_AUTHORIZATION: 'false' }), { log });
    try {
      expect((await send('GET', `${web}/ping`, undefined, {}, a.url)).status).toBe(200);
      await waitFor(() => lines.some((l) => l.includes('ENABLE_AUTHORIZATION=false')), {
        timeoutMs: 5_000,
      });
    } finally {
      await a.close();
    }
  });
});
