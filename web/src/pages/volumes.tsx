import { useState } from 'react';
import { request, tokenStore, useMutation, useQuery } from '../api';
import type { VolumesQuery as VolumesData } from '../gql/graphql';
import { ClearVolumeMutation, RemoveVolumeMutation, VolumesQuery } from '../operations';
import { ConfirmDialog, ErrorMessage, Spinner, formatBytes } from '../ui';
import { NodePage } from './node-page';
import { CreateVolumeForm } from './volume-create-form';
import { RestoreVolumeButton } from './volume-restore';

type Volume = VolumesData['volumes'][number];
type Pending = { volume: Volume; action: 'remove' | 'clear' } | null;

/** The volumes of one node: create (also NFS), who uses each, clear, remove, download, restore. */
export function VolumesPage({ params }: { params: URLSearchParams }) {
  const nodeId = params.get('nodeId') ?? '';
  const { data, error, loading, refetch } = useQuery(VolumesQuery, { nodeId }, { skip: !nodeId });
  const [pending, setPending] = useState<Pending>(null);
  const [download, setDownload] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  return (
    <NodePage title="Volumes" what="volumes" nodeId={nodeId}>
      <CreateVolumeForm nodeId={nodeId} onCreated={refetch} />
      <ErrorMessage error={error} />
      {download ? (
        <p className="error" role="alert">
          {download}
        </p>
      ) : null}
      {notice ? (
        <p role="status" aria-label="Restore result">
          {notice}
        </p>
      ) : null}
      {loading && !data ? <Spinner label="Loading volumes…" /> : null}
      {data ? (
        <VolumesTable
          volumes={data.volumes}
          onAction={(volume, action) => setPending({ volume, action })}
          onDownload={(v) =>
            downloadVolume(v).then(
              () => setDownload(undefined),
              (e: Error) => setDownload(e.message),
            )
          }
          onRestore={(result) => {
            setNotice(undefined);
            result.then(
              (text) => {
                setDownload(undefined);
                setNotice(text);
                refetch();
              },
              (e: Error) => setDownload(e.message),
            );
          }}
        />
      ) : null}
      <VolumeActionDialog pending={pending} onClose={() => setPending(null)} onDone={refetch} />
    </NodePage>
  );
}

/** Fetches the tar with the session's token and hands it to the browser as a file. */
async function downloadVolume(v: Volume): Promise<void> {
  const res = await fetch(`/volumes/${encodeURIComponent(v.nodeId)}/${encodeURIComponent(v.name)}/archive`, {
    headers: { authorization: `Bearer ${tokenStore.get() ?? ''}` },
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { errors?: Array<{ message: string }> };
    throw new Error(`Download failed: ${body.errors?.[0]?.message ?? res.statusText}`);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${v.name}.tar`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function VolumesTable(props: {
  volumes: Volume[];
  onAction: (v: Volume, action: 'remove' | 'clear') => void;
  onDownload: (v: Volume) => void;
  onRestore: (result: Promise<string>) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Volumes">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Driver</th>
            <th scope="col">Size</th>
            <th scope="col">In use by</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.volumes.map((v) => (
            <tr key={v.name}>
              <th scope="row">{v.name}</th>
              <td>
                {v.options.some((o) => o.key === 'type' && o.value === 'nfs')
                  ? `${v.driver} (NFS)`
                  : v.driver}
              </td>
              <td>{formatBytes(v.sizeBytes)}</td>
              <td>
                {v.usedBy.length ? (
                  v.usedBy.map((c) => c.name).join(', ')
                ) : (
                  <span className="muted">not in use</span>
                )}
              </td>
              <td>
                <button
                  type="button"
                  className="small"
                  aria-label={`download volume ${v.name}`}
                  onClick={() => props.onDownload(v)}
                >
                  Download
                </button>
                <RestoreVolumeButton nodeId={v.nodeId} name={v.name} onResult={props.onRestore} />
                <button
                  type="button"
                  className="small"
                  aria-label={`clear volume ${v.name}`}
                  onClick={() => props.onAction(v, 'clear')}
                >
                  Clear
                </button>
                <button
                  type="button"
                  className="small danger"
                  aria-label={`remove volume ${v.name}`}
                  onClick={() => props.onAction(v, 'remove')}
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function VolumeActionDialog({
  pending,
  onClose,
  onDone,
}: {
  pending: Pending;
  onClose: () => void;
  onDone: () => void;
}) {
  const [force, setForce] = useState(false);
  const run = useMutation((p: NonNullable<Pending>): Promise<unknown> =>
    p.action === 'clear'
      ? request(ClearVolumeMutation, { nodeId: p.volume.nodeId, name: p.volume.name })
      : request(RemoveVolumeMutation, { nodeId: p.volume.nodeId, name: p.volume.name, force }),
  );
  const name = pending?.volume.name ?? '';
  return (
    <>
      <ErrorMessage error={run.error} />
      <ConfirmDialog
        open={pending !== null}
        title={pending?.action === 'clear' ? `Clear volume ${name}?` : `Remove volume ${name}?`}
        confirmText={pending?.action === 'clear' ? 'Clear volume' : 'Remove volume'}
        danger
        busy={run.busy}
        onCancel={onClose}
        onConfirm={async () => {
          const ok = pending ? await run.run(pending) : false;
          onClose();
          if (ok) onDone();
        }}
      >
        <p>
          {pending?.action === 'clear'
            ? 'Everything in the volume is deleted. Refused while a container uses it.'
            : 'The volume and its data are deleted from this node. Refused while a container uses it.'}
        </p>
        {pending?.action === 'remove' ? (
          <label className="check">
            <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Force
            (remove even when in use, if Docker allows)
          </label>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
