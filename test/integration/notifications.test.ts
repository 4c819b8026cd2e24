import { randomBytes } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { HookSink, MailSink, mailTo, signedWith, type ReceivedHook } from '../helpers/notification-sinks.js';
import { engineNamed, loadTestEnv, removeContainersNamed } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

type Agent = RunningAgent & { address: string };
interface NodeView {
  id: string;
  name: string;
  ip: string;
}
interface MetaView {
  id: string;
  groupId: string;
  name: string;
  lastFailure: { message: string } | null;
  containers: Array<{ id: string; nodeId: string; index: number | null; state: string }>;
}

const ADD = `mutation($kind: String!, $target: String!, $events: [NotificationEvent!]!, $secret: String) {
  addNotificationChannel(kind: $kind, target: $target, events: $events, secretToken: $secret) {
    id kind target events signed } }`;
const ALL_EVENTS = ['NODE_DOWN', 'NODE_UP', 'MIGRATION', 'RECOVERY_FAILED', 'META_FAILED'];
const META = 'id groupId name lastFailure { message } containers { id nodeId index state }';

/**
 * Notifications end to end: a real SMTP server and a webhook receiver in this process
 * (test/helpers/notification-sinks.ts), real agents on engines n2 and n3 behind one real gateway in
 * cluster mode, with short delays (HUMPBACK_NOTIFY_DELAY, CENTER_MIGRATE_DELAY). Stopping one node's
 * agent for longer than the delays sends NODE_DOWN, MIGRATION for the meta whose instance moved to the
 * other node and RECOVERY_FAILED for the one pinned to the lost node; starting the agent again sends
 * NODE_UP; a meta whose image cannot be pulled sends META_FAILED. Each as a mail and as a signed
 * webhook.
 */
