import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './http-error.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>` (or the bare token, as Humpback 1.4 sent it). Digests
 * make both sides the same length, so the compare takes the same time whatever was sent.
 */
export function requireToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization;
    const given = header?.replace(/^Bearer\s+/i, '').trim();
    if (given && timingSafeEqual(digest(given), expected)) return next();
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
