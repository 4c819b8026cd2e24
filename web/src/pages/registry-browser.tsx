import { useEffect, useState } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { RegistryRepositoriesQuery } from '../gql/graphql';
import { DeleteRegistryTagMutation, RegistryRepositoriesQuery as ReposQuery } from '../operations';
import { ConfirmDialog, ErrorMessage, Spinner, formatBytes, formatTime } from '../ui';
import type { Registry } from './registry-form';

type Repository = RegistryRepositoriesQuery['registryRepositories'][number];
export interface TagRef {
  repository: string;
  tag: string;
  /** The image reference to pull: `host[:port]/repository:tag`. */
  image: string;
}
const PAGE = 25;

/** `https://host:5000/` → `host:5000`: the part image names start with. */
export function registryHost(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

/** A registry's repositories (search, "Show more"), their tags; delete a tag, deploy one. */
export function RegistryBrowser({
  registry,
  admin,
  onDeploy,
}: {
  registry: Registry;
  /** Admins may delete tags. */
  admin: boolean;
  onDeploy: (ref: TagRef, as: 'container' | 'service') => void;
}) {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [first, setFirst] = useState(PAGE);
  // The catalog is read from the registry: ask once typing pauses, not per key.
  useEffect(() => {
    const timer = setTimeout(() => setApplied(search.trim()), 300);
    return () => clearTimeout(timer);
  }, [search]);
  const vars = { registryId: registry.id, search: applied || null, first: first + 1 };
  const { data, error, loading, refetch } = useQuery(ReposQuery, vars);
  const [toDelete, setToDelete] = useState<TagRef | null>(null);
  const del = useMutation((t: TagRef) =>
    request(DeleteRegistryTagMutation, { registryId: registry.id, repository: t.repository, tag: t.tag }),
  );
  const repos = data?.registryRepositories ?? [];
  const host = registryHost(registry.url);
  return (
    <div className="card" role="region" aria-label={`Repositories of ${registry.name}`}>
      <div className="card-head">
        <h2>Repositories of {registry.name}</h2>
        <button type="button" className="small" onClick={refetch}>
          Refresh
        </button>
      </div>
      <div className="filters">
        <label>
          Search repositories
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setFirst(PAGE);
            }}
          />
        </label>
      </div>
      <ErrorMessage error={error ?? del.error} />
      {loading && !data ? <Spinner label="Reading the registry's catalog…" /> : null}
      {data && repos.length === 0 ? <p className="muted">No repositories{applied ? ' match' : ''}.</p> : null}
      {repos.slice(0, first).map((r) => (
        <RepositoryTags
          key={r.name}
          repo={r}
          admin={admin}
          onDelete={(tag) => setToDelete({ repository: r.name, tag, image: `${host}/${r.name}:${tag}` })}
          onDeploy={(tag, as) => onDeploy({ repository: r.name, tag, image: `${host}/${r.name}:${tag}` }, as)}
        />
      ))}
      {repos.length > first ? (
        <button
          type="button"
          onClick={() => setFirst((f) => Math.min(200, f + PAGE))}
          disabled={first >= 200}
        >
          Show more repositories
        </button>
      ) : null}
      <DeleteTagDialog
        tag={toDelete}
        busy={del.busy}
        onClose={() => setToDelete(null)}
        onConfirm={async (t) => {
          const ok = await del.run(t);
          setToDelete(null);
          if (ok !== undefined) refetch();
        }}
      />
    </div>
  );
}

function RepositoryTags({
  repo,
  admin,
  onDelete,
  onDeploy,
}: {
  repo: Repository;
  admin: boolean;
  onDelete: (tag: string) => void;
  onDeploy: (tag: string, as: 'container' | 'service') => void;
}) {
  return (
    <div className="table-wrap">
      <h3>{repo.name}</h3>
      {repo.tags.length === 0 ? <p className="muted">No tags.</p> : null}
      {repo.tags.length ? (
        <table className="list" aria-label={`Tags of ${repo.name}`}>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Digest</th>
              <th scope="col">Size</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {repo.tags.map((t) => (
              <tr key={t.name} data-tag={`${repo.name}:${t.name}`}>
                <th scope="row">{t.name}</th>
                <td>
                  <code title={t.digest}>{t.digest.replace(/^sha256:/, '').slice(0, 12)}</code>
                </td>
                <td>{formatBytes(t.sizeBytes)}</td>
                <td>{formatTime(t.created)}</td>
                <td>
                  <button
                    type="button"
                    className="small"
                    aria-label={`deploy ${repo.name}:${t.name} as a container`}
                    onClick={() => onDeploy(t.name, 'container')}
                  >
                    Run as container
                  </button>
                  <button
                    type="button"
                    className="small"
                    aria-label={`deploy ${repo.name}:${t.name} as a service`}
                    onClick={() => onDeploy(t.name, 'service')}
                  >
                    Run as service
                  </button>
                  {admin ? (
                    <button
                      type="button"
                      className="small danger"
                      aria-label={`delete tag ${repo.name}:${t.name}`}
                      onClick={() => onDelete(t.name)}
                    >
                      Delete
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function DeleteTagDialog({
  tag,
  busy,
  onClose,
  onConfirm,
}: {
  tag: TagRef | null;
  busy: boolean;
  onClose: () => void;
  onConfirm: (tag: TagRef) => void;
}) {
  return (
    <ConfirmDialog
      open={tag !== null}
      title={`Delete tag ${tag?.repository ?? ''}:${tag?.tag ?? ''}?`}
      confirmText="Delete tag"
      danger
      busy={busy}
      onCancel={onClose}
      onConfirm={() => tag && onConfirm(tag)}
    >
      <p>
        The tag&apos;s manifest is deleted from the registry; other tags of the same manifest go with it.
        Images already pulled on nodes stay.
      </p>
    </ConfirmDialog>
  );
}
