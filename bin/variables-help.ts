import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VariableInfo } from '../core/config.js';

/** The "Environment variables" part of a subcommand's --help, from the config definitions. */
export function variablesHelp(variables: readonly VariableInfo[]): string {
  const width = Math.max(...variables.map((v) => v.variable.length)) + 2;
  const rows = variables.map((v) => {
    const given = v.required ? 'required' : v.default === undefined ? 'unset' : `default: ${v.default}`;
    return `  ${v.variable.padEnd(width)}${v.expected} (${given})`;
  });
  return ['', 'Environment variables:', ...rows].join('\n');
}

/** The version in the package.json above this file (bin/ under tsx, dist/bin/ when built). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'humpback' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
