import { useRef } from 'react';
import { request, tokenStore } from '../api';
import { RestoreVolumeMutation } from '../operations';

/** Sends the tar to `POST /uploads`, then unpacks that upload into the volume (restoreVolume). */
async function restoreVolume(nodeId: string, name: string, file: File): Promise<string> {
  const res = await fetch('/uploads', {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenStore.get() ?? ''}`, 'content-type': 'application/x-tar' },
    body: file,
  });
  const body = (await res.json().catch(() => ({}))) as {
    uploadId?: string;
    errors?: Array<{ message: string }>;
  };
  if (!res.ok || !body.uploadId) {
    throw new Error(`Upload failed: ${body.errors?.[0]?.message ?? res.statusText}`);
  }
  await request(RestoreVolumeMutation, { nodeId, name, uploadId: body.uploadId });
  return `Restored ${file.name} into ${name}.`;
}

/** "Restore": picks a tar (as Download gives it) and unpacks it into the volume. */
export function RestoreVolumeButton(props: {
  nodeId: string;
  name: string;
  onResult: (result: Promise<string>) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <button
        type="button"
        className="small"
        aria-label={`restore volume ${props.name}`}
        onClick={() => input.current?.click()}
      >
        Restore
      </button>
      <input
        ref={input}
        type="file"
        hidden
        accept=".tar,.tgz,.tar.gz,application/x-tar,application/gzip"
        aria-label={`tar to restore into volume ${props.name}`}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) props.onResult(restoreVolume(props.nodeId, props.name, file));
        }}
      />
    </>
  );
}
