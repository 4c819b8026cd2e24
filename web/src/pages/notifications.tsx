import { useState, type FormEvent } from 'react';
import { request, useMutation, useQuery } from '../api';
import type { NotificationEvent } from '../gql/graphql';
import {
  AddNotificationChannelMutation,
  NotificationChannelsQuery,
  RemoveNotificationChannelMutation,
} from '../operations';
import { ErrorMessage } from '../ui';

const EVENTS: Array<{ event: NotificationEvent; label: string }> = [
  { event: 'NODE_DOWN', label: 'Node down' },
  { event: 'NODE_UP', label: 'Node up' },
  { event: 'MIGRATION', label: 'Migration' },
  { event: 'RECOVERY_FAILED', label: 'Recovery failed' },
  { event: 'META_FAILED', label: 'Service failed' },
];

/** Admins: where notifications go (signed webhooks, emails) and for which events. */
export function NotificationsPage() {
  const { data, error, refetch } = useQuery(NotificationChannelsQuery, {});
  const remove = useMutation((id: string) => request(RemoveNotificationChannelMutation, { id }));
  return (
    <section>
      <h1>Notifications</h1>
      <p className="muted">
        Nodes going down and coming back, migrations and services that cannot be completed are sent to these
        channels. Emails go through the SMTP server of HUMPBACK_SMTP_URL.
      </p>
      <ErrorMessage error={error ?? remove.error} />
      <table aria-label="Notification channels">
        <thead>
          <tr>
            <th>Kind</th>
            <th>Target</th>
            <th>Events</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data?.notificationChannels ?? []).map((c) => (
            <tr key={c.id} data-channel={c.target}>
              <td>{c.kind === 'webhook' ? `webhook${c.signed ? ' (signed)' : ''}` : 'email'}</td>
              <td>{c.target}</td>
              <td>{c.events.map((e) => EVENTS.find((x) => x.event === e)?.label ?? e).join(', ')}</td>
              <td>
                <button type="button" className="danger" onClick={() => remove.run(c.id).then(refetch)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <AddChannelForm onAdded={refetch} />
    </section>
  );
}

function AddChannelForm({ onAdded }: { onAdded: () => void }) {
  const [kind, setKind] = useState<'email' | 'webhook'>('email');
  const [target, setTarget] = useState('');
  const [secretToken, setSecretToken] = useState('');
  const [events, setEvents] = useState<NotificationEvent[]>(['NODE_DOWN', 'NODE_UP']);
  const add = useMutation(() =>
    request(AddNotificationChannelMutation, {
      kind,
      target,
      events,
      secretToken: kind === 'webhook' && secretToken ? secretToken : null,
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add.run().then((r) => r && (setTarget(''), setSecretToken(''), onAdded()));
  };
  const toggle = (ev: NotificationEvent) =>
    setEvents((list) => (list.includes(ev) ? list.filter((x) => x !== ev) : [...list, ev]));
  return (
    <form onSubmit={submit} aria-label="Add a channel" className="stack">
      <h2>Add a channel</h2>
      <label>
        Kind{' '}
        <select value={kind} onChange={(e) => setKind(e.target.value as 'email' | 'webhook')}>
          <option value="email">email</option>
          <option value="webhook">webhook</option>
        </select>
      </label>
      <label>
        {kind === 'email' ? 'Email address' : 'Webhook URL'}{' '}
        <input value={target} onChange={(e) => setTarget(e.target.value)} required />
      </label>
      {kind === 'webhook' ? (
        <label>
          Secret token (signs the requests){' '}
          <input value={secretToken} onChange={(e) => setSecretToken(e.target.value)} />
        </label>
      ) : null}
      <fieldset>
        <legend>Events</legend>
        {EVENTS.map((x) => (
          <label key={x.event}>
            <input type="checkbox" checked={events.includes(x.event)} onChange={() => toggle(x.event)} />{' '}
            {x.label}
          </label>
        ))}
      </fieldset>
      <ErrorMessage error={add.error} />
      <button type="submit" disabled={add.busy}>
        Add channel
      </button>
    </form>
  );
}
