import { useEffect, useId, useRef, type ReactNode } from 'react';
import type { ApiError } from './api';

/** An API error in plain words, announced to screen readers. */
export function ErrorMessage({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert" data-code={error.code}>
      <p>{error.message}</p>
      {error.fields.length > 1 ? (
        <ul>
          {error.fields.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** A form's own complaint about what was typed, before anything is sent; announced the same way. */
export function InputError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <div className="error" role="alert">
      {message.split('\n').map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  );
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="spinner-wrap" role="status">
      <span className="spinner" aria-hidden="true" />
      {label ? <span>{label}</span> : <span className="sr-only">Loading</span>}
    </span>
  );
}

/** A button that shows progress while its operation runs and cannot be pressed twice. */
export function BusyButton({
  busy,
  busyText,
  children,
  className,
  disabled,
  type = 'button',
  onClick,
  ...rest
}: {
  busy: boolean;
  busyText: string;
  children: ReactNode;
  className?: string;
  disabled?: boolean;
  type?: 'button' | 'submit';
  onClick?: () => void;
  'aria-label'?: string;
  title?: string;
}) {
  return (
    <button
      type={type}
      className={className}
      disabled={busy || disabled}
      aria-busy={busy}
      onClick={onClick}
      {...rest}
    >
      {busy ? (
        <>
          <span className="spinner" aria-hidden="true" /> {busyText}
        </>
      ) : (
        children
      )}
    </button>
  );
}

/** An edit form's Save button (busy while it saves) and its Cancel button. */
export function SaveCancel({
  busy,
  saveText = 'Save',
  onCancel,
}: {
  busy: boolean;
  saveText?: string;
  onCancel: () => void;
}) {
  return (
    <div className="actions">
      <BusyButton type="submit" className="primary" busy={busy} busyText="Saving…">
        {saveText}
      </BusyButton>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** A modal confirmation built on <dialog>: focus is trapped and Escape cancels. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmText,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmText: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel} autoFocus>
          Cancel
        </button>
        <BusyButton
          busy={!!busy}
          busyText="Working…"
          className={danger ? 'danger' : 'primary'}
          onClick={onConfirm}
        >
          {confirmText}
        </BusyButton>
      </div>
    </dialog>
  );
}

const STATE_CLASS: Record<string, string> = {
  RUNNING: 'ok',
  HEALTHY: 'ok',
  CREATED: 'info',
  PENDING: 'info',
  PAUSED: 'warn',
  RESTARTING: 'warn',
  UNHEALTHY: 'warn',
  REMOVING: 'warn',
  EXITED: 'off',
  DEAD: 'bad',
  DISCONNECTED: 'bad',
};

/** A container state or node status as a coloured badge (the text carries the meaning). */
export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge ${STATE_CLASS[value] ?? 'info'}`}>{value}</span>;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** A horizontal usage bar with its number as text. */
export function UsageBar({
  label,
  fraction,
  text,
}: {
  label: string;
  fraction: number | undefined;
  text: string;
}) {
  const pct = fraction === undefined ? 0 : Math.max(0, Math.min(1, fraction)) * 100;
  return (
    <div className="usage">
      <span className="usage-label">{label}</span>
      <span
        className="usage-bar"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
      >
        <span style={{ width: `${pct}%` }} />
      </span>
      <span className="usage-text">{text}</span>
    </div>
  );
}

/** Shows whether a page's live updates are connected. */
export function LiveIndicator({ error }: { error: ApiError | undefined }) {
  return error ? (
    <span className="live off" title={error.message}>
      Live updates unavailable: {error.message}
    </span>
  ) : (
    <span className="live on">Live</span>
  );
}

/** Splits a text area into trimmed non-empty lines. */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** `KEY=value` lines to label pairs (lines without "=" get an empty value). */
export function parseLabels(text: string): { key: string; value: string }[] {
  return lines(text).map((line) => {
    const at = line.indexOf('=');
    return at < 0
      ? { key: line, value: '' }
      : { key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
  });
}
