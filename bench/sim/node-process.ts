/**
 * One process of the cluster simulator: `count` virtual nodes, each the real agent (startAgent: REST
 * API, token, event stream, ZooKeeper registration) over its own MemoryEngine. Driven by the parent
 * (bench/sim/cluster.ts) over IPC; see there. Not run by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import type Docker from 'dockerode';
import { loadAgentConfig } from '../../core/config.js';
import { logger } from '../../core/logger.js';
import { MemoryEngine } from './memory-engine.js';

export interface NodeProcessConfig {
  first: number;
  count: number;
  containers: number;
  zkUri: string;
  clusterName: string;
  token: string;
  createDelayMs: number;
  startDelayMs: number;
  heartbeatSeconds: number;
  zkSessionTimeoutMs: number;
}

export type ParentMessage =
  | { cmd: 'churn'; perSecondPerNode: number }
  | { cmd: 'flap'; node: number; downMs: number }
  | { cmd: 'count' }
  | { cmd: 'close' };

const cfg = JSON.parse(process.env['HB_SIM_CONFIG']!) as NodeProcessConfig;
const log = logger.child({ sim: cfg.first });
const dir = mkdtempSync(join(tmpdir(), 'hb-sim-'));

interface SimNode {
  index: number;
  engine: MemoryEngine;
  agent: RunningAgent | undefined;
  port: number;
}

const nodes: SimNode[] = [];

async function boot(n: SimNode): Promise<void> {
  const config = loadAgentConfig({
    DOCKER_NODE_HTTPADDR: `127.0.0.1:${n.port}`,
    DOCKER_AGENT_IPADDR: '127.0.0.1',
    HUMPBACK_AGENT_TOKEN: cfg.token,
    HUMPBACK_DATA_DIR: join(dir, String(n.index)),
    DOCKER_CLUSTER_ENABLED: 'true',
    DOCKER_CLUSTER_URIS: cfg.zkUri,
    DOCKER_CLUSTER_NAME: cfg.clusterName,
    DOCKER_CLUSTER_HEARTBEAT: String(cfg.heartbeatSeconds),
  });
  n.agent = await startAgent(config, {
    docker: n.engine as unknown as Docker,
    log,
    zkSessionTimeoutMs: cfg.zkSessionTimeoutMs,
  });
  n.port = Number(new URL(n.agent.url).port);
}

async function main(): Promise<void> {
  for (let i = 0; i < cfg.count; i++) {
    const index = cfg.first + i;
    const engine = new MemoryEngine({
      name: `sim-${index}`,
      createDelayMs: cfg.createDelayMs,
      startDelayMs: cfg.startDelayMs,
    });
    engine.seed(cfg.containers, `sim-${index}`);
    const n: SimNode = { index, engine, agent: undefined, port: 0 };
    nodes.push(n);
    await boot(n);
  }
  process.send!({ type: 'ready', addresses: nodes.map((n) => `127.0.0.1:${n.port}`) });
}

process.on('message', (m: ParentMessage) => {
  void (async () => {
    if (m.cmd === 'churn') {
      for (const n of nodes) n.engine.startChurn(m.perSecondPerNode);
    } else if (m.cmd === 'flap') {
      // A flap: the node's agent and engine go away (znode gone, API refused) and come back.
      const n = nodes[m.node - cfg.first]!;
      n.engine.setDown(true);
      await n.agent?.close();
      n.agent = undefined;
      setTimeout(() => {
        n.engine.setDown(false);
        void boot(n).catch((err: unknown) => log.error({ err: String(err) }, 'flap: restart failed'));
      }, m.downMs);
    } else if (m.cmd === 'count') {
      process.send!({
        type: 'count',
        containers: nodes.reduce((s, n) => s + n.engine.size(), 0),
        churned: nodes.reduce((s, n) => s + n.engine.churned, 0),
      });
    } else if (m.cmd === 'close') {
      for (const n of nodes) n.engine.close();
      await Promise.all(nodes.map((n) => n.agent?.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  })();
});
process.on('disconnect', () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
});

await main();
