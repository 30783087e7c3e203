import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Names and natural keys compare byte for byte on every store. SQLite compares text as bytes
 * already; on MySQL/MariaDB a table takes the database's default collation (often a
 * case-insensitive one, where `C1` and `c1` collide), so every table of the subgraph is converted
 * to utf8mb4_bin whatever that default is. Also records since when the maintenance lease is held,
 * so an operator told MAINTENANCE_BUSY learns who runs it and since when.
 */
export class BinaryNamesAndLeaseSince1764600000000 implements MigrationInterface {
  name = 'BinaryNamesAndLeaseSince1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lease ADD acquired_at VARCHAR(26) NULL`);
    if (q.connection.options.type !== 'mysql') return;
    const tables = (await q.query(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> 'typeorm_migrations'
         AND (TABLE_COLLATION IS NULL OR TABLE_COLLATION <> 'utf8mb4_bin')`,
    )) as { name: string }[];
    // Keys referring to each other change together; checks are off only while the columns convert.
    await q.query(`SET SESSION foreign_key_checks = 0`);
    try {
      for (const { name } of tables) await q.query(`ALTER TABLE \`${name}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await q.query(`SET SESSION foreign_key_checks = 1`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lease DROP COLUMN acquired_at`);
  }
}
