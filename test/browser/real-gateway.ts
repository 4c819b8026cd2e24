import { randomBytes } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
import type { RunningAgent } from '../../agent/main.js';
import type { RunningGateway } from '../../gateway/main.js';
import { engineNamed, loadTestEnv, removeContainersNamed, type TestEnv } from '../helpers/test-env.js';
import { TempDirs, gatewayConfig, startTestAgent, startTestGateway } from '../integration/gateway-harness.js';
import { launchUi, type UiBrowser } from './browser.js';

/** Waits of browser assertions on live data. */
export const LIVE = { timeout: 30_000, intervals: [200] };

/** A real gateway (embedded store, web UI) with real agents on the test environment's engines. */
export interface RealUi {
  env: TestEnv;
  gateway: RunningGateway;
  /** The gateway's origin, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  ui: UiBrowser;
  /** Random hex to put in the names of what a spec creates; `close` removes containers named so. */
  suffix: string;
  agents: Array<RunningAgent & { address: string }>;
  close(): Promise<void>;
}

/**
 * Starts a gateway with the web UI, agents on n1..n3 and Chromium, for one browser spec file. `env`
 * adds gateway variables (HUMPBACK_DATA_DIR is set here).
 */
export async function startRealUi(
  options: { env?: Record<string, string>; agentEnv?: Record<string, string> } = {},
): Promise<RealUi> {
  const env = loadTestEnv();
  const tmp = new TempDirs();
  const suffix = randomBytes(3).toString('hex');
  const agents: RealUi['agents'] = [];
  for (const name of ['n1', 'n2', 'n3'])
    agents.push(
      await startTestAgent(engineNamed(env, name), tmp.make(`hb-ui-agent-${name}-`), options.agentEnv),
    );
  const gateway = await startTestGateway({
    config: gatewayConfig({ HUMPBACK_DATA_DIR: tmp.make('hb-ui-gw-'), ...options.env }),
    webUi: true,
  });
  const ui = await launchUi();
  return {
    env,
    gateway,
    baseUrl: new URL(gateway.url).origin,
    ui,
    suffix,
    agents,
    async close() {
      await ui.close();
      await gateway.close();
      await removeContainersNamed(env, ['n1', 'n2', 'n3'], suffix);
      for (const a of agents) await a.close().catch(() => undefined);
      tmp.cleanup();
    },
  };
}

/** The option of a <select> whose text contains `text` (node options read "name (ip) · status"). */
export async function optionValue(scope: Page | Locator, select: string, text: string): Promise<string> {
  // Not exact: a label that wraps its <select> has the selected option's text in its name too.
  const option = scope.getByLabel(select).locator('option', { hasText: text });
  await option.first().waitFor({ state: 'attached', timeout: 30_000 });
  return (await option.first().getAttribute('value')) ?? '';
}
