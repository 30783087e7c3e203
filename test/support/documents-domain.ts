import { join } from 'node:path';
import pg from 'pg';
import { tempPostgres, type TempStore } from './stores.js';

/** The second domain, written only as JSON: workspaces > folders > documents > notes, customers in a CRM store. */
export const DOCUMENTS = join(import.meta.dirname, '..', 'fixtures', 'derive', 'documents.relationships.json');

/** The CRM's own table, as its owners made it: typed columns the relationship schema maps. */
export async function crmStore(): Promise<TempStore> {
  const store = await tempPostgres('crm');
  const client = new pg.Client({ connectionString: store.url });
  await client.connect();
  try {
    await client.query(
      `CREATE TABLE customer (customer_id VARCHAR(36) PRIMARY KEY, display_name VARCHAR(200) NOT NULL, tier VARCHAR(20), seats INTEGER, active BOOLEAN)`,
    );
    await client.query(
      `INSERT INTO customer VALUES ('c-1', 'Acme', 'gold', 40, true), ('c-2', 'Globex', NULL, 3, false), ('c-3', 'Initech', 'silver', NULL, NULL)`,
    );
  } finally {
    await client.end();
  }
  return store;
}
