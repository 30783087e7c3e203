import { insertIgnore, type Tx } from '../data/db.js';
import { groupBy } from '../util/group-by.js';
import { newId } from '../data/ids.js';
import { DomainError } from '../engine/errors.js';
import type { RemoteLinker } from '../engine/resources/writer.js';
import type { Content } from '../engine/resources/model.js';
import type { KindDef, RemoteTypeDef } from '../model/model.js';
import { placeholders } from '../data/chunk.js';
import { fetchEntities, hashKey, keyLabel, normalizeKey, type RemoteContext } from './context.js';
import type { RemoteKey } from './hash.js';
import { refill } from './reader.js';
import { remoteRefsByHash, STATE_BEFORE_READ, stateParams, type ReadMark } from './remote-ref-store.js';
import type { RemoteEntity } from './sources/source.js';

interface PreparedLink {
  field: string;
  type: RemoteTypeDef;
  key: RemoteKey;
  hash: string;
  /** Set when the row did not exist (or was flagged deleted) and the store was asked. */
  fetched?: RemoteEntity;
  /** When that fetch began, on the operational store's clock. */
  read?: ReadMark;
  /** Set when the save's transaction inserted the row with what was fetched. */
  inserted?: boolean;
}

/**
 * Saving a reference: a key already cached is linked without a remote call; a new one is fetched
 * before the transaction (no locks held over a network call) and inserted inside it.
 */
export class RemoteLinks implements RemoteLinker {
  constructor(private readonly ctx: RemoteContext) {}

  async prepare(kind: KindDef, content: Content, fields: readonly string[]): Promise<PreparedLink[]> {
    const links: PreparedLink[] = fields.map((field) => {
      const def = kind.remoteReferences.find((r) => r.field === field)!;
      const type = this.ctx.schema.remoteType(def.type);
      const key = normalizeKey(type, content[field]);
      return { field, type, key, hash: hashKey(key) };
    });
    const byType = groupBy(links, (l) => l.type);
    for (const [type, group] of byType) {
      const known = new Map(
        (
          await remoteRefsByHash(
            this.ctx.db,
            type.name,
            group.map((g) => g.hash),
          )
        ).map((r) => [r.hashKey, r]),
      );
      const unknown = group.filter((g) => !known.get(g.hash) || known.get(g.hash)!.deleted);
      if (!unknown.length) continue;
      const found = await fetchEntities(
        this.ctx,
        type,
        unknown.map((u) => u.key),
      );
      const refused = unknown.filter((u) => found.refused.has(u.hash));
      if (refused.length) {
        // The store has it, but not in a shape the cache can hold: not the caller's fault, and not stored.
        throw new DomainError('REMOTE_SOURCE_UNAVAILABLE', refused.map((r) => found.refused.get(r.hash)!).join('; '), {
          entityType: type.name,
          source: type.source,
        });
      }
      const missing = unknown.filter((u) => !found.has(u.hash));
      if (missing.length) {
        throw new DomainError(
          'REMOTE_ENTITY_NOT_FOUND',
          `${missing.map((m) => keyLabel(type, m.key)).join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in its store`,
          { entityType: type.name, keys: missing.map((m) => m.key) },
        );
      }
      for (const u of unknown) Object.assign(u, { fetched: found.get(u.hash)!, read: found.read });
    }
    return links;
  }

  isStale(error: unknown): boolean {
    return error instanceof StalePreparation;
  }

  async link(tx: Tx, resourceId: string, prepared: unknown, fields: readonly string[]): Promise<void> {
    const links = prepared as PreparedLink[];
    if (fields.length) {
      await tx.execute(`DELETE FROM remote_link WHERE resource_id = ? AND path IN (${placeholders(fields.length)})`, [
        resourceId,
        ...fields,
      ]);
    }
    if (!links.length) return;
    const now = await tx.now();
    for (const l of links) {
      if (l.fetched) {
        const entity = JSON.stringify(l.fetched);
        // Two replicas saving the same new key: the unique (entity_type, hash) keeps one row.
        const read = l.read!;
        l.inserted =
          (await tx.execute(
            `${insertIgnore(tx)} INTO remote_ref (id, entity_type, remote_hash_key, remote_key_payload, cached_entity, deleted, fetched_at, last_error, failures, created_at, state_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, NULL, 0, ?, ?)`,
            [newId(), l.type.name, l.hash, JSON.stringify(l.key), entity, now, now, read.startedAt],
          )) > 0;
        // A row flagged deleted that the store has again: what was just read, unless a newer change landed.
        await tx.execute(
          `UPDATE remote_ref SET cached_entity = ?, deleted = 0, fetched_at = ?, last_error = NULL, failures = 0, state_at = ?
           WHERE entity_type = ? AND remote_hash_key = ? AND deleted = 1 AND ${STATE_BEFORE_READ}`,
          [entity, now, read.startedAt, l.type.name, l.hash, ...stateParams(read)],
        );
      }
    }
    for (const [type, group] of groupBy(links, (l) => l.type.name)) {
      const found = await remoteRefsByHash(
        tx,
        type,
        group.map((g) => g.hash),
        tx.forShare,
      );
      const rows = new Map(found.map((r) => [r.hashKey, r.id]));
      // The row was there before the transaction but orphan collection removed it since, or a
      // newer change flagged it deleted since: start over (the store is asked again).
      const deleted = new Set(found.filter((r) => r.deleted).map((r) => r.hashKey));
      if (group.some((g) => !rows.has(g.hash) || deleted.has(g.hash))) throw new StalePreparation();
      await tx.execute(
        `INSERT INTO remote_link (resource_id, path, remote_ref_id) VALUES ${group.map(() => '(?, ?, ?)').join(', ')}`,
        group.flatMap((g) => [resourceId, g.field, rows.get(g.hash)!]),
      );
    }
  }

  /**
   * After the save committed: keys it cached for the first time are read from their stores again.
   * Until the row existed, a change event for the key found nothing to apply and was ignored (the
   * cache holds only what documents refer to), so the copy read before the transaction may be older
   * than the store; the second read (a compare-and-set like every refetch) sets it right. A store
   * that cannot answer now leaves the row as it is, with why; the sweep is the bound then. The save
   * has committed: nothing here fails it.
   */
  async afterCommit(prepared: unknown): Promise<void> {
    const inserted = (prepared as PreparedLink[]).filter((l) => l.inserted);
    for (const [type, group] of groupBy(inserted, (l) => l.type.name)) {
      try {
        await refill(
          this.ctx,
          await remoteRefsByHash(
            this.ctx.db,
            type,
            group.map((g) => g.hash),
          ),
        );
      } catch {
        // The row stays as the save wrote it; the sweep checks it.
      }
    }
  }
}

/** A prepared link's row vanished before the transaction; the caller prepares again. */
export class StalePreparation extends Error {}
