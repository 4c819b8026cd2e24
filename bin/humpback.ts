#!/usr/bin/env node
import 'reflect-metadata';
import { Command, Option } from 'commander';
import {
  ConfigError,
  describeVariables,
  loadAgentConfig,
  loadGatewayConfig,
  loadUpConfig,
} from '../core/config.js';
import { registerOperatorCommands } from './cli/commands.js';
import { packageVersion, variablesHelp } from './variables-help.js';

// graphql-js runs extra development checks unless NODE_ENV says production; development mode
// (NODE_ENV=development) is asked for explicitly.
process.env['NODE_ENV'] ??= 'production';

/** Each subcommand lives with its process; a missing one says so and exits non-zero. */
async function run(
  name: 'agent' | 'gateway' | 'up' | 'engine-check',
  options: { importBusybox?: boolean; stopsEngine?: boolean } = {},
): Promise<void> {
  try {
    switch (name) {
      case 'agent': {
        const { startAgentFromEnv } = await import('../agent/main.js');
        await startAgentFromEnv();
        return;
      }
      case 'gateway': {
        const { startGatewayFromEnv } = await import('../gateway/main.js');
        await startGatewayFromEnv();
        return;
      }
      case 'up': {
        const { startUpFromEnv } = await import('../gateway/up.js');
        await startUpFromEnv(options);
        return;
      }
      case 'engine-check': {
        const { checkEngineFromEnv } = await import('../gateway/up.js');
        await checkEngineFromEnv();
        return;
      }
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines) console.error(`humpback ${name}: ${line}`);
      process.exit(2);
    }
    console.error(`humpback ${name}: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  }
}

const program = new Command('humpback')
  .description('Humpback: Docker cluster manager with a GraphQL API')
  .version(packageVersion(), '-V, --version', 'print the version')
  .showHelpAfterError();
program
  .command('agent')
  .description('run the node agent next to a Docker Engine')
  .addHelpText('after', () => variablesHelp(describeVariables(loadAgentConfig)))
  .action(() => run('agent'));
program
  .command('gateway')
  .description('run the GraphQL gateway and cluster scheduler')
  .addHelpText('after', () => variablesHelp(describeVariables(loadGatewayConfig)))
  .action(() => run('gateway'));
program
  .command('up')
  .description('run everything on this machine: gateway + local agent, embedded store')
  .addHelpText('after', () =>
    variablesHelp(
      describeVariables(loadUpConfig, {
        HUMPBACK_AGENT_TOKEN: 'generated on first start and kept in the store',
      }),
    ),
  )
  .option(
    '--import-busybox',
    "import humpback/busybox:latest from Debian's busybox-static when the engine has no image",
  )
  // scripts/start.sh says so when the engine is its own: the banner then says Ctrl-C stops it too.
  .addOption(new Option('--stops-engine').hideHelp())
  .action((options: { importBusybox?: boolean; stopsEngine?: boolean }) => run('up', options));
program
  .command('engine-check')
  .description('check the Docker Engine at DOCKER_ENDPOINT: that it answers, which network modes work')
  .addHelpText(
    'after',
    '\nBridge is tried for real: a throwaway container (nothing runs in it) on the bridge network.',
  )
  .action(() => run('engine-check'));
registerOperatorCommands(program);

await program.parseAsync(process.argv);
