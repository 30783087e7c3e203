import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { SCHEMA_DIR } from '../paths.js';
import type { KindDef, ReferenceDef, RelationshipSchema, RemoteFieldType, RemoteTypeDef, SourceDef } from './model.js';

/** Raised when the relationship schema file cannot be used; start-up stops with its message. */
export class SchemaFileError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${file}: at ${path}${path === '$' ? '' : ` (JSON pointer ${pathToPointer(path)})`}: ${problem}`);
    this.name = 'SchemaFileError';
  }
}

/** `$.kinds.Widget.parent` → `/kinds/Widget/parent`: the pointer into the file (RFC 6901). */
export function pathToPointer(path: string): string {
  const parts: string[] = [];
  const re = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) parts.push(m[1] ?? m[2] ?? (JSON.parse(m[3]) as string));
  return parts.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

interface RawKind {
  key: string;
  parent?: string;
  identity: string[];
  fields?: Record<string, Record<string, unknown>>;
  references?: Record<
    string,
    {
      kind: string;
      list?: boolean;
      maxItems?: number;
      scope?: string[];
      holdsSubtree?: boolean;
      description?: string;
      assumedSize?: number;
    }
  >;
  remoteReferences?: Record<string, { type: string; description?: string }>;
  retentionSeconds: number;
  personal?: boolean;
  tenant?: boolean;
  fieldName?: string;
  plural?: string;
  writeScope?: string;
  approvable?: boolean;
  description?: string;
  childrenField?: string;
  assumedSize?: number;
  listRequires?: string[];
}
interface RawSchema {
  sources?: Record<string, { type: 'sql' | 'graphql'; url?: string; urlEnv?: string }>;
  remoteTypes?: Record<
    string,
    {
      source: string;
      table?: string;
      typename?: string;
      key: string[];
      columns?: Record<string, string>;
      fields?: string[];
      fieldTypes?: Record<string, RemoteFieldType>;
      plural?: string;
      description?: string;
    }
  >;
  kinds: Record<string, RawKind>;
}

const DEFAULT_MAX_ITEMS = 100;

/** Drops undefined members: an absent attribute stays absent in the model. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** `/kinds/Widget/parent` → `$.kinds.Widget.parent`, the form people read in messages. */
export function pointerToPath(pointer: string): string {
  if (!pointer) return '$';
  return (
    '$' +
    pointer
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`))
      .join('')
  );
}

