/**
 * Estates of resources for the multi-process garbage-collection tests: built through the Engine
 * (so documents, reference index, history and remote links are exactly what the product writes),
 * a level at a time with a few writes in flight.
 */
import { chunks, placeholders } from '../../src/data/chunk.js';
import type { Db } from '../../src/data/db.js';
import type { HistoryRow, RefRow, RemoteLinkRow } from '../../src/data/entities.js';
import { newId } from '../../src/data/ids.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Content, ResourceRecord } from '../../src/engine/resources/model.js';
import { childrenOf, resourcesByIds } from '../../src/engine/resources/store.js';

export interface EstateSpec {
  /** Name prefix, so several estates can share a database. */
  prefix: string;
  providers: number;
  clustersPerProvider: number;
  projects: number;
  logicalClustersPerProject: number;
  appsPerProject: number;
  profilesPerApp: number;
  groupsPerProfile: number;
  /** Groups get an Employee owner (a remote reference) when set. */
  owners?: boolean;
}

export interface Estate {
  providers: string[];
  projects: string[];
  /** Every id created, by kind. */
  byKind: Map<string, string[]>;
  size: number;
}

async function inParallel<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export async function buildEstate(engine: Engine, spec: EstateSpec, width = 12): Promise<Estate> {
  const byKind = new Map<string, string[]>();
  /** Ids in the order of `contents`. */
  const level = async (kind: string, contents: Content[]) => {
    const ids: string[] = new Array(contents.length);
    await inParallel(
      contents.map((c, i) => [c, i] as const),
      width,
      async ([c, i]) => {
        ids[i] = (await engine.create(kind, c)).id;
      },
    );
    byKind.set(kind, [...(byKind.get(kind) ?? []), ...ids]);
    return ids;
  };
  const p = spec.prefix;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const providerNames = range(spec.providers).map((i) => `${p}-prov${i}`);
  const clusterKeys = providerNames.flatMap((provider) => range(spec.clustersPerProvider).map((i) => ({ provider, name: `c${i}` })));
  const projectNames = range(spec.projects).map((i) => `${p}-proj${i}`);

  const providers = await level(
    'ClusterProvider',
    providerNames.map((name) => ({ name })),
  );
  await level('Cluster', clusterKeys);
  const projects = await level(
    'Project',
    projectNames.map((name) => ({ name })),
  );
  await level(
    'LogicalCluster',
    projectNames.flatMap((project) => range(spec.logicalClustersPerProject).map((i) => ({ project, name: `lc${i}` }))),
  );
  const apps = projectNames.flatMap((project) => range(spec.appsPerProject).map((i) => ({ project, compositeApp: `app${i}` })));
  await level(
    'CompositeApp',
    apps.map((a) => ({ project: a.project, name: a.compositeApp })),
  );
  const profiles = apps.flatMap((a) => range(spec.profilesPerApp).map((i) => ({ ...a, compositeProfile: `prof${i}` })));
  await level(
    'CompositeProfile',
    profiles.map((f) => ({ project: f.project, compositeApp: f.compositeApp, name: f.compositeProfile })),
  );
  // Two different clusters per group, spread over all of them (needs at least two clusters).
  const twoClusters = (k: number) => {
    const a = k % clusterKeys.length;
    return [clusterKeys[a], clusterKeys[(a + 1 + (k % (clusterKeys.length - 1))) % clusterKeys.length]];
  };
  let n = 0;
  await level(
    'DeploymentIntentGroup',
    profiles.flatMap((f) =>
      range(spec.groupsPerProfile).map((i) => {
        n++;
        const content: Content = { ...f, name: `g${i}`, clusters: twoClusters(n) };
        if (spec.logicalClustersPerProject > 0) content.logicalCluster = `lc${n % spec.logicalClustersPerProject}`;
        if (spec.owners) content.owner = { employeeId: `e-${(n % 20) + 1}` };
        return content;
      }),
    ),
  );
  const size = [...byKind.values()].reduce((s, ids) => s + ids.length, 0);
  return { providers, projects, byKind, size };
}

