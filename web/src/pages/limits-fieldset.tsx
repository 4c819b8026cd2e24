import type { Field } from './container-form';

/** The ulimits, shared memory, links and log driver of a container configuration. */
export function LimitsFieldset({ field }: { field: Field }) {
  return (
    <fieldset>
      <legend>Ulimits, links and logging</legend>
      <label>
        Ulimits{' '}
        <span className="hint">(name=soft:hard, one a line, e.g. nofile=1024:2048; -1 is unlimited)</span>
        <textarea rows={2} {...field('ulimits')} />
      </label>
      <label>
        Shared memory (MB) <span className="hint">(the size of /dev/shm; Docker’s default is 64)</span>
        <input inputMode="numeric" {...field('shmSizeMB')} />
      </label>
      <label>
        Links <span className="hint">(name or name:alias of another container, one a line; admins only)</span>
        <textarea rows={2} {...field('links')} />
      </label>
      <label>
        Log driver <span className="hint">(json-file, local or none; other drivers for admins only)</span>
        <input list="log-drivers" placeholder="Docker’s default" {...field('logDriver')} />
        <datalist id="log-drivers">
          <option value="json-file" />
          <option value="local" />
          <option value="none" />
        </datalist>
      </label>
      <label>
        Log options <span className="hint">(key=value, one a line, e.g. max-size=10m)</span>
        <textarea rows={2} {...field('logOptions')} />
      </label>
    </fieldset>
  );
}
