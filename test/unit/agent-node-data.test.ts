import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { decodeNodeValue, encodeNodeValue, NodeDataError, type NodeData } from '../../core/node-data.js';
import { procStatCpu } from '../../agent/node-info.js';

const data: NodeData = {
  id: 'ENGINE:ID',
  name: 'host1',
  ip: '10.0.0.1',
  apiaddr: '10.0.0.1:8500',
  cpus: 4,
  memory: 8e9,
  storagedirver: 'overlay2',
  kernelversion: '6.1',
  architecture: 'x86_64',
  operatingsystem: 'Debian',
  ostype: 'linux',
  lables: ['zone=a'],
  appversion: '0.1.0',
  dockerversion: '24.0.0',
  cpuPercent: 12.5,
  memoryUsed: 1e9,
  containers: { total: 3, running: 2, paused: 0, stopped: 1 },
  timestamp: '2026-11-22T00:00:00.000Z',
};

describe('node data znode value', () => {
  it('is {"key", "data": base64(JSON)} and decodes back', () => {
    const buf = encodeNodeValue('0f8fad5b-d9cb-469f-a165-70867728950e', data);
    const outer = JSON.parse(buf.toString()) as { key: string; data: string };
    expect(outer.key).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(JSON.parse(Buffer.from(outer.data, 'base64').toString())).toEqual(data);
    expect(decodeNodeValue(buf)).toEqual({ key: outer.key, data });
    expect(decodeNodeValue(buf.toString())).toEqual({ key: outer.key, data });
  });

  it('reads a humpback-agent v1 value without live usage', () => {
    const v1 = {
      id: 'X',
      name: 'h',
      ip: '10.0.0.2',
      apiaddr: '10.0.0.2:8500',
      cpus: 2,
      memory: 100,
      storagedirver: 'aufs',
      kernelversion: '4.4',
      architecture: 'x86_64',
      operatingsystem: 'Ubuntu',
      ostype: 'linux',
      lables: null,
      appversion: '1.3.0',
      dockerversion: '1.12.6',
    };
    const value = JSON.stringify({ key: 'k', data: Buffer.from(JSON.stringify(v1)).toString('base64') });
    const { data: d } = decodeNodeValue(value);
    expect(d).toMatchObject({
      ...v1,
      lables: [],
      cpuPercent: 0,
      memoryUsed: 0,
      containers: { total: 0, running: 0 },
    });
  });

  it.each([
    ['not json', 'not JSON'],
    [JSON.stringify({ data: 'x' }), 'lacks'],
    [JSON.stringify({ key: 'k', data: '!!!' }), 'base64 JSON'],
    [JSON.stringify({ key: 'k', data: Buffer.from('{"ip":""}').toString('base64') }), 'bad node data'],
  ])('rejects %s', (value, message) => {
    expect(() => decodeNodeValue(value)).toThrow(NodeDataError);
    expect(() => decodeNodeValue(value)).toThrow(message);
  });
});

describe("the agent's CPU counters (/proc/stat)", () => {
  it('reads the cpu line as os.cpus() counts it: idle, and user+nice+system+idle+irq', () => {
    const stat =
      'cpu  208600 7 70528 80914 692 11 4198 79 0 0\ncpu0 104300 3 35264 40457 346 5 2099 39 0 0\n';
    expect(procStatCpu(stat)).toEqual({ idle: 80914, total: 208600 + 7 + 70528 + 80914 + 11 });
    expect(procStatCpu('intr 1 2 3\n')).toBeUndefined();
  });

  it("agrees with os.cpus() on this host's counters (Linux)", () => {
    const stat = procStatCpu();
    if (process.platform !== 'linux') {
      expect(stat).toBeUndefined();
      return;
    }
    let idle = 0;
    let total = 0;
    for (const c of os.cpus()) {
      idle += c.times.idle;
      total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
    }
    // The same counters in other units (clock ticks, ms): the busy share they give is the same.
    expect(stat!.idle / stat!.total).toBeCloseTo(idle / total, 3);
  });
});
