/**
 * The operator CLI over the GraphQL API, for people and scripts: `humpback login`, `ps`, `run`,
 * `logs [-f]`, `scale`, `services`. Every command takes --url (or HUMPBACK_URL, or the session's)
 * and prints a table, or JSON with --json.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { CliApiError, CliClient, DEFAULT_URL, readSession, writeSession } from './client.js';
import {
  CliContainerLogs,
  CliContainers,
  CliCreateContainer,
  CliFindContainer,
  CliLogin,
  CliNodes,
  CliScale,
  CliServices,
} from './operations.js';
import { newLines, table } from './output.js';

interface Common {
  url?: string;
  json?: boolean;
}

function client(options: Common): CliClient {
  const session = readSession();
  const url = options.url ?? process.env['HUMPBACK_URL'] ?? session?.url ?? DEFAULT_URL;
  const token = process.env['HUMPBACK_TOKEN'] || (session && session.url === url ? session.token : undefined);
  return new CliClient(url, token);
}

function print(options: Common, json: unknown, rows: () => string): void {
  console.log(options.json ? JSON.stringify(json, null, 2) : rows());
}

/** Runs a command's action; an API error is one line with its code, exit 1. */
function action<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      const code = err instanceof CliApiError ? ` (${err.code})` : '';
      console.error(`humpback ${name}: ${(err as Error).message}${code}`);
      process.exit(1);
    }
  };
}

async function readPassword(): Promise<string> {
  const fromEnv = process.env['HUMPBACK_PASSWORD'];
  if (fromEnv) return fromEnv;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question('password: ')).trim();
  } finally {
    rl.close();
  }
}

/** A container by id, or by exact name among those the viewer sees. */
async function containerId(api: CliClient, idOrName: string): Promise<string> {
  const { containers } = await api.request(CliFindContainer, { search: idOrName });
  const match = containers.nodes.find((c) => c.id === idOrName || c.name === idOrName);
  if (!match) throw new CliApiError('NOT_FOUND', `no container named ${idOrName}`);
  return match.id;
}

