import { newId } from '../src/data/ids.js';
import { addSeconds, type Timestamp } from '../src/data/time.js';
import { hashKey } from '../src/remote/hash.js';
import { bulkInsert, type Raw } from './lib/raw.js';

/**
 * Bulk generation of a large operational store for the GC benchmark, written straight into the
 * engine's tables in the engine's format (ids from newId(), content JSON with natural keys,
 * natural_key = JSON array of the identity values, one history version, the reference index with
 * `parent` CHILD rows and body ARBITRARY rows, remote_ref / remote_link for the groups' owners).
 *
 * Shape: cluster providers with 50 clusters each (~40% of the resources) and projects with 4
 * logical clusters, 5 apps × 2 profiles × 4 groups (60 resources each, ~60%). Each group refers
 * to its project's logical cluster, 2–3 clusters, and an owner.
 *
 * Marked (~10%): whole project subtrees (every 10th project) and whole provider subtrees (every
 * 10th provider), with marked_at / delete_after in the past and a deletion_mark row per root, as
 * markForDeletion leaves them. Half of the marked providers have 2 clusters that unmarked groups
 * refer to: those clusters and their provider are blocked; everything else marked is collectable.
 */

export const CLUSTERS_PER_PROVIDER = 50;
const LCS = 4;
const APPS = 5;
const PROFILES = 2;
const GROUPS = 4;
export const PROJECT_SUBTREE = 1 + LCS + APPS + APPS * PROFILES + APPS * PROFILES * GROUPS; // 60
export const PROVIDER_SUBTREE = 1 + CLUSTERS_PER_PROVIDER; // 51
/** Owners of unmarked groups come from the first 150 employees, of marked ones from the last 50: those become orphans. */
const KEPT_OWNERS = 150;
const ORPHAN_OWNERS = 50;

export interface GcDataPlan {
  providers: number;
  projects: number;
  resources: number;
  marked: number;
  /** Marked resources that must stay: clusters referred to from outside, and their providers. */
  blocked: number;
  /** marked − blocked: what a collection must delete. */
  collectable: number;
  /** remote_ref rows linked only from collectable groups. */
  orphanRemoteRefs: number;
  references: number;
  remoteLinks: number;
}

export function planFor(total: number): Pick<GcDataPlan, 'providers' | 'projects'> {
  return {
    providers: Math.max(2, Math.round((0.4 * total) / PROVIDER_SUBTREE)),
    projects: Math.max(2, Math.round((0.6 * total) / PROJECT_SUBTREE)),
  };
}

const isMarked = (i: number) => i % 10 === 5;

interface Res {
  id: string;
  kind: string;
  nk: unknown[];
  name: string;
  parent: string | null;
  content: Record<string, unknown>;
  markId: string | null;
}