function describeAjvError(e: ErrorObject): { path: string; problem: string } {
  let pointer = e.instancePath;
  let problem = e.message ?? 'is invalid';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    pointer += `/${extra}`;
    problem = 'is not a known property';
  } else if (e.keyword === 'required') {
    pointer += `/${(e.params as { missingProperty: string }).missingProperty}`;
    problem = 'is required';
  } else if (e.keyword === 'propertyNames') {
    problem = `has an invalid property name "${(e.params as { propertyName: string }).propertyName}"`;
  } else if (e.keyword === 'enum') {
    problem = `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  }
  return { path: pointerToPath(pointer), problem };
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
const validators = new Map<string, Validator>();
/** The meta-schema's validator; `part`: for one file of a directory, which may hold no kind of its own. */
function validator(schemaFile: string, part = false): Validator {
  const key = `${schemaFile}|${part}`;
  let v = validators.get(key);
  if (!v) {
    const ajv = new Ajv({ allErrors: false, strict: false });
    const meta = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
    if (part) {
      meta.required = ['version'];
      const props = meta.properties as Record<string, Record<string, unknown>>;
      props.kinds = { ...props.kinds, minProperties: 0 };
    }
    v = ajv.compile(meta);
    validators.set(key, v);
  }
  return v;
}

export const DEFAULT_SCHEMA_FILE = resolve(SCHEMA_DIR, 'relationships.json');
const META_SCHEMA_FILE = resolve(SCHEMA_DIR, 'relationships.schema.json');

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SchemaFileError(file, '$', `cannot be read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SchemaFileError(file, '$', `is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Reads, validates and derives the relationship schema: a file, or a directory whose *.json files
 * (one per service or team; `*.schema.json` skipped) are merged. Throws SchemaFileError naming
 * the file, the path in it and the problem.
 */
export function loadRelationshipSchema(path: string = DEFAULT_SCHEMA_FILE): RelationshipSchema {
  let directory = false;
  try {
    directory = statSync(path).isDirectory();
  } catch (e) {
    throw new SchemaFileError(path, '$', `cannot be read (${(e as Error).message})`);
  }
  if (!directory) return parseRelationshipSchema(path, readJson(path));
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
    .sort()
    .map((f) => join(path, f));
  if (!files.length)
    throw new SchemaFileError(path, '$', 'is a directory with no .json file: put one relationship schema file (or one per team) in it');
  return mergeRelationshipSchemas(
    path,
    files.map((file) => ({ file, data: readJson(file) })),
  );
}

const SECTIONS = [
  ['sources', 'source'],
  ['remoteTypes', 'remote type'],
  ['kinds', 'kind'],
] as const;

/**
 * One relationship schema from several files: each is validated on its own (it may hold only
 * sources or remote types), an entry defined in two files is refused naming both, and every
 * later problem names the file that holds the entry in question.
 */
export function mergeRelationshipSchemas(directory: string, parts: ReadonlyArray<{ file: string; data: unknown }>): RelationshipSchema {
  const merged: RawSchema = { sources: {}, remoteTypes: {}, kinds: {} };
  const origins = new Map<string, string>();
  for (const { file, data } of parts) {
    const validate = validator(META_SCHEMA_FILE, true);
    if (!validate(data)) {
      const { path, problem } = describeAjvError(validate.errors![0]);
      throw new SchemaFileError(file, path, problem);
    }
    const raw = data as Partial<RawSchema>;
    for (const [section, what] of SECTIONS) {
      for (const [name, entry] of Object.entries(raw[section] ?? {})) {
        const at = `$.${section}.${name}`;
        const other = origins.get(`${section}.${name}`);
        if (other) {
          throw new SchemaFileError(
            file,
            at,
            `${what} ${name} is defined twice: here and in ${other} at ${pathToPointer(at)}; keep one definition (merge them, or rename one)`,
          );
        }
        origins.set(`${section}.${name}`, file);
        (merged[section] as Record<string, unknown>)[name] = entry;
      }
    }
  }
  if (Object.keys(merged.kinds).length === 0)
    throw new SchemaFileError(directory, '$.kinds', 'no file of the directory defines a kind: add one');
  const fileOf = (path: string) => {
    const m = /^\$\.(sources|remoteTypes|kinds)\.([A-Za-z0-9_]+)/.exec(path);
    return (m && origins.get(`${m[1]}.${m[2]}`)) ?? directory;
  };
  return buildSchema(directory, merged, fileOf);
}

/** Validates parsed JSON against relationships.schema.json, then checks and derives the model; `file` names it in errors. */
export function parseRelationshipSchema(file: string, data: unknown): RelationshipSchema {
  const validate = validator(META_SCHEMA_FILE);
  if (!validate(data)) {
    const { path, problem } = describeAjvError(validate.errors![0]);
    throw new SchemaFileError(file, path, problem);
  }
  return buildSchema(file, data as RawSchema);
}

/** Checks what JSON Schema cannot say (names that must exist, identity chains, cycles) and derives the model. */
export function buildSchema(file: string, raw: RawSchema, fileOf: (path: string) => string = () => file): RelationshipSchema {
  const fail = (path: string, problem: string): never => {
    throw new SchemaFileError(fileOf(path), path, problem);
  };

  const sources = new Map<string, SourceDef>();
  for (const [name, s] of Object.entries(raw.sources ?? {})) {
    if (!s.url && !s.urlEnv && s.type === 'graphql') fail(`$.sources.${name}`, 'a graphql source needs url or urlEnv');
    sources.set(name, { name, type: s.type, url: s.url, urlEnv: s.urlEnv });
  }

  const remoteTypes = new Map<string, RemoteTypeDef>();
  for (const [name, t] of Object.entries(raw.remoteTypes ?? {})) {
    const at = `$.remoteTypes.${name}`;
    const source = sources.get(t.source) ?? fail(`${at}.source`, `names unknown source "${t.source}"`);
    const columns = t.columns ?? {};
    if (source.type === 'sql') {
      if (!t.table) fail(`${at}.table`, 'is required for a type of a sql source');
      for (const k of t.key) if (!columns[k]) fail(`${at}.columns`, `has no column for key field "${k}"`);
    }
    const fields = [...new Set([...t.key, ...(t.fields ?? []), ...Object.keys(columns)])];
    for (const f of Object.keys(t.fieldTypes ?? {})) if (!fields.includes(f)) fail(`${at}.fieldTypes.${f}`, `names no field of ${name}`);
    remoteTypes.set(name, {
      name,
      source: t.source,
      table: t.table,
      typename: t.typename ?? name,
      key: t.key,
      columns,
      fields,
      fieldTypes: t.fieldTypes ?? {},
      ...defined({ plural: t.plural, description: t.description }),
    });
  }

  const rawKinds = raw.kinds;
  const keyOwners = new Map<string, string>();
  for (const [name, k] of Object.entries(rawKinds)) {
    const other = keyOwners.get(k.key);
    if (other) fail(`$.kinds.${name}.key`, `"${k.key}" is already the key of ${other}`);
    keyOwners.set(k.key, name);
  }

  // Every parent must exist before any chain is walked.
  for (const [name, k] of Object.entries(rawKinds)) {
    if (k.parent && !rawKinds[k.parent]) fail(`$.kinds.${name}.parent`, `names unknown kind "${k.parent}"`);
  }
  const depthOf = (name: string, seen: string[] = []): number => {
    if (seen.includes(name)) fail(`$.kinds.${name}.parent`, `parent chain has a cycle: ${[...seen, name].join(' → ')}`);
    const p = rawKinds[name].parent;
    return p ? 1 + depthOf(p, [...seen, name]) : 0;
  };

  const rootOf = (name: string): string => (rawKinds[name].parent ? rootOf(rawKinds[name].parent!) : name);

  const kinds = new Map<string, KindDef>();
  for (const [name, k] of Object.entries(rawKinds)) {
    const at = `$.kinds.${name}`;
    const depth = depthOf(name);
    if (k.tenant && k.parent) fail(`${at}.tenant`, 'only a kind without a parent can be a tenancy root');
    // Identity is the parent's identity with its last field renamed to the parent's key, then `name`.
    const expected = k.parent ? [...rawKinds[k.parent].identity.slice(0, -1), rawKinds[k.parent].key, 'name'] : ['name'];
    if (JSON.stringify(k.identity) !== JSON.stringify(expected)) {
      fail(`${at}.identity`, `must be ${JSON.stringify(expected)} (the parent's identity, then "name")`);
    }
    const fields = k.fields ?? {};
    const taken = new Set<string>([...k.identity]);
    const claim = (field: string, path: string) => {
      if (taken.has(field)) fail(path, `field "${field}" is defined twice`);
      taken.add(field);
    };
    for (const f of Object.keys(fields)) claim(f, `${at}.fields.${f}`);

    const references: ReferenceDef[] = [];
    for (const [field, r] of Object.entries(k.references ?? {})) {
      const rat = `${at}.references.${field}`;
      claim(field, rat);
      const target = rawKinds[r.kind] ?? fail(`${rat}.kind`, `names unknown kind "${r.kind}"`);
      const scope = r.scope ?? [];
      for (const s of scope) {
        if (!target.identity.includes(s)) fail(`${rat}.scope`, `"${s}" is not an identity field of ${r.kind}`);
        if (!k.identity.includes(s)) fail(`${rat}.scope`, `"${s}" is not an identity field of ${name}`);
      }
      const valueFields = target.identity.filter((f) => !scope.includes(f));
      if (valueFields.length === 0) fail(`${rat}.scope`, 'leaves no field for the reference value');
      references.push({
        field,
        kind: r.kind,
        list: r.list ?? false,
        maxItems: r.maxItems ?? DEFAULT_MAX_ITEMS,
        scope,
        valueFields,
        holdsSubtree: r.holdsSubtree ?? true,
        ...defined({ description: r.description, assumedSize: r.assumedSize }),
      });
    }
    const remoteReferences = Object.entries(k.remoteReferences ?? {}).map(([field, r]) => {
      claim(field, `${at}.remoteReferences.${field}`);
      if (!remoteTypes.has(r.type)) fail(`${at}.remoteReferences.${field}.type`, `names unknown remote type "${r.type}"`);
      return { field, type: r.type, ...defined({ description: r.description }) };
    });
    for (const [i, f] of (k.listRequires ?? []).entries()) {
      if (!k.identity.slice(0, -1).includes(f)) {
        fail(
          `${at}.listRequires[${i}]`,
          `"${f}" is not an ancestor's identity field of ${name} (${k.identity.slice(0, -1).join(', ') || 'it has none'}): a list can only require those`,
        );
      }
    }
    kinds.set(name, {
      name,
      key: k.key,
      parent: k.parent ?? null,
      identity: k.identity,
      fields,
      references,
      remoteReferences,
      retentionSeconds: k.retentionSeconds,
      personal: k.personal ?? false,
      depth,
      tenantRoot: rawKinds[rootOf(name)].tenant ? rootOf(name) : null,
      api: {
        approvable: k.approvable ?? false,
        ...defined({
          fieldName: k.fieldName,
          plural: k.plural,
          writeScope: k.writeScope,
          description: k.description,
          childrenField: k.childrenField,
          assumedSize: k.assumedSize,
          listRequires: k.listRequires,
        }),
      },
    });
  }

  return {
    file,
    fileOf,
    kinds,
    remoteTypes,
    sources,
    kind(name) {
      const k = kinds.get(name);
      if (!k) throw new Error(`unknown kind ${name}`);
      return k;
    },
    remoteType(name) {
      const t = remoteTypes.get(name);
      if (!t) throw new Error(`unknown remote type ${name}`);
      return t;
    },
    childKinds(name) {
      return [...kinds.values()].filter((k) => k.parent === name);
    },
  };
}
