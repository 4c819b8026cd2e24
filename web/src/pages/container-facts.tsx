import type { ReactNode } from 'react';
import type {
  ContainerDetailFieldsFragment as Details,
  ContainerFieldsFragment as Container,
} from '../gql/graphql';
import { formatTime } from '../ui';
import { RelativeTime } from './relative-time';

/* A container's facts: what Humpback records and what the engine's inspect says (ports as bound). */

/** A port as Docker bound it: `10.0.0.5:43001 → 8080/tcp`, or `8080/tcp (not published)`. */
export function portText(p: Details['ports'][number]): string {
  const inside = `${p.privatePort}/${p.type}`;
  if (p.publicPort === null || p.publicPort === undefined) return `${inside} (not published)`;
  return `${p.ip ? `${p.ip}:` : ''}${p.publicPort} → ${inside}`;
}

/** A command line as one would type it: words with spaces quoted. */
function commandText(words: string[]): string {
  return words.map((w) => (/[\s"]/.test(w) || w === '' ? JSON.stringify(w) : w)).join(' ');
}

function mountText(m: Details['mounts'][number]): string {
  return `${m.source} → ${m.destination} (${m.type}, ${m.readOnly ? 'read-only' : 'read-write'})`;
}

/** A term and its description; nothing when there is nothing to say. */
function Fact({ term, children }: { term: string; children: ReactNode }) {
  if (children === null || children === undefined || children === '') return null;
  return (
    <>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </>
  );
}

/** A list in a description, or "none". */
function Items({ items, label }: { items: string[]; label: string }) {
  if (items.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain" aria-label={label}>
      {items.map((item, i) => (
        <li key={`${i}-${item}`}>
          <code>{item}</code>
        </li>
      ))}
    </ul>
  );
}

export function ContainerFacts({ container: c, details: d }: { container: Container; details?: Details }) {
  return (
    <dl className="facts" data-testid="container-facts">
      <Fact term="Id">
        <code>{c.id.slice(0, 12)}</code>
      </Fact>
      <Fact term="Image">
        <code className="image-name">{c.image}</code>
      </Fact>
      <Fact term="Node">{c.node ? `${c.node.name} (${c.node.ip})` : c.nodeId}</Fact>
      <Fact term="Created">
        {formatTime(c.createdAt)} (<RelativeTime at={c.createdAt} />)
      </Fact>
      {c.metaId ? (
        <Fact term="Service">
          <a href={`#/metas?metaId=${encodeURIComponent(c.metaId)}`}>instance #{c.index}</a>
        </Fact>
      ) : null}
      {d ? <EngineFacts details={d} /> : null}
    </dl>
  );
}

/** The facts of the engine's inspect. */
function EngineFacts({ details: d }: { details: Details }) {
  return (
    <>
      <Fact term="Command">{d.command.length ? <code>{commandText(d.command)}</code> : null}</Fact>
      <Fact term="Started">{d.startedAt ? formatTime(d.startedAt) : null}</Fact>
      <Fact term="Finished">{d.finishedAt ? formatTime(d.finishedAt) : null}</Fact>
      {/* The engine says 0 until the process ends. */}
      <Fact term="Exit code">{d.finishedAt ? (d.exitCode ?? null) : null}</Fact>
      <Fact term="Restarts">{d.restartCount}</Fact>
      <Fact term="Hostname">{d.hostname ?? null}</Fact>
      <Fact term="Network mode">{d.networkMode ?? null}</Fact>
      <Fact term="Ports">
        <Items label="Ports" items={d.ports.map(portText)} />
      </Fact>
      <Fact term="Mounts">
        <Items label="Mounts" items={d.mounts.map(mountText)} />
      </Fact>
      <Fact term="Environment">
        <Items label="Environment" items={d.env} />
      </Fact>
      <Fact term="Labels">
        <Items label="Labels" items={d.labels.map((l) => (l.value ? `${l.key}=${l.value}` : l.key))} />
      </Fact>
    </>
  );
}