/** Generates and inserts; `now` is the database clock. Returns what was made and what a collection must do. */
export async function generateGcData(
  raw: Raw,
  total: number,
  now: Timestamp,
  onProgress?: (msg: string) => void,
): Promise<{ plan: GcDataPlan; collectableIds: string[] }> {
  const { providers, projects } = planFor(total);
  const createdAt = addSeconds(now, -30 * 86400);
  const markedAt = addSeconds(now, -10 * 86400);
  const deleteAfter = addSeconds(now, -86400);

  const resources: Res[] = [];
  const refs: unknown[][] = [];
  const marks: unknown[][] = [];
  const links: unknown[][] = [];
  const ref = (from: string, path: string, to: string, type: 'CHILD' | 'ARBITRARY') => refs.push([from, path, to, type, createdAt]);
  const add = (r: Omit<Res, 'id'>): Res => {
    const res = { id: newId(), ...r };
    resources.push(res);
    if (res.parent) ref(res.id, 'parent', res.parent, 'CHILD');
    return res;
  };
  let marked = 0;
  let blocked = 0;
  const mark = (rootIndex: number, size: number): string | null => {
    if (!isMarked(rootIndex)) return null;
    marked += size;
    return newId();
  };

  const blockedIds = new Set<string>();

  // Providers and clusters.
  const clusters: { provider: string; name: string; id: string; marked: boolean }[] = [];
  const blockers: { provider: string; name: string }[] = [];
  let markedProviders = 0;
  for (let p = 0; p < providers; p++) {
    const name = `prov${String(p).padStart(5, '0')}`;
    const markId = mark(p, PROVIDER_SUBTREE);
    const prov = add({ kind: 'ClusterProvider', nk: [name], name, parent: null, content: { name }, markId });
    if (markId) marks.push([markId, prov.id, PROVIDER_SUBTREE, markedAt]);
    const blocking = markId !== null && markedProviders++ % 2 === 0;
    for (let c = 0; c < CLUSTERS_PER_PROVIDER; c++) {
      const cname = `c${String(c).padStart(2, '0')}`;
      const labels = [`env=${c % 2 ? 'prod' : 'test'}`, `zone=z${c % 3}`];
      const cl = add({
        kind: 'Cluster',
        nk: [name, cname],
        name: cname,
        parent: prov.id,
        content: { provider: name, name: cname, labels },
        markId,
      });
      clusters.push({ provider: name, name: cname, id: cl.id, marked: markId !== null });
      if (blocking && c < 2) {
        blockers.push({ provider: name, name: cname });
        blockedIds.add(cl.id);
      }
    }
    if (blocking) {
      blocked += 3; // 2 clusters and their provider
      blockedIds.add(prov.id);
    }
  }
  const clusterIds = new Map(clusters.map((c) => [`${c.provider}/${c.name}`, c.id]));
  const unmarkedClusters = clusters.filter((c) => !c.marked);
  onProgress?.(`  planned ${providers} providers with ${clusters.length} clusters`);

  // Projects and their subtrees; groups with references and owners.
  let unmarkedGroup = 0;
  for (let q = 0; q < projects; q++) {
    const project = `proj${String(q).padStart(5, '0')}`;
    const markId = mark(q, PROJECT_SUBTREE);
    const p = add({
      kind: 'Project',
      nk: [project],
      name: project,
      parent: null,
      content: { name: project, description: `project ${q}` },
      markId,
    });
    if (markId) marks.push([markId, p.id, PROJECT_SUBTREE, markedAt]);
    const lcIds: string[] = [];
    for (let l = 0; l < LCS; l++) {
      const name = `lc${l}`;
      lcIds.push(add({ kind: 'LogicalCluster', nk: [project, name], name, parent: p.id, content: { project, name }, markId }).id);
    }
    let g = 0;
    for (let a = 0; a < APPS; a++) {
      const app = `app${a}`;
      const ca = add({
        kind: 'CompositeApp',
        nk: [project, app],
        name: app,
        parent: p.id,
        content: { project, name: app, description: `app ${a}` },
        markId,
      });
      for (let f = 0; f < PROFILES; f++) {
        const prof = `prof${f}`;
        const cp = add({
          kind: 'CompositeProfile',
          nk: [project, app, prof],
          name: prof,
          parent: ca.id,
          content: { project, compositeApp: app, name: prof },
          markId,
        });
        for (let k = 0; k < GROUPS; k++, g++) {
          const name = `g${k}`;
          const seq = q * 40 + g;
          // Unmarked groups refer to unmarked clusters, except those that carry the blocking references.
          let targets: { provider: string; name: string }[];
          if (!markId && unmarkedGroup < blockers.length) {
            targets = [blockers[unmarkedGroup], unmarkedClusters[seq % unmarkedClusters.length]];
          } else {
            const pool = markId ? clusters : unmarkedClusters;
            const n = seq % 3 === 0 ? 3 : 2;
            const picks = new Set<number>();
            for (let j = 0; picks.size < n; j++) picks.add((seq * 7919 + j * 104729) % pool.length);
            targets = [...picks].map((i) => pool[i]);
          }
          if (!markId) unmarkedGroup++;
          const lc = `lc${g % LCS}`;
          const employee = markId ? KEPT_OWNERS + 1 + (seq % ORPHAN_OWNERS) : 1 + (seq % KEPT_OWNERS);
          const content = {
            project,
            compositeApp: app,
            compositeProfile: prof,
            name,
            logicalCluster: lc,
            clusters: targets.map((t) => ({ provider: t.provider, name: t.name })),
            owner: { employeeId: `e-${employee}` },
          };
          const dig = add({ kind: 'DeploymentIntentGroup', nk: [project, app, prof, name], name, parent: cp.id, content, markId });
          ref(dig.id, 'logicalCluster', lcIds[g % LCS], 'ARBITRARY');
          for (const [i, t] of targets.entries()) ref(dig.id, `clusters[${i}]`, clusterIds.get(`${t.provider}/${t.name}`)!, 'ARBITRARY');
          links.push([dig.id, 'owner', employee]);
        }
      }
    }
  }
  if (blockers.length > unmarkedGroup) throw new Error('too few unmarked groups to carry the blocking references');
  onProgress?.(`  planned ${resources.length} resources, ${refs.length} references; inserting`);

  // Owners: one remote_ref row per employee some group links, as the remote-reference cache holds
  // them. Only linked ones: collection removes every unlinked row, so an employee no group names
  // (at a small BENCH_SCALE most of them) would be counted as an orphan the plan did not expect.
  const remoteRefs: unknown[][] = [];
  const remoteIds = new Map<number, string>();
  const linkedEmployees = [...new Set(links.map(([, , e]) => e as number))].sort((a, b) => a - b);
  for (const e of linkedEmployees) {
    const id = newId();
    remoteIds.set(e, id);
    const key = { employeeId: `e-${e}` };
    const entity = { employeeId: key.employeeId, name: `Person ${e}`, email: `person${e}@example.com`, department: 'Engineering' };
    remoteRefs.push([id, 'Employee', hashKey(key), JSON.stringify(key), JSON.stringify(entity), 0, now, null, 0, createdAt]);
  }

  const mysql = raw.kind === 'mysql';
  if (mysql) {
    await raw.run('SET FOREIGN_KEY_CHECKS = 0');
    await raw.run('SET UNIQUE_CHECKS = 0');
  }
  await raw.run(mysql ? 'START TRANSACTION' : 'BEGIN');
  try {
    // Parents before children (the rows were generated in that order).
    const resourceRows = resources.map((r) => {
      const content = JSON.stringify(r.content);
      return [
        r.id,
        r.kind,
        JSON.stringify(r.nk),
        r.name,
        r.parent,
        content,
        1,
        r.markId ? 'MARKED_FOR_DELETION' : 'ACTIVE',
        createdAt,
        createdAt,
        r.markId ? markedAt : null,
        r.markId ? deleteAfter : null,
        r.markId,
      ];
    });
    await bulkInsert(
      raw,
      'resource',
      [
        'id',
        'kind',
        'natural_key',
        'name',
        'parent_id',
        'content',
        'version',
        'status',
        'created_at',
        'updated_at',
        'marked_at',
        'delete_after',
        'mark_id',
      ],
      resourceRows,
    );
    onProgress?.(`  inserted ${resourceRows.length} resources`);
    await bulkInsert(
      raw,
      'resource_history',
      ['resource_id', 'version', 'content', 'valid_from', 'valid_to'],
      resourceRows.map((r) => [r[0], 1, r[5], createdAt, null]),
    );
    await bulkInsert(raw, 'resource_ref', ['from_id', 'path', 'to_id', 'type', 'created_at'], refs);
    await bulkInsert(
      raw,
      'remote_ref',
      [
        'id',
        'entity_type',
        'remote_hash_key',
        'remote_key_payload',
        'cached_entity',
        'deleted',
        'fetched_at',
        'last_error',
        'failures',
        'created_at',
      ],
      remoteRefs,
    );
    await bulkInsert(
      raw,
      'remote_link',
      ['resource_id', 'path', 'remote_ref_id'],
      links.map(([r, p, e]) => [r, p, remoteIds.get(e as number)]),
    );
    await bulkInsert(raw, 'deletion_mark', ['id', 'root_id', 'size', 'created_at'], marks);
    await raw.run('COMMIT');
  } catch (e) {
    await raw.run('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    if (mysql) {
      await raw.run('SET FOREIGN_KEY_CHECKS = 1');
      await raw.run('SET UNIQUE_CHECKS = 1');
    }
  }
  // InnoDB would refresh its statistics on its own after this much change; SQLite has none unless
  // someone runs ANALYZE, which a deployment does not, so neither does the benchmark.
  if (mysql) {
    for (const t of ['resource', 'resource_history', 'resource_ref', 'remote_ref', 'remote_link']) await raw.all(`ANALYZE TABLE ${t}`);
  }
  const collectableIds = resources.filter((r) => r.markId && !blockedIds.has(r.id)).map((r) => r.id);
  // Orphans after collection: the owners every one of whose links leaves with a collected group.
  const collectable = new Set(collectableIds);
  const keptOwners = new Set(links.filter(([r]) => !collectable.has(r as string)).map(([, , e]) => e as number));
  const orphanRemoteRefs = linkedEmployees.filter((e) => !keptOwners.has(e)).length;
  return {
    plan: {
      providers,
      projects,
      resources: resources.length,
      marked,
      blocked,
      collectable: marked - blocked,
      orphanRemoteRefs,
      references: refs.length,
      remoteLinks: links.length,
    },
    collectableIds,
  };
}
