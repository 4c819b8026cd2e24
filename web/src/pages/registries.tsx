import { useState } from 'react';
import { request, useMutation, useQuery } from '../api';
import { RegistriesQuery, RemoveRegistryMutation } from '../operations';
import { ConfirmDialog, ErrorMessage, Spinner, formatTime } from '../ui';
import { RegistryBrowser, type TagRef } from './registry-browser';
import { DeployTag } from './registry-deploy';
import { RegistryForm, type Registry } from './registry-form';
import type { Viewer } from '../viewer';

/** Private registries: add (the gateway tests the credentials), edit, remove, browse, deploy a tag. */
export function RegistriesPage({ viewer }: { viewer: Viewer }) {
  const admin = viewer.admin;
  const { data, error, loading, refetch } = useQuery(RegistriesQuery, {});
  const [editing, setEditing] = useState<Registry | 'new' | null>(null);
  const [browsing, setBrowsing] = useState<string | null>(null);
  const [deploy, setDeploy] = useState<{ tag: TagRef; as: 'container' | 'service' } | null>(null);
  const [toRemove, setToRemove] = useState<Registry | null>(null);
  const remove = useMutation((id: string) => request(RemoveRegistryMutation, { id }));
  const browsed = data?.registries.find((r) => r.id === browsing);
  return (
    <section>
      <div className="page-head">
        <h1>Registries</h1>
        {admin ? (
          <button
            type="button"
            className="primary"
            aria-expanded={editing === 'new'}
            onClick={() => setEditing((e) => (e === 'new' ? null : 'new'))}
          >
            {editing === 'new' ? 'Close the form' : 'Add registry'}
          </button>
        ) : null}
      </div>
      <p className="muted">
        Images whose name starts with a registry&apos;s address are pulled and pushed with its credentials.
      </p>
      {editing ? (
        <RegistryForm
          key={editing === 'new' ? 'new' : editing.id}
          registry={editing === 'new' ? undefined : editing}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            refetch();
          }}
        />
      ) : null}
      <ErrorMessage error={error ?? remove.error} />
      {loading && !data ? <Spinner label="Loading registries…" /> : null}
      {data?.registries.length === 0 ? <p className="muted">No registries yet.</p> : null}
      {data?.registries.length ? (
        <RegistriesTable
          registries={data.registries}
          admin={admin}
          onBrowse={(r) => setBrowsing(r.id)}
          onEdit={setEditing}
          onRemove={setToRemove}
        />
      ) : null}
      {deploy ? <DeployTag tag={deploy.tag} as={deploy.as} onClose={() => setDeploy(null)} /> : null}
      {browsed ? (
        <RegistryBrowser
          key={browsed.id}
          registry={browsed}
          admin={admin}
          onDeploy={(tag, as) => setDeploy({ tag, as })}
        />
      ) : null}
      <ConfirmDialog
        open={toRemove !== null}
        title={`Remove registry ${toRemove?.name ?? ''}?`}
        confirmText="Remove registry"
        danger
        busy={remove.busy}
        onCancel={() => setToRemove(null)}
        onConfirm={async () => {
          const ok = toRemove ? await remove.run(toRemove.id) : undefined;
          if (toRemove?.id === browsing) setBrowsing(null);
          setToRemove(null);
          if (ok !== undefined) refetch();
        }}
      >
        <p>Humpback forgets its credentials. Nothing in the registry is deleted.</p>
      </ConfirmDialog>
    </section>
  );
}

function RegistriesTable(props: {
  registries: Registry[];
  /** Admins change registries; users browse them. */
  admin: boolean;
  onBrowse: (r: Registry) => void;
  onEdit: (r: Registry) => void;
  onRemove: (r: Registry) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="list" aria-label="Registries">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Address</th>
            <th scope="col">Username</th>
            <th scope="col">Added</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.registries.map((r) => (
            <tr key={r.id}>
              <th scope="row">{r.name}</th>
              <td>
                <code>{r.url}</code> {r.insecure ? <span className="badge warn">plain HTTP</span> : null}
              </td>
              <td>{r.username ?? <span className="muted">anonymous</span>}</td>
              <td>{formatTime(r.createdAt)}</td>
              <td>
                <button
                  type="button"
                  className="small"
                  aria-label={`browse ${r.name}`}
                  onClick={() => props.onBrowse(r)}
                >
                  Browse
                </button>
                {props.admin ? (
                  <>
                    <button
                      type="button"
                      className="small"
                      aria-label={`edit ${r.name}`}
                      onClick={() => props.onEdit(r)}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      className="small danger"
                      aria-label={`remove registry ${r.name}`}
                      onClick={() => props.onRemove(r)}
                    >
                      Remove
                    </button>
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
