/**
 * Registries in the store, passwords sealed with the gateway's secret key (never returned), every
 * change checked against the registry's `/v2/` first; the browser over the Registry v2 API; and the
 * credentials lookup the agent pool and the image jobs use.
 */
import { randomUUID } from 'node:crypto';
import { badInput, ErrorCode, HumpbackError, notFound } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { registryHostOf, type RegistryCredentials } from '../../core/registry-auth.js';
import type {
  RegistryInfo,
  RegistryInput,
  RegistryRepositoryInfo,
  RegistryService,
  RegistryTagInfo,
} from '../../core/services.js';
import type { RegistryRecord, Store } from '../../core/store/store.js';
import { RegistryClient, RegistryError, registryAddress } from '../registry/registry-client.js';
import type { SecretBox } from '../registry/secret-box.js';

export interface StoreRegistryServiceOptions {
  store: Store;
  secrets: SecretBox;
  logger: Logger;
}

const withoutSecret = ({ secret: _secret, ...info }: RegistryRecord): RegistryInfo => info;
const MAX_FIRST = 200;

export class StoreRegistryService implements RegistryService {
  constructor(private readonly o: StoreRegistryServiceOptions) {}

  async list(): Promise<RegistryInfo[]> {
    const all = await this.o.store.list('registries');
    return all.sort((a, b) => a.name.localeCompare(b.name)).map(withoutSecret);
  }

  async add(input: RegistryInput): Promise<RegistryInfo> {
    const record = await this.checked(input, undefined);
    await this.o.store.create('registries', record.id, record);
    return withoutSecret(record);
  }

  async update(id: string, input: RegistryInput): Promise<RegistryInfo> {
    const current = await this.o.store.get('registries', id);
    if (!current) throw notFound('registry', id);
    const record = await this.checked(input, current);
    await this.o.store.put('registries', id, record);
    return withoutSecret(record);
  }

  async remove(id: string): Promise<boolean> {
    return this.o.store.delete('registries', id);
  }

  credentialsFor = async (image: string): Promise<RegistryCredentials | undefined> => {
    const host = registryHostOf(image);
    if (!host) return undefined;
    const record = (await this.o.store.list('registries')).find((r) => r.host === host);
    if (!record?.username) return undefined;
    return { username: record.username, password: this.password(record) ?? '', serveraddress: host };
  };

  async repositories(
    id: string,
    options: { search?: string | undefined; first: number },
  ): Promise<RegistryRepositoryInfo[]> {
    const client = await this.client(id);
    const first = Math.min(Math.max(options.first, 1), MAX_FIRST);
    const search = options.search?.toLowerCase();
    const names: string[] = [];
    let last: string | undefined;
    for (;;) {
      const page = await this.call(() => client.catalog(100, last));
      names.push(...page.repositories.filter((n) => !search || n.toLowerCase().includes(search)));
      last = page.repositories.at(-1);
      if (names.length >= first || !page.more || !last) break;
    }
    return Promise.all(
      names.slice(0, first).map(async (name) => ({ name, tags: await this.tags(client, name) })),
    );
  }

  async deleteTag(id: string, repository: string, tag: string): Promise<boolean> {
    const client = await this.client(id);
    let digest: string;
    try {
      digest = (await client.manifest(repository, tag)).digest;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw this.mapped(err);
    }
    await this.call(() => client.deleteManifest(repository, digest));
    return true;
  }

  private async tags(client: RegistryClient, repository: string): Promise<RegistryTagInfo[]> {
    const names = (await this.call(() => client.tags(repository))).sort();
    return Promise.all(
      names.map(async (name) => {
        const m = await this.call(() => client.manifest(repository, name));
        const created = m.configDigest
          ? await client.created(repository, m.configDigest).catch(() => undefined)
          : undefined;
        return { name, digest: m.digest, sizeBytes: m.sizeBytes, created: created?.toISOString() };
      }),
    );
  }

  /** The record `input` describes, after the registry accepted its credentials. */
  private async checked(input: RegistryInput, current: RegistryRecord | undefined): Promise<RegistryRecord> {
    const name = input.name.trim();
    if (!name) throw badInput('name: must not be empty', 'name');
    const insecure = input.insecure ?? false;
    const address = registryAddress(input.url, insecure);
    if (!address) throw badInput('url: expected http(s)://host[:port] or host[:port]', 'url');
    const others = (await this.o.store.list('registries')).filter((r) => r.id !== current?.id);
    if (others.some((r) => r.host === address.host))
      throw badInput(`url: a registry for ${address.host} exists already`, 'url');
    const username = input.username === undefined ? current?.username : input.username || undefined;
    const password =
      input.password === undefined || input.password === null
        ? username === current?.username && current
          ? this.password(current)
          : undefined
        : input.password;
    if (username && password === undefined) throw badInput('password: needed with a username', 'password');
    const client = new RegistryClient({ baseUrl: address.baseUrl, username, password });
    try {
      await client.check();
    } catch (err) {
      if (err instanceof RegistryError && (err.status === 401 || err.status === 403))
        throw badInput(`password: ${address.host} refused the credentials (${err.message})`, 'password');
      throw badInput(
        `url: ${address.baseUrl}/v2/ did not answer as a registry: ${(err as Error).message}`,
        'url',
      );
    }
    return {
      id: current?.id ?? randomUUID(),
      name,
      url: input.url.trim(),
      host: address.host,
      username,
      secret: username && password !== undefined ? this.o.secrets.seal(password) : undefined,
      insecure,
      createdAt: current?.createdAt ?? new Date().toISOString(),
    };
  }

  private password(record: RegistryRecord): string | undefined {
    if (!record.secret) return undefined;
    try {
      return this.o.secrets.open(record.secret);
    } catch (err) {
      this.o.logger.warn(
        { registry: record.name, err },
        'cannot decrypt the registry password (HUMPBACK_SECRET_KEY changed?)',
      );
      return undefined;
    }
  }

  private async client(id: string): Promise<RegistryClient> {
    const record = await this.o.store.get('registries', id);
    if (!record) throw notFound('registry', id);
    const address = registryAddress(record.url, record.insecure)!;
    return new RegistryClient({
      baseUrl: address.baseUrl,
      username: record.username,
      password: this.password(record),
    });
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapped(err);
    }
  }

  private mapped(err: unknown): Error {
    if (err instanceof HumpbackError) return err;
    if (err instanceof RegistryError && err.status === 404)
      return new HumpbackError(ErrorCode.NOT_FOUND, err.message);
    return new HumpbackError(ErrorCode.ENGINE_ERROR, `the registry failed: ${(err as Error).message}`);
  }
}
