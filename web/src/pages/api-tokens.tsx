import { useState, type FormEvent } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { ApiTokenFieldsFragment as ApiToken, TokenScope } from '../gql/graphql';
import { ApiTokensQuery, CreateApiTokenMutation, RevokeApiTokenMutation } from '../operations';
import { BusyButton, ErrorMessage, Spinner, formatTime } from '../ui';
import type { Viewer } from '../viewer';

/** The viewer's API tokens: create one (its token is shown once), list and revoke them. */
export function ApiTokens({ viewer }: { viewer: Viewer }) {
  const { data, error, loading, refetch } = useQuery(ApiTokensQuery, {});
  const [shown, setShown] = useState<string | null>(null);
  return (
    <section aria-labelledby="tokens-head">
      <h2 id="tokens-head">API tokens</h2>
      <p className="muted">
        For scripts and CI: send <code>Authorization: Bearer &lt;token&gt;</code>. READ tokens only read;
        WRITE tokens also change what you may change; ADMIN tokens (admins) do all an admin may.
      </p>
      <CreateTokenForm
        admin={viewer.admin}
        onCreated={(token) => {
          setShown(token);
          refetch();
        }}
      />
      {shown ? <NewToken token={shown} onDone={() => setShown(null)} /> : null}
      <ErrorMessage error={error} />
      {loading && !data ? <Spinner label="Loading tokens…" /> : null}
      {data ? <TokensTable tokens={data.apiTokens} onRevoked={refetch} /> : null}
    </section>
  );
}

function CreateTokenForm({ admin, onCreated }: { admin: boolean; onCreated: (token: string) => void }) {
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('READ' as TokenScope);
  const [days, setDays] = useState('');
  const create = useMutation(() =>
    request(CreateApiTokenMutation, {
      name: name.trim(),
      scopes: [scope],
      expiresInDays: days ? Number(days) : null,
    }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const result = await create.run();
    if (result) {
      setName('');
      setDays('');
      onCreated(result.createApiToken.token);
    }
  };
  return (
    <form className="card form" aria-label="Create an API token" onSubmit={submit}>
      <label>
        Token name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Scope
        <select value={scope} onChange={(e) => setScope(e.target.value as TokenScope)}>
          <option value="READ">READ: queries and subscriptions</option>
          <option value="WRITE">WRITE: also changes</option>
          {admin ? <option value="ADMIN">ADMIN: everything an admin may</option> : null}
        </select>
      </label>
      <label>
        Expires in days (empty: never)
        <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
      </label>
      <ErrorMessage error={create.error} />
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating…">
        Create token
      </BusyButton>
    </form>
  );
}

/** The new token, this once: copy it now. */
function NewToken({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="card notice" role="status" aria-label="New API token">
      <p>Copy this token now: it is not shown again.</p>
      <code data-testid="new-token">{token}</code>
      <div className="inline">
        <button
          type="button"
          // no clipboard (an insecure origin) or no permission: the token stays shown to copy by hand
          onClick={() =>
            void navigator.clipboard?.writeText(token).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

function TokensTable({ tokens, onRevoked }: { tokens: ApiToken[]; onRevoked: () => void }) {
  const revoke = useMutation((id: string) => request(RevokeApiTokenMutation, { id }));
  if (tokens.length === 0) return <p className="muted">No API tokens yet.</p>;
  return (
    <div className="table-wrap">
      <ErrorMessage error={revoke.error} />
      <table className="list" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id}>
              <th scope="row">{t.name}</th>
              <td>{t.scopes.join(', ')}</td>
              <td>{formatTime(t.createdAt)}</td>
              <td>{t.lastUsedAt ? formatTime(t.lastUsedAt) : 'never'}</td>
              <td>{t.expiresAt ? formatTime(t.expiresAt) : 'never'}</td>
              <td>
                <button
                  type="button"
                  className="small danger"
                  aria-label={`revoke token ${t.name}`}
                  onClick={async () => {
                    if ((await revoke.run(t.id)) !== undefined) onRevoked();
                  }}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
