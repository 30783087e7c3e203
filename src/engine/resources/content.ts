import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { badInput } from '../errors.js';
import type { KindDef, ReferenceDef, RelationshipSchema } from '../../model/model.js';
import type { Content, PlannedReference } from './model.js';

/** Names of resources: what fits in URLs, labels and natural keys alike. */
export const NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$';
const NAME_RULE = "must be 1 to 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit";
const nameSchema = { type: 'string', pattern: NAME_PATTERN };
const NAME_RE = new RegExp(NAME_PATTERN);

export const naturalKeyOf = (values: readonly unknown[]) => JSON.stringify(values);

/** The natural key as one string, its names joined by '/' (a name cannot hold one): `shelf-a/w1`. */
export const naturalKeyText = (naturalKey: string) => (JSON.parse(naturalKey) as string[]).join('/');

/** `/clusters/1/name` → `clusters[1].name` */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('');
}

function describe(e: ErrorObject): string {
  const at = fieldPath(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at ? `${at}.` : ''}${(e.params as { additionalProperty: string }).additionalProperty} is not a field of this kind`;
    case 'required':
      return `${at ? `${at}.` : ''}${(e.params as { missingProperty: string }).missingProperty} is required`;
    case 'pattern':
      return `${at} ${e.params && (e.params as { pattern: string }).pattern === NAME_PATTERN ? NAME_RULE : (e.message ?? 'is invalid')}`;
    default:
      return `${at || 'input'} ${e.message ?? 'is invalid'}`;
  }
}

/** Validates content against the relationship schema and derives identity and references from it. */
export class ContentRules {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly schema: RelationshipSchema) {
    const ajv = new Ajv({ allErrors: false, strict: false });
    for (const kind of schema.kinds.values()) this.validators.set(kind.name, ajv.compile(this.jsonSchemaOf(kind)));
  }

  private referenceValueSchema(ref: ReferenceDef): Record<string, unknown> {
    if (ref.valueFields.length === 1) return nameSchema;
    return {
      type: 'object',
      additionalProperties: false,
      required: ref.valueFields,
      properties: Object.fromEntries(ref.valueFields.map((f) => [f, nameSchema])),
    };
  }

  /** The JSON Schema of a kind's content. */
  jsonSchemaOf(kind: KindDef): Record<string, unknown> {
    const properties: Record<string, unknown> = {};
    for (const f of kind.identity) properties[f] = nameSchema;
    Object.assign(properties, kind.fields);
    for (const ref of kind.references) {
      const value = this.referenceValueSchema(ref);
      properties[ref.field] = ref.list ? { type: 'array', maxItems: ref.maxItems, uniqueItems: true, items: value } : value;
    }
    for (const r of kind.remoteReferences) {
      const key = this.schema.remoteType(r.type).key;
      properties[r.field] = {
        type: 'object',
        additionalProperties: false,
        required: key,
        properties: Object.fromEntries(key.map((k) => [k, { type: 'string', minLength: 1, maxLength: 255 }])),
      };
    }
    return { type: 'object', additionalProperties: false, required: kind.identity, properties };
  }

  /** Drops nulls (an absent field and a null one mean the same in stored content) and validates. */
  validate(kind: KindDef, input: Content): Content {
    const content: Content = {};
    for (const [k, v] of Object.entries(input)) if (v !== null && v !== undefined) content[k] = v;
    const validate = this.validators.get(kind.name)!;
    if (!validate(content)) throw badInput(`${kind.name}: ${describe(validate.errors![0])}`, { kind: kind.name });
    return content;
  }

  /** Applies an update: omitted fields stay, null clears; identity fields cannot change. */
  merge(kind: KindDef, current: Content, patch: Content): Content {
    for (const f of kind.identity) {
      if (f in patch && patch[f] !== undefined && patch[f] !== current[f])
        throw badInput(`${kind.name}: ${f} is part of the identity and cannot change`);
    }
    const merged: Content = { ...current };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    return this.validate(kind, merged);
  }

  naturalKey(kind: KindDef, content: Content): string {
    return naturalKeyOf(kind.identity.map((f) => content[f]));
  }

  /** The parent's natural key: the identity without `name`, read as the parent's identity. */
  parentReference(kind: KindDef, content: Content): PlannedReference | null {
    if (!kind.parent) return null;
    const values = kind.identity.slice(0, -1).map((f) => content[f]);
    return {
      path: 'parent',
      type: 'CHILD',
      kind: kind.parent,
      naturalKey: naturalKeyOf(values),
      label: `${kind.parent} ${values.join('/')}`,
    };
  }

  /** The body's references, in content order, with their paths (`logicalCluster`, `clusters[1]`). */
  bodyReferences(kind: KindDef, content: Content): PlannedReference[] {
    const out: PlannedReference[] = [];
    for (const ref of kind.references) {
      const value = content[ref.field];
      if (value === undefined) continue;
      const target = this.schema.kind(ref.kind);
      const plan = (v: unknown, path: string) => {
        const own = ref.valueFields.length === 1 ? { [ref.valueFields[0]]: v } : (v as Record<string, unknown>);
        const values = target.identity.map((f) => (ref.scope.includes(f) ? content[f] : own[f]));
        out.push({ path, type: 'ARBITRARY', kind: ref.kind, naturalKey: naturalKeyOf(values), label: `${ref.kind} ${values.join('/')}` });
      };
      if (ref.list) for (const [i, v] of (value as unknown[]).entries()) plan(v, `${ref.field}[${i}]`);
      else plan(value, ref.field);
    }
    return out;
  }

  /**
   * Identity of a kind from its natural key as nested objects, each parent under its kind's key:
   * `{ shelf: { name: "a" }, name: "w1" }` for a kind whose parent's key is `shelf`. Null when the shape or a name is
   * not one any resource can have.
   */
  naturalKeyFromNested(kind: KindDef, value: unknown): string | null {
    const values: unknown[] = [];
    let def: KindDef | null = kind;
    let at = value;
    while (def) {
      if (!at || typeof at !== 'object') return null;
      values.unshift((at as Record<string, unknown>).name);
      at = def.parent ? (at as Record<string, unknown>)[this.schema.kind(def.parent).key] : undefined;
      def = def.parent ? this.schema.kind(def.parent) : null;
    }
    if (values.length !== kind.identity.length || !values.every((v) => typeof v === 'string' && NAME_RE.test(v))) return null;
    return naturalKeyOf(values);
  }

  /** Identity of a kind from its natural key as one string (`naturalKeyText`); null when no resource can have it. */
  naturalKeyFromText(kind: KindDef, text: unknown): string | null {
    if (typeof text !== 'string') return null;
    const values = text.split('/');
    return values.length === kind.identity.length && values.every((v) => NAME_RE.test(v)) ? naturalKeyOf(values) : null;
  }

  /** Identity of a kind from a natural-key object the user gave (e.g. a query's arguments). */
  naturalKeyFromArgs(kind: KindDef, args: Record<string, unknown>): string {
    for (const f of kind.identity) {
      const v = args[f];
      if (typeof v !== 'string' || !new RegExp(NAME_PATTERN).test(v)) throw badInput(`${kind.name}: ${f} ${NAME_RULE}`);
    }
    return naturalKeyOf(kind.identity.map((f) => args[f]));
  }
}
