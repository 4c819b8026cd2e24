import { useState } from 'react';
import { useQuery } from '../api';
import { MeQuery } from '../operations';
import { CreateMetaForm } from './meta-form';

/**
 * "Import from Humpback v1" on the services page (admins): a service created with the v1 meta's
 * MetaId takes over the containers the v1 center made (found by their HUMPBACK_CLUSTER_METAID env)
 * instead of creating new ones.
 */
export function ImportV1Meta({ groupId, onImported }: { groupId: string; onImported: () => void }) {
  const [open, setOpen] = useState(false);
  const me = useQuery(MeQuery, {});
  if (!me.data?.me.admin) return null; // choosing a meta id is the admins'
  return (
    <>
      <button type="button" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {open ? 'Close the import' : 'Import from Humpback v1'}
      </button>
      {open ? (
        <CreateMetaForm
          groupId={groupId}
          importV1
          onCreated={() => {
            setOpen(false);
            onImported();
          }}
        />
      ) : null}
    </>
  );
}
