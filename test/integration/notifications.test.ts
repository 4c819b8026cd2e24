import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { verifySignature } from '../../scheduler/webhook-signing.js';
import { engineNamed, loadTestEnv, waitFor } from '../helpers/test-env.js';
import {
  TempDirs,
  TestClient,
  gatewayConfig,
  healthyNodes,
  startTestAgent,
  startTestGateway,
} from './gateway-harness.js';

interface Hook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const ADD = `mutation($kind: String!, $target: String!, $events: [NotificationEvent!]!, $secret: String) {
  addNotificationChannel(kind: $kind, target: $target, events: $events, secretToken: $secret) {
    id kind target events signed } }`;

/**
 * Notifications end to end: a real SMTP server (smtp-server) and a webhook receiver in this process, a
 * real agent on engine n3 behind a real gateway. Stopping the agent for longer than
 * HUMPBACK_NOTIFY_DELAY sends NODE_DOWN as a mail and as a signed webhook.
 */
describe('notifications', () => {
  const env = loadTestEnv();
  const engine = engineNamed(env, 'n3');
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const secret = `hook-secret-${suffix}`;
  const mails: ParsedMail[] = [];
  const hooks: Hook[] = [];
  let smtp: SMTPServer;
  let receiver: Server;
  let agent: (RunningAgent & { address: string }) | undefined;
  let gateway: RunningGateway;
  let client: TestClient;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            mails.push(mail);
            callback();
          })
          .catch(callback);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));

    agent = await startTestAgent(engine, tmp.make('hb-agent-'));
    gateway = await startTestGateway({
      config: gatewayConfig({
        HUMPBACK_DATA_DIR: tmp.make('hb-gw-'),
        HUMPBACK_SMTP_URL: `smtp://127.0.0.1:${smtpPort}?from=humpback@test.invalid`,
        HUMPBACK_NOTIFY_DELAY: '1',
        HUMPBACK_WEBHOOK_ALLOW: '127.0.0.1/32',
      }),
      cluster: false,
      notifications: { graceMs: 0, pollMs: 200 },
    });
    client = new TestClient(gateway.url);
    await client.login();
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await agent?.close().catch(() => undefined);
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
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
      { input: { name: `hbnote-${suffix}`, clusterMode: false, servers: [agent!.address] } },
    );
    const [node] = await healthyNodes(client, createGroup.id);
    const { node: details } = await client.request<{ node: { name: string; ip: string } }>(
      'query($id: ID!) { node(id: $id) { name ip } }',
      { id: node!.id },
    );
    const email = await client.request<{ addNotificationChannel: Record<string, unknown> }>(ADD, {
      kind: 'email',
      target: 'ops@example.com',
      events: ['NODE_DOWN', 'NODE_UP'],
    });
    expect(email.addNotificationChannel).toEqual({
      id: expect.any(String),
      kind: 'email',
      target: 'ops@example.com',
      events: ['NODE_DOWN', 'NODE_UP'],
      signed: false,
    });
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await client.request(ADD, { kind: 'webhook', target: url, events: ['NODE_DOWN'], secret });

    await agent!.close();
    agent = undefined;
    const mail = await waitFor(() => mails.find((m) => m.subject?.includes('NODE_DOWN')), {
      timeoutMs: 30_000,
      description: 'the NODE_DOWN mail',
    });
    expect(mail.subject).toBe(`Humpback NODE_DOWN: node ${details.name} (${details.ip})`);
    expect(mail.from?.text).toBe('humpback@test.invalid');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('ops@example.com');
    expect(mail.text).toContain(node!.id);

    const hook = await waitFor(() => hooks.find((h) => h.body.includes('NODE_DOWN')), {
      timeoutMs: 30_000,
      description: 'the NODE_DOWN webhook',
    });
    expect(hook.headers['x-humpback-token']).toBe(secret);
    expect(verifySignature(hook.body, secret, hook.headers['x-humpback-signature'] as string)).toBe(true);
    const body = JSON.parse(hook.body) as Record<string, unknown>;
    expect(body).toEqual({
      event: 'NODE_DOWN',
      at: expect.any(String),
      subject: mail.subject,
      node: { id: node!.id, name: details.name, ip: details.ip },
      message: `node ${details.name} (${details.ip}) is UNHEALTHY`,
    });
    // One of each so far (the mail went out before the webhook was seen, and was not sent again).
    expect(mails.filter((m) => m.subject?.includes('NODE_DOWN'))).toHaveLength(1);
    expect(hooks.filter((h) => h.body.includes('NODE_DOWN'))).toHaveLength(1);
  });
});
