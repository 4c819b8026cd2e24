import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const asked = process.env['HUMPBACK_LOG_LEVEL'];

/**
 * The process logger: JSON lines on stdout; `HUMPBACK_LOG_LEVEL` sets the level (default info). A bad
 * level is not pino's crash here: core/config.ts reports it as a configuration error.
 */
export const logger: Logger = pino({
  level: asked && LEVELS.has(asked) ? asked : process.env['VITEST'] ? 'silent' : 'info',
  base: undefined,
});

/**
 * A child logger for a component. pino writes every child's bindings as they come, so a second
 * `component` would put the key twice on each line: under a parent that has one (the gateway's), the
 * name goes to `subcomponent` instead.
 */
export function componentLogger(
  parent: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  const key = parent.bindings()['component'] === undefined ? 'component' : 'subcomponent';
  return parent.child({ [key]: component, ...bindings });
}
