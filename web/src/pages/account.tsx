import { useState, type FormEvent } from 'react';
import { request, tokenStore, useMutation } from '../api';
import { ChangePasswordMutation } from '../operations';
import { BusyButton, ErrorMessage } from '../ui';
import type { Viewer } from '../viewer';
import { ApiTokens } from './api-tokens';

/** The viewer's own account: API tokens and password. */
export function AccountPage({ viewer }: { viewer: Viewer }) {
  return (
    <section>
      <div className="page-head">
        <h1>Account: {viewer.username}</h1>
      </div>
      <ApiTokens viewer={viewer} />
      <ChangePassword onChanged={signOutEverywhere} />
    </section>
  );
}

/** This session ended with the password change: back to the sign-in page. */
function signOutEverywhere(): void {
  tokenStore.clear();
  location.reload();
}

/** A new password ends every login session of the user, this one too: sign in again. */
function ChangePassword({ onChanged }: { onChanged: () => void }) {
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const change = useMutation(() => request(ChangePasswordMutation, { oldPassword, newPassword }));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (await change.run()) onChanged();
  };
  return (
    <form className="card form" aria-label="Change your password" onSubmit={submit}>
      <h2>Change your password</h2>
      <p className="muted">You are signed out everywhere afterwards; API tokens keep working.</p>
      <label>
        Current password
        <input
          required
          type="password"
          autoComplete="current-password"
          value={oldPassword}
          onChange={(e) => setOld(e.target.value)}
        />
      </label>
      <label>
        New password
        <input
          required
          type="password"
          autoComplete="new-password"
          minLength={8}
          value={newPassword}
          onChange={(e) => setNew(e.target.value)}
        />
      </label>
      <ErrorMessage error={change.error} />
      <BusyButton type="submit" className="primary" busy={change.busy} busyText="Saving…">
        Change password
      </BusyButton>
    </form>
  );
}
