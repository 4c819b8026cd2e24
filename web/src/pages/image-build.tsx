import { useState, type FormEvent } from 'react';
import { ApiError, request, tokenStore, useMutation } from '../api';
import { BuildImageMutation, LoadImageMutation } from '../operations';
import { BusyButton, ErrorMessage, parseLabels } from '../ui';

/** Sends a file to `POST /uploads` with the session's token, reporting the fraction sent; its uploadId. */
export function uploadFile(file: File, onProgress: (fraction: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/uploads');
    xhr.setRequestHeader('authorization', `Bearer ${tokenStore.get() ?? ''}`);
    xhr.setRequestHeader('content-type', 'application/x-tar');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError('NETWORK', ''));
    xhr.onload = () => {
      let body: { uploadId?: string; errors?: Array<{ message: string; extensions?: { code?: string } }> } =
        {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        // not JSON: the status says it
      }
      if (xhr.status >= 200 && xhr.status < 300 && body.uploadId) return resolve(body.uploadId);
      const err = body.errors?.[0];
      const detail = `upload refused, HTTP ${xhr.status}${err ? `: ${err.message}` : ''}`;
      const code = xhr.status === 413 ? 'BAD_USER_INPUT' : (err?.extensions?.code ?? 'BAD_USER_INPUT');
      reject(new ApiError(code, detail));
    };
    xhr.send(file);
  });
}

type Mode = 'build' | 'load';
interface BuildDraft {
  tag: string;
  dockerfile: string;
  buildArgs: string;
}

/** What a build needs besides the file: the tag, the Dockerfile's path, build args. */
function BuildFields({ value, onChange }: { value: BuildDraft; onChange: (v: BuildDraft) => void }) {
  return (
    <>
      <label>
        Tag
        <input
          required
          placeholder="registry.local:5000/app:1"
          value={value.tag}
          onChange={(e) => onChange({ ...value, tag: e.target.value })}
        />
      </label>
      <label>
        Dockerfile path in the tarball
        <input
          placeholder="Dockerfile"
          value={value.dockerfile}
          onChange={(e) => onChange({ ...value, dockerfile: e.target.value })}
        />
      </label>
      <label>
        Build arguments (KEY=value, one a line)
        <textarea
          rows={2}
          value={value.buildArgs}
          onChange={(e) => onChange({ ...value, buildArgs: e.target.value })}
        />
      </label>
    </>
  );
}

/**
 * Build or load: a Dockerfile tarball built with a tag (Dockerfile path, build args) or a
 * `docker save` tar loaded, on the node; the file is uploaded first. `onStarted` gets the job id.
 */
export function BuildImageForm({
  nodeId,
  onStarted,
}: {
  nodeId: string;
  onStarted: (jobId: string) => void;
}) {
  const [mode, setMode] = useState<Mode>('build');
  const [file, setFile] = useState<File | null>(null);
  const [build, setBuild] = useState<BuildDraft>({ tag: '', dockerfile: '', buildArgs: '' });
  const [sent, setSent] = useState<number | null>(null);
  const start = useMutation(async (f: File) => {
    setSent(0);
    const uploadId = await uploadFile(f, setSent).finally(() => setSent(null));
    if (mode === 'load') return (await request(LoadImageMutation, { nodeId, uploadId })).loadImage.id;
    const args = parseLabels(build.buildArgs);
    const r = await request(BuildImageMutation, {
      nodeId,
      uploadId,
      tag: build.tag.trim(),
      dockerfile: build.dockerfile.trim() || null,
      buildArgs: args.length ? args : null,
    });
    return r.buildImage.id;
  });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const id = await start.run(file);
    if (id) onStarted(id);
  };
  return (
    <form className="card form" aria-label="Build or load an image" onSubmit={submit}>
      <h2>Build or load an image</h2>
      <fieldset className="inline">
        <legend>What the file is</legend>
        <label className="check">
          <input type="radio" name="mode" checked={mode === 'build'} onChange={() => setMode('build')} /> A
          Dockerfile tarball (build it)
        </label>
        <label className="check">
          <input type="radio" name="mode" checked={mode === 'load'} onChange={() => setMode('load')} /> A{' '}
          <code>docker save</code> tar (load it)
        </label>
      </fieldset>
      <label>
        File (.tar or .tar.gz)
        <input
          type="file"
          required
          accept=".tar,.tgz,.tar.gz,application/x-tar,application/gzip"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </label>
      {mode === 'build' ? <BuildFields value={build} onChange={setBuild} /> : null}
      {sent !== null ? (
        <p className="progress-line">
          Uploading {file?.name}… <progress aria-label="Upload progress" max={1} value={sent} />{' '}
          {Math.round(sent * 100)}%
        </p>
      ) : null}
      <ErrorMessage error={start.error} />
      <div className="actions">
        <BusyButton type="submit" className="primary" busy={start.busy} busyText="Uploading…">
          {mode === 'build' ? 'Upload and build' : 'Upload and load'}
        </BusyButton>
      </div>
    </form>
  );
}
