import { useState, type FormEvent } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { CreateMetaInput } from '../gql/graphql';
import { CreateMetaMutation, MeQuery } from '../operations';
import { BusyButton, ErrorMessage, InputError, lines } from '../ui';
import { ConfigFields, emptyDraft, toConfigInput, type ConfigDraft } from './container-form';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The import form as the API input; throws Error with a plain message on bad input. */
function toImportInput(
  groupId: string,
  metaId: string,
  instances: string,
  config: ConfigDraft,
  webhooks: string,
): CreateMetaInput {
  const id = metaId.trim();
  if (!UUID.test(id)) throw new Error('The v1 MetaId is a UUID, e.g. 9a8b7c6d-0000-4000-8000-000000000002');
  const n = Number(instances);
  if (!Number.isInteger(n) || n < 0) throw new Error('Instances must be a whole number');
  return {
    id,
    groupId,
    instances: n,
    config: toConfigInput(config),
    webhooks: lines(webhooks).map((line) => {
      const [url = '', secretToken] = line.split(/\s+/);
      return { url, secretToken: secretToken ?? null };
    }),
  };
}

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
        <ImportForm
          groupId={groupId}
          onImported={() => {
            setOpen(false);
            onImported();
          }}
        />
      ) : null}
    </>
  );
}

function ImportForm({ groupId, onImported }: { groupId: string; onImported: () => void }) {
  const [metaId, setMetaId] = useState('');
  const [instances, setInstances] = useState('1');
  const [draft, setDraft] = useState<ConfigDraft>(emptyDraft);
  const [webhooks, setWebhooks] = useState('');
  const [inputError, setInputError] = useState<string | undefined>();
  const create = useMutation((input: CreateMetaInput) => request(CreateMetaMutation, { input }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let input: CreateMetaInput;
    try {
      input = toImportInput(groupId, metaId, instances, draft, webhooks);
      setInputError(undefined);
    } catch (err) {
      setInputError((err as Error).message);
      return;
    }
    if (await create.run(input)) onImported();
  };

  return (
    <form className="card form config-form" aria-label="Import a Humpback v1 service" onSubmit={submit}>
      <h2>Import from Humpback v1</h2>
      <p className="muted">
        The running containers of the v1 service are adopted, not recreated. Give the service&apos;s v1 MetaId
        (the HUMPBACK_CLUSTER_METAID of its containers, or the name of its file in the v1 center&apos;s cache
        directory), and its instances, name, image and settings as in that file.
      </p>
      <label>
        v1 MetaId
        <input name="metaId" required value={metaId} onChange={(e) => setMetaId(e.target.value)} />
      </label>
      <label>
        Instances
        <input
          name="instances"
          type="number"
          min={0}
          required
          value={instances}
          onChange={(e) => setInstances(e.target.value)}
        />
      </label>
      <ConfigFields draft={draft} onChange={setDraft} />
      <label>
        Webhooks <span className="hint">(URL and optional secret token, one a line)</span>
        <textarea name="webhooks" rows={2} value={webhooks} onChange={(e) => setWebhooks(e.target.value)} />
      </label>
      <InputError message={inputError} />
      <ErrorMessage error={create.error} />
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Importing…">
        Import service
      </BusyButton>
    </form>
  );
}
