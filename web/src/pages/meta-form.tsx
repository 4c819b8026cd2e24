import { useState, type FormEvent } from 'react';
import { request, useMutation } from '../api';
import type { CreateMetaInput } from '../gql/graphql';
import { CreateMetaMutation } from '../operations';
import { BusyButton, ErrorMessage, InputError, lines } from '../ui';
import { ConfigFields, emptyDraft, toConfigInput, type ConfigDraft } from './container-form';

/** The scheduling and webhook fields of the create form, as typed. */
interface SchedulingDraft {
  constraints: string;
  webhooks: string;
  removeDelay: boolean;
  recovery: boolean;
}

const emptyScheduling: SchedulingDraft = {
  constraints: '',
  webhooks: '',
  removeDelay: false,
  recovery: true,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Turns the form into the API input; throws Error with a plain message on bad input. */
function toMetaInput(
  groupId: string,
  instances: string,
  config: ConfigDraft,
  s: SchedulingDraft,
  v1MetaId: string | undefined,
): CreateMetaInput {
  const id = v1MetaId?.trim();
  if (id !== undefined && !UUID.test(id))
    throw new Error('The v1 MetaId is a UUID, e.g. 9a8b7c6d-0000-4000-8000-000000000002');
  const n = Number(instances);
  if (!Number.isInteger(n) || n < 0) throw new Error('Instances must be a whole number');
  return {
    ...(id !== undefined ? { id } : {}),
    groupId,
    instances: n,
    config: toConfigInput(config),
    constraints: lines(s.constraints),
    webhooks: lines(s.webhooks).map((line) => {
      const [url = '', secretToken] = line.split(/\s+/);
      return { url, secretToken: secretToken ?? null };
    }),
    removeDelay: s.removeDelay,
    recovery: s.recovery,
  };
}

export function CreateMetaForm({
  groupId,
  onCreated,
  defaultImage = '',
  importV1 = false,
}: {
  groupId: string;
  onCreated: () => void;
  /** Prefills the image (a registry tag's "deploy"). */
  defaultImage?: string;
  /** Importing a Humpback v1 meta: the form asks for its MetaId as well (admins). */
  importV1?: boolean;
}) {
  const [v1MetaId, setV1MetaId] = useState('');
  const [instances, setInstances] = useState('1');
  const [draft, setDraft] = useState<ConfigDraft>({ ...emptyDraft, image: defaultImage });
  const [scheduling, setScheduling] = useState<SchedulingDraft>(emptyScheduling);
  const [inputError, setInputError] = useState<string | undefined>();
  const create = useMutation((input: CreateMetaInput) => request(CreateMetaMutation, { input }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let input: CreateMetaInput;
    try {
      input = toMetaInput(groupId, instances, draft, scheduling, importV1 ? v1MetaId : undefined);
      setInputError(undefined);
    } catch (err) {
      setInputError((err as Error).message);
      return;
    }
    if (await create.run(input)) onCreated();
  };

  return (
    <form
      className="card form config-form"
      aria-label={importV1 ? 'Import a Humpback v1 service' : 'Create a service'}
      onSubmit={submit}
    >
      <h2>{importV1 ? 'Import from Humpback v1' : 'Create a service'}</h2>
      {importV1 ? <V1MetaIdField value={v1MetaId} onChange={setV1MetaId} /> : null}
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
      <SchedulingFields draft={scheduling} onChange={setScheduling} />
      <InputError message={inputError} />
      <ErrorMessage error={create.error} />
      <BusyButton
        type="submit"
        className="primary"
        busy={create.busy}
        busyText={importV1 ? 'Importing…' : 'Creating and placing instances…'}
      >
        {importV1 ? 'Import service' : 'Create service'}
      </BusyButton>
    </form>
  );
}

function V1MetaIdField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <>
      <p className="muted">
        The running containers of the v1 service are adopted, not recreated. Give the service&apos;s v1 MetaId
        (the HUMPBACK_CLUSTER_METAID of its containers, or the name of its file in the v1 center&apos;s cache
        directory), and its instances, name, image and settings as in that file.
      </p>
      <label>
        v1 MetaId
        <input name="metaId" required value={value} onChange={(e) => onChange(e.target.value)} />
      </label>
    </>
  );
}

/** Where instances may go, and who hears about them. */
function SchedulingFields({
  draft,
  onChange,
}: {
  draft: SchedulingDraft;
  onChange: (d: SchedulingDraft) => void;
}) {
  const set = (patch: Partial<SchedulingDraft>) => onChange({ ...draft, ...patch });
  return (
    <fieldset>
      <legend>Scheduling and webhooks</legend>
      <label>
        Constraints{' '}
        <span className="hint">(one a line, e.g. node.labels.zone==a or node.ip!=10.0.0.0/24)</span>
        <textarea
          name="constraints"
          rows={2}
          value={draft.constraints}
          onChange={(e) => set({ constraints: e.target.value })}
        />
      </label>
      <label>
        Webhooks{' '}
        <span className="hint">
          (URL and optional secret token, one a line; public addresses unless the admin allows others)
        </span>
        <textarea
          name="webhooks"
          rows={2}
          value={draft.webhooks}
          onChange={(e) => set({ webhooks: e.target.value })}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.recovery}
          onChange={(e) => set({ recovery: e.target.checked })}
        />{' '}
        Recover missing instances
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={draft.removeDelay}
          onChange={(e) => set({ removeDelay: e.target.checked })}
        />{' '}
        Delay removal of surplus instances
      </label>
    </fieldset>
  );
}
