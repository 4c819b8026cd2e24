import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { dockerFor, engineNamed, loadTestEnv } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

const CREATE =
  'mutation($n: ID!, $c: ContainerConfigInput!) { createContainer(nodeId: $n, config: $c) { id } }';

/**
 * Bad input reports every bad field at once, from the real gateway over HTTP with a real agent: the
 * message names each field and `extensions.fields` lists them (the UI shows them all together), and
 * nothing reaches the engine.
 */
describe('validation errors name every bad field at once', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const name = `hbfields-${randomBytes(3).toString('hex')}`;
  let agent: RunningAgent & { address: string };
  let gateway: RunningGateway;
  let admin: TestClient;
  let nodeId: string;

  beforeAll(async () => {
    agent = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-fields-agent-'));
    gateway = await startTestGateway({
      config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-fields-gw-') }),
    });
    admin = new TestClient(gateway.url);
    await admin.login();
    const { createGroup } = await admin.request<{ createGroup: { id: string } }>(
      'mutation($n: String!, $s: [String!]) { createGroup(input: { name: $n, servers: $s }) { id } }',
      { n: name, s: [agent.address] },
    );
    nodeId = (await healthyNodes(admin, createGroup.id))[0]!.id;
  });

  afterAll(async () => {
    await admin?.close();
    await gateway?.close();
    await agent?.close();
    tmp.cleanup();
  });

  it('createContainer with several bad settings: every one named in the message and extensions.fields', async () => {
    const r = await admin.raw(CREATE, {
      n: nodeId,
      c: {
        name: `${name} has spaces`,
        image: 'humpback-test/busybox:latest',
        networkMode: 'not a mode!',
        restartPolicy: 'sometimes',
        command: ['sleep', '3600'],
      },
    });
    const fields = [
      'config.name: letters, digits, _ . - (starting with a letter or digit)',
      'config.networkMode: Invalid string: must match pattern /^(host|bridge|none|default|container:[a-zA-Z0-9][a-zA-Z0-9_.-]*|[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/',
      'config.restartPolicy: Invalid option: expected one of ""|"no"|"always"|"on-failure"|"unless-stopped"',
    ];
    expect(r).toEqual({
      data: null,
      errors: [
        {
          message: fields.join('; '),
          locations: [{ line: 1, column: 48 }],
          path: ['createContainer'],
          extensions: { code: 'BAD_USER_INPUT', field: 'config', fields },
        },
      ],
    });
    const docker = dockerFor(engineNamed(env, 'n1'));
    expect(await docker.listContainers({ all: true, filters: { name: [name] } })).toEqual([]);
  });

  it('argument validation: each bad field of the input with its messages', async () => {
    const r = await admin.raw(CREATE, {
      n: nodeId,
      c: {
        name,
        image: 'humpback-test/busybox:latest',
        ports: [{ privatePort: 70000 }, { privatePort: 80, publicPort: -1 }],
      },
    });
    expect(r.data).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [
        { field: 'ports.0.privatePort', messages: ['privatePort must not be greater than 65535'] },
        { field: 'ports.1.publicPort', messages: ['publicPort must not be less than 0'] },
      ],
    });
    expect(r.errors?.[0]?.message).toMatch(/^ports\.0\.privatePort: .*; ports\.1\.publicPort: /);
  });
});
