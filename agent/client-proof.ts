/**
 * The client's side of the token challenge (the agent's side is auth.ts): ask the agent at the dialled
 * address to prove it holds the token, check the proof, and remember it for a while.
 */
import { randomBytes } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { CHALLENGE_PATH, proofKey, verifyAgentProof } from './auth.js';
import { AgentUnreachableError, AgentUnverifiedError } from './client-errors.js';
import { agentDispatcher } from './client-dispatcher.js';
import type { ErrorBody } from '../core/agent-wire.js';

export interface AgentProofOptions {
  /** `http://host:port`, without a trailing `/`. */
  baseUrl: string;
  /** `host:port` as dialled, in the form the proof signs (agentAddress). */
  address: string;
  token: string;
  /** Deadline of one challenge. */
  timeoutMs: number;
  /** How long a proof is trusted. */
  ttlMs: number;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** Whether the agent proved it holds the token, and until when that is trusted. */
export class AgentProof {
  private provenUntil = 0;
  private proving: Promise<void> | undefined;

  constructor(private readonly o: AgentProofOptions) {}

  /** A proof is held and not older than `ttlMs`. */
  get fresh(): boolean {
    return this.o.now() < this.provenUntil;
  }

  /**
   * Has the agent prove it holds the token, sending no token: resolves when it did, rejects with
   * AgentUnverifiedError when it could not (or AgentUnreachableError). Concurrent calls share one
   * challenge.
   */
  prove(): Promise<void> {
    this.proving ??= challengeAgent(this.o)
      .then(() => {
        this.provenUntil = this.o.now() + this.o.ttlMs;
      })
      .finally(() => {
        this.proving = undefined;
      });
    return this.proving;
  }

  /** The next request proves again (after a failed or lost connection, or a 401). */
  forget(): void {
    this.provenUntil = 0;
  }
}

/** One challenge: a fresh nonce sent, the answer's proofs checked against the token and the address. */
async function challengeAgent(o: AgentProofOptions): Promise<void> {
  const nonce = randomBytes(32).toString('base64url');
  const url = `${o.baseUrl}/v1${CHALLENGE_PATH}`;
  let status: number;
  let text: string | undefined;
  try {
    // undici's request rather than fetch: one challenge per agent a minute, thousands of agents.
    // It follows no redirect: an answer elsewhere is no proof from this address.
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ Nonce: nonce, Address: o.address }),
      signal: AbortSignal.timeout(o.timeoutMs),
      dispatcher: agentDispatcher,
    });
    status = res.statusCode;
    text = await readCapped(res.body, 16 * 1024);
  } catch (err) {
    throw new AgentUnreachableError(url, err);
  }
  if (text === undefined) {
    throw new AgentUnverifiedError(o.address, 'its answer to the token challenge is far too long');
  }
  let body: Partial<ErrorBody> & { Proofs?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: said below
  }
  if (status < 200 || status > 299)
    throw new AgentUnverifiedError(o.address, refusal(status, body, url, o.address));
  if (!Array.isArray(body.Proofs)) {
    throw new AgentUnverifiedError(o.address, 'its answer to the token challenge holds no proof');
  }
  if (!verifyAgentProof(await proofKey(o.token), nonce, o.address, body.Proofs)) {
    throw new AgentUnverifiedError(
      o.address,
      'its proof does not match: it holds another token, or it relays for an agent at another address',
    );
  }
}

/** Why a challenge answered with an error status counts as no proof. */
function refusal(status: number, body: Partial<ErrorBody>, url: string, address: string): string {
  const said = [body.Message, body.Detail].filter(Boolean).join(': ');
  if (status === 421) return `it does not answer for ${address}${said ? `: ${said}` : ''}`;
  if (status === 404) {
    return `it has no token challenge (${url} answered 404: not an agent, or one older than this gateway)`;
  }
  return `its token challenge answered ${status}${said ? ` ${said}` : ''}`;
}

/** The body as text; undefined when it is longer than `max` bytes (a challenge answer is small). */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).byteLength;
    if (size > max) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
