import { useState, type FormEvent, type ReactNode } from 'react';
import { request, useMutation } from '../api';
import type { ContainerConfigInput } from '../gql/graphql';
import { CreateContainerMutation } from '../operations';
import { BusyButton, ErrorMessage, InputError, lines, parseLabels } from '../ui';
import { emptyLimits, toLimitsInput, type LimitsDraft } from './config-limits';
import { LimitsFieldset } from './limits-fieldset';
import { NodeSelect } from './node-select';
import { parseVolumeLine } from './volume-lines';
import { VolumePicker } from './volume-picker';

/** The editable form of a ContainerConfigInput: text fields, parsed on submit. */
export interface ConfigDraft extends LimitsDraft {
  name: string;
  image: string;
  command: string;
  env: string;
  hostname: string;
  networkMode: string;
  ports: string;
  volumes: string;
  dns: string;
  extraHosts: string;
  restartPolicy: string;
  labels: string;
  cpuShares: string;
  memoryMB: string;
}

export const emptyDraft: ConfigDraft = {
  name: '',
  image: '',
  command: '',
  env: '',
  hostname: '',
  networkMode: 'host',
  ports: '',
  volumes: '',
  dns: '',
  extraHosts: '',
  restartPolicy: 'no',
  labels: '',
  cpuShares: '',
  memoryMB: '',
  ...emptyLimits,
};

