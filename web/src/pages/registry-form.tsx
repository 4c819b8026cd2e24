import { useState, type FormEvent } from 'react';
import { request, useMutation } from '../api';
import type { RegistriesQuery, RegistryInput } from '../gql/graphql';
import { AddRegistryMutation, UpdateRegistryMutation } from '../operations';
import { ErrorMessage, SaveCancel } from '../ui';

export type Registry = RegistriesQuery['registries'][number];

/**
 * Adds a registry, or changes `registry`: the gateway checks the credentials against the registry's
 * `/v2/` first and says why it refused (a wrong password, no registry at that address). An empty
 * password when editing keeps the stored one.
 */
export function RegistryForm({
  registry,
  onSaved,
  onCancel,
}: {
  registry?: Registry;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(registry?.name ?? '');
  const [url, setUrl] = useState(registry?.url ?? '');
  const [username, setUsername] = useState(registry?.username ?? '');
  const [password, setPassword] = useState('');
  const [insecure, setInsecure] = useState(registry?.insecure ?? false);
  const save = useMutation((input: RegistryInput): Promise<unknown> =>
    registry
      ? request(UpdateRegistryMutation, { id: registry.id, input })
      : request(AddRegistryMutation, { input }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: RegistryInput = {
      name: name.trim(),
      url: url.trim(),
      username: username.trim(),
      password: password || null,
      insecure,
    };
    if (await save.run(input)) onSaved();
  };
  const label = registry ? `Edit registry ${registry.name}` : 'Add a registry';
  return (
    <form className="card form" aria-label={label} onSubmit={submit}>
      <h2>{label}</h2>
      <label>
        Registry name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Address
        <input
          required
          placeholder="registry.local:5000 or https://registry.example.com"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      <label>
        Username
        <input autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="new-password"
          placeholder={registry?.username ? 'unchanged' : ''}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      <label className="check">
        <input type="checkbox" checked={insecure} onChange={(e) => setInsecure(e.target.checked)} /> Plain
        HTTP (insecure; the engines must list it in insecure-registries)
      </label>
      <p className="hint">
        The gateway signs in to the registry before it saves; the password is never shown again.
      </p>
      <ErrorMessage error={save.error} />
      <SaveCancel
        busy={save.busy}
        saveText={registry ? 'Test and save' : 'Test and add'}
        onCancel={onCancel}
      />
    </form>
  );
}
