/**
 * What the agent does to images: list, pull unless present, inspect, remove. Docker's errors leave
 * here as HttpErrors.
 */
import type Docker from 'dockerode';
import { dockerCall, ensureImage } from './docker-runtime.js';
import type { ImageListItem } from '../core/agent-wire.js';
import type { RegistryCredentials } from '../core/registry-auth.js';

export class ImageOps {
  constructor(private readonly docker: Docker) {}

  /** `GET /images`: Docker's list, in its list format. */
  async list(): Promise<ImageListItem[]> {
    const list = await dockerCall('listing images', () => this.docker.listImages());
    return list.map((i): ImageListItem => ({
      Id: i.Id,
      RepoTags: i.RepoTags ?? [],
      RepoDigests: i.RepoDigests ?? [],
      Created: i.Created,
      Size: i.Size,
      VirtualSize: i.Size,
      Labels: i.Labels ?? null,
    }));
  }

  /** `POST /images`: pulls unless the engine has it; the image in the list format. */
  async pull(ref: string, auth?: RegistryCredentials): Promise<ImageListItem> {
    await dockerCall(`pulling image ${ref}`, () => ensureImage(this.docker, ref, auth));
    return listItem(await this.inspect(ref));
  }

  /** Docker's inspect, as Docker gives it. */
  inspect(ref: string): Promise<Docker.ImageInspectInfo> {
    return dockerCall(`image ${ref}`, () => this.docker.getImage(ref).inspect());
  }

  /** Docker's answer: what it untagged and deleted. */
  remove(ref: string, force: boolean): Promise<unknown> {
    return dockerCall(`removing image ${ref}`, () => this.docker.getImage(ref).remove({ force }));
  }
}

function listItem(i: Docker.ImageInspectInfo): ImageListItem {
  return {
    Id: i.Id,
    RepoTags: i.RepoTags ?? [],
    RepoDigests: i.RepoDigests ?? [],
    Created: Math.floor(Date.parse(i.Created) / 1000),
    Size: i.Size,
    VirtualSize: i.Size,
    Labels: i.Config?.Labels ?? null,
  };
}
