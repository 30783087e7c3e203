import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * remote_ref.source_position: the position in the remote store's history of the state a row
 * reflects (src/remote/position.ts), so every write-back is a compare-and-set on it. Approval
 * snapshots keep the status and fetch time of the copy they pinned.
 */
export class RemoteSourcePosition1764500000000 implements MigrationInterface {
  name = 'RemoteSourcePosition1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('remote_ref', new TableColumn({ name: 'source_position', type: 'varchar', length: '96', isNullable: true }));
    // The sweep picks live and deleted rows by age separately.
    await q.createIndex('remote_ref', new TableIndex({ name: 'ix_remote_ref_deleted_fetched', columnNames: ['deleted', 'fetched_at'] }));
    await q.addColumn('approval_remote_snapshot', new TableColumn({ name: 'status', type: 'varchar', length: '16', isNullable: true }));
    await q.addColumn('approval_remote_snapshot', new TableColumn({ name: 'fetched_at', type: 'varchar', length: '26', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('approval_remote_snapshot', 'fetched_at');
    await q.dropColumn('approval_remote_snapshot', 'status');
    await q.dropIndex('remote_ref', 'ix_remote_ref_deleted_fetched');
    await q.dropColumn('remote_ref', 'source_position');
  }
}
