import { chunks, placeholders } from '../../data/chunk.js';
import type { Db } from '../../data/db.js';
import { newId } from '../../data/ids.js';
import { addSeconds } from '../../data/time.js';
import type { Actor } from '../actor.js';
import { badInput, notFound } from '../errors.js';
import type { Tenancy } from '../resources/tenancy.js';
import type { ResourceRecord } from '../resources/model.js';
import { recordWith, resourcesByIds } from '../resources/store.js';
import { labelOf } from '../resources/writer.js';
import type { RelationshipSchema } from '../../model/model.js';
import type { MarkResult } from './model.js';
import { ancestorBlockers } from './ancestors.js';
import { referencesFromOutside } from './queries.js';
import { descendantsOf } from './subtree.js';

/**
 * Marks a resource and every descendant as one mark. Never refused for being referenced: the
 * result names who still refers to the subtree. Marking a marked resource marks nothing new.
 */
export async function markForDeletion(
  db: Db,
  schema: RelationshipSchema,
  id: string,
  who: { actor: Actor; tenancy: Tenancy },
  retentionOverride?: number,
): Promise<Omit<MarkResult, 'explanation'>> {
  return db.transaction(async (tx) => {
    const [root] = await resourcesByIds(tx, [id], tx.forUpdate);
    const missing = () => notFound(`Resource ${id} does not exist`, { id });
    if (!root) throw missing();
    // Descendants share the root's project: checking the root covers the subtree.
    who.tenancy.assertWritable(who.actor, root, missing);
    const subtree = [root, ...(await descendantsOf(tx, [id], tx.forUpdate))];
    const toMark = subtree.filter((r) => r.status === 'ACTIVE');
    const now = await tx.now();
    const marked: ResourceRecord[] = [];
    if (toMark.length) {
      const markId = newId();
      await tx.execute(`INSERT INTO deletion_mark (id, root_id, size, created_at) VALUES (?, ?, ?, ?)`, [markId, id, toMark.length, now]);
      const byRetention = new Map<number, ResourceRecord[]>();
      for (const r of toMark) {
        const seconds = retentionOverride ?? schema.kind(r.kind).retentionSeconds;
        byRetention.set(seconds, [...(byRetention.get(seconds) ?? []), r]);
      }
      for (const [seconds, group] of byRetention) {
        const deleteAfter = addSeconds(now, seconds);
        for (const c of chunks(group)) {
          await tx.execute(
            `UPDATE resource SET status = 'MARKED_FOR_DELETION', marked_at = ?, delete_after = ?, mark_id = ?, marked_by = ? WHERE id IN (${placeholders(c.length)})`,
            [now, deleteAfter, markId, who.actor.subject, ...c.map((r) => r.id)],
          );
          const markedBy = who.actor.subject;
          marked.push(...c.map((r) => recordWith(r, { status: 'MARKED_FOR_DELETION', markedAt: now, deleteAfter, markId, markedBy })));
        }
      }
    }
    const inside = new Set(subtree.map((r) => r.id));
    // Who holds the subtree: references into it, and (the ancestor rule) references to the root's ancestors.
    const viaAncestors = ((await ancestorBlockers(tx, schema, [root])).get(root.id) ?? []).filter((b) => !inside.has(b.fromId));
    const blockers = [...(await referencesFromOutside(tx, [...inside])), ...viaAncestors];
    const current = marked.find((m) => m.id === id) ?? root;
    return { resource: current, marked, blockers };
  });
}

/** Undoes the mark `id` belongs to, as long as none of what it marked has been collected. */
export async function cancelDeletion(db: Db, id: string, who: { actor: Actor; tenancy: Tenancy }): Promise<ResourceRecord> {
  return db.transaction(async (tx) => {
    const [r] = await resourcesByIds(tx, [id], tx.forUpdate);
    const missing = () => notFound(`Resource ${id} does not exist`, { id });
    if (!r) throw missing();
    who.tenancy.assertWritable(who.actor, r, missing);
    if (r.status !== 'MARKED_FOR_DELETION' || !r.markId) throw badInput(`${r.kind} ${labelOf(r)} is not marked for deletion`, { id });
    const [mark] = await tx.query<{ id: string; size: number }>(`SELECT id, size FROM deletion_mark WHERE id = ?${tx.forUpdate}`, [
      r.markId,
    ]);
    const members = await tx.query<{ id: string }>(`SELECT id FROM resource WHERE mark_id = ?${tx.forUpdate}`, [r.markId]);
    if (!mark || members.length < Number(mark.size)) {
      throw badInput(`Part of the deletion of ${r.kind} ${labelOf(r)} has already been collected; it can no longer be cancelled`, { id });
    }
    // A later mark of an ancestor covers this subtree too: undoing this one alone would leave an
    // active resource under a marked parent (which then could never be collected).
    const [markedParent] = await tx.query<{ kind: string; natural_key: string }>(
      `SELECT p.kind, p.natural_key FROM resource m JOIN resource p ON p.id = m.parent_id
       WHERE m.mark_id = ? AND p.status = 'MARKED_FOR_DELETION' AND (p.mark_id IS NULL OR p.mark_id <> ?) LIMIT 1${tx.forShare}`,
      [r.markId, r.markId],
    );
    if (markedParent) {
      const parent = `${markedParent.kind} ${labelOf({ naturalKey: markedParent.natural_key })}`;
      throw badInput(`${parent} is marked for deletion too (a separate mark); cancel that deletion first`, { id });
    }
    await tx.execute(
      `UPDATE resource SET status = 'ACTIVE', marked_at = NULL, delete_after = NULL, mark_id = NULL, marked_by = NULL WHERE mark_id = ?`,
      [r.markId],
    );
    await tx.execute(`DELETE FROM deletion_mark WHERE id = ?`, [r.markId]);
    return recordWith(r, { status: 'ACTIVE', markedAt: null, deleteAfter: null, markId: null, markedBy: null });
  });
}
