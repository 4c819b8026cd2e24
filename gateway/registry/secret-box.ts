/**
 * Secrets at rest (registry passwords): AES-256-GCM under a key from HUMPBACK_SECRET_KEY, or one
 * generated once and kept in the store's settings (as the JWT secret is), shared by every gateway.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { StoreConflictError, type Store } from '../../core/store/store.js';

const SETTING = 'secretKey';
const VERSION = 'v1';

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** The key of `configured` (any length: hashed to 32 bytes), else the store's, made on first use. */
  static async open(store: Store, configured: string | undefined): Promise<SecretBox> {
    if (configured) return new SecretBox(createHash('sha256').update(configured).digest());
    return new SecretBox(Buffer.from(await loadOrCreateKey(store), 'base64url'));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join(':');
  }

  /** Throws when `sealed` was not made with this key (HUMPBACK_SECRET_KEY changed). */
  open(sealed: string): string {
    const [version, iv, tag, data] = sealed.split(':');
    if (version !== VERSION || !iv || !tag || data === undefined) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }
}

async function loadOrCreateKey(store: Store): Promise<string> {
  const existing = await store.get('settings', SETTING);
  if (existing) return existing.value;
  const value = randomBytes(32).toString('base64url');
  try {
    await store.create('settings', SETTING, { id: SETTING, value });
    return value;
  } catch (err) {
    // another gateway made it first: use theirs
    if (!(err instanceof StoreConflictError)) throw err;
    const winner = await store.get('settings', SETTING);
    if (!winner) throw err;
    return winner.value;
  }
}
