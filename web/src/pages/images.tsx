import { useCallback, useState } from 'react';
import { request, useMutation, useQuery, type Mutation } from '../api';
import type { ImagesQuery as ImagesData } from '../gql/graphql';
import { ImagesQuery, RemoveImageMutation, StartPullMutation } from '../operations';
import { BusyButton, ConfirmDialog, ErrorMessage, Spinner, formatBytes } from '../ui';
import { BuildImageForm } from './image-build';
import { JobHistory, JobLog } from './image-jobs';
import { PushImageButton } from './image-push';
import { NodePage } from './node-page';

type Image = ImagesData['images'][number];

export function ImagesPage({ params }: { params: URLSearchParams }) {
  const nodeId = params.get('nodeId') ?? '';
  const [building, setBuilding] = useState(false);
  const toggle = (
    <button type="button" className="primary" aria-expanded={building} onClick={() => setBuilding((b) => !b)}>
      {building ? 'Close the build form' : 'Build or load an image'}
    </button>
  );
  return (
    <NodePage title="Images" what="images" nodeId={nodeId} actions={toggle}>
      <NodeImages key={nodeId} nodeId={nodeId} building={building} onBuilding={setBuilding} />
    </NodePage>
  );
}

/** One node's images: pull, build or load (with the live job log), push, remove, the job history. */
function NodeImages({
  nodeId,
  building,
  onBuilding,
}: {
  nodeId: string;
  building: boolean;
  onBuilding: (open: boolean) => void;
}) {
  const { data, error, loading, refetch } = useQuery(ImagesQuery, { nodeId });
  const [toRemove, setToRemove] = useState<string | null>(null);
  const [force, setForce] = useState(false);
  const [job, setJob] = useState<string | null>(null);
  const [ended, setEnded] = useState(0);
  const remove = useMutation((ref: string) => request(RemoveImageMutation, { nodeId, image: ref, force }));
  const onEnded = useCallback(() => {
    setEnded((n) => n + 1);
    refetch();
  }, [refetch]);
  const open = (id: string) => {
    setJob(id);
    setEnded((n) => n + 1);
  };
  return (
    <>
      <PullImageForm nodeId={nodeId} onStarted={open} />
      {building ? (
        <BuildImageForm
          nodeId={nodeId}
          onStarted={(id) => {
            onBuilding(false);
            open(id);
          }}
        />
      ) : null}
      {job ? (
        <div className="card">
          <div className="card-head">
            <h2>Image job</h2>
            <button type="button" className="small" onClick={() => setJob(null)}>
              Close the log
            </button>
          </div>
          <JobLog jobId={job} onEnded={onEnded} />
        </div>
      ) : null}
      <ErrorMessage error={error ?? remove.error} />
      {loading && !data ? <Spinner label="Loading images…" /> : null}
      {data ? (
        <ImagesTable images={data.images} nodeId={nodeId} onRemove={setToRemove} onPushed={open} />
      ) : null}
      <JobHistory nodeId={nodeId} refreshKey={String(ended)} onOpen={setJob} />
      <RemoveImageDialog
        image={toRemove}
        force={force}
        onForce={setForce}
        mutation={remove}
        onClose={() => setToRemove(null)}
        onRemoved={refetch}
      />
    </>
  );
}

/** "Pull": starts a PULL image job; `onStarted` gets its id (the page shows its live log). */
function PullImageForm({ nodeId, onStarted }: { nodeId: string; onStarted: (jobId: string) => void }) {
  const [image, setImage] = useState('');
  const pull = useMutation((ref: string) => request(StartPullMutation, { nodeId, image: ref }));
  return (
    <form
      className="inline card"
      aria-label="Pull an image"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await pull.run(image.trim());
        if (r) {
          setImage('');
          onStarted(r.startPull.id);
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
      <BusyButton type="submit" className="primary" busy={pull.busy} busyText="Starting…">
        Pull
      </BusyButton>
      <ErrorMessage error={pull.error} />
    </form>
  );
}

/** The node's images; `onRemove` gets the reference to remove (the first tag, or the id). */
function ImagesTable({
  images,
  nodeId,
  onRemove,
  onPushed,
}: {
  images: Image[];
  nodeId: string;
  onRemove: (ref: string) => void;
  onPushed: (jobId: string) => void;
}) {
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
                  {img.tags[0] ? <PushImageButton nodeId={nodeId} image={ref} onStarted={onPushed} /> : null}
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
