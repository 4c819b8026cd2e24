/**
 * One real agent (no cluster, a fresh token and data directory) on a test-environment engine, with a
 * client for it and dockerode on the same engine: the two sides the agent benches compare.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pino } from 'pino';
import { AgentClient } from '../../agent/client.js';
import { startAgent } from '../../agent/main.js';
import { dockerFor, engineNamed, loadTestEnv } from '../../test/helpers/test-env.js';

/** `agentDocker`: the dockerode the agent drives (agent-steps times its calls); default its own. */
export async function startBenchAgent(engineName: string, agentDocker?: Docker) {
  const env = loadTestEnv();
  const engine = engineNamed(env, engineName);
  const token = randomBytes(16).toString('hex');
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hb-bench-agent-'));
  const agent = await startAgent(
    {
      dockerEndpoint: engine.dockerEndpoint,
      listen: { host: '127.0.0.1', port: 0 },
      clusterEnabled: false,
      clusterUris: undefined,
      clusterName: 'humpback/center',
      heartbeatSeconds: 10,
      portsRange: undefined,
      agentToken: token,
      dataDir,
    },
    { log: pino({ level: 'warn' }), docker: agentDocker },
  );
  return {
    env,
    engine,
    docker: dockerFor(engine),
    client: new AgentClient({ baseUrl: agent.url, token, timeoutMs: 60_000 }),
    /** Stops the agent and removes its data directory. */
    close: async (): Promise<void> => {
      await agent.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
