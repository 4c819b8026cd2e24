/**
 * Free host ports from DOCKER_CONTAINER_PORTS_RANGE for `PublicPort: 0`. A port is free when no
 * container (running or not) has it bound, no pending create of this agent has reserved it, and the
 * OS lets us bind it.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type Docker from 'dockerode';
import type { PortRange } from '../core/config.js';
import { HttpError } from './http-error.js';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** Tells whether the OS lets a process bind `port` on all addresses. */
export type OsPortProbe = (port: number, protocol: PortProtocol) => Promise<boolean>;

export const probeOsPort: OsPortProbe = (port, protocol) =>
  new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
      return;
    }
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });

/** Ports bound by the engine's containers, running or not (from each container's HostConfig). */
export async function portsInUse(docker: Docker): Promise<Set<number>> {
  const used = new Set<number>();
  const list = await docker.listContainers({ all: true });
  for (const c of list) for (const p of c.Ports ?? []) if (p.PublicPort) used.add(p.PublicPort);
  // The list only shows ports Docker actually bound (none for host or none networking, none while
  // stopped), but a container takes its HostConfig bindings back whenever it starts: read them all.
  for (let i = 0; i < list.length; i += 16) {
    await Promise.all(
      list.slice(i, i + 16).map(async (c) => {
        try {
          const info = await docker.getContainer(c.Id).inspect();
          const bindings = Object.values(info.HostConfig.PortBindings ?? {}) as Array<Array<{
            HostPort?: string;
          }> | null>;
          for (const b of bindings.flatMap((x) => x ?? []))
            if (Number(b.HostPort) > 0) used.add(Number(b.HostPort));
        } catch {
          // Removed meanwhile: its ports are free.
        }
      }),
    );
  }
  return used;
}

export interface PortAllocatorOptions {
  range: PortRange;
  /** Ports the engine's containers hold. */
  inUse: () => Promise<Set<number>>;
  /** @default probeOsPort */
  probe?: OsPortProbe | undefined;
  /** Where in the range to start looking; @default a random offset */
  random?: (() => number) | undefined;
}

/** A reservation for ports handed out to one pending create; release it when the create is done. */
export interface PortReservation {
  ports: number[];
  release(): void;
}

export class PortAllocator {
  private readonly reserved = new Set<number>();
  private readonly probe: OsPortProbe;
  private readonly random: () => number;

  constructor(private readonly options: PortAllocatorOptions) {
    this.probe = options.probe ?? probeOsPort;
    this.random = options.random ?? Math.random;
  }

  /** Reserves `count` free ports; HttpError 503 when the range has too few left. */
  async allocate(
    count: number,
    protocol: PortProtocol = 'tcp',
    exclude: Iterable<number> = [],
  ): Promise<PortReservation> {
    const { from, to } = this.options.range;
    const size = to - from + 1;
    const used = await this.options.inUse();
    for (const p of exclude) used.add(p);
    const ports: number[] = [];
    const start = Math.floor(this.random() * size);
    for (let i = 0; i < size && ports.length < count; i++) {
      const port = from + ((start + i) % size);
      if (used.has(port) || this.reserved.has(port)) continue;
      // Reserve before the async probe so a concurrent allocate cannot take the same port.
      this.reserved.add(port);
      if (await this.probe(port, protocol)) ports.push(port);
      else this.reserved.delete(port);
    }
    if (ports.length < count) {
      for (const p of ports) this.reserved.delete(p);
      throw new HttpError(503, `no free host port left in DOCKER_CONTAINER_PORTS_RANGE ${from}-${to}`);
    }
    return {
      ports,
      release: () => {
        for (const p of ports) this.reserved.delete(p);
      },
    };
  }
}
