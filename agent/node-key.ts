/** The node's identity: a UUID made once and kept in the agent's data directory. */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The key file's name under the agent's data directory. */
export const NODE_KEY_FILE = 'node.key';

/**
 * The node's key: a UUID made once and kept in `<dataDir>/node.key`, so the node keeps its identity
 * (and the gateway its labels for it) across restarts.
 */
export async function loadNodeKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, NODE_KEY_FILE);
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (UUID.test(key)) return key.toLowerCase();
    throw new Error(`${file} does not hold a UUID; remove it to make a new node key`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomUUID();
  await mkdir(dataDir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${key}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return key;
}
