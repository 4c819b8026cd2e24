import { useEffect } from 'react';
import { useQuery } from '../api';
import { GroupNamesQuery } from '../operations';

/** A labelled group picker; `allowAll` adds an "All groups" choice (value ""). */
export function GroupSelect({
  value,
  onChange,
  allowAll,
  clusterOnly,
  label = 'Group',
}: {
  value: string;
  onChange: (groupId: string) => void;
  allowAll?: boolean;
  clusterOnly?: boolean;
  label?: string;
}) {
  const { data } = useQuery(GroupNamesQuery, {});
  const groups = (data?.groups ?? []).filter((g) => !clusterOnly || g.clusterMode);
  const only = groups.length === 1 ? groups[0]!.id : undefined;
  // The only group is the choice: preselect it rather than make the user pick it.
  useEffect(() => {
    if (only && !allowAll && !value) onChange(only);
  }, [only, allowAll, value, onChange]);
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {allowAll ? <option value="">All groups</option> : <option value="">Choose a group…</option>}
        {groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
    </label>
  );
}
