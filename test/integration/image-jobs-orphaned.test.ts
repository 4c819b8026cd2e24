// Image jobs left QUEUED or RUNNING by a gateway that died: the next gateway fails them on start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../core/store/open-store.js';
import type { ImageJobRecord } from '../../core/store/store.js';
import type { RunningGateway } from '../../gateway/main.js';
import { gatewayConfig, startTestGateway, TempDirs, TestClient } from './gateway-harness.js';

const dirs = new TempDirs();
let gateway: RunningGateway;
let admin: TestClient;
const long = new Date(Date.now() - 10 * 60_000).toISOString();
const jobs: ImageJobRecord[] = [
  {
    id: 'orphan-running',
    kind: 'BUILD',
    status: 'RUNNING',
    nodeId: 'n1',
    image: 'a:1',
    userId: 'admin',
    log: ['Step 1/2'],
    createdAt: long,
    beatAt: long,
  },
  {
    id: 'orphan-queued',
    kind: 'PUSH',
    status: 'QUEUED',
    nodeId: 'n1',
    image: 'b:1',
    userId: 'admin',
    log: [],
    createdAt: long,
  },
  {
    id: 'done',
    kind: 'PULL',
    status: 'SUCCEEDED',
    nodeId: 'n1',
    image: 'c:1',
    userId: 'admin',
    log: ['ok'],
    progress: 1,
    createdAt: long,
    finishedAt: long,
  },
  {
    id: 'alive',
    kind: 'BUILD',
    status: 'RUNNING',
    nodeId: 'n1',
    image: 'd:1',
    userId: 'admin',
    log: [],
    createdAt: long,
    beatAt: new Date().toISOString(),
  },
];

beforeAll(async () => {
  const dataDir = dirs.make('hb-orphans-');
  const store = await openStore({ dataDir });
  for (const j of jobs) await store.create('imageJobs', j.id, j);
  await store.close();
  gateway = await startTestGateway({ config: gatewayConfig({ HUMPBACK_DATA_DIR: dataDir }), cluster: false });
  admin = new TestClient(gateway.url);
  await admin.login();
});

afterAll(async () => {
  await gateway?.close();
  dirs.cleanup();
});

const query = '{ imageJobs(first: 10) { id status error log finishedAt } }';
type Job = { id: string; status: string; error: string | null; log: string[]; finishedAt: string | null };

describe('image jobs of a dead gateway', () => {
  it('fails the stale QUEUED and RUNNING jobs on start, keeping their log; leaves finished and live ones', async () => {
    const all = (await admin.request<{ imageJobs: Job[] }>(query)).imageJobs;
    const get = (id: string): Job | undefined => all.find((j) => j.id === id);
    const running = get('orphan-running')!;
    expect(running).toEqual({
      id: 'orphan-running',
      status: 'FAILED',
      error: 'gateway restarted while the job ran',
      log: ['Step 1/2'],
      finishedAt: expect.any(String),
    });
    expect(Date.parse(running.finishedAt!)).toBeGreaterThan(Date.parse(long));
    expect(get('orphan-queued')).toEqual({
      id: 'orphan-queued',
      status: 'FAILED',
      error: 'gateway restarted while the job ran',
      log: [],
      finishedAt: expect.any(String),
    });
    expect(get('done')).toEqual({
      id: 'done',
      status: 'SUCCEEDED',
      error: null,
      log: ['ok'],
      finishedAt: long,
    });
    expect(get('alive')).toEqual({
      id: 'alive',
      status: 'RUNNING',
      error: null,
      log: [],
      finishedAt: null,
    });
  });
});
