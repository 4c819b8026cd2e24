import { useState } from 'react';
import { ContainerAction as ACTION_VALUES } from '../../../core/domain';
import { request, useMutation } from '../api';
import type { ContainerAction, ContainerState } from '../gql/graphql';
import { OperateContainerMutation, RemoveContainerMutation } from '../operations';
import { BusyButton, ConfirmDialog, ErrorMessage } from '../ui';
import { CommitContainerButton } from './container-commit';

/* What can be done to a container: the containers page's rows and detail, the services page's "All instances". */

// The domain's vocabulary (core/domain.ts), the same values the schema's enum has.
export const ACTIONS: ContainerAction[] = Object.values(ACTION_VALUES);

/** Which actions make sense in a state (the others are hidden, not just disabled). */
export function actionsFor(state: ContainerState): ContainerAction[] {
  switch (state) {
    case 'RUNNING':
      return ['STOP', 'RESTART', 'KILL', 'PAUSE'];
    case 'PAUSED':
      return ['UNPAUSE', 'KILL'];
    case 'RESTARTING':
      return ['STOP', 'KILL'];
    case 'CREATED':
    case 'EXITED':
    case 'DEAD':
      return ['START'];
    case 'REMOVING':
      return [];
  }
}

const ACTION_BUSY: Record<ContainerAction, string> = {
  START: 'Starting…',
  STOP: 'Stopping…',
  RESTART: 'Restarting…',
  KILL: 'Killing…',
  PAUSE: 'Pausing…',
  UNPAUSE: 'Resuming…',
};

/** A container's actions (those its state allows) and its removal, confirmed first: a row's and the detail's. */
export function ContainerActions({
  id,
  name,
  state,
  onChanged,
  onRemoved,
}: {
  id: string;
  name: string;
  state: ContainerState;
  onChanged: () => void;
  onRemoved?: () => void;
}) {
  const [running, setRunning] = useState<ContainerAction | 'REMOVE' | null>(null);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const operate = useMutation((action: ContainerAction) => request(OperateContainerMutation, { id, action }));
  const remove = useMutation(() => request(RemoveContainerMutation, { id, force: true }));
  return (
    <div className="row-actions">
      {actionsFor(state).map((action) => (
        <BusyButton
          key={action}
          className="small"
          busy={operate.busy && running === action}
          disabled={operate.busy || remove.busy}
          busyText={ACTION_BUSY[action]}
          aria-label={`${action.toLowerCase()} ${name}`}
          onClick={async () => {
            setRunning(action);
            if (await operate.run(action)) onChanged();
            setRunning(null);
          }}
        >
          {action.charAt(0) + action.slice(1).toLowerCase()}
        </BusyButton>
      ))}
      <CommitContainerButton id={id} name={name} />
      <button
        type="button"
        className="small danger"
        disabled={operate.busy || remove.busy}
        aria-label={`remove ${name}`}
        onClick={() => setConfirmRemove(true)}
      >
        Remove
      </button>
      <ErrorMessage error={operate.error ?? remove.error} />
      <ConfirmDialog
        open={confirmRemove}
        title={`Remove container ${name}?`}
        confirmText="Remove"
        danger
        busy={remove.busy}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={async () => {
          const ok = await remove.run();
          setConfirmRemove(false);
          if (ok) {
            onChanged();
            onRemoved?.();
          }
        }}
      >
        <p>
          The container is stopped if it runs and then deleted with its writable layer. Volumes on the host
          stay.
        </p>
      </ConfirmDialog>
    </div>
  );
}
