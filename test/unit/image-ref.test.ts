import { describe, expect, it } from 'vitest';
import { formatImageRef, isImageRef, parseImageRef, pullableRef, withTag } from '../../core/image-ref.js';

describe('parseImageRef', () => {
  it.each([
    ['busybox', { registry: undefined, repository: 'busybox', tag: undefined, digest: undefined }],
    ['busybox:1.36', { registry: undefined, repository: 'busybox', tag: '1.36', digest: undefined }],
    [
      'humpback-test/busybox:latest',
      { registry: undefined, repository: 'humpback-test/busybox', tag: 'latest', digest: undefined },
    ],
    ['reg:5000/ns/img:tag', { registry: 'reg:5000', repository: 'ns/img', tag: 'tag', digest: undefined }],
    ['reg:5000/ns/img', { registry: 'reg:5000', repository: 'ns/img', tag: undefined, digest: undefined }],
    ['localhost/img:v2', { registry: 'localhost', repository: 'img', tag: 'v2', digest: undefined }],
    [
      '10.77.0.1:5000/a/b/c:1.0-rc_1',
      { registry: '10.77.0.1:5000', repository: 'a/b/c', tag: '1.0-rc_1', digest: undefined },
    ],
    [
      'docker.io/library/nginx',
      { registry: 'docker.io', repository: 'library/nginx', tag: undefined, digest: undefined },
    ],
    [
      `img@sha256:${'a'.repeat(64)}`,
      { registry: undefined, repository: 'img', tag: undefined, digest: `sha256:${'a'.repeat(64)}` },
    ],
    [
      `reg.io:443/img:1@sha256:${'b'.repeat(64)}`,
      { registry: 'reg.io:443', repository: 'img', tag: '1', digest: `sha256:${'b'.repeat(64)}` },
    ],
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected);
    expect(formatImageRef(parseImageRef(ref))).toBe(ref);
  });

  it.each([
    '',
    'UPPER/case',
    'img:',
    'img:bad tag',
    ':tag',
    'a//b',
    'img@sha256:xyz',
    'reg:5000/',
    'img:-x',
    'a/b:c/d',
  ])('rejects %j', (ref) => {
    expect(isImageRef(ref)).toBe(false);
    expect(() => parseImageRef(ref)).toThrow(/invalid image reference/);
  });
});

describe('withTag and pullableRef', () => {
  it('replaces the tag, keeping a registry port', () => {
    expect(withTag('reg:5000/ns/img:1', '2')).toBe('reg:5000/ns/img:2');
    expect(withTag('reg:5000/ns/img', 'v2')).toBe('reg:5000/ns/img:v2');
    expect(withTag(`img:1@sha256:${'c'.repeat(64)}`, 'v3')).toBe('img:v3');
    expect(() => withTag('img', 'bad tag')).toThrow();
  });
  it('pulls latest when no tag or digest is given', () => {
    expect(pullableRef('reg:5000/img')).toBe('reg:5000/img:latest');
    expect(pullableRef('img:1')).toBe('img:1');
    expect(pullableRef(`img@sha256:${'d'.repeat(64)}`)).toBe(`img@sha256:${'d'.repeat(64)}`);
  });
});
