import { describe, expect, it } from 'vitest';
import { toCreateBody } from '../../core/container-config.js';
import { containerConfigProblems } from '../../core/container-config.js';
import { splitCommand, toContainerBody, toCreateOptions } from '../../agent/container-mapping.js';
import { createContainerBody, operateContainerBody } from '../../core/agent-wire.js';
import type Docker from 'dockerode';

describe('splitCommand', () => {
  it.each([
    ['sleep 1000', ['sleep', '1000']],
    ['  sh   -c  "echo hi; exit 3" ', ['sh', '-c', 'echo hi; exit 3']],
    [`sh -c 'echo "a b"'`, ['sh', '-c', 'echo "a b"']],
    ['echo a\\ b "" x', ['echo', 'a b', '', 'x']],
    ['echo "q\\"uote"', ['echo', 'q"uote']],
    ['', []],
  ])('%j', (line, words) => expect(splitCommand(line)).toEqual(words));
  it('refuses an unterminated quote', () => expect(() => splitCommand(`sh -c 'oops`)).toThrow(/quote/));
});

describe('createContainerBody', () => {
  it('accepts Humpback bodies and drops unknown fields', () => {
    const b = createContainerBody.parse({
      Name: '/web-1',
      Image: 'reg:5000/ns/web:1.2',
      Command: 'nginx -g "daemon off;"',
      Ports: [{ PrivatePort: 80, PublicPort: 0, Type: 'tcp' }],
      Dns: '10.0.0.53',
      Whatever: { evil: true },
    });
    expect(b.Name).toBe('web-1');
    expect(b).not.toHaveProperty('Whatever');
  });
  it.each([
    [{ Name: 'a b', Image: 'x' }, 'Name'],
    [{ Name: 'ok', Image: 'Bad:Image:ref' }, 'Image'],
    [{ Name: 'ok', Image: 'x', Volumes: [{ ContainerVolume: 'rel', HostVolume: '/h' }] }, 'Volumes'],
    [{ Name: 'ok', Image: 'x', Env: ['=x'] }, 'Env'],
    [{ Name: 'ok', Image: 'x', Memory: -1 }, 'Memory'],
    [{ Name: 'ok', Image: 'x', Memory: 5 }, 'Memory'],
    [{ Name: 'ok', Image: 'x', CPUShares: 1 }, 'CPUShares'],
    [{ Name: 'ok', Image: 'x', RestartPolicy: 'sometimes' }, 'RestartPolicy'],
    [{ Name: 'ok', Image: 'x', NetworkMode: 'host; rm -rf /' }, 'NetworkMode'],
    [{ Name: 'ok', Image: 'x', Ports: [{ PrivatePort: 80, Ip: 'nope' }] }, 'Ports'],
    [{ Name: 'ok', Image: 'x', Command: 'a\0b' }, 'Command'],
  ])('rejects %j', (body, field) => {
    const r = createContainerBody.safeParse(body);
    expect(r.success).toBe(false);
    expect(r.error!.issues.some((i) => i.path[0] === field)).toBe(true);
  });
  it('operate needs ImageTag for upgrade and NewName for rename; actions are case-insensitive', () => {
    expect(operateContainerBody.safeParse({ Action: 'upgrade', Container: 'x' }).success).toBe(false);
    expect(operateContainerBody.safeParse({ Action: 'rename', Container: 'x' }).success).toBe(false);
    expect(operateContainerBody.parse({ Action: 'STOP', Container: 'x' }).Action).toBe('stop');
  });
});

