import { EntitySchema, type EntitySchemaColumnOptions } from 'typeorm';

/**
 * Table rows as TypeORM entities. Columns carry explicit types (esbuild emits no decorator
 * metadata); the tables themselves come from the committed migrations, never `synchronize`.
 * Timestamps are `Timestamp` strings (src/data/time.ts); JSON columns are text parsed by the
 * repositories, since MariaDB and SQLite hand JSON back as text.
 */

export interface ResourceRow {
  id: string;
  kind: string;
  natural_key: string;
  name: string;
  parent_id: string | null;
  content: string;
  version: number;
  status: 'ACTIVE' | 'MARKED_FOR_DELETION';
  created_at: string;
  updated_at: string;
  marked_at: string | null;
  delete_after: string | null;
  mark_id: string | null;
  marked_by: string | null;
}
export interface HistoryRow {
  resource_id: string;
  version: number;
  content: string;
  valid_from: string;
  valid_to: string | null;
  changed_by: string | null;
}
export interface RefRow {
  from_id: string;
  path: string;
  to_id: string;
  type: 'CHILD' | 'ARBITRARY';
  created_at: string;
}
export interface RemoteRefRow {
  id: string;
  entity_type: string;
  remote_hash_key: string;
  remote_key_payload: string;
  cached_entity: string | null;
  deleted: number;
  fetched_at: string | null;
  last_error: string | null;
  failures: number;
  created_at: string;
  source_position: string | null;
  source_clock: string | null;
  state_at: string | null;
}
export interface RemoteLinkRow {
  resource_id: string;
  path: string;
  remote_ref_id: string;
}
export interface ApprovalRow {
  id: string;
  resource_id: string;
  approved_at: string;
  revoked_at: string | null;
  approved_by: string | null;
  revoked_by: string | null;
}
export interface ApprovalPinRow {
  approval_id: string;
  resource_id: string;
  kind: string;
  version: number;
  content: string;
}

const str = (length: number, extra: Partial<EntitySchemaColumnOptions> = {}): EntitySchemaColumnOptions => ({
  type: 'varchar',
  length,
  ...extra,
});
const id = (primary = false, nullable = false) => str(36, { primary, nullable });
const time = (nullable = false) => str(26, { nullable });
const json = (nullable = false): EntitySchemaColumnOptions => ({ type: 'text', nullable });
const subject = () => str(255, { nullable: true });
const int = (primary = false): EntitySchemaColumnOptions => ({ type: 'int', primary });

export const ResourceEntity = new EntitySchema<ResourceRow>({
  name: 'resource',
  columns: {
    id: id(true),
    kind: str(64),
    natural_key: str(512),
    name: str(128),
    parent_id: id(false, true),
    content: json(),
    version: int(),
    status: str(24),
    created_at: time(),
    updated_at: time(),
    marked_at: time(true),
    delete_after: time(true),
    mark_id: id(false, true),
    marked_by: subject(),
  },
});
export const HistoryEntity = new EntitySchema<HistoryRow>({
  name: 'resource_history',
  columns: { resource_id: id(true), version: int(true), content: json(), valid_from: time(), valid_to: time(true), changed_by: subject() },
});
export const RefEntity = new EntitySchema<RefRow>({
  name: 'resource_ref',
  columns: { from_id: id(true), path: str(191, { primary: true }), to_id: id(), type: str(16), created_at: time() },
});
export const RemoteRefEntity = new EntitySchema<RemoteRefRow>({
  name: 'remote_ref',
  columns: {
    id: id(true),
    entity_type: str(64),
    remote_hash_key: str(32),
    remote_key_payload: json(),
    cached_entity: json(true),
    deleted: int(),
    fetched_at: time(true),
    last_error: { type: 'text', nullable: true },
    failures: int(),
    created_at: time(),
    source_position: str(96, { nullable: true }),
    source_clock: str(16, { nullable: true }),
    state_at: time(true),
  },
});
export const RemoteLinkEntity = new EntitySchema<RemoteLinkRow>({
  name: 'remote_link',
  columns: { resource_id: id(true), path: str(191, { primary: true }), remote_ref_id: id() },
});
export const ApprovalEntity = new EntitySchema<ApprovalRow>({
  name: 'approval',
  columns: { id: id(true), resource_id: id(), approved_at: time(), revoked_at: time(true), approved_by: subject(), revoked_by: subject() },
});
export const ApprovalPinEntity = new EntitySchema<ApprovalPinRow>({
  name: 'approval_pin',
  columns: { approval_id: id(true), resource_id: id(true), kind: str(64), version: int(), content: json() },
});

export const entities = [ResourceEntity, HistoryEntity, RefEntity, RemoteRefEntity, RemoteLinkEntity, ApprovalEntity, ApprovalPinEntity];
