import type { ReactNode } from 'react';
import { setParams } from '../nav';
import { NodeSelect } from './node-select';

/**
 * The frame of a page about one node's things (images, volumes): the heading, the node filter kept
 * in the route (`?nodeId=`), and "Choose a node" until one is chosen; `children` get the node id.
 */
export function NodePage({
  title,
  what,
  nodeId,
  actions,
  children,
}: {
  title: string;
  /** What the page lists, for "Choose a node to see its …". */
  what: string;
  nodeId: string;
  /** Buttons for the heading's right end (shown once a node is chosen). */
  actions?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section>
      <div className="page-head">
        <h1>{title}</h1>
        {nodeId ? actions : null}
      </div>
      <div className="filters">
        <NodeSelect value={nodeId} onChange={(id) => setParams({ nodeId: id })} />
      </div>
      {nodeId ? children : <p>Choose a node to see its {what}.</p>}
    </section>
  );
}