describe('notifications', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const secret = `hook-secret-${suffix}`;
  const mails = new MailSink();
  const hooks = new HookSink();
  const agents = new Map<string, Agent | undefined>();
  const agentDirs = new Map<string, string>();
  let gateway: RunningGateway;
  let client: TestClient;
  let groupId: string;
  let lost: NodeView;
  let lostEngine: string;
  let kept: NodeView;
  let moving: MetaView;
  let pinned: MetaView;

  const startAgent = async (name: string, address?: string): Promise<Agent> => {
    const agent = await startTestAgent(
      engineNamed(env, name),
      agentDirs.get(name)!,
      address ? { DOCKER_NODE_HTTPADDR: address } : {},
    );
    agents.set(name, agent);
    return agent;
  };
  const meta = async (id: string): Promise<MetaView> =>
    (await client.request<{ meta: MetaView }>(`query($id: ID!) { meta(id: $id) { ${META} } }`, { id })).meta;
  const createMeta = async (name: string, instances: number, extra: Record<string, unknown> = {}) =>
    (
      await client.request<{ createMeta: MetaView }>(
        `mutation($input: CreateMetaInput!) { createMeta(input: $input) { ${META} } }`,
        {
          input: {
            groupId,
            instances,
            config: {
              name: `${name}-${suffix}`,
              image: env.image,
              networkMode: 'none',
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
            ...extra,
          },
        },
      )
    ).createMeta;
  /** The mail and the webhook of one notification, both checked against the whole body. */
  const expectNotified = async (
    event: string,
    test: (body: Record<string, unknown>) => boolean,
    expected: Record<string, unknown>,
  ): Promise<{ mail: ParsedMail; hook: ReceivedHook }> => {
    const hook = await hooks.next(event, test);
    expect(signedWith(hook, secret)).toBe(true);
    const body = JSON.parse(hook.body) as Record<string, unknown>;
    expect(body).toEqual({ event, at: expect.any(String), ...expected });
    const mail = await mails.next(expected.subject as string);
    expect(mail.subject).toBe(expected.subject);
    expect(mail.from?.text).toBe('humpback@test.invalid');
    expect(mailTo(mail)).toBe('ops@example.com');
    expect(mail.text).toContain(expected.message as string);
    expect(mail.text).toContain(`event: ${event}`);
    return { mail, hook };
  };

  beforeAll(async () => {
    await mails.start();
    await hooks.start();
    for (const name of ['n2', 'n3']) {
      agentDirs.set(name, tmp.make(`hb-agent-${name}-`));
      await startAgent(name);
    }
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-'),
        HUMPBACK_SMTP_URL: mails.smtpUrl('humpback@test.invalid'),
        HUMPBACK_NOTIFY_DELAY: '1',
        CENTER_MIGRATE_DELAY: '2',
        HUMPBACK_WEBHOOK_ALLOW: '127.0.0.1/32',
      }),
      notifications: { graceMs: 0, pollMs: 200 },
    });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await removeContainersNamed(env, ['n2', 'n3'], suffix);
    for (const agent of agents.values()) await agent?.close().catch(() => undefined);
    await mails.stop();
    await hooks.stop();
    tmp.cleanup();
  });

  it('lets only admins manage channels, and refuses bad ones naming the field', async () => {
    await client.request('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', {
      i: { username: `user-${suffix}`, password: 'user-password-1' },
    });
    const user = new TestClient(gateway.url);
    await user.login(`user-${suffix}`, 'user-password-1');
    expect(await user.errorCode(ADD, { kind: 'email', target: 'a@b.example', events: ['NODE_DOWN'] })).toBe(
      'FORBIDDEN',
    );
    expect(await user.errorCode('{ notificationChannels { id } }')).toBe('FORBIDDEN');
    const bad = await client.raw(ADD, { kind: 'sms', target: 'x', events: ['NODE_DOWN'] });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toContain('kind');
    const badMail = await client.raw(ADD, { kind: 'email', target: 'not-an-address', events: ['NODE_DOWN'] });
    expect(badMail.errors?.[0]?.message).toContain('target');
    const none = await client.raw(ADD, { kind: 'email', target: 'ops@example.com', events: [] });
    expect(none.errors?.[0]?.message).toContain('events');
    const { notificationChannels } = await client.request<{ notificationChannels: unknown[] }>(
      '{ notificationChannels { id } }',
    );
    expect(notificationChannels).toEqual([]);
  });

  it('sends NODE_DOWN by mail and by signed webhook when a node is down longer than the delay', async () => {
    const { createGroup } = await client.request<{ createGroup: { id: string } }>(
      'mutation($input: CreateGroupInput!) { createGroup(input: $input) { id } }',
      {
        input: {
          name: `hbnote-${suffix}`,
          clusterMode: true,
          servers: [agents.get('n2')!.address, agents.get('n3')!.address],
        },
      },
    );
    groupId = createGroup.id;
    await healthyNodes(client, groupId, 2);
    const { nodes } = await client.request<{ nodes: NodeView[] }>(
      'query($g: ID) { nodes(groupId: $g) { id name ip } }',
      { g: groupId },
    );
    // Two instances (placement spreads them, but the test does not depend on it): the node of the
    // first is the one lost; and a meta that may run only on that node.
    moving = await createMeta('moving', 2);
    expect(moving.containers).toHaveLength(2);
    lost = nodes.find((n) => n.id === moving.containers[0]!.nodeId)!;
    kept = nodes.find((n) => n.id !== lost.id)!;
    lostEngine = env.engines.find((e) => e.ip === lost.ip)!.name;
    await client.request(
      'mutation($id: ID!, $l: [LabelInput!]!) { setNodeLabels(nodeId: $id, labels: $l) { id } }',
      {
        id: lost.id,
        l: [{ key: 'zone', value: `z-${suffix}` }],
      },
    );
    pinned = await createMeta('pinned', 1, { constraints: [`node.labels.zone==z-${suffix}`] });
    expect(pinned.containers.map((c) => c.nodeId)).toEqual([lost.id]);
    expect(pinned.lastFailure).toBeNull();

    const email = await client.request<{ addNotificationChannel: Record<string, unknown> }>(ADD, {
      kind: 'email',
      target: 'ops@example.com',
      events: ALL_EVENTS,
    });
    expect(email.addNotificationChannel).toEqual({
      id: expect.any(String),
      kind: 'email',
      target: 'ops@example.com',
      events: ALL_EVENTS,
      signed: false,
    });
    await client.request(ADD, { kind: 'webhook', target: hooks.url, events: ALL_EVENTS, secret });

    await agents.get(lostEngine)!.close();
    const subject = `Humpback NODE_DOWN: node ${lost.name} (${lost.ip})`;
    const { mail } = await expectNotified('NODE_DOWN', () => true, {
      subject,
      node: { id: lost.id, name: lost.name, ip: lost.ip },
      message: `node ${lost.name} (${lost.ip}) is UNHEALTHY`,
    });
    expect(mail.text).toContain(lost.id);
    // One of each so far (the mail went out before the webhook was seen, and was not sent again).
    expect(mails.withSubject('Humpback NODE_DOWN')).toHaveLength(1);
    expect(hooks.withEvent('NODE_DOWN')).toHaveLength(1);
  });

  it('sends MIGRATION for the meta whose instance the lost node had, once it runs elsewhere', async () => {
    const ofMeta = (id: string) => (b: Record<string, unknown>) => (b.meta as { id?: string })?.id === id;
    await expectNotified('MIGRATION', ofMeta(moving.id), {
      subject: `Humpback MIGRATION: meta ${moving.name}`,
      meta: { id: moving.id, groupId, name: moving.name },
      message: `instances of meta ${moving.name} were moved off a lost node`,
    });
    const after = await meta(moving.id);
    const live = after.containers.filter((c) => c.nodeId === kept.id);
    expect(live.map((c) => c.index).sort()).toEqual([1, 2]);
    // Nothing of the pinned meta moved: no MIGRATION for it.
    expect(hooks.withEvent('MIGRATION', ofMeta(pinned.id))).toEqual([]);
    expect(hooks.withEvent('MIGRATION')).toHaveLength(1);
  });

  it('sends RECOVERY_FAILED for the meta the migration could not place', async () => {
    const ofPinned = (b: Record<string, unknown>) => (b.meta as { id?: string })?.id === pinned.id;
    await hooks.next('RECOVERY_FAILED', ofPinned);
    const failure = (await meta(pinned.id)).lastFailure;
    expect(failure?.message).toBe(
      `instance 1: no healthy node satisfies the constraints node.labels.zone==z-${suffix}`,
    );
    await expectNotified('RECOVERY_FAILED', ofPinned, {
      subject: `Humpback RECOVERY_FAILED: meta ${pinned.name}`,
      meta: { id: pinned.id, groupId, name: pinned.name },
      message: failure!.message,
    });
    expect(hooks.withEvent('RECOVERY_FAILED')).toHaveLength(1);
  });

  it('sends NODE_UP when the node that was told down is HEALTHY again', async () => {
    await startAgent(lostEngine, agents.get(lostEngine)!.address);
    await expectNotified('NODE_UP', () => true, {
      subject: `Humpback NODE_UP: node ${lost.name} (${lost.ip})`,
      node: { id: lost.id, name: lost.name, ip: lost.ip },
      message: `node ${lost.name} (${lost.ip}) is HEALTHY again`,
    });
    expect(hooks.withEvent('NODE_UP')).toHaveLength(1);
    expect(mails.withSubject('Humpback NODE_UP')).toHaveLength(1);
  });

  it('sends META_FAILED for a new meta whose image cannot be pulled', async () => {
    const broken = await createMeta('broken', 1, {
      config: {
        name: `broken-${suffix}`,
        image: `127.0.0.1:1/hb-missing-${suffix}:latest`,
        networkMode: 'none',
      },
    });
    expect(broken.containers).toEqual([]);
    expect(broken.lastFailure?.message).toMatch(/^instance 1: /);
    expect(broken.lastFailure?.message).toContain(`pulling image 127.0.0.1:1/hb-missing-${suffix}:latest`);
    await expectNotified('META_FAILED', (b) => (b.meta as { id?: string })?.id === broken.id, {
      subject: `Humpback META_FAILED: meta ${broken.name}`,
      meta: { id: broken.id, groupId, name: broken.name },
      message: broken.lastFailure!.message,
    });
    expect(hooks.withEvent('META_FAILED')).toHaveLength(1);
    // Every notification went out once by each channel.
    expect(hooks.received.map((h) => (JSON.parse(h.body) as { event: string }).event).sort()).toEqual(
      [...ALL_EVENTS].sort(),
    );
    expect(mails.mails).toHaveLength(ALL_EVENTS.length);
  });
});
