import { useState } from 'react';
import { request, useMutation } from '../api';
import type { UserFieldsFragment as User } from '../gql/graphql';
import { SetUserAdminMutation, SetUserPasswordMutation } from '../operations';
import { BusyButton, ErrorMessage } from '../ui';

/** An admin's actions on another user: admin rights and a password reset (both end their sessions). */
export function UserAccountActions({ user, onChanged }: { user: User; onChanged: () => void }) {
  const [resetting, setResetting] = useState(false);
  const [password, setPassword] = useState('');
  const setAdmin = useMutation(() => request(SetUserAdminMutation, { userId: user.id, admin: !user.admin }));
  const reset = useMutation(() => request(SetUserPasswordMutation, { userId: user.id, password }));
  return (
    <>
      <button
        type="button"
        className="small"
        aria-label={`${user.admin ? 'remove admin rights of' : 'make admin'} ${user.username}`}
        onClick={async () => {
          if (await setAdmin.run()) onChanged();
        }}
      >
        {user.admin ? 'Remove admin' : 'Make admin'}
      </button>{' '}
      {resetting ? (
        <form
          className="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await reset.run()) {
              setResetting(false);
              setPassword('');
            }
          }}
        >
          <label>
            New password for {user.username}
            <input
              required
              type="password"
              autoComplete="new-password"
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <BusyButton type="submit" busy={reset.busy} busyText="Saving…">
            Set password
          </BusyButton>
        </form>
      ) : (
        <button type="button" className="small" onClick={() => setResetting(true)}>
          Reset password
        </button>
      )}
      <ErrorMessage error={setAdmin.error ?? reset.error} />
    </>
  );
}
