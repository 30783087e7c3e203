import { existsSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { RemoteTypeDef } from '../../model/model.js';
import { outageReason } from '../../util/outage.js';
import { hashKey, type RemoteKey } from '../hash.js';
import { SqliteReader } from './sqlite-reader.js';
import { SourceUnavailableError, type FetchedEntities, type RemoteEntity, type RemoteSource } from './source.js';

export type SqlDialect = 'mysql' | 'postgres' | 'sqlite';

export type ClientUrl =
  | { dialect: 'mysql'; uri: string }
  | { dialect: 'postgres'; connectionString: string }
  | { dialect: 'sqlite'; path: string };

/** Keys per statement: keeps every driver under its parameter limit. */
export const SQL_KEY_CHUNK = 500;
/** Short, so a dead store fails fast instead of holding a request. */
export const CONNECT_TIMEOUT_MS = 2000;

/** `mysql://…` / `mariadb://…`, `postgres://…` / `postgresql://…`, or `sqlite:PATH`. */
export function parseClientUrl(url: string): ClientUrl {
  if (url.startsWith('sqlite:')) {
    // `sqlite:///abs/path` is accepted as well as `sqlite:/abs/path` and `sqlite:rel/path`.
    return { dialect: 'sqlite', path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') };
  }
  if (/^(mysql|mariadb):\/\//.test(url)) return { dialect: 'mysql', uri: url.replace(/^mariadb:/, 'mysql:') };
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', connectionString: url };
  throw new Error(`a client store URL must start with mysql://, postgres:// or sqlite: (got "${url.replace(/\/\/[^@/]*@/, '//…@')}")`);
}

export function quoteIdent(dialect: SqlDialect, name: string): string {
  return dialect === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`;
}

function isMissingTable(dialect: SqlDialect, err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  if (dialect === 'mysql') return e.errno === 1146 || e.code === 'ER_NO_SUCH_TABLE';
  if (dialect === 'postgres') return e.code === '42P01';
  return typeof e.message === 'string' && e.message.startsWith('no such table');
}

const asText = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  // Uint8Array: a BLOB that came from the SQLite reader thread (a Buffer before the hop).
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
};

/**
 * A column's value as its field's declared type holds it (relationships.json `fieldTypes.<f>.type`):
 * text unless declared integer, number or boolean. A value that does not convert stays as read
 * (text), and the entity check refuses it with the field's name.
 */
function asDeclared(type: RemoteTypeDef, field: string, v: unknown): unknown {
  const declared = type.fieldTypes?.[field]?.type;
  if (v === null || v === undefined || declared === undefined || declared === 'string' || declared === 'id') return asText(v);
  if (declared === 'boolean') {
    if (typeof v === 'boolean') return v;
    if (v === 1 || v === 0 || v === '1' || v === '0') return v === 1 || v === '1';
    return asText(v);
  }
  const n = typeof v === 'number' ? v : typeof v === 'bigint' || typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : asText(v);
}

type Row = Record<string, unknown>;

/** Reads entities of remote types from a SQL database (read-only; the tables belong to someone else). */
export class SqlSource implements RemoteSource {
  readonly dialect: SqlDialect;
  private readonly target: ClientUrl;
  private readonly listeners = new Set<(query: string) => void>();
  private mysqlPool?: mysql.Pool;
  private pgPool?: pg.Pool;
  private sqlite?: SqliteReader;
  private closed = false;

  constructor(
    readonly name: string,
    url: string,
    private readonly options: {
      connectTimeoutMs?: number;
      poolSize?: number;
      /** Limit of one query (MySQL/MariaDB: client-side, then the connection is discarded; PostgreSQL: statement_timeout, and a read timeout a second later). */
      queryTimeoutMs?: number;
    } = {},
  ) {
    this.target = parseClientUrl(url);
    this.dialect = this.target.dialect;
  }

  onQuery(listener: (query: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async fetchMany(type: RemoteTypeDef, keys: RemoteKey[]): Promise<FetchedEntities> {
    const table = this.tableOf(type);
    const unique = new Map<string, RemoteKey>();
    for (const key of keys) {
      for (const f of type.key) {
        if (typeof key[f] !== 'string') throw new TypeError(`a key of ${type.name} lacks field "${f}"`);
      }
      unique.set(hashKey(pick(key, type.key)), key);
    }
    const out: FetchedEntities = new Map<string, RemoteEntity>();
    const all = [...unique.values()];
    const keyCols = type.key.map((f) => `t.${this.q(type.columns[f])}`);
    for (let i = 0; i < all.length; i += SQL_KEY_CHUNK) {
      const chunk = all.slice(i, i + SQL_KEY_CHUNK);
      const params: string[] = [];
      // push() returns the new length: the 1-based number of the placeholder ($n on PostgreSQL).
      const tuple = (key: RemoteKey) => type.key.map((f) => this.param(params.push(key[f]))).join(', ');
      const where =
        type.key.length === 1
          ? `${keyCols[0]} IN (${chunk.map(tuple).join(', ')})`
          : `(${keyCols.join(', ')}) IN (${chunk.map((k) => `(${tuple(k)})`).join(', ')})`;
      // The store's own clock is not read: reads are ordered on the operational store's clock (src/remote/position.ts).
      const rows = await this.run(`SELECT ${this.selectList(type, 't.')} FROM ${this.q(table)} t WHERE ${where}`, params, table);
      for (const row of rows) {
        if (type.key.some((f) => row[f] === null || row[f] === undefined)) continue;
        const entity = this.toEntity(type, row);
        out.set(hashKey(pick(entity as RemoteKey, type.key)), entity);
      }
    }
    return out;
  }

  /** Entities whose `field` holds one of `values` (e.g. the bank accounts of some owners), in key order. */
  async fetchWhere(type: RemoteTypeDef, field: string, values: readonly string[]): Promise<RemoteEntity[]> {
    const table = this.tableOf(type);
    const column = type.columns[field];
    if (!column) throw new Error(`remote type ${type.name} has no column for field "${field}"`);
    const out: RemoteEntity[] = [];
    const distinct = [...new Set(values)];
    for (let i = 0; i < distinct.length; i += SQL_KEY_CHUNK) {
      const chunk = distinct.slice(i, i + SQL_KEY_CHUNK);
      const where = `${this.q(column)} IN (${chunk.map((_, n) => this.param(n + 1)).join(', ')})`;
      const order = type.key.map((f) => this.q(type.columns[f])).join(', ');
      const rows = await this.run(`SELECT ${this.selectList(type)} FROM ${this.q(table)} WHERE ${where} ORDER BY ${order}`, chunk, table);
      out.push(...rows.map((r) => this.toEntity(type, r)));
    }
    return out;
  }

  /**
   * Entities in key order. `after` is the first key field's value of the last entity seen; for a
   * composite key it may instead be that entity's canonical key JSON, which pages without skipping
   * entities that share the first field.
   */
  async list(type: RemoteTypeDef, first: number, after?: string): Promise<RemoteEntity[]> {
    if (!Number.isInteger(first) || first < 0) throw new RangeError(`first must be a non-negative integer (got ${first})`);
    if (first === 0) return [];
    const table = this.tableOf(type);
    const keyCols = type.key.map((f) => this.q(type.columns[f]));
    const params: string[] = [];
    let where = '';
    if (after !== undefined) {
      const composite = type.key.length > 1 ? parseKeyJson(after, type.key) : undefined;
      if (composite) {
        for (const f of type.key) params.push(composite[f]);
        where = ` WHERE (${keyCols.join(', ')}) > (${type.key.map((_, i) => this.param(i + 1)).join(', ')})`;
      } else {
        params.push(after);
        where = ` WHERE ${keyCols[0]} > ${this.param(1)}`;
      }
    }
    const sql = `SELECT ${this.selectList(type)} FROM ${this.q(table)}${where} ORDER BY ${keyCols.join(', ')} LIMIT ${first}`;
    const rows = await this.run(sql, params, table);
    return rows.map((r) => this.toEntity(type, r));
  }

  async close(): Promise<void> {
    this.closed = true;
    const mysqlPool = this.mysqlPool;
    const pgPool = this.pgPool;
    const sqlite = this.sqlite;
    this.mysqlPool = this.pgPool = this.sqlite = undefined;
    await Promise.allSettled([sqlite?.close(), mysqlPool?.end(), pgPool?.end()]);
  }

  private tableOf(type: RemoteTypeDef): string {
    if (!type.table) throw new Error(`remote type ${type.name} has no table`);
    for (const f of type.key) if (!type.columns[f]) throw new Error(`remote type ${type.name} has no column for key field "${f}"`);
    return type.table;
  }

  private q(name: string): string {
    return quoteIdent(this.dialect, name);
  }

  private param(n: number): string {
    return this.dialect === 'postgres' ? `$${n}` : '?';
  }

  /** Columns aliased to field names, so rows come back keyed as the entity is. */
  private selectList(type: RemoteTypeDef, prefix = ''): string {
    return Object.entries(type.columns)
      .map(([field, col]) => `${prefix}${this.q(col)} AS ${this.q(field)}`)
      .join(', ');
  }

  private toEntity(type: RemoteTypeDef, row: Row): RemoteEntity {
    const entity: RemoteEntity = {};
    for (const field of Object.keys(type.columns))
      entity[field] = type.key.includes(field) ? asText(row[field]) : asDeclared(type, field, row[field]);
    return entity;
  }

  private async run(sql: string, params: string[], table: string): Promise<Row[]> {
    if (this.closed) throw new SourceUnavailableError(this.name, `${this.name} store unavailable: source is closed`);
    for (const l of this.listeners) {
      try {
        l(sql);
      } catch {
        // A listener's bug must not fail the read.
      }
    }
    try {
      switch (this.target.dialect) {
        case 'mysql': {
          const connection = await this.mysql().getConnection();
          try {
            const [rows] = await connection.query({ sql, timeout: this.options.queryTimeoutMs }, params);
            return rows as Row[];
          } catch (err) {
            // A query that did not come back leaves its connection unusable (a hung link): drop it.
            if ((err as { code?: unknown }).code === 'PROTOCOL_SEQUENCE_TIMEOUT') connection.destroy();
            throw err;
          } finally {
            connection.release();
          }
        }
        case 'postgres':
          return (await this.pg().query(sql, params)).rows as Row[];
        case 'sqlite':
          return await this.sqliteDb().all(sql, params);
      }
    } catch (err) {
      if (err instanceof SourceUnavailableError) throw err;
      // Words only: the driver's text (user names, hosts, paths) stays in the cause, for the log.
      const reason = isMissingTable(this.dialect, err) ? `table "${table}" does not exist` : (outageReason(err) ?? 'the query failed');
      throw new SourceUnavailableError(this.name, `${this.name} store unavailable: ${reason}`, { cause: err });
    }
  }

  private mysql(): mysql.Pool {
    if (!this.mysqlPool) {
      const t = this.target as { uri: string };
      this.mysqlPool = mysql.createPool({
        uri: t.uri,
        connectTimeout: this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        connectionLimit: this.options.poolSize ?? 5,
        maxIdle: this.options.poolSize ?? 5,
        idleTimeout: 30_000,
        enableKeepAlive: true,
        charset: 'utf8mb4',
        dateStrings: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
    }
    return this.mysqlPool;
  }

  private pg(): pg.Pool {
    if (!this.pgPool) {
      const t = this.target as { connectionString: string };
      this.pgPool = new pg.Pool({
        connectionString: t.connectionString,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        max: this.options.poolSize ?? 5,
        idleTimeoutMillis: 30_000,
        ...(this.options.queryTimeoutMs
          ? { statement_timeout: this.options.queryTimeoutMs, query_timeout: this.options.queryTimeoutMs + 1000 }
          : {}),
      });
      // An idle client dropped by the server emits here; unhandled it would crash the process.
      this.pgPool.on('error', () => undefined);
    }
    return this.pgPool;
  }

  private sqliteDb(): SqliteReader {
    if (!this.sqlite) {
      const { path } = this.target as { path: string };
      // Opening would otherwise create an empty file and report every table missing.
      if (path !== ':memory:' && !existsSync(path)) {
        throw new SourceUnavailableError(this.name, `${this.name} store unavailable: the database file does not exist`);
      }
      // Read-write handle limited by query_only (a read-only handle cannot always open a WAL
      // database), on a worker thread; its busy timeout bounds a wait for a locked file.
      this.sqlite = new SqliteReader(path, this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    }
    return this.sqlite;
  }
}

function pick(key: RemoteKey, fields: string[]): RemoteKey {
  const out: RemoteKey = {};
  for (const f of fields) out[f] = key[f];
  return out;
}

function parseKeyJson(text: string, fields: string[]): RemoteKey | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object') return undefined;
    const key = v as Record<string, unknown>;
    return fields.every((f) => typeof key[f] === 'string') ? pick(key as RemoteKey, fields) : undefined;
  } catch {
    return undefined;
  }
}
