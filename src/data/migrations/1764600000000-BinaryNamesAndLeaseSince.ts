import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Names and natural keys compare byte for byte on every store. SQLite compares text as bytes
 * already; on MySQL/MariaDB a table takes the database's default collation (often a
 * case-insensitive one, where `C1` and `c1` collide), so every table of the subgraph is converted
 * to utf8mb4_bin whatever that default is. Also records since when the maintenance lease is held,
 * so an operator told MAINTENANCE_BUSY learns who runs it and since when, and indexes references
 * by target and type for the ancestor rule.
 */
export class BinaryNamesAndLeaseSince1764600000000 implements MigrationInterface {
  name = 'BinaryNamesAndLeaseSince1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lease ADD acquired_at VARCHAR(26) NULL`);
    // The ancestor rule looks for arbitrary references into a resource without reading its
    // children's parent references.
    await q.query(`CREATE INDEX ix_ref_to_type ON resource_ref (to_id, type, from_id)`);
    if (q.connection.options.type !== 'mysql') return;
    const tables = (await q.query(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
       WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> 'typeorm_migrations'
         AND (TABLE_COLLATION IS NULL OR TABLE_COLLATION <> 'utf8mb4_bin')`,
    )) as { name: string }[];
    if (!tables.length) return;
    // MariaDB refuses to change the collation of a column in a foreign key (whatever
    // foreign_key_checks says): the keys are dropped, the tables converted, the keys made again.
    const keys = (await q.query(
      `SELECT k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col, k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rc,
         r.DELETE_RULE AS onDelete, r.UPDATE_RULE AS onUpdate
       FROM information_schema.KEY_COLUMN_USAGE k
       JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.TABLE_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
       WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
       ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    )) as { t: string; name: string; col: string; rt: string; rc: string; onDelete: string; onUpdate: string }[];
    type Key = { t: string; name: string; cols: string[]; rt: string; rcs: string[]; onDelete: string; onUpdate: string };
    const byKey = new Map<string, Key>();
    for (const k of keys) {
      const e = byKey.get(`${k.t}.${k.name}`) ?? {
        t: k.t,
        name: k.name,
        cols: [],
        rt: k.rt,
        rcs: [],
        onDelete: k.onDelete,
        onUpdate: k.onUpdate,
      };
      e.cols.push(k.col);
      e.rcs.push(k.rc);
      byKey.set(`${k.t}.${k.name}`, e);
    }
    const q_ = (n: string) => `\`${n}\``;
    for (const k of byKey.values()) await q.query(`ALTER TABLE ${q_(k.t)} DROP FOREIGN KEY ${q_(k.name)}`);
    for (const { name } of tables) await q.query(`ALTER TABLE ${q_(name)} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    for (const k of byKey.values()) {
      await q.query(
        `ALTER TABLE ${q_(k.t)} ADD CONSTRAINT ${q_(k.name)} FOREIGN KEY (${k.cols.map(q_).join(', ')}) REFERENCES ${q_(k.rt)} (${k.rcs.map(q_).join(', ')}) ON DELETE ${k.onDelete} ON UPDATE ${k.onUpdate}`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(q.connection.options.type === 'mysql' ? `DROP INDEX ix_ref_to_type ON resource_ref` : `DROP INDEX ix_ref_to_type`);
    await q.query(`ALTER TABLE lease DROP COLUMN acquired_at`);
  }
}
