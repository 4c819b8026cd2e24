import type { LogConfigInput, UlimitInput } from '../gql/graphql';
import { lines } from '../ui';

/* The ulimits, links, log config and shm size of a container form, parsed from their text. */

/** The text of those fields as typed. */
export interface LimitsDraft {
  ulimits: string;
  links: string;
  logDriver: string;
  logOptions: string;
  shmSizeMB: string;
}

export const emptyLimits: LimitsDraft = {
  ulimits: '',
  links: '',
  logDriver: '',
  logOptions: '',
  shmSizeMB: '',
};

/** What the fields give the API input (null: not set, Docker's default). */
export interface LimitsInput {
  ulimits: UlimitInput[] | null;
  links: string[] | null;
  logConfig: LogConfigInput | null;
  shmSizeMB: number | null;
}

const LIMIT = /^([a-z]{1,32})=(-1|\d+)(?::(-1|\d+))?$/;
const NAME = '[a-zA-Z0-9][a-zA-Z0-9_.-]*';
const LINK = new RegExp(`^/?${NAME}(?::${NAME})?$`);
const INT32 = 2 ** 31 - 1;

/** `nofile=1024:2048` (soft:hard) or `nofile=1024` (both); -1 is unlimited. */
function parseUlimit(line: string, problems: string[]): UlimitInput[] {
  const m = LIMIT.exec(line);
  if (!m) {
    problems.push(`Ulimit "${line}" should look like nofile=1024:2048 (name=soft:hard, -1 for unlimited)`);
    return [];
  }
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > INT32 || hard > INT32) problems.push(`Ulimit "${line}": at most ${INT32}`);
  else if (hard !== -1 && (soft === -1 || soft > hard))
    problems.push(`Ulimit "${line}": the soft limit is above the hard one`);
  else return [{ name: m[1] ?? '', soft, hard }];
  return [];
}

/** Parses the fields; a problem of each bad one goes to `problems`, a line each. */
export function toLimitsInput(d: LimitsDraft, problems: string[]): LimitsInput {
  const ulimits = lines(d.ulimits).flatMap((line) => parseUlimit(line, problems));
  const links = lines(d.links).filter((line) => {
    if (LINK.test(line)) return true;
    problems.push(`Link "${line}" should look like name or name:alias`);
    return false;
  });
  const options = lines(d.logOptions).flatMap((line) => {
    const at = line.indexOf('=');
    if (at > 0) return [{ key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() }];
    problems.push(`Log option "${line}" should look like max-size=10m`);
    return [];
  });
  const driver = d.logDriver.trim();
  if (!driver && options.length > 0) problems.push('Log options need a log driver (e.g. json-file)');
  let shmSizeMB: number | null = null;
  if (d.shmSizeMB.trim()) {
    shmSizeMB = Number(d.shmSizeMB);
    if (!Number.isInteger(shmSizeMB) || shmSizeMB <= 0 || shmSizeMB > INT32) {
      problems.push('Shared memory must be a whole number of MB above 0');
      shmSizeMB = null;
    }
  }
  return {
    ulimits: ulimits.length ? ulimits : null,
    links: links.length ? links : null,
    logConfig: driver ? { type: driver, options } : null,
    shmSizeMB,
  };
}
