// Where notification tests receive what a gateway sends: a real SMTP server (smtp-server, mails read
// back with mailparser) and an HTTP webhook receiver, both in the test's process on loopback.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { verifySignature } from '../../scheduler/webhook-signing.js';
import { waitFor } from './test-env.js';

/** A real SMTP server on 127.0.0.1 and a free port; every mail it accepts is parsed into `mails`. */
export class MailSink {
  readonly mails: ParsedMail[] = [];
  private server: SMTPServer | undefined;

  async start(): Promise<void> {
    const mails = this.mails;
    this.server = new SMTPServer({
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
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** HUMPBACK_SMTP_URL for this server, mails sent from `from`. */
  smtpUrl(from: string): string {
    const port = (this.server!.server.address() as AddressInfo).port;
    return `smtp://127.0.0.1:${port}?from=${from}`;
  }

  /** The mails whose subject starts with `prefix`. */
  withSubject(prefix: string): ParsedMail[] {
    return this.mails.filter((m) => m.subject?.startsWith(prefix));
  }

  /** Waits for the first mail whose subject starts with `prefix`. */
  next(prefix: string, timeoutMs = 30_000): Promise<ParsedMail> {
    return waitFor(() => this.withSubject(prefix)[0], { timeoutMs, description: `a mail "${prefix}…"` });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The address a mail went to, as text. */
export function mailTo(mail: ParsedMail): string {
  return mail.to && !Array.isArray(mail.to) ? mail.to.text : '';
}

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP receiver on 127.0.0.1 and a free port, answering 204 and keeping every request. */
export class HookSink {
  readonly received: ReceivedHook[] = [];
  private server: Server | undefined;
  url = '';

  async start(path = '/hooks'): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  /** The requests whose JSON body has `event` and, when given, passes `test`. */
  withEvent(event: string, test: (body: Record<string, unknown>) => boolean = () => true): ReceivedHook[] {
    return this.received.filter((h) => {
      const body = JSON.parse(h.body) as Record<string, unknown>;
      return body.event === event && test(body);
    });
  }

  /** Waits for the first request of `event` (passing `test`). */
  next(
    event: string,
    test: (body: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<ReceivedHook> {
    return waitFor(() => this.withEvent(event, test)[0], { timeoutMs, description: `a ${event} webhook` });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Whether a hook carries `secret` as its token and its body's HMAC signature verifies with it. */
export function signedWith(hook: ReceivedHook, secret: string): boolean {
  return (
    hook.headers['x-humpback-token'] === secret &&
    verifySignature(hook.body, secret, hook.headers['x-humpback-signature'] as string)
  );
}
