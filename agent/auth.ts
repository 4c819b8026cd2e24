/**
 * The agent token on both sides: the agent's check of `Authorization`, and the challenge by which an
 * agent proves it holds the token without anyone sending it (so the gateway never hands the token
 * to an address that merely claims to be an agent).
 */
import { createHash, createHmac, scrypt, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError, badRequest } from './http-error.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>` (or the bare token, as Humpback 1.4 sent it) with any of
 * `tokens` (the current one, and the previous one while it is being rotated). Digests make both sides
 * the same length and every token is compared, so the time taken says nothing about what was sent.
 */
export function requireToken(tokens: readonly string[], enabled = true): RequestHandler {
  const matches = tokenCheck(tokens);
  return (req, res, next) => {
    // ENABLE_AUTHORIZATION=false (humpback-agent 1.4's switch): every request is served.
    if (!enabled) return next();
    const header = req.headers.authorization;
    if (matches(header)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="humpback-agent"');
    next(
      new HttpError(
        401,
        header ? 'invalid agent token' : 'missing agent token',
        'send Authorization: Bearer <HUMPBACK_AGENT_TOKEN>',
      ),
    );
  };
}

/** How often the agent repeats that it serves without a token. */
export const NO_AUTHORIZATION_WARNING_MS = 3_600_000;

/**
 * ENABLE_AUTHORIZATION=false: warns now and every `everyMs` (an hour) that anyone who reaches the
 * agent controls its engine. Returns the function that stops the warnings.
 */
export function warnWithoutAuthorization(
  log: { warn: (msg: string) => void },
  everyMs = NO_AUTHORIZATION_WARNING_MS,
): () => void {
  const warn = (): void =>
    log.warn(
      'ENABLE_AUTHORIZATION=false: the agent serves every request without a token; anyone who can reach it controls this Docker Engine',
    );
  warn();
  const t = setInterval(warn, everyMs);
  t.unref();
  return () => clearInterval(t);
}

/**
 * Whether an `Authorization` header carries one of `tokens` (`Bearer <token>` or the bare token), in
 * constant time: requireToken's check, also used where express does not run (WebSocket upgrades).
 */
export function tokenCheck(tokens: readonly string[]): (header: string | undefined) => boolean {
  const expected = tokens.map(digest);
  return (header) => {
    const given = header?.replace(/^Bearer\s+/i, '').trim();
    if (!given) return false;
    const d = digest(given);
    let ok = false;
    for (const e of expected) ok = timingSafeEqual(d, e) || ok;
    return ok;
  };
}

// ---- the proof

/** The challenge route under each prefix; it needs no token. */
export const CHALLENGE_PATH = '/auth/challenge';

const PROOF_CONTEXT = 'humpback-agent-proof/1';
const keys = new Map<string, Promise<Buffer>>();

/**
 * The HMAC key for proofs: scrypt of the token, so that a proof (which anyone may ask an agent for)
 * costs an attacker a scrypt per guess of a weak token. Computed once per token and process.
 */
export function proofKey(token: string): Promise<Buffer> {
  let key = keys.get(token);
  if (!key) {
    key = new Promise<Buffer>((resolve, reject) =>
      scrypt(token, PROOF_CONTEXT, 32, { N: 1 << 14, r: 8, p: 1 }, (err, k) =>
        err ? reject(err) : resolve(k),
      ),
    );
    keys.set(token, key);
  }
  return key;
}

/**
 * The proof that the holder of `key` (proofKey of the token) answers at `address`: hex HMAC-SHA256
 * over the gateway's nonce and the address. An agent signs only addresses it is reachable at itself,
 * so a proof fetched from a real agent through a relay does not verify for the relay's address.
 */
export function agentProof(key: Buffer, nonce: string, address: string): string {
  return createHmac('sha256', key).update(`${PROOF_CONTEXT}\n${nonce}\n${address}`, 'utf8').digest('hex');
}

/** Whether one of `proofs` is agentProof(key, nonce, address); constant time for each. */
export function verifyAgentProof(
  key: Buffer,
  nonce: string,
  address: string,
  proofs: readonly unknown[],
): boolean {
  const expected = Buffer.from(agentProof(key, nonce, address), 'hex');
  let ok = false;
  for (const p of proofs) {
    if (typeof p !== 'string' || !/^[0-9a-f]{64}$/.test(p)) continue;
    ok = timingSafeEqual(Buffer.from(p, 'hex'), expected) || ok;
  }
  return ok;
}

/** `host:port` in the one form both sides sign: lower case, IPv6 in brackets. */
export function agentAddress(host: string, port: number): string {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export interface OwnAddressOptions {
  /** The host the agent listens on (`0.0.0.0` or `::`: every address of the host). */
  listenHost: string;
  /** The port it listens on. */
  port: number;
  /** DOCKER_AGENT_IPADDR. */
  ipAddress?: string | undefined;
  /** HUMPBACK_AGENT_ADDRESSES: `host` or `host:port` it is also reached at (NAT, DNS names). */
  extra?: readonly string[] | undefined;
  /** @default os.networkInterfaces */
  interfaces?: (() => NodeJS.Dict<os.NetworkInterfaceInfo[]>) | undefined;
  /** @default os.hostname */
  hostname?: (() => string) | undefined;
}

const isLoopback = (host: string): boolean => /^127\./.test(host) || host === '::1' || host === 'localhost';

/**
 * The `host:port`s the agent signs proofs for. Listening on every address: each interface address
 * (IPv4, and IPv6 when listening on `::`), the hostname, `localhost` and DOCKER_AGENT_IPADDR, with the
 * listen port. Listening on one address: that address (and `localhost` when it is a loopback one).
 * HUMPBACK_AGENT_ADDRESSES are added in both cases.
 */
export function ownAddresses(o: OwnAddressOptions): Set<string> {
  const hosts = new Set<string>();
  const listen = o.listenHost.replace(/^\[(.*)\]$/, '$1');
  if (listen === '' || listen === '0.0.0.0' || listen === '::') {
    for (const list of Object.values((o.interfaces ?? os.networkInterfaces)())) {
      for (const a of list ?? []) {
        if (a.family === 'IPv4' || (listen === '::' && a.family === 'IPv6' && !a.scopeid))
          hosts.add(a.address);
      }
    }
    hosts.add((o.hostname ?? os.hostname)());
    hosts.add('localhost');
    if (o.ipAddress) hosts.add(o.ipAddress);
  } else {
    hosts.add(listen);
    if (isLoopback(listen)) hosts.add('localhost');
  }
  const out = new Set<string>();
  for (const h of hosts) if (h) out.add(agentAddress(h, o.port));
  for (const e of o.extra ?? []) {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(e.trim());
    if (m) out.add(agentAddress(m[1]!, m[2] ? Number(m[2]) : o.port));
  }
  return out;
}

/** `POST <prefix>/auth/challenge`: what the gateway sends. */
export const challengeBody = z.object({
  /** The gateway's fresh random value (base64url). */
  Nonce: z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'expected 22 to 128 base64url characters'),
  /** The `host:port` the gateway dialled. */
  Address: z.string().min(3).max(300),
});

/** What the agent answers: a proof per token it accepts (current first). */
export interface ChallengeAnswer {
  Address: string;
  Proofs: string[];
}

export interface ChallengeOptions {
  /** The tokens the agent accepts, current first. */
  tokens: readonly string[];
  /** The addresses it answers for (ownAddresses), read at each challenge. */
  addresses: () => ReadonlySet<string>;
}

/**
 * Answers a challenge for an address the agent is reachable at; refuses (421) any other address, so
 * the agent cannot be used to vouch for a relay in front of it.
 */
export function answerChallenge(o: ChallengeOptions): RequestHandler {
  const keysReady = Promise.all(o.tokens.map(proofKey));
  return (req, res, next) => {
    const parsed = challengeBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `body.${i.path.join('.')}: ${i.message}`).join('; ');
      next(badRequest('invalid challenge', detail));
      return;
    }
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(parsed.data.Address.trim());
    const address = m ? agentAddress(m[1]!, Number(m[2])) : undefined;
    if (!address || !o.addresses().has(address)) {
      next(
        new HttpError(
          421,
          `this agent does not answer for ${parsed.data.Address}`,
          'it signs only its own addresses (its listen address; when listening on every address, its interface addresses, hostname and DOCKER_AGENT_IPADDR); add other names to HUMPBACK_AGENT_ADDRESSES',
        ),
      );
      return;
    }
    keysReady.then(
      (ks) => {
        const answer: ChallengeAnswer = {
          Address: address,
          Proofs: ks.map((k) => agentProof(k, parsed.data.Nonce, address)),
        };
        res.setHeader('Cache-Control', 'no-store');
        res.json(answer);
      },
      (err: unknown) => next(err),
    );
  };
}