/**
 * Copies of a project subtree the Engine built (documents, history, reference index, remote
 * links), one per new project name, in multi-row statements: thousands of resources in a second
 * instead of the Engine's one transaction per document. Only the project name changes; references
 * leaving the subtree (to clusters) and remote links point where the template's do.
 */
export async function cloneProject(db: Db, templateProjectId: string, projectNames: readonly string[]): Promise<Map<string, string>> {
  const [root] = await resourcesByIds(db, [templateProjectId]);
  if (root?.kind !== 'Project') throw new Error(`${templateProjectId} is not a project`);
  const templateName = String(root.content.name);
  // Parents before children: the foreign key on parent_id is checked row by row.
  const levels: ResourceRecord[][] = [[root]];
  for (;;) {
    const next = await childrenOf(
      db,
      levels[levels.length - 1].map((r) => r.id),
      null,
    );
    if (!next.length) break;
    levels.push(next);
  }
  const ids = levels.flat().map((r) => r.id);
  const history = await db.query<HistoryRow>(
    `SELECT resource_id, version, content, valid_from, valid_to FROM resource_history WHERE resource_id IN (${placeholders(ids.length)})`,
    ids,
  );
  const refs = await db.query<RefRow>(
    `SELECT from_id, path, to_id, type, created_at FROM resource_ref WHERE from_id IN (${placeholders(ids.length)})`,
    ids,
  );
  const links = await db.query<RemoteLinkRow>(
    `SELECT resource_id, path, remote_ref_id FROM remote_link WHERE resource_id IN (${placeholders(ids.length)})`,
    ids,
  );

  const rename = (content: Content, project: string): Content => {
    const out: Content = { ...content };
    if ('project' in out && out.project === templateName) out.project = project;
    return out;
  };
  const roots = new Map<string, string>();
  const resourceRows: unknown[][] = [];
  const historyRows: unknown[][] = [];
  const refRows: unknown[][] = [];
  const linkRows: unknown[][] = [];
  const idMaps = projectNames.map(() => new Map<string, string>());
  for (const level of levels) {
    projectNames.forEach((project, i) => {
      const idMap = idMaps[i];
      for (const r of level) idMap.set(r.id, newId());
      for (const r of level) {
        const content = r.id === root.id ? { ...r.content, name: project } : rename(r.content, project);
        const key = JSON.parse(r.naturalKey) as string[];
        key[0] = project;
        resourceRows.push([
          idMap.get(r.id),
          r.kind,
          JSON.stringify(key),
          r.id === root.id ? project : r.name,
          r.parentId ? idMap.get(r.parentId) : null,
          JSON.stringify(content),
          r.version,
          r.status,
          r.createdAt,
          r.updatedAt,
          r.markedAt,
          r.deleteAfter,
          r.markId,
        ]);
      }
    });
  }
  projectNames.forEach((project, i) => {
    const idMap = idMaps[i];
    roots.set(project, idMap.get(root.id)!);
    for (const h of history) {
      const content =
        h.resource_id === root.id ? { ...JSON.parse(h.content), name: project } : rename(JSON.parse(h.content) as Content, project);
      historyRows.push([idMap.get(h.resource_id), h.version, JSON.stringify(content), h.valid_from, h.valid_to]);
    }
    for (const f of refs) refRows.push([idMap.get(f.from_id), f.path, idMap.get(f.to_id) ?? f.to_id, f.type, f.created_at]);
    for (const l of links) linkRows.push([idMap.get(l.resource_id), l.path, l.remote_ref_id]);
  });
  const insert = async (table: string, columns: string, rows: unknown[][]) => {
    for (const c of chunks(rows, 200)) {
      const tuple = `(${placeholders(c[0].length)})`;
      await db.execute(`INSERT INTO ${table} (${columns}) VALUES ${c.map(() => tuple).join(', ')}`, c.flat());
    }
  };
  await insert(
    'resource',
    'id, kind, natural_key, name, parent_id, content, version, status, created_at, updated_at, marked_at, delete_after, mark_id',
    resourceRows,
  );
  await insert('resource_history', 'resource_id, version, content, valid_from, valid_to', historyRows);
  await insert('resource_ref', 'from_id, path, to_id, type, created_at', refRows);
  await insert('remote_link', 'resource_id, path, remote_ref_id', linkRows);
  return roots;
}
