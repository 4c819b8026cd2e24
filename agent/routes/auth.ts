/** `POST /auth/challenge`, the one route without the token: the agent proves it holds it (auth.ts). */
import express, { Router } from 'express';
import { CHALLENGE_PATH, answerChallenge, type ChallengeOptions } from '../auth.js';

export function challengeRoutes(o: ChallengeOptions): Router {
  const r = Router();
  r.post(CHALLENGE_PATH, express.json({ limit: '4kb', strict: true }), answerChallenge(o));
  return r;
}
