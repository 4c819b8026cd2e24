import { useEffect } from 'react';
import { useQuery } from '../api';
import { NodesQuery } from '../operations';

/** A labelled node picker, limited to a group's nodes when `groupId` is set. */
export function NodeSelect({
  value,
  onChange,
  groupId,
  allowAll,
  required,
  label = 'Node',
}: {
  value: string;
  onChange: (nodeId: string) => void;
  groupId?: string;
  allowAll?: boolean;
  required?: boolean;
  label?: string;
}) {
  const { data } = useQuery(NodesQuery, { groupId: groupId || null });
  const only = data?.nodes.length === 1 ? data.nodes[0]!.id : undefined;
  // The only node is the choice: preselect it rather than make the user pick it.
  useEffect(() => {
    if (only && !allowAll && !value) onChange(only);
  }, [only, allowAll, value, onChange]);
  return (
    <label>
      {label}
      <select value={value} required={required} onChange={(e) => onChange(e.target.value)}>
        <option value="">{allowAll ? 'All nodes' : 'Choose a node…'}</option>
        {(data?.nodes ?? []).map((n) => (
          <option key={n.id} value={n.id}>
            {n.name} ({n.ip}) · {n.status.toLowerCase()}
          </option>
        ))}
      </select>
    </label>
  );
}