/** `KEY=VALUE` options, collected. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

function withCommon(command: Command): Command {
  return command
    .option('--url <url>', `the gateway (HUMPBACK_URL, else the one you logged in to, else ${DEFAULT_URL})`)
    .option('--json', 'print JSON');
}

export function registerOperatorCommands(program: Command): void {
  withCommon(program.command('login'))
    .description('log in to a gateway and keep the token (password: HUMPBACK_PASSWORD or asked)')
    .option('-u, --username <name>', 'the user', 'admin')
    .action(
      action('login', async (options: Common & { username: string }) => {
        const api = client(options);
        const password = await readPassword();
        const { login } = await api.request(CliLogin, { username: options.username, password });
        const path = writeSession({ url: api.url, token: login.token, username: options.username });
        print(options, { url: api.url, username: options.username, session: path }, () =>
          [`logged in to ${api.url} as ${options.username}`, `(session kept in ${path})`].join('\n'),
        );
      }),
    );

  withCommon(program.command('ps'))
    .description('list containers')
    .option('--group <id>', 'only those of this group')
    .action(
      action('ps', async (options: Common & { group?: string }) => {
        const api = client(options);
        const { containers } = await api.request(CliContainers, { groupId: options.group, first: 500 });
        print(options, containers.nodes, () =>
          table(
            ['NAME', 'IMAGE', 'STATE', 'STATUS', 'NODE', 'ID'],
            containers.nodes.map((c) => [c.name, c.image, c.state, c.status, c.node?.name ?? '', c.id]),
          ),
        );
      }),
    );

  withCommon(program.command('run'))
    .description('create and start a container on a node (the only node when there is one)')
    .argument('<image>', 'the image, e.g. humpback/busybox:latest')
    .argument('[command...]', 'the command to run instead of the image default')
    .requiredOption('--name <name>', 'the container name')
    .option('--node <node>', 'node id, ip or name')
    .option('--network <mode>', 'host, bridge, none, ...', 'host')
    .option('-e, --env <KEY=VALUE>', 'an environment variable (repeatable)', collect, [])
    .action(
      action(
        'run',
        async (
          image: string,
          command: string[],
          options: Common & { name: string; node?: string; network: string; env: string[] },
        ) => {
          const api = client(options);
          const nodeId = options.node ?? (await onlyNode(api));
          const { createContainer: c } = await api.request(CliCreateContainer, {
            nodeId,
            config: {
              name: options.name,
              image,
              networkMode: options.network,
              ...(command.length > 0 ? { command } : {}),
              ...(options.env.length > 0 ? { env: options.env } : {}),
            },
          });
          print(options, c, () =>
            table(
              ['NAME', 'IMAGE', 'STATE', 'NODE', 'ID'],
              [[c.name, c.image, c.state, c.node?.name ?? '', c.id]],
            ),
          );
        },
      ),
    );

  withCommon(program.command('logs'))
    .description("print a container's logs")
    .argument('<container>', 'container id or name')
    .option('-f, --follow', 'keep printing new lines (polls every second) until Ctrl-C')
    .option('--tail <n>', 'the last n lines', '100')
    .action(
      action('logs', async (name: string, options: Common & { follow?: boolean; tail: string }) => {
        const api = client(options);
        const id = await containerId(api, name);
        const tail = Number(options.tail);
        let seen: string[] = [];
        for (;;) {
          const { containerLogs } = await api.request(CliContainerLogs, { id, tail });
          for (const line of newLines(seen, containerLogs)) {
            console.log(options.json ? JSON.stringify({ container: id, line }) : line);
          }
          seen = containerLogs;
          if (!options.follow) return;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }),
    );

  withCommon(program.command('services'))
    .description('list services (metas): instances wanted and running')
    .action(
      action('services', async (options: Common) => {
        const { groups } = await client(options).request(CliServices, {});
        const services = groups.flatMap((g) =>
          g.metas.map((m) => ({
            id: m.id,
            name: m.name,
            group: g.name,
            image: `${m.image}:${m.imageTag}`,
            instances: m.instances,
            running: m.containers.filter((c) => c.state === 'RUNNING').length,
          })),
        );
        print(options, services, () =>
          table(
            ['NAME', 'GROUP', 'IMAGE', 'RUNNING', 'ID'],
            services.map((s) => [s.name, s.group, s.image, `${s.running}/${s.instances}`, s.id]),
          ),
        );
      }),
    );

  withCommon(program.command('scale'))
    .description('set how many instances of a service (meta) run')
    .argument('<service>', 'service id or name')
    .argument('<instances>', 'how many')
    .action(
      action('scale', async (service: string, instances: string, options: Common) => {
        const api = client(options);
        const { groups } = await api.request(CliServices, {});
        const metas = groups.flatMap((g) => g.metas).filter((m) => m.id === service || m.name === service);
        if (metas.length !== 1) {
          throw new CliApiError(
            metas.length === 0 ? 'NOT_FOUND' : 'CONFLICT',
            metas.length === 0
              ? `no service named ${service}`
              : `${metas.length} services are named ${service}: give its id`,
          );
        }
        const { updateMeta } = await api.request(CliScale, {
          id: metas[0]!.id,
          instances: Number(instances),
        });
        print(options, updateMeta, () => `${updateMeta.name}: ${updateMeta.instances} instances`);
      }),
    );
}

/** The only node the viewer sees; more than one: the caller must choose. */
async function onlyNode(api: CliClient): Promise<string> {
  const { nodes } = await api.request(CliNodes, {});
  if (nodes.length === 1) return nodes[0]!.id;
  throw new CliApiError(
    'BAD_USER_INPUT',
    nodes.length === 0 ? 'no node to run on' : `--node: choose one of ${nodes.map((n) => n.name).join(', ')}`,
  );
}
