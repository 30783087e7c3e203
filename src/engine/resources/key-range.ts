import type { SqlCondition } from './tenancy.js';

/**
 * Natural keys under a parent's. Stored keys are JSON arrays (`["p","a",...]`), so the keys under
 * `["p","a"]` are exactly those that start with `["p","a",`: the range from that text up to (not
 * including) the same text with `-`, the character after `,`, in place of the comma. Exact on
 * every store (binary comparison: utf8mb4_bin on MySQL/MariaDB, SQLite's default), with no LIKE
 * (SQLite's ignores case) and nothing to escape, and it uses the natural-key index.
 */
export function keysUnder(column: string, parentKey: readonly string[]): SqlCondition {
  const open = JSON.stringify(parentKey).slice(0, -1);
  return { sql: `(${column} >= ? AND ${column} < ?)`, params: [`${open},`, `${open}-`] };
}
