/**
 * Image jobs on this node's engine: build (a tar context), load (a `docker save` tar), commit, push
 * and pull. Each hands back Docker's progress stream (NDJSON, Docker's own messages) so the route can
 * pass it on as it comes; request bodies are piped to Docker, never buffered.
 */
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { imageName, parseImageRef } from '../core/image-ref.js';
import type { RegistryCredentials } from '../core/registry-auth.js';
import { dockerCall } from './docker-runtime.js';

export interface BuildOptions {
  tag: string;
  /** Path of the Dockerfile inside the context. @default 'Dockerfile' */
  dockerfile?: string | undefined;
  buildArgs?: Record<string, string> | undefined;
  /** Credentials for the `FROM` images, by registry host. */
  registryConfig?: Record<string, RegistryCredentials> | undefined;
}

/** Docker's stream, and what the job made once the stream ended well. */
export interface JobStream {
  progress: NodeJS.ReadableStream;
  /** Called after the stream ended without an error line: the image made, pushed or pulled. */
  result: () => Promise<{ image: string; id?: string | undefined }>;
}

export class ImageJobOps {
  constructor(private readonly docker: Docker) {}

  async build(context: Readable, o: BuildOptions): Promise<JobStream> {
    const progress = await dockerCall(`building ${o.tag}`, () =>
      this.docker.buildImage(context, {
        t: o.tag,
        dockerfile: o.dockerfile ?? 'Dockerfile',
        buildargs: o.buildArgs ?? {},
        rm: true,
        ...(o.registryConfig ? { registryconfig: o.registryConfig } : {}),
      } as Docker.ImageBuildOptions),
    );
    return { progress, result: () => this.imageResult(o.tag) };
  }

  /** The images loaded are named in Docker's `Loaded image: …` lines (the route collects them). */
  async load(tar: Readable): Promise<NodeJS.ReadableStream> {
    return dockerCall(
      'loading images',
      () => this.docker.loadImage(tar, { quiet: false }) as Promise<NodeJS.ReadableStream>,
    );
  }

  async commit(container: string, tag: string): Promise<{ image: string; id: string }> {
    const ref = parseImageRef(tag);
    const out = (await dockerCall(`committing container ${container}`, () =>
      this.docker.getContainer(container).commit({ repo: imageName(ref), tag: ref.tag ?? 'latest' }),
    )) as { Id: string };
    return { image: `${imageName(ref)}:${ref.tag ?? 'latest'}`, id: out.Id };
  }

  async push(image: string, auth: RegistryCredentials | undefined): Promise<JobStream> {
    const ref = parseImageRef(image);
    const progress = (await dockerCall(`pushing ${image}`, () =>
      this.docker
        .getImage(imageName(ref))
        .push({ tag: ref.tag ?? 'latest', authconfig: auth ?? {} } as object),
    )) as NodeJS.ReadableStream;
    return { progress, result: () => this.imageResult(image) };
  }

  async pull(image: string, auth: RegistryCredentials | undefined): Promise<JobStream> {
    const ref = parseImageRef(image);
    const progress = (await dockerCall(`pulling ${image}`, () =>
      this.docker.createImage(auth ?? {}, {
        fromImage: imageName(ref),
        tag: ref.digest ?? ref.tag ?? 'latest',
      }),
    )) as NodeJS.ReadableStream;
    return { progress, result: () => this.imageResult(image) };
  }

  async imageResult(image: string): Promise<{ image: string; id: string }> {
    const info = await dockerCall(`image ${image}`, () => this.docker.getImage(image).inspect());
    return { image, id: info.Id };
  }
}
