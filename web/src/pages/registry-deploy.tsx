import { useState } from 'react';
import { navigate } from '../nav';
import { CreateContainerForm } from './container-form';
import { GroupSelect } from './group-select';
import { CreateMetaForm } from './meta-form';
import type { TagRef } from './registry-browser';

/** A registry tag deployed: the container form or the service form, the image filled in. */
export function DeployTag({
  tag,
  as,
  onClose,
}: {
  tag: TagRef;
  as: 'container' | 'service';
  onClose: () => void;
}) {
  const [groupId, setGroupId] = useState('');
  return (
    <div className="card" role="region" aria-label={`Deploy ${tag.image}`}>
      <div className="card-head">
        <h2>
          Run <code>{tag.image}</code> as a {as}
        </h2>
        <button type="button" className="small" onClick={onClose}>
          Close
        </button>
      </div>
      {as === 'container' ? (
        <CreateContainerForm
          key={tag.image}
          defaultNodeId=""
          groupId=""
          defaultImage={tag.image}
          onCreated={(id) => navigate('containers', { id })}
        />
      ) : (
        <>
          <div className="filters">
            <GroupSelect clusterOnly value={groupId} onChange={setGroupId} label="Cluster group" />
          </div>
          {groupId ? (
            <CreateMetaForm
              key={`${groupId} ${tag.image}`}
              groupId={groupId}
              defaultImage={tag.image}
              onCreated={() => navigate('metas', { groupId })}
            />
          ) : (
            <p>Choose the cluster-mode group to run the service in.</p>
          )}
        </>
      )}
    </div>
  );
}
