import { useState, type FormEvent } from 'react';
import { request, useMutation, type Mutation } from '../api';
import { RenameContainerMutation, UpgradeContainerMutation } from '../operations';
import { BusyButton, ErrorMessage } from '../ui';

/** The tag of an image reference (`registry:5000/app:1.2` → `1.2`; none → `latest`). */
export function imageTag(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  const at = last.indexOf(':');
  return at < 0 ? 'latest' : last.slice(at + 1).replace(/@.*$/, '');
}

/**
 * Rename and Upgrade of a single-mode container (a service's instances are the service's to
 * change). An upgrade makes a new container: `onUpgraded` gets its id.
 */
export function ContainerManage({
  id,
  name,
  image,
  onRenamed,
  onUpgraded,
}: {
  id: string;
  name: string;
  image: string;
  onRenamed: () => void;
  onUpgraded: (newId: string) => void;
}) {
  const [open, setOpen] = useState<'rename' | 'upgrade' | null>(null);
  const rename = useMutation((n: string) => request(RenameContainerMutation, { id, name: n }));
  const upgrade = useMutation((tag: string) => request(UpgradeContainerMutation, { id, imageTag: tag }));
  const toggle = (which: 'rename' | 'upgrade') => setOpen((o) => (o === which ? null : which));
  return (
    <div className="manage">
      <div className="row-actions">
        <button
          type="button"
          className="small"
          aria-expanded={open === 'rename'}
          onClick={() => toggle('rename')}
        >
          Rename
        </button>
        <button
          type="button"
          className="small"
          aria-expanded={open === 'upgrade'}
          onClick={() => toggle('upgrade')}
        >
          Upgrade
        </button>
      </div>
      {open === 'rename' ? (
        <OneFieldForm
          title={`Rename ${name}`}
          label="New name"
          initial={name}
          submitText="Rename"
          busyText="Renaming…"
          mutation={rename}
          onDone={() => {
            setOpen(null);
            onRenamed();
          }}
        />
      ) : null}
      {open === 'upgrade' ? (
        <OneFieldForm
          title={`Upgrade ${name}`}
          label={`Image tag (now ${imageTag(image)})`}
          initial=""
          submitText="Upgrade"
          busyText="Upgrading…"
          hint="The container is replaced by one of the same name and settings on this tag of its image; if the new one does not start, the old one is put back."
          mutation={upgrade}
          onDone={(result) => {
            setOpen(null);
            onUpgraded(result.upgradeContainer.id);
          }}
        />
      ) : null}
    </div>
  );
}

/** A small form of one text field that runs a mutation with it. */
function OneFieldForm<R>(props: {
  title: string;
  label: string;
  initial: string;
  submitText: string;
  busyText: string;
  hint?: string;
  mutation: Mutation<[string], R>;
  onDone: (result: R) => void;
}) {
  const [value, setValue] = useState(props.initial);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const result = await props.mutation.run(value.trim());
    if (result) props.onDone(result);
  };
  return (
    <form className="inline" aria-label={props.title} onSubmit={submit}>
      <label>
        {props.label}
        <input required value={value} onChange={(e) => setValue(e.target.value)} autoFocus />
      </label>
      <BusyButton type="submit" className="primary" busy={props.mutation.busy} busyText={props.busyText}>
        {props.submitText}
      </BusyButton>
      {props.hint ? <p className="hint">{props.hint}</p> : null}
      <ErrorMessage error={props.mutation.error} />
    </form>
  );
}
