import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { AgentClient } from '../../agent/client.js';
import type { AgentEvent } from '../../agent/client-types.js';
import { startAgent, type RunningAgent } from '../../agent/main.js';
import { loadAgentConfig } from '../../core/config.js';
import { MemoryEngine } from '../../bench/sim/memory-engine.js';
import { engineNamed, loadTestEnv, removeContainersNamed, waitFor } from '../helpers/test-env.js';
import { AGENT_TOKEN, TempDirs, idleContainer, startTestAgent } from './gateway-harness.js';

/**
 * The cluster simulator's in-memory engine (bench/sim) behind the real agent answers the agent's REST
 * API as a real engine does: the same sequence through the same client gives the same observations.
 */
describe('the simulated engine keeps the runtime contract the agent relies on', () => {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const agents: RunningAgent[] = [];
  const name = `hbtest-sim-${randomBytes(3).toString('hex')}`;

  afterAll(async () => {
    for (const a of agents) await a.close();
    await removeContainersNamed(env, ['n1'], name);
    tmp.cleanup();
  });

  async function observe(agent: RunningAgent): Promise<unknown> {
    const client = new AgentClient({ baseUrl: agent.url, token: AGENT_TOKEN });
    const events: AgentEvent[] = [];
    const stop = new AbortController();
    // From a moment before the create: both engines replay what happened since.
    const following = client.events(Date.now() / 1000 - 1, (e) => events.push(e), stop.signal);
    const created = await client.createContainer(idleContainer(name, env.image) as never);
    const stopped = await client.operateContainer(created.id, 'stop', { timeoutSeconds: 1 });
    const listed = (await client.listContainers(true)).find((c) => c.id === created.id);
    await client.removeContainer(created.id, true);
    const missing = await client.getContainer(created.id).then(
      () => 'found',
      (err: { status?: number }) => err.status,
    );
    const actions = (): string[] =>
      events
        .filter((e) => e.id === created.id && ['create', 'start', 'die', 'destroy'].includes(e.action))
        .map((e) => e.action);
    await waitFor(() => (actions().includes('destroy') ? true : undefined), {
      timeoutMs: 10_000,
      description: 'destroy event',
    });
    stop.abort();
    await following;
    return {
      created: {
        name: created.name,
        state: created.state,
        image: created.image,
        keys: Object.keys(created).sort(),
      },
      stopped: { state: stopped.state, exitCode: stopped.exitCode === 0 || stopped.exitCode === 143 },
      listed: { name: listed?.name, state: listed?.state, keys: Object.keys(listed ?? {}).sort() },
      missing,
      actions: actions(),
      eventName: events.find((e) => e.action === 'create')?.name,
    };
  }

  it('creates, stops, lists, removes and streams events alike', async () => {
    const real = await startTestAgent(engineNamed(env, 'n1'), tmp.make('hb-sim-real-'));
    agents.push(real);
    const sim = await startAgent(
      loadAgentConfig({
        DOCKER_NODE_HTTPADDR: '127.0.0.1:0',
        HUMPBACK_AGENT_TOKEN: AGENT_TOKEN,
        HUMPBACK_DATA_DIR: tmp.make('hb-sim-mem-'),
        DOCKER_AGENT_IPADDR: '127.0.0.1',
      }),
      { docker: new MemoryEngine({ name: 'sim', images: [env.image] }) as unknown as Docker },
    );
    agents.push(sim);
    const fromReal = await observe(real);
    expect(fromReal).toEqual({
      created: expect.objectContaining({ name, state: 'running' }),
      stopped: { state: 'exited', exitCode: true },
      listed: expect.objectContaining({ name, state: 'exited' }),
      missing: 404,
      actions: ['create', 'start', 'die', 'destroy'],
      eventName: name,
    });
    expect(await observe(sim)).toEqual(fromReal);
  });
});
