import { useState } from 'react';
import { request, useMutation } from '../api';
import { CommitContainerMutation } from '../operations';
import { ConfirmDialog, ErrorMessage } from '../ui';
import { JobLog } from './image-jobs';

/** "Commit": snapshots the container's filesystem as an image on its node, with the tag asked for. */
export function CommitContainerButton({ id, name }: { id: string; name: string }) {
  const [open, setOpen] = useState(false);
  const [tag, setTag] = useState('');
  const [job, setJob] = useState<string | null>(null);
  const commit = useMutation(() => request(CommitContainerMutation, { containerId: id, tag: tag.trim() }));
  const close = () => {
    setOpen(false);
    setJob(null);
    commit.reset();
  };
  return (
    <>
      <button type="button" className="small" aria-label={`commit ${name}`} onClick={() => setOpen(true)}>
        Commit
      </button>
      <ConfirmDialog
        open={open}
        title={`Commit container ${name} as an image`}
        confirmText={job ? 'Done' : 'Commit'}
        busy={commit.busy}
        onCancel={close}
        onConfirm={async () => {
          if (job) return close();
          if (!tag.trim()) return;
          const r = await commit.run();
          if (r) setJob(r.commitContainer.id);
        }}
      >
        {job ? (
          <JobLog jobId={job} />
        ) : (
          <label>
            Image tag
            <input
              required
              placeholder="app-snapshot:1"
              value={tag}
              onChange={(e) => setTag(e.target.value)}
            />
          </label>
        )}
        <ErrorMessage error={commit.error} />
      </ConfirmDialog>
    </>
  );
}
