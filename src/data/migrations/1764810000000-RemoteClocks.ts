import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Positions of different clocks are never compared (design.md, "Clocks"):
 * - remote_ref.source_clock names the clock of source_position, the newest change event the row
 *   took (`binlog`, `lsn` or `ts`); an event is compared only with a position of its own clock.
 * - remote_ref.state_at is the operational store's clock when the row's state was established (a
 *   refetch's start, an event's application): refetches are ordered by it, one clock for every
 *   replica and every store.
 * Positions written before this migration mixed clocks (a store's clock, a replica's, a
 * connector's): they are forgotten, so that none of them can hold a row back.
 */
export class RemoteClocks1764810000000 implements MigrationInterface {
  name = 'RemoteClocks1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('remote_ref', new TableColumn({ name: 'source_clock', type: 'varchar', length: '16', isNullable: true }));
    await q.addColumn('remote_ref', new TableColumn({ name: 'state_at', type: 'varchar', length: '26', isNullable: true }));
    await q.query(`UPDATE remote_ref SET source_position = NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('remote_ref', 'state_at');
    await q.dropColumn('remote_ref', 'source_clock');
  }
}
