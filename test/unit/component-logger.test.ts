import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { componentLogger } from '../../core/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trim());
      done();
    },
  });
  return { lines, log: pino({ base: undefined, timestamp: false }, stream) };
}

describe('componentLogger', () => {
  it('names the component once, with the sub-component under its own key', () => {
    const { lines, log } = capture();
    componentLogger(componentLogger(log, 'gateway'), 'scheduler').info('hello');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.match(/"component"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 30,
      component: 'gateway',
      subcomponent: 'scheduler',
      msg: 'hello',
    });
  });
});
