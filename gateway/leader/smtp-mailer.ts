import nodemailer from 'nodemailer';
import type { Mailer } from '../../scheduler/notifier.js';

/**
 * A Mailer over nodemailer for HUMPBACK_SMTP_URL (`smtp://[user:pass@]host:port[?from=addr]`,
 * `smtps://` for TLS). The sender is `from`, else humpback@<host>.
 */
export function smtpMailer(url: string): Mailer {
  const u = new URL(url);
  const from = u.searchParams.get('from') ?? `humpback@${u.hostname}`;
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port),
    secure: u.protocol === 'smtps:',
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(mail) {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    },
  };
}
