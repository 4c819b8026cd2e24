/**
 * A first image without any registry: `humpback/busybox:latest`, imported into the local engine from
 * the static busybox of Debian's busybox-static package (`/bin/busybox`), with the applet links a
 * shell needs. `humpback up` offers it when the engine has no image.
 */
import { existsSync, readFileSync } from 'node:fs';
import type Docker from 'dockerode';

/** The image `humpback up` imports. */
export const FIRST_IMAGE = 'humpback/busybox:latest';
/** Where Debian's busybox-static puts its binary. */
export const BUSYBOX_PATH = '/bin/busybox';

const APPLETS = [
  'sh',
  'sleep',
  'echo',
  'cat',
  'ls',
  'env',
  'ps',
  'top',
  'wget',
  'nc',
  'httpd',
  'hostname',
  'date',
];

/** One ustar header block for `name`. */
function header(name: string, size: number, mode: number, type: '0' | '2' | '5', link = ''): Buffer {
  const b = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number): void => {
    b.write(text.slice(0, length), offset, 'utf8');
  };
  const octal = (n: number, length: number): string => n.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(mode, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(Math.floor(Date.now() / 1000), 12), 136, 12);
  b.fill(' ', 148, 156);
  put(type, 156, 1);
  put(link, 157, 100);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of b) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
  return b;
}

/** A root file system as a tar: bin/busybox and a link per applet. */
export function busyboxRootfs(busybox: Buffer): Buffer {
  const parts = [header('bin/', 0, 0o755, '5'), header('tmp/', 0, 0o1777, '5')];
  parts.push(header('bin/busybox', busybox.length, 0o755, '0'), busybox);
  parts.push(Buffer.alloc((512 - (busybox.length % 512)) % 512));
  for (const applet of APPLETS) parts.push(header(`bin/${applet}`, 0, 0o777, '2', 'busybox'));
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Whether the engine holds no image at all. */
export async function engineHasNoImage(docker: Docker): Promise<boolean> {
  return (await docker.listImages()).length === 0;
}

/** Imports {@link FIRST_IMAGE} from /bin/busybox; says what to install when it is missing. */
export async function importFirstImage(docker: Docker, busyboxPath = BUSYBOX_PATH): Promise<string> {
  if (!existsSync(busyboxPath)) {
    throw new Error(`${busyboxPath} is missing: install it with apt-get install busybox-static`);
  }
  const [repo, tag] = FIRST_IMAGE.split(':') as [string, string];
  const stream = await docker.importImage(busyboxRootfs(readFileSync(busyboxPath)) as never, {
    repo,
    tag,
    changes: 'CMD ["/bin/sh"]',
  });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
  );
  return FIRST_IMAGE;
}
