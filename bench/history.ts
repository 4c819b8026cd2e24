/**
 * The cost of usage history for 5,000 containers at 10 s, on the test environment's Redis: how fast
 * one sample's points (one per container) are written, and the Redis bytes and embedded-store memory
 * per container once an hour of HOUR points (360) is kept. `npx tsx bench/history.ts [containers] [samples]`
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisStore } from '../core/store/redis-store.js';
import { EmbeddedUsage } from '../core/store/embedded-usage.js';
import { logger } from '../core/logger.js';
import type { UsageWrite } from '../core/store/usage.js';
import { loadTestEnv } from '../test/helpers/test-env.js';

const containers = Number(process.argv[2] ?? 5000);
const samples = Number(process.argv[3] ?? 30);
const env = loadTestEnv();
const prefix = `hbbench-${randomUUID().slice(0, 8)}:`;
const store = await RedisStore.open(env.redisUrl, { keyPrefix: prefix });
const usage = await EmbeddedUsage.load('/nonexistent-bench-dir', logger, 3_600_000);
const t0 = Math.floor(Date.now() / 10_000) * 10_000;
const point = (i: number, s: number): UsageWrite => ({
  series: `container:${i.toString(16).padStart(64, '0')}`,
  range: 'HOUR',
  sample: {
    at: t0 + s * 10_000,
    cpuPercent: 12.34,
    memoryUsedBytes: 123_456_789,
    networkRxBytes: 98_765_432,
    networkTxBytes: 1_234_567,
  },
});
const heapBefore = process.memoryUsage().heapUsed;
let ms = 0;
for (let s = 0; s < samples; s++) {
  const writes = Array.from({ length: containers }, (_, i) => point(i, s));
  const start = performance.now();
  await store.addUsage(writes);
  ms += performance.now() - start;
  usage.add(writes);
}
const admin = new Redis(env.redisUrl);
const sampleKeys = Array.from({ length: 50 }, (_, i) => `${prefix}usage:HOUR:${point(i, 0).series}`);
let bytes = 0;
for (const k of sampleKeys) bytes += Number(await admin.call('MEMORY', 'USAGE', k));
global.gc?.();
const heapAfter = process.memoryUsage().heapUsed;
const perPoint = bytes / sampleKeys.length / samples;
console.log(`containers ${containers}, samples ${samples} (HOUR points each)`);
console.log(
  `Redis writes: ${((containers * samples) / (ms / 1000)).toFixed(0)} points/s (${(ms / samples).toFixed(0)} ms per 10 s sample of all containers)`,
);
console.log(
  `Redis bytes per container: ${(bytes / sampleKeys.length).toFixed(0)} for ${samples} points (${perPoint.toFixed(0)} B/point)`,
);
console.log(
  `Redis bytes per container, full history (360 + 288 + 168 points): ~${(perPoint * 816).toFixed(0)}`,
);
console.log(
  `embedded store memory per container: ~${((heapAfter - heapBefore) / containers).toFixed(0)} B for ${samples} points`,
);
console.log(
  `store writes per second at 10 s: ${(containers / 10).toFixed(0)} HOUR points/s + ${(containers / 300).toFixed(1)} DAY + ${(containers / 3600).toFixed(2)} WEEK`,
);
const keys = await admin.keys(`${prefix}*`);
for (let i = 0; i < keys.length; i += 1000) await admin.del(...keys.slice(i, i + 1000));
await admin.quit();
await store.close();
await usage.close();