/** Splits a command line on spaces, keeping "quoted parts" together. */
export function splitCommand(text: string): string[] {
  return [...text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

function optionalInt(text: string, field: string): number | null {
  if (!text.trim()) return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${field} must be a whole number`);
  return n;
}

/**
 * Turns the draft into the API input; on bad input throws one Error naming every bad field at once,
 * a line each.
 */
export function toConfigInput(d: ConfigDraft): ContainerConfigInput {
  const problems: string[] = [];
  const check = <T,>(parse: () => T): T | null => {
    try {
      return parse();
    } catch (err) {
      problems.push((err as Error).message);
      return null;
    }
  };
  const ports = lines(d.ports).flatMap((line) => {
    // "8080", "80:8080", "0:8080/udp" (public:private/type; public 0 or absent: allocate)
    const m = /^(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(line);
    if (!m) return (problems.push(`Port "${line}" should look like 8080, 80:8080 or 0:53/udp`), []);
    return [
      { privatePort: Number(m[2]), publicPort: m[1] === undefined ? null : Number(m[1]), type: m[3] ?? null },
    ];
  });
  const volumes = lines(d.volumes).flatMap((line) => {
    const volume = check(() => parseVolumeLine(line));
    return volume ? [volume] : [];
  });
  const labels = check(() => parseLabels(d.labels)) ?? [];
  const cpuShares = check(() => optionalInt(d.cpuShares, 'CPU shares'));
  const memoryMB = check(() => optionalInt(d.memoryMB, 'Memory limit'));
  const limits = toLimitsInput(d, problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return {
    name: d.name.trim(),
    image: d.image.trim(),
    command: d.command.trim() ? splitCommand(d.command.trim()) : null,
    env: lines(d.env),
    hostname: d.hostname.trim() || null,
    networkMode: d.networkMode.trim() || null,
    ports,
    volumes,
    dns: lines(d.dns),
    extraHosts: lines(d.extraHosts),
    restartPolicy: d.restartPolicy || null,
    labels,
    cpuShares,
    memoryMB,
    ...limits,
  };
}

/** The props of one input bound to a draft field. */
export type Field = (key: keyof ConfigDraft) => {
  name: string;
  value: string;
  onChange: (e: { target: { value: string } }) => void;
};

/** The fields of a container configuration (used by the container and the service forms). */
export function ConfigFields({
  draft,
  onChange,
  nodeId,
}: {
  draft: ConfigDraft;
  onChange: (d: ConfigDraft) => void;
  /** The node the container goes to (its volumes are offered); none for a service. */
  nodeId?: string | undefined;
}) {
  const addVolume = (line: string) =>
    onChange({ ...draft, volumes: draft.volumes.trim() ? `${draft.volumes.trimEnd()}\n${line}` : line });
  const field: Field = (key) => ({
    name: key,
    value: draft[key],
    onChange: (e) => onChange({ ...draft, [key]: e.target.value }),
  });
  return (
    <>
      <ContainerFieldset field={field} />
      <NetworkFieldset field={field} />
      <StorageFieldset field={field} picker={<VolumePicker nodeId={nodeId} onAdd={addVolume} />} />
      <LimitsFieldset field={field} />
    </>
  );
}

function ContainerFieldset({ field }: { field: Field }) {
  return (
    <fieldset>
      <legend>Container</legend>
      <label>
        Name
        <input required pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]*" {...field('name')} />
      </label>
      <label>
        Image
        <input required placeholder="nginx:1.27" {...field('image')} />
      </label>
      <label>
        Command <span className="hint">(optional; quote parts with spaces)</span>
        <input placeholder="sleep 3600" {...field('command')} />
      </label>
      <label>
        Environment <span className="hint">(KEY=value, one a line)</span>
        <textarea rows={3} {...field('env')} />
      </label>
      <label>
        Restart policy
        <select {...field('restartPolicy')}>
          <option value="no">no</option>
          <option value="always">always</option>
          <option value="on-failure">on-failure</option>
          <option value="unless-stopped">unless-stopped</option>
        </select>
      </label>
    </fieldset>
  );
}

function NetworkFieldset({ field }: { field: Field }) {
  return (
    <fieldset>
      <legend>Network</legend>
      <label>
        Network mode{' '}
        <span className="hint">(host, bridge, none or a network name; host only for admins)</span>
        <input list="network-modes" {...field('networkMode')} />
        <datalist id="network-modes">
          <option value="host" />
          <option value="bridge" />
          <option value="none" />
        </datalist>
      </label>
      <label>
        Hostname
        <input {...field('hostname')} />
      </label>
      <label>
        Ports <span className="hint">(private, public:private or 0:private/udp; 0 picks a free port)</span>
        <textarea rows={2} {...field('ports')} />
      </label>
      <label>
        DNS servers <span className="hint">(one a line)</span>
        <textarea rows={2} {...field('dns')} />
      </label>
      <label>
        Extra hosts <span className="hint">(host:ip, one a line)</span>
        <textarea rows={2} {...field('extraHosts')} />
      </label>
    </fieldset>
  );
}

function StorageFieldset({ field, picker }: { field: Field; picker: ReactNode }) {
  return (
    <fieldset>
      <legend>Storage, labels and limits</legend>
      <label>
        Volumes{' '}
        <span className="hint">
          (/host/path:/container/path[:ro], volume:/path or nfs://server/export:/path, one a line; host paths
          within the group’s allowed host paths)
        </span>
        <textarea rows={2} {...field('volumes')} />
      </label>
      {picker}
      <label>
        Labels <span className="hint">(key=value, one a line)</span>
        <textarea rows={2} {...field('labels')} />
      </label>
      <label>
        CPU shares
        <input inputMode="numeric" {...field('cpuShares')} />
      </label>
      <label>
        Memory limit (MB)
        <input inputMode="numeric" {...field('memoryMB')} />
      </label>
    </fieldset>
  );
}

export function CreateContainerForm({
  defaultNodeId,
  groupId,
  onCreated,
  defaultImage = '',
}: {
  defaultNodeId: string;
  groupId: string;
  onCreated: (id: string) => void;
  /** Prefills the image (a registry tag's "deploy"). */
  defaultImage?: string;
}) {
  const [nodeId, setNodeId] = useState(defaultNodeId);
  const [draft, setDraft] = useState<ConfigDraft>({ ...emptyDraft, image: defaultImage });
  const [inputError, setInputError] = useState<string | undefined>();
  const create = useMutation((config: ContainerConfigInput) =>
    request(CreateContainerMutation, { nodeId, config }),
  );
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let config: ContainerConfigInput;
    try {
      config = toConfigInput(draft);
      setInputError(undefined);
    } catch (err) {
      setInputError((err as Error).message);
      return;
    }
    const result = await create.run(config);
    if (result) onCreated(result.createContainer.id);
  };
  return (
    <form className="card form config-form" aria-label="Create a container" onSubmit={submit}>
      <h2>Create a container</h2>
      <NodeSelect required groupId={groupId} value={nodeId} onChange={setNodeId} />
      <ConfigFields draft={draft} onChange={setDraft} nodeId={nodeId || undefined} />
      <InputError message={inputError} />
      <ErrorMessage error={create.error} />
      <BusyButton type="submit" className="primary" busy={create.busy} busyText="Creating and starting…">
        Create and start
      </BusyButton>
    </form>
  );
}
