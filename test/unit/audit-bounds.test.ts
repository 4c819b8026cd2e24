import { describe, expect, it } from 'vitest';
import { boundArgs, TRUNCATED } from '../../gateway/services/audit-service.js';
import { redact } from '../../resolvers/audit.middleware.js';

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

describe('audited arguments', () => {
  it('keeps arguments that fit as they are', () => {
    const args = { id: 'g1', input: { name: 'x', servers: ['10.0.0.1'] } };
    expect(boundArgs(args, 4096)).toBe(args);
  });

  it('cuts long strings, long lists and big objects, marking each cut', () => {
    const args = {
      config: {
        name: 'web',
        labels: Array.from({ length: 250 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(4000) })),
      },
    };
    const bounded = boundArgs(args, 4096);
    expect(bytes(bounded)).toBeLessThanOrEqual(4096);
    const text = JSON.stringify(bounded);
    expect(text).toContain('"name":"web"');
    expect(text).toContain(`${TRUNCATED} 246 more items`);
    expect(text).toContain(`${TRUNCATED} 3968 more characters`);
  });

  it('falls back to a note of the size when even the cut-down copy is too big', () => {
    const args = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'x'.repeat(100)]));
    expect(boundArgs(args, 200)).toEqual({ [TRUNCATED]: `arguments of ${bytes(args)} bytes` });
  });

  it('redacts secrets and stops copying at a depth no input type has', () => {
    expect(redact({ input: { password: 'p', webhooks: [{ url: 'u', secretToken: 's' }] } })).toEqual({
      input: { password: '[redacted]', webhooks: [{ url: 'u', secretToken: '[redacted]' }] },
    });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    expect(JSON.stringify(redact(deep))).toContain('[truncated]');
  });
});
