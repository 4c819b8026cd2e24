import { describe, expect, it } from 'vitest';
import { PortAllocator } from '../../agent/port-allocator.js';

describe('PortAllocator', () => {
  const range = { from: 30000, to: 30004 };

  it('skips ports of containers and of the OS, and never hands one port out twice', async () => {
    const ports = new PortAllocator({
      range,
      inUse: async () => new Set([30000]),
      probe: async (p) => p !== 30001,
      random: () => 0,
    });
    const [a, b] = await Promise.all([ports.allocate(1), ports.allocate(1)]);
    expect([...a.ports, ...b.ports].sort()).toEqual([30002, 30003]);
    const c = await ports.allocate(1);
    expect(c.ports).toEqual([30004]);
    await expect(ports.allocate(1)).rejects.toMatchObject({ status: 503 });
    a.release();
    expect((await ports.allocate(1)).ports).toEqual([a.ports[0]]);
  });

  it('honours extra exclusions and gives back a partial reservation on failure', async () => {
    const ports = new PortAllocator({
      range,
      inUse: async () => new Set(),
      probe: async () => true,
      random: () => 0.5,
    });
    const r = await ports.allocate(3, 'tcp', [30002]);
    expect(r.ports).not.toContain(30002);
    expect(new Set(r.ports).size).toBe(3);
    // Two are left: asking for three fails and keeps none of the two.
    await expect(ports.allocate(3)).rejects.toThrow(/no free host port/);
    expect((await ports.allocate(2)).ports).toHaveLength(2);
  });
});
