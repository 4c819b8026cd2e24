import { badInput } from '../../core/errors.js';
import { isImageRef } from '../../core/image-ref.js';
import type { ImageInfo, ImageService } from '../../core/services.js';
import { callAgent, usableNode, type ServiceDeps } from './container-service.js';

function checkRef(image: string): string {
  const ref = image.trim();
  if (!isImageRef(ref)) throw badInput(`${JSON.stringify(image)} is not an image reference`, 'image');
  return ref;
}

/** Images of one node, through its agent. */
export class AgentImageService implements ImageService {
  constructor(private readonly deps: ServiceDeps) {}

  list(nodeId: string): Promise<ImageInfo[]> {
    const { node, agent } = usableNode(this.deps, nodeId);
    return callAgent(this.deps, node, () => agent.images());
  }

  pull(nodeId: string, image: string): Promise<ImageInfo> {
    const ref = checkRef(image);
    const { node, agent } = usableNode(this.deps, nodeId);
    return callAgent(this.deps, node, () => agent.pullImage(ref));
  }

  async remove(nodeId: string, image: string, force: boolean): Promise<boolean> {
    const ref = checkRef(image);
    const { node, agent } = usableNode(this.deps, nodeId);
    await callAgent(this.deps, node, () => agent.removeImage(ref, force));
    return true;
  }
}
