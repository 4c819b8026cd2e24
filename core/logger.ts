import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger: JSON lines on stdout; `HUMPBACK_LOG_LEVEL` sets the level (default info). */
export const logger: Logger = pino({
  level: process.env['HUMPBACK_LOG_LEVEL'] ?? (process.env['VITEST'] ? 'silent' : 'info'),
  base: undefined,
});
