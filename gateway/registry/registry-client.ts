/**
 * A client of the Registry HTTP API v2: the credentials check (`/v2/`), the catalog, tags, manifests
 * and their config, and deleting a manifest. Authenticates as the registry asks: basic auth, or a
 * bearer token from the realm its `WWW-Authenticate` names (fetched with the basic credentials).
 */

export interface RegistryEndpoint {
  /** `http(s)://host[:port]`, no trailing slash. */
  baseUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Per request. @default 10000 */
  timeoutMs?: number | undefined;
}

/** The registry answered, but not what was asked (its status and words). */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** The registry could not be reached at all. */
export class RegistryUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach ${url}: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'RegistryUnreachableError';
  }
}

export interface ManifestInfo {
  /** `Docker-Content-Digest`: the digest Docker shows for the pushed image. */
  digest: string;
  /** Config plus layers (compressed, as stored); undefined for a manifest list / index. */
  sizeBytes: number | undefined;
  configDigest: string | undefined;
}

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

/** `url` as users give it (`http(s)://host[:port]` or `host[:port]`) → base URL and `host[:port]`. */
export function registryAddress(
  url: string,
  insecure: boolean,
): { baseUrl: string; host: string } | undefined {
  const m = /^(?:(https?):\/\/)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?\/?$/.exec(url.trim());
  if (!m) return undefined;
  const scheme = m[1] ?? (insecure ? 'http' : 'https');
  const host = `${m[2]!.toLowerCase()}${m[3] ? `:${m[3]}` : ''}`;
  return { baseUrl: `${scheme}://${host}`, host };
}

function parseChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return params['realm'] ? params : undefined;
}

export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly endpoint: RegistryEndpoint) {}

  private basic(): string | undefined {
    const { username, password } = this.endpoint;
    if (!username) return undefined;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        redirect: 'follow',
        signal: AbortSignal.timeout(this.endpoint.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new RegistryUnreachableError(url, (err as { cause?: unknown }).cause ?? err);
    }
  }

  /** A bearer token for `challenge` (its realm, service and scope), with the basic credentials. */
  private async token(challenge: Record<string, string>, scope: string | undefined): Promise<string> {
    const key = `${challenge['realm']}|${challenge['service']}|${scope ?? challenge['scope'] ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached) return cached;
    const url = new URL(challenge['realm']!);
    if (challenge['service']) url.searchParams.set('service', challenge['service']);
    const s = scope ?? challenge['scope'];
    if (s) url.searchParams.set('scope', s);
    const basic = this.basic();
    const res = await this.fetch(url.toString(), { headers: basic ? { authorization: basic } : {} });
    if (!res.ok)
      throw new RegistryError(
        res.status,
        `the registry's token service refused the credentials (${res.status})`,
      );
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(502, "the registry's token service gave no token");
    this.tokens.set(key, token);
    return token;
  }

  /** One request, authenticated as the registry asks; non-2xx answers are RegistryErrors. */
  async request(
    method: string,
    path: string,
    scope?: string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const url = `${this.endpoint.baseUrl}${path}`;
    const basic = this.basic();
    let res = await this.fetch(url, {
      method,
      headers: { ...headers, ...(basic ? { authorization: basic } : {}) },
    });
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate'));
      if (challenge) {
        await res.body?.cancel();
        const token = await this.token(challenge, scope);
        res = await this.fetch(url, { method, headers: { ...headers, authorization: `Bearer ${token}` } });
      }
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let words = text.slice(0, 300);
      try {
        const errors = (JSON.parse(text) as { errors?: Array<{ message?: string }> }).errors;
        if (errors?.length) words = errors.map((e) => e.message).join('; ');
      } catch {
        // not JSON: keep the text
      }
      throw new RegistryError(res.status, `${method} ${path}: ${res.status}${words ? ` ${words}` : ''}`);
    }
    return res;
  }

  /** Resolves when the registry accepts the credentials (or needs none); RegistryError 401 when not. */
  async check(): Promise<void> {
    const res = await this.request('GET', '/v2/');
    await res.body?.cancel();
  }

  /** One page of the catalog. */
  async catalog(n: number, last?: string): Promise<{ repositories: string[]; more: boolean }> {
    const q = new URLSearchParams({ n: String(n) });
    if (last) q.set('last', last);
    const res = await this.request('GET', `/v2/_catalog?${q}`, 'registry:catalog:*');
    const body = (await res.json()) as { repositories?: string[] | null };
    return {
      repositories: body.repositories ?? [],
      more: /rel="?next"?/.test(res.headers.get('link') ?? ''),
    };
  }

  async tags(repository: string): Promise<string[]> {
    const res = await this.request('GET', `/v2/${repository}/tags/list`, `repository:${repository}:pull`);
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }

  async manifest(repository: string, reference: string): Promise<ManifestInfo> {
    const res = await this.request(
      'GET',
      `/v2/${repository}/manifests/${encodeURIComponent(reference)}`,
      `repository:${repository}:pull`,
      {
        accept: MANIFEST_TYPES,
      },
    );
    const digest = res.headers.get('docker-content-digest') ?? '';
    const m = (await res.json()) as {
      config?: { size?: number; digest?: string };
      layers?: Array<{ size?: number }>;
    };
    const sizeBytes = m.config
      ? (m.config.size ?? 0) + (m.layers ?? []).reduce((sum, l) => sum + (l.size ?? 0), 0)
      : undefined;
    return { digest, sizeBytes, configDigest: m.config?.digest };
  }

  /** The image config's `created`, when it has one. */
  async created(repository: string, configDigest: string): Promise<Date | undefined> {
    const res = await this.request(
      'GET',
      `/v2/${repository}/blobs/${configDigest}`,
      `repository:${repository}:pull`,
    );
    const created = ((await res.json()) as { created?: string }).created;
    const at = created ? new Date(created) : undefined;
    return at && !Number.isNaN(at.getTime()) ? at : undefined;
  }

  /** Deletes the manifest `digest` (every tag pointing at it goes with it). */
  async deleteManifest(repository: string, digest: string): Promise<void> {
    const res = await this.request(
      'DELETE',
      `/v2/${repository}/manifests/${digest}`,
      `repository:${repository}:delete`,
    );
    await res.body?.cancel();
  }
}
