import { placeholders } from '../data/chunk.js';
import type { Db } from '../data/db.js';
import type { WriteBatch } from './revalidate.js';

/**
 * Deletes remote_ref rows no document links to any more, a bounded batch per transaction. The
 * foreign key from remote_link keeps a row that a concurrent save just linked: such a batch is
 * retried row by row and the linked row stays.
 */
export async function deleteOrphanRemoteRefs(db: Db, options: { batchSize?: number; write?: WriteBatch } = {}): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const write: WriteBatch = options.write ?? ((fn) => db.transaction((tx) => fn(tx)));
  let deleted = 0;
  const kept = new Set<string>();
  for (;;) {
    const ids = (
      await db.query<{ id: string }>(
        `SELECT r.id FROM remote_ref r WHERE NOT EXISTS (SELECT 1 FROM remote_link l WHERE l.remote_ref_id = r.id) ORDER BY r.id LIMIT ?`,
        [batchSize + kept.size],
      )
    )
      .map((r) => r.id)
      .filter((id) => !kept.has(id))
      .slice(0, batchSize);
    if (!ids.length) return deleted;
    const orphanSql = (n: number) =>
      `DELETE FROM remote_ref WHERE id IN (${placeholders(n)}) AND NOT EXISTS (SELECT 1 FROM remote_link l WHERE l.remote_ref_id = remote_ref.id)`;
    try {
      deleted += await write((sql) => sql.execute(orphanSql(ids.length), ids));
    } catch (e) {
      if (!isForeignKeyViolation(e)) throw e;
      for (const id of ids) {
        try {
          const n = await write((sql) => sql.execute(orphanSql(1), [id]));
          deleted += n;
          if (!n) kept.add(id);
        } catch (inner) {
          if (!isForeignKeyViolation(inner)) throw inner;
          kept.add(id);
        }
      }
    }
    if (ids.length < batchSize) return deleted;
  }
}

function isForeignKeyViolation(e: unknown): boolean {
  const err = e as { driverError?: { errno?: number; code?: string }; errno?: number; code?: string };
  const errno = err.driverError?.errno ?? err.errno;
  const code = err.driverError?.code ?? err.code;
  return errno === 1451 || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
