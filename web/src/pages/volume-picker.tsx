import { useState } from 'react';
import { useQuery } from '../api';
import { VolumesQuery } from '../operations';

/**
 * Adds a named volume to a form's volume lines: one of the node's volumes (container form), or a name
 * to type, e.g. `data-{index}` for a volume per instance (service form).
 */
export function VolumePicker({
  nodeId,
  onAdd,
}: {
  nodeId?: string | undefined;
  onAdd: (line: string) => void;
}) {
  const { data } = useQuery(VolumesQuery, { nodeId: nodeId ?? '' }, { skip: !nodeId });
  const [name, setName] = useState('');
  const [path, setPath] = useState('/data');
  const add = () => {
    if (!name.trim() || !path.trim()) return;
    onAdd(`${name.trim()}:${path.trim()}`);
    setName('');
  };
  return (
    <div className="inline" role="group" aria-label="Add a volume">
      {nodeId ? (
        <label>
          Named volume
          <select value={name} onChange={(e) => setName(e.target.value)}>
            <option value="">choose…</option>
            {(data?.volumes ?? []).map((v) => (
              <option key={v.name} value={v.name}>
                {v.name}
                {v.usedBy.length ? ` (in use by ${v.usedBy.map((c) => c.name).join(', ')})` : ''}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <label>
          Volume name <span className="hint">({'{index}'}: one per instance)</span>
          <input placeholder="data-{index}" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      )}
      <label>
        Mounted at
        <input value={path} onChange={(e) => setPath(e.target.value)} />
      </label>
      <button type="button" className="small" onClick={add}>
        Add volume
      </button>
    </div>
  );
}
