import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';

/**
 * The neighbourhood of a resource as a picture laid out by dagre: parents above, children and
 * what it refers to below, referrers above. Every resource node is a link to its page.
 */

export interface GraphNode {
  id: string;
  title: string;
  subtitle: string;
  /** self, or a resource status (active, marked), or a remote status (fresh, deleted, missing). */
  tone: 'self' | 'active' | 'marked' | 'fresh' | 'deleted' | 'missing';
  href?: string;
  tooltip?: string;
}

export interface GraphEdge {
  /** Layout order: `from` is placed above `to`. */
  from: string;
  to: string;
  label: string;
  /** Where the reference points: at `to` (end) or at `from` (start, a child naming its parent). */
  arrow: 'end' | 'start';
  kind: 'child' | 'reference' | 'remote';
}

const NODE_H = 44;
const nodeWidth = (n: GraphNode) => Math.max(120, Math.min(260, 16 + 7 * Math.max(n.title.length, n.subtitle.length)));

export function Graph({ nodes, edges, label }: { nodes: GraphNode[]; edges: GraphEdge[]; label: string }) {
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 56, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.id, { width: nodeWidth(n), height: NODE_H });
    for (const [i, e] of edges.entries())
      g.setEdge(e.from, e.to, { label: e.label, width: e.label.length * 6, height: 14, labelpos: 'c' }, `e${i}`);
    dagre.layout(g);
    const placed = nodes.map((n) => {
      const p = g.node(n.id);
      return { n, x: p.x, y: p.y, w: p.width };
    });
    const lines = edges.map((e, i) => {
      const p = g.edge({ v: e.from, w: e.to, name: `e${i}` });
      return { e, points: p.points, lx: p.x ?? 0, ly: p.y ?? 0 };
    });
    const graph = g.graph();
    return { placed, lines, width: graph.width ?? 200, height: graph.height ?? 100 };
  }, [nodes, edges]);

  return (
    <figure class="graph" data-testid="graph">
      <svg viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} role="img" aria-label={label}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
        </defs>
        {layout.lines.map(({ e, points, lx, ly }, i) => (
          <g key={i} class={`edge edge-${e.kind}`}>
            <polyline
              points={(points ?? []).map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
              fill="none"
              marker-end={e.arrow === 'end' ? 'url(#arrow)' : undefined}
              marker-start={e.arrow === 'start' ? 'url(#arrow)' : undefined}
            />
            <text x={lx} y={ly} text-anchor="middle" class="edge-label">
              {e.label}
            </text>
          </g>
        ))}
        {layout.placed.map(({ n, x, y, w }) => {
          const body = (
            <>
              <title>{n.tooltip ?? `${n.title} ${n.subtitle}`}</title>
              <rect x={x - w / 2} y={y - NODE_H / 2} width={w} height={NODE_H} rx={6} />
              <text x={x} y={y - 4} text-anchor="middle" class="node-title">
                {n.title}
              </text>
              <text x={x} y={y + 12} text-anchor="middle" class="node-sub">
                {n.subtitle}
              </text>
            </>
          );
          return n.href ? (
            <a key={n.id} href={n.href} class={`node tone-${n.tone}`} data-node={n.id} aria-label={`${n.subtitle} ${n.title} (${n.tone})`}>
              {body}
            </a>
          ) : (
            <g key={n.id} class={`node tone-${n.tone}`} data-node={n.id} tabIndex={0} aria-label={`${n.subtitle} ${n.title} (${n.tone})`}>
              {body}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        <span class="tone-self">this resource</span> <span class="tone-active">active</span> <span class="tone-marked">marked</span>{' '}
        <span class="tone-fresh">remote fresh</span> <span class="tone-deleted">remote deleted</span>{' '}
        <span class="tone-missing">remote missing</span>
      </figcaption>
    </figure>
  );
}
