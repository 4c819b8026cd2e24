/**
 * Docker image references: `[registry[:port]/]path[:tag][@digest]`, parsed the way the Docker CLI
 * does (the first component is a registry when it has a `.` or a `:`, or is `localhost`).
 */
export interface ImageRef {
  /** `reg.example.com:5000`, or undefined for Docker Hub. */
  registry: string | undefined;
  /** The path without registry, tag or digest: `library/busybox`, `ns/img`, `busybox`. */
  repository: string;
  /** undefined when the reference has none (Docker then means `latest` unless there is a digest). */
  tag: string | undefined;
  /** `sha256:<hex>` or undefined. */
  digest: string | undefined;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Fa-f0-9]{32,}$/;
const REGISTRY =
  /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::\d{1,5})?$/;

/** Thrown for a string that is not a valid image reference. */
export class ImageRefError extends Error {
  constructor(
    readonly ref: string,
    why: string,
  ) {
    super(`invalid image reference ${JSON.stringify(ref)}: ${why}`);
    this.name = 'ImageRefError';
  }
}

/** Parses an image reference; throws ImageRefError when it is malformed. */
export function parseImageRef(ref: string): ImageRef {
  if (typeof ref !== 'string' || ref.length === 0) throw new ImageRefError(String(ref), 'empty');
  if (ref.length > 512) throw new ImageRefError(ref.slice(0, 40) + '…', 'longer than 512 characters');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageRefError(ref, 'bad digest');
  }
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      if (!REGISTRY.test(first)) throw new ImageRefError(ref, 'bad registry host');
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new ImageRefError(ref, 'bad tag');
  }
  if (rest.length === 0) throw new ImageRefError(ref, 'no repository');
  for (const part of rest.split('/')) {
    if (!COMPONENT.test(part)) throw new ImageRefError(ref, `bad path component ${JSON.stringify(part)}`);
  }
  return { registry, repository: rest, tag, digest };
}

/** True when `ref` parses. */
export function isImageRef(ref: string): boolean {
  try {
    parseImageRef(ref);
    return true;
  } catch {
    return false;
  }
}

/** `registry/repository` without tag or digest. */
export function imageName(ref: ImageRef): string {
  return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

/** The reference as a string, as it was given (no implicit `latest`). */
export function formatImageRef(ref: ImageRef): string {
  return imageName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
}

/** The same image with another tag (any digest dropped): what an upgrade runs. */
export function withTag(ref: string, tag: string): string {
  if (!TAG.test(tag)) throw new ImageRefError(tag, 'bad tag');
  const parsed = parseImageRef(ref);
  return `${imageName(parsed)}:${tag}`;
}

/**
 * The reference to pull: Docker pulls every tag when none is given, so an untagged and undigested
 * reference means `:latest`.
 */
export function pullableRef(ref: string): string {
  const parsed = parseImageRef(ref);
  if (parsed.tag === undefined && parsed.digest === undefined) return `${imageName(parsed)}:latest`;
  return formatImageRef(parsed);
}
