/**
 * Registry credentials as Docker takes them: `X-Registry-Auth` is base64url of
 * `{"username","password","serveraddress"}`. The gateway sends the credentials of the registry an
 * image's name starts with; the agent hands them to Docker for that pull or push.
 */
import { parseImageRef } from './image-ref.js';

export interface RegistryCredentials {
  username: string;
  password: string;
  /** `host[:port]` of the registry. */
  serveraddress: string;
}

/** The header the gateway sends to the agent, as Docker's API names it. */
export const REGISTRY_AUTH_HEADER = 'x-registry-auth';

export function encodeRegistryAuth(c: RegistryCredentials): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** undefined for no header or one that is not Docker's format. */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Partial<RegistryCredentials>;
    if (typeof v.username !== 'string' || typeof v.password !== 'string') return undefined;
    return { username: v.username, password: v.password, serveraddress: String(v.serveraddress ?? '') };
  } catch {
    return undefined;
  }
}

/** The registry host (`host[:port]`, lower case) an image name starts with; undefined for Docker Hub or a bad name. */
export function registryHostOf(image: string): string | undefined {
  try {
    return parseImageRef(image).registry?.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Finds the credentials for an image; what the agent pool and the job runner ask before an agent call. */
export type RegistryAuthLookup = (image: string) => Promise<RegistryCredentials | undefined>;
