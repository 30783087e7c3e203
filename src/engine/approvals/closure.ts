import type { Sql } from '../../data/db.js';
import type { ResourceRecord } from '../resources/model.js';
import { referencesFrom, resourcesByIds } from '../resources/store.js';
import { descendantsOf } from '../lifecycle/subtree.js';

/**
 * The closure an approval pins: the resource, its sub-resources, its parents up to the root (the
 * parent documents only, not their other children) and, transitively, every resource any member
 * refers to, each with its own parents and sub-resources. One set query per step, never one per
 * resource; with a lock suffix every member, and the reference rows followed, are locked as they
 * are read (a locking read sees the latest committed rows, not the transaction's first snapshot).
 */
export async function closureOf(sql: Sql, root: ResourceRecord, lock = ''): Promise<ResourceRecord[]> {
  const members = new Map<string, ResourceRecord>([[root.id, root]]);
  const addAll = (records: ResourceRecord[]) => records.filter((r) => !members.has(r.id) && members.set(r.id, r));

  let fresh: ResourceRecord[] = [root, ...addAll(await descendantsOf(sql, [root.id], lock))];
  while (fresh.length) {
    const added: ResourceRecord[] = [];
    // parents up to the root
    let parents = fresh;
    for (;;) {
      const ids = [...new Set(parents.map((p) => p.parentId).filter((id): id is string => !!id && !members.has(id)))];
      if (!ids.length) break;
      parents = addAll(await resourcesByIds(sql, ids, lock));
      added.push(...parents);
    }
    // what the new members refer to, with those targets' parents (next round) and sub-resources
    const sources = [...fresh, ...added];
    const targetIds = [
      ...new Set(
        (
          await referencesFrom(
            sql,
            sources.map((r) => r.id),
            lock,
          )
        )
          .filter((r) => r.type === 'ARBITRARY' && !members.has(r.toId))
          .map((r) => r.toId),
      ),
    ];
    const targets = targetIds.length ? addAll(await resourcesByIds(sql, targetIds, lock)) : [];
    const below = targets.length
      ? addAll(
          await descendantsOf(
            sql,
            targets.map((t) => t.id),
            lock,
          ),
        )
      : [];
    fresh = [...targets, ...below];
    if (!added.length && !fresh.length) break;
  }
  return [...members.values()];
}
