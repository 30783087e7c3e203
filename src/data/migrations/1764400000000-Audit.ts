import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Who did what: the token subject that made each version, marked a resource, approved or revoked
 * an approval. Null where no authenticated caller was involved (AUTH_MODE=none, rows from before).
 */
export class Audit1764400000000 implements MigrationInterface {
  name = 'Audit1764400000000';

  private readonly columns: Array<[table: string, column: string]> = [
    ['resource_history', 'changed_by'],
    ['resource', 'marked_by'],
    ['approval', 'approved_by'],
    ['approval', 'revoked_by'],
  ];

  async up(q: QueryRunner): Promise<void> {
    for (const [table, name] of this.columns) {
      await q.addColumn(table, new TableColumn({ name, type: 'varchar', length: '255', isNullable: true }));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, name] of [...this.columns].reverse()) await q.dropColumn(table, name);
  }
}