describe('toCreateOptions', () => {
  it('maps Humpback fields to Docker create options, filling allocated ports', () => {
    const body = createContainerBody.parse({
      Name: 'web',
      Image: 'img:1',
      Command: ['a', 'b'],
      Env: ['A=1'],
      HostName: 'web',
      NetworkMode: 'none',
      Ports: [
        { PrivatePort: 80, PublicPort: 0 },
        { PrivatePort: 53, PublicPort: 5353, Type: 'udp', Ip: '127.0.0.1' },
      ],
      Volumes: [{ ContainerVolume: '/data', HostVolume: '/srv/data', ReadOnly: true }],
      Dns: ['1.1.1.1'],
      Extrahosts: ['db:10.0.0.2'],
      RestartPolicy: 'on-failure',
      RestartRetryCount: 3,
      CPUShares: 512,
      Memory: 128,
      SHMSize: 32,
      Links: ['db:database'],
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Labels: { a: 'b' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
    });
    const o = toCreateOptions(body, [31000]);
    expect(o).toMatchObject({
      name: 'web',
      Image: 'img:1',
      Cmd: ['a', 'b'],
      Env: ['A=1'],
      Hostname: 'web',
      Labels: { a: 'b' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      HostConfig: {
        NetworkMode: 'none',
        PortBindings: {
          '80/tcp': [{ HostIp: '', HostPort: '31000' }],
          '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        },
        Binds: ['/srv/data:/data:ro'],
        Dns: ['1.1.1.1'],
        ExtraHosts: ['db:10.0.0.2'],
        RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
        CpuShares: 512,
        Memory: 128 * 1024 * 1024,
        ShmSize: 32 * 1024 * 1024,
        Links: ['db:database'],
        Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m' } },
      },
    });
  });
  it('leaves out what was not given, and splits a string Command', () => {
    const o = toCreateOptions(
      createContainerBody.parse({ Name: 'x', Image: 'y', Command: 'sleep 5', RestartPolicy: 'always' }),
    );
    expect(o.Cmd).toEqual(['sleep', '5']);
    expect(o.HostConfig).toEqual({ RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } });
  });
  it('puts links on the endpoint of a user-defined network, and in HostConfig on the default bridge', () => {
    const onNetwork = toCreateOptions(
      createContainerBody.parse({ Name: 'x', Image: 'y', NetworkMode: 'backend', Links: ['db:database'] }),
    );
    expect(onNetwork.HostConfig).not.toHaveProperty('Links');
    expect(onNetwork.NetworkingConfig).toEqual({ EndpointsConfig: { backend: { Links: ['db:database'] } } });
    const onBridge = toCreateOptions(
      createContainerBody.parse({ Name: 'x', Image: 'y', NetworkMode: 'bridge', Links: ['db:database'] }),
    );
    expect(onBridge.HostConfig?.Links).toEqual(['db:database']);
    expect(onBridge.NetworkingConfig).toBeUndefined();
  });
});

describe('containerConfigProblems', () => {
  it("names what an agent would refuse in the gateway's terms, and nothing in a good config", () => {
    expect(containerConfigProblems({ name: 'web', image: 'busybox:1', memoryMB: 64, env: ['A=1'] })).toEqual(
      [],
    );
    expect(
      containerConfigProblems({
        name: 'web',
        image: 'busybox:1',
        env: ['=x'],
        volumes: [{ containerPath: 'rel', hostPath: '/h' }],
        cpuShares: 1,
      }),
    ).toEqual([
      expect.stringMatching(/^config\.env\.0: /),
      'config.volumes.0.containerPath: must be an absolute path',
      'config.cpuShares: must be 0 (the default) or 2 to 262144',
    ]);
  });
});

describe('toCreateBody (client) and toContainerBody (agent)', () => {
  it('turns the gateway config into the PascalCase body the agent validates', () => {
    const body = toCreateBody({
      name: 'CLUSTER-abc-web-0',
      image: 'img:1',
      command: ['sleep', '1'],
      env: ['A=1'],
      networkMode: 'host',
      ports: [{ privatePort: 80 }, { privatePort: 53, publicPort: 53, type: 'udp' }],
      volumes: [{ containerPath: '/d', hostPath: '/h' }],
      restartPolicy: 'always',
      labels: { 'humpback.meta': 'm' },
      cpuShares: 2,
      memoryMB: 64,
    });
    expect(createContainerBody.parse(body)).toMatchObject({
      Name: 'CLUSTER-abc-web-0',
      Ports: [
        { PrivatePort: 80, PublicPort: 0, Type: 'tcp' },
        { PrivatePort: 53, PublicPort: 53, Type: 'udp' },
      ],
      Volumes: [{ ContainerVolume: '/d', HostVolume: '/h', ReadOnly: false }],
      Memory: 64,
    });
  });
  it('reads inspect output back, with the bound public port and a Docker-like status', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const info = {
      Id: 'abcdef0123456789',
      Name: '/web',
      Created: '2026-01-01T00:00:00Z',
      Image: 'sha256:1',
      Config: {
        Image: 'img:1',
        Cmd: ['sleep', '1'],
        Env: ['A=1'],
        Hostname: 'abcdef012345',
        Labels: { a: 'b' },
      },
      HostConfig: {
        NetworkMode: 'none',
        PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] },
        Binds: ['/h:/d:ro,z'],
        Links: ['/db:/web/database'],
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
        Memory: 64 * 1024 * 1024,
      },
      NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }] } },
      State: {
        Status: 'running',
        Running: true,
        ExitCode: 0,
        StartedAt: '2026-01-01T00:05:00Z',
        FinishedAt: '0001-01-01T00:00:00Z',
      },
    } as unknown as Docker.ContainerInspectInfo;
    expect(toContainerBody(info, now)).toMatchObject({
      Id: 'abcdef0123456789',
      Name: 'web',
      HostName: '',
      Ports: [{ PrivatePort: 80, PublicPort: 32768, Type: 'tcp', Ip: '' }],
      Volumes: [{ HostVolume: '/h', ContainerVolume: '/d', ReadOnly: true }],
      Links: ['db:database'],
      Memory: 64,
      State: 'running',
      Status: 'Up 5 minutes',
    });
  });
});
