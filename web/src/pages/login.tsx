import { useState, type FormEvent } from 'react';
import { ApiError, asApiError, request } from '../api';
import { LoginMutation } from '../operations';
import { BusyButton, ErrorMessage } from '../ui';
import type { Viewer } from '../viewer';

export function LoginPage({ onSignedIn }: { onSignedIn: (token: string, user: Viewer) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const { login } = await request(LoginMutation, { username, password });
      onSignedIn(login.token, login.user);
    } catch (err) {
      const apiError = asApiError(err);
      setError(apiError.code === 'UNAUTHENTICATED' ? new ApiError('BAD_LOGIN', '') : apiError);
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="login-title" className="card">
        <h1 id="login-title">Sign in to Humpback</h1>
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            required
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorMessage error={error} />
        <BusyButton type="submit" className="primary" busy={busy} busyText="Signing in…">
          Sign in
        </BusyButton>
      </form>
    </main>
  );
}
