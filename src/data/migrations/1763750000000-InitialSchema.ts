import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import type { TableColumnOptions } from 'typeorm/schema-builder/options/TableColumnOptions.js';

/** Column helpers: timestamps are sortable UTC strings (see src/data/time.ts), JSON is text. */
export function columnsFor(queryRunner: QueryRunner) {
  const mysql = queryRunner.connection.options.type === 'mysql';
  return {
    id: (name = 'id', primary = false): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: primary }),
    ref: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: '36', isNullable: nullable }),
    str: (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    }),
    time: (name: string, nullable = false): TableColumnOptions => ({ name, type: 'varchar', length: '26', isNullable: nullable }),
    json: (name: string, nullable = false): TableColumnOptions => ({ name, type: mysql ? 'longtext' : 'text', isNullable: nullable }),
    int: (name: string, def?: number): TableColumnOptions => ({ name, type: 'int', default: def, isNullable: false }),
  };
}

export class InitialSchema1763750000000 implements MigrationInterface {
  name = 'InitialSchema1763750000000';

  async up(q: QueryRunner): Promise<void> {
    const c = columnsFor(q);
    const mysql = q.connection.options.type === 'mysql';
    const engine = mysql ? { engine: 'InnoDB' } : {};

    await q.createTable(
      new Table({
        name: 'resource',
        ...engine,
        columns: [
          c.id('id', true),
          c.str('kind', 64),
          // JSON array of the identity values, e.g. ["p1","app"]: unique per kind.
          c.str('natural_key', 512),
          c.str('name', 128),
          c.ref('parent_id', true),
          c.json('content'),
          c.int('version'),
          c.str('status', 24),
          c.time('created_at'),
          c.time('updated_at'),
          c.time('marked_at', true),
          c.time('delete_after', true),
          c.ref('mark_id', true),
        ],
        uniques: [{ name: 'uq_resource_natural_key', columnNames: ['kind', 'natural_key'] }],
        indices: [
          { name: 'ix_resource_parent', columnNames: ['parent_id', 'kind'] },
          { name: 'ix_resource_status', columnNames: ['status', 'delete_after'] },
          { name: 'ix_resource_mark', columnNames: ['mark_id'] },
          { name: 'ix_resource_kind', columnNames: ['kind', 'id'] },
        ],
        foreignKeys: [
          { name: 'fk_resource_parent', columnNames: ['parent_id'], referencedTableName: 'resource', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'resource_history',
        ...engine,
        columns: [
          { ...c.ref('resource_id'), isPrimary: true },
          { ...c.int('version'), isPrimary: true },
          c.json('content'),
          c.time('valid_from'),
          c.time('valid_to', true),
        ],
        indices: [{ name: 'ix_history_valid_to', columnNames: ['valid_to'] }],
        foreignKeys: [
          { name: 'fk_history_resource', columnNames: ['resource_id'], referencedTableName: 'resource', referencedColumnNames: ['id'] },
        ],
      }),
    );

    // The reference index: one row per reference, written with the document it belongs to.
    await q.createTable(
      new Table({
        name: 'resource_ref',
        ...engine,
        columns: [
          { ...c.ref('from_id'), isPrimary: true },
          { ...c.str('path', 191), isPrimary: true },
          c.ref('to_id'),
          c.str('type', 16),
          // When the document first referred to this target: checks that nothing referred to a resource after its mark.
          c.time('created_at'),
        ],
        indices: [{ name: 'ix_ref_to', columnNames: ['to_id', 'from_id'] }],
        foreignKeys: [
          { name: 'fk_ref_from', columnNames: ['from_id'], referencedTableName: 'resource', referencedColumnNames: ['id'] },
          { name: 'fk_ref_to', columnNames: ['to_id'], referencedTableName: 'resource', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'remote_ref',
        ...engine,
        columns: [
          c.id('id', true),
          c.str('entity_type', 64),
          c.str('remote_hash_key', 32),
          c.json('remote_key_payload'),
          c.json('cached_entity', true),
          c.int('deleted', 0),
          c.time('fetched_at', true),
          { name: 'last_error', type: 'text', isNullable: true },
          c.int('failures', 0),
          c.time('created_at'),
        ],
        uniques: [{ name: 'uq_remote_ref_hash', columnNames: ['entity_type', 'remote_hash_key'] }],
        indices: [{ name: 'ix_remote_ref_fetched', columnNames: ['fetched_at'] }],
      }),
    );

    // Links a document's remote-reference field to its remote_ref row (many links, one row).
    await q.createTable(
      new Table({
        name: 'remote_link',
        ...engine,
        columns: [{ ...c.ref('resource_id'), isPrimary: true }, { ...c.str('path', 191), isPrimary: true }, c.ref('remote_ref_id')],
        indices: [{ name: 'ix_remote_link_ref', columnNames: ['remote_ref_id'] }],
        foreignKeys: [
          { name: 'fk_remote_link_resource', columnNames: ['resource_id'], referencedTableName: 'resource', referencedColumnNames: ['id'] },
          { name: 'fk_remote_link_ref', columnNames: ['remote_ref_id'], referencedTableName: 'remote_ref', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'applied_event',
        ...engine,
        columns: [{ ...c.str('event_id', 191), isPrimary: true }, c.time('applied_at')],
        indices: [{ name: 'ix_applied_event_at', columnNames: ['applied_at'] }],
      }),
    );

    await q.createTable(
      new Table({
        name: 'deletion_mark',
        ...engine,
        columns: [c.id('id', true), c.ref('root_id'), c.int('size'), c.time('created_at')],
      }),
    );

    await q.createTable(
      new Table({
        name: 'archive',
        ...engine,
        columns: [
          { ...c.ref('resource_id'), isPrimary: true },
          c.str('kind', 64),
          c.str('natural_key', 512),
          // The last content, every kept version, and the references it held.
          c.json('document'),
          c.time('archived_at'),
        ],
        indices: [{ name: 'ix_archive_kind', columnNames: ['kind', 'natural_key'] }],
      }),
    );

    await q.createTable(
      new Table({
        name: 'lease',
        ...engine,
        columns: [{ ...c.str('name', 64), isPrimary: true }, c.str('holder', 128, true), c.int('token', 0), c.time('expires_at', true)],
      }),
    );

    await q.createTable(
      new Table({
        name: 'approval',
        ...engine,
        columns: [c.id('id', true), c.ref('resource_id'), c.time('approved_at'), c.time('revoked_at', true)],
        indices: [{ name: 'ix_approval_resource', columnNames: ['resource_id', 'revoked_at'] }],
      }),
    );

    await q.createTable(
      new Table({
        name: 'approval_pin',
        ...engine,
        columns: [
          { ...c.ref('approval_id'), isPrimary: true },
          { ...c.ref('resource_id'), isPrimary: true },
          c.str('kind', 64),
          c.int('version'),
          c.json('content'),
        ],
        indices: [{ name: 'ix_pin_resource', columnNames: ['resource_id', 'version'] }],
        foreignKeys: [
          { name: 'fk_pin_approval', columnNames: ['approval_id'], referencedTableName: 'approval', referencedColumnNames: ['id'] },
        ],
      }),
    );

    await q.createTable(
      new Table({
        name: 'approval_remote_snapshot',
        ...engine,
        columns: [
          { ...c.ref('approval_id'), isPrimary: true },
          { ...c.ref('resource_id'), isPrimary: true },
          { ...c.str('path', 191), isPrimary: true },
          c.str('entity_type', 64),
          c.json('remote_key_payload'),
          c.json('entity', true),
        ],
        foreignKeys: [
          { name: 'fk_snapshot_approval', columnNames: ['approval_id'], referencedTableName: 'approval', referencedColumnNames: ['id'] },
        ],
      }),
    );

    // Working set of one garbage-collection run, so the fixpoint runs in SQL, not in memory.
    await q.createTable(
      new Table({
        name: 'gc_candidate',
        ...engine,
        columns: [
          { ...c.int('run_token'), isPrimary: true },
          { ...c.ref('resource_id'), isPrimary: true },
        ],
        indices: [{ name: 'ix_gc_candidate_resource', columnNames: ['resource_id', 'run_token'] }],
      }),
    );
    await q.query(`INSERT INTO lease (name, holder, token, expires_at) VALUES ('maintenance', NULL, 0, NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'gc_candidate',
      'approval_remote_snapshot',
      'approval_pin',
      'approval',
      'lease',
      'archive',
      'deletion_mark',
      'applied_event',
      'remote_link',
      'remote_ref',
      'resource_ref',
      'resource_history',
    ]) {
      await q.dropTable(t);
    }
    await q.dropForeignKey('resource', 'fk_resource_parent');
    await q.dropTable('resource');
  }
}
