import { describe, expect, it } from 'vitest';
import { ExactJson, stringifyExact } from '../../core/exact-json.js';
import { serializeResult } from '../../gateway/graphql/ws-transport.js';

// 1539419911123456789 is no double: JSON.stringify of the number gives 1539419911123456800.
const TEXT = '{"Timestamp":1539419911123456789,"Event":"CreateMetaEvent","Url":"a\\u0026b"}';

describe('exact JSON text in results', () => {
  it('writes an ExactJson as its own text, the int64 digits unchanged', () => {
    expect(JSON.stringify(Number('1539419911123456789'))).toBe('1539419911123456800');
    const value = new ExactJson(TEXT);
    expect(stringifyExact({ a: value, b: [value, 1] })).toBe(`{"a":${TEXT},"b":[${TEXT},1]}`);
    expect(serializeResult({ data: { metaEvents: { payload: value } } })).toBe(
      `{"data":{"metaEvents":{"payload":${TEXT}}}}`,
    );
  });

  it('cannot be forged by a string that looks like its placeholder', () => {
    const lookalike = '\u0000exact-000000000000000000-0';
    expect(stringifyExact({ s: lookalike, v: new ExactJson('1') })).toBe(
      `{"s":${JSON.stringify(lookalike)},"v":1}`,
    );
  });

  it('gives the parsed value to any other JSON.stringify (valid JSON, rounded)', () => {
    expect(JSON.stringify({ v: new ExactJson(TEXT) })).toBe(
      '{"v":{"Timestamp":1539419911123456800,"Event":"CreateMetaEvent","Url":"a&b"}}',
    );
  });
});
