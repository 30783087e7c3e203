/** The relationship schema as the engine uses it, after validation and derivation. */

export interface ReferenceDef {
  /** Field of the referrer's content that holds the reference. */
  field: string;
  /** Target kind. */
  kind: string;
  list: boolean;
  maxItems: number;
  /** Target identity fields copied from the referrer's identity. */
  scope: string[];
  /** Target identity fields the value itself carries; one field means the value is a plain string. */
  valueFields: string[];
  /** Whether the reference also holds the target's descendants back from collection (the ancestor rule; default true). */
  holdsSubtree: boolean;
  /** SDL description of the field and its input. */
  description?: string;
  /** `@listSize(assumedSize:)` of a list reference (default 10). */
  assumedSize?: number;
}

export interface RemoteReferenceDef {
  field: string;
  type: string;
  description?: string;
}

/** What shapes only the derived GraphQL API of a kind (names, scope, descriptions, list sizes). */
export interface KindApi {
  /** Query field of one resource (default: the kind's name with a lower-case first letter). */
  fieldName?: string;
  /** Query field of the list (default: fieldName + "s"). */
  plural?: string;
  /** Scope of create and update (default integrity:write). */
  writeScope?: string;
  /** Whether `approveK(id)` and `K.approval` exist. */
  approvable: boolean;
  /** Description of the object type. */
  description?: string;
  /** Name of the list of this kind on its parent (default: plural). */
  childrenField?: string;
  /** `@listSize(assumedSize:)` of that list: how many of this kind one parent usually holds (default 10). */
  assumedSize?: number;
  /** Ancestor identity fields the list queries require (non-null arguments); the others are optional. */
  listRequires?: string[];
}

export interface KindDef {
  name: string;
  /** How other kinds name this kind in their identity and inputs. */
  key: string;
  parent: string | null;
  identity: string[];
  /** JSON Schema fragments of the plain body fields. */
  fields: Record<string, Record<string, unknown>>;
  references: ReferenceDef[];
  remoteReferences: RemoteReferenceDef[];
  retentionSeconds: number;
  personal: boolean;
  /** Distance from the root of the parent chain (roots are 0). */
  depth: number;
  /**
   * The tenancy root kind at the top of this kind's parent chain, or null for shared
   * kinds outside every tenant. Its name is the first identity value of every kind under it.
   */
  tenantRoot: string | null;
  api: KindApi;
}

export interface SourceDef {
  name: string;
  type: 'sql' | 'graphql';
  url?: string;
  urlEnv?: string;
}

export interface RemoteTypeDef {
  name: string;
  source: string;
  table?: string;
  typename: string;
  key: string[];
  /** Entity field to column (SQL sources). */
  columns: Record<string, string>;
  /** Entity fields (always includes the key fields). */
  fields: string[];
  /** What each field holds (the client table's column type); fields without an entry are nullable strings of the default length. */
  fieldTypes?: Record<string, RemoteFieldType>;
  /** Browse query field (default: the type's name camel-cased, plus "s"). */
  plural?: string;
  description?: string;
}

/** The scalar a remote field holds (default string). */
export type RemoteScalar = 'string' | 'id' | 'integer' | 'number' | 'boolean';
export const REMOTE_SCALARS: readonly RemoteScalar[] = ['string', 'id', 'integer', 'number', 'boolean'];

/** What a remote field holds: text (a VARCHAR column, `maxLength` in characters) unless `type` says otherwise. */
export interface RemoteFieldType {
  type?: RemoteScalar;
  maxLength?: number;
  nullable?: boolean;
  description?: string;
}

export interface RelationshipSchema {
  /** The file, or the directory of files, it was read from. */
  file: string;
  /** The file that holds what a path (`$.kinds.Widget...`) names: for a directory, the file of that entry. */
  fileOf(path: string): string;
  kinds: Map<string, KindDef>;
  remoteTypes: Map<string, RemoteTypeDef>;
  sources: Map<string, SourceDef>;
  kind(name: string): KindDef;
  remoteType(name: string): RemoteTypeDef;
  /** Kinds whose parent is the given kind. */
  childKinds(name: string): KindDef[];
}
