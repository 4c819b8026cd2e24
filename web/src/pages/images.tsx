import { useState } from 'react';
import { request, useMutation, useQuery, type Mutation } from '../api';
import type { ImagesQuery as ImagesData } from '../gql/graphql';
import { ImagesQuery, PullImageMutation, RemoveImageMutation } from '../operations';
import { setParams } from '../nav';
import { BusyButton, ConfirmDialog, ErrorMessage, Spinner, formatBytes } from '../ui';
import { NodeSelect } from './node-select';

type Image = ImagesData['images'][number];

export function ImagesPage({ params }: { params: URLSearchParams }) {
  const nodeId = params.get('nodeId') ?? '';
  const { data, error, loading, refetch } = useQuery(ImagesQuery, { nodeId }, { skip: !nodeId });
  const [toRemove, setToRemove] = useState<string | null>(null);
  const [force, setForce] = useState(false);
  const remove = useMutation((ref: string) => request(RemoveImageMutation, { nodeId, image: ref, force }));

  return (
    <section>
      <div className="page-head">
        <h1>Images</h1>
      </div>
      <div className="filters">
        <NodeSelect value={nodeId} onChange={(id) => setParams({ nodeId: id })} />
      </div>
      {!nodeId ? <p>Choose a node to see its images.</p> : null}
      {nodeId ? <PullImageForm nodeId={nodeId} onPulled={refetch} /> : null}
      <ErrorMessage error={error ?? remove.error} />
      {loading && !data ? <Spinner label="Loading images…" /> : null}
      {data ? <ImagesTable images={data.images} onRemove={setToRemove} /> : null}
      <RemoveImageDialog
        image={toRemove}
        force={force}
        onForce={setForce}
        mutation={remove}
        onClose={() => setToRemove(null)}
        onRemoved={refetch}
      />
    </section>
  );
}

function PullImageForm({ nodeId, onPulled }: { nodeId: string; onPulled: () => void }) {
  const [image, setImage] = useState('');
  const pull = useMutation((ref: string) => request(PullImageMutation, { nodeId, image: ref }));
  return (
    <form
      className="inline card"
      aria-label="Pull an image"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await pull.run(image.trim())) {
          setImage('');
          onPulled();
        }
      }}
    >
      <label>
        Image to pull
        <input
          required
          placeholder="registry.local:5000/app:1.2"
          value={image}
          onChange={(e) => setImage(e.target.value)}
        />
      </label>
      <BusyButton
        type="submit"
        className="primary"
        busy={pull.busy}
        busyText={`Pulling ${image}… this can take a while`}
      >
        Pull
      </BusyButton>
      <ErrorMessage error={pull.error} />
    </form>
  );
}

/** The node's images; `onRemove` gets the reference to remove (the first tag, or the id). */
function ImagesTable({ images, onRemove }: { images: Image[]; onRemove: (ref: string) => void }) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Images">
        <thead>
          <tr>
            <th scope="col">Tags</th>
            <th scope="col">Id</th>
            <th scope="col">Size</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {images.map((img) => {
            const ref = img.tags[0] ?? img.id;
            return (
              <tr key={img.id}>
                <th scope="row">
                  {img.tags.length > 0 ? img.tags.join(', ') : <span className="muted">untagged</span>}
                </th>
                <td>
                  <code>{img.id.replace(/^sha256:/, '').slice(0, 12)}</code>
                </td>
                <td>{formatBytes(img.sizeBytes)}</td>
                <td>
                  <button
                    type="button"
                    className="small danger"
                    aria-label={`remove image ${ref}`}
                    onClick={() => onRemove(ref)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function RemoveImageDialog({
  image,
  force,
  onForce,
  mutation: remove,
  onClose,
  onRemoved,
}: {
  image: string | null;
  force: boolean;
  onForce: (force: boolean) => void;
  mutation: Mutation<[string], unknown>;
  onClose: () => void;
  onRemoved: () => void;
}) {
  return (
    <ConfirmDialog
      open={image !== null}
      title={`Remove image ${image ?? ''}?`}
      confirmText="Remove image"
      danger
      busy={remove.busy}
      onCancel={onClose}
      onConfirm={async () => {
        const ok = image ? await remove.run(image) : false;
        onClose();
        if (ok) onRemoved();
      }}
    >
      <p>The image is deleted from this node. Containers that use it keep running.</p>
      <label className="check">
        <input type="checkbox" checked={force} onChange={(e) => onForce(e.target.checked)} /> Force (also when
        stopped containers use it)
      </label>
    </ConfirmDialog>
  );
}
