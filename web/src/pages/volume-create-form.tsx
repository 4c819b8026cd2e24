import { useState } from 'react';
import { request, useMutation } from '../api';
import { CreateVolumeMutation } from '../operations';
import { BusyButton, ErrorMessage, parseLabels } from '../ui';

/** Makes a volume on the node: a local one, or an NFS export (admins only). */
export function CreateVolumeForm({ nodeId, onCreated }: { nodeId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [labels, setLabels] = useState('');
  const [nfs, setNfs] = useState(false);
  const [server, setServer] = useState('');
  const [path, setPath] = useState('');
  const [options, setOptions] = useState('');
  const create = useMutation(() =>
    request(CreateVolumeMutation, {
      nodeId,
      input: {
        name: name.trim(),
        labels: parseLabels(labels),
        ...(nfs
          ? { nfs: { server: server.trim(), path: path.trim(), options: options.trim() || null } }
          : {}),
      },
    }),
  );
  return (
    <form
      className="inline card"
      aria-label="Create a volume"
      onSubmit={async (e) => {
        e.preventDefault();
        if (await create.run()) {
          setName('');
          setLabels('');
          onCreated();
        }
      }}
    >
      <label>
        Volume name
        <input required placeholder="app-data" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Labels (key=value, one a line)
        <textarea rows={1} value={labels} onChange={(e) => setLabels(e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={nfs} onChange={(e) => setNfs(e.target.checked)} /> NFS export
      </label>
      {nfs ? (
        <>
          <label>
            NFS server
            <input
              required
              placeholder="10.0.0.5"
              value={server}
              onChange={(e) => setServer(e.target.value)}
            />
          </label>
          <label>
            Export path
            <input
              required
              placeholder="/export/data"
              value={path}
              onChange={(e) => setPath(e.target.value)}
            />
          </label>
          <label>
            Mount options
            <input placeholder="vers=4,soft" value={options} onChange={(e) => setOptions(e.target.value)} />
          </label>
        </>
      ) : null}
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating…">
        Create volume
      </BusyButton>
      <ErrorMessage error={create.error} />
    </form>
  );
}
