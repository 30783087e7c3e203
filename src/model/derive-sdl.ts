import { Kind, parse, print, type DocumentNode, type FieldDefinitionNode } from 'graphql';
import type { KindDef, ReferenceDef, RelationshipSchema, RemoteScalar, RemoteTypeDef } from './model.js';
import {
  APPROVE_SCOPE,
  DEFAULT_ASSUMED_SIZE,
  DEFAULT_BROWSE_PAGE,
  DEFAULT_PAGE,
  PAGE_INFO,
  hasUpdate,
  READ_SCOPE,
  kindNames,
  kindsOf,
  referenceKeyInput,
  remoteTypeNames,
  remoteTypesOf,
} from './api-names.js';
import { contentFieldType, inputType, outputType } from './content-types.js';

/**
 * The per-kind GraphQL API, derived from the relationship schema alone: no I/O, no kind names.
 * The shared SDL (Resource, RemoteReference, approvals, lifecycle, ...) stays hand-written; the
 * derivation copies the fields of its `Resource` and `RemoteReference` interfaces into every
 * implementation, so an interface field added there reaches every kind without a change here.
 *
 * This module speaks GraphQL; the engine must not import it (it stays free of graphql).
 */

export interface DeriveOptions {
  /** The hand-written shared SDL: its `Resource` and `RemoteReference` interfaces are implemented here. */
  shared: DocumentNode;
}

const str = (s: string) => JSON.stringify(s);
const desc = (s: string | null | undefined, indent = '') => (s ? `${indent}${str(s)}\n` : '');
const scopes = (scope: string) => `@requiresScopes(scopes: [[${str(scope)}]])`;
const listSize = (n: number) => `@listSize(assumedSize: ${n})`;

function interfaceFields(shared: DocumentNode, name: string): string[] {
  const node = shared.definitions.find((d) => d.kind === Kind.INTERFACE_TYPE_DEFINITION && d.name.value === name);
  if (!node || node.kind !== Kind.INTERFACE_TYPE_DEFINITION) throw new Error(`the shared SDL defines no interface ${name}`);
  // Directives stay on the interface: an implementation's fields carry only what the derivation adds.
  return (node.fields ?? []).map((f: FieldDefinitionNode) => print({ ...f, directives: [] }));
}

/** `provider { name } name`: the natural identity with each parent nested under its key field. */
export function naturalKeyFields(schema: RelationshipSchema, kind: KindDef): string {
  if (!kind.parent) return 'name';
  const parent = schema.kind(kind.parent);
  return `${parent.key} { ${naturalKeyFields(schema, parent)} } name`;
}

const REMOTE_SCALARS: Record<RemoteScalar, string> = { string: 'String', id: 'ID', integer: 'Int', number: 'Float', boolean: 'Boolean' };

function remoteFieldType(t: RemoteTypeDef, field: string): string {
  const api = t.fieldTypes?.[field] ?? {};
  const named = REMOTE_SCALARS[api.type ?? 'string'];
  const required = t.key.includes(field) || api.nullable === false;
  return required ? `${named}!` : named;
}

function referenceInputType(ref: ReferenceDef): string {
  const named = referenceKeyInput(ref) ?? 'String';
  return ref.list ? `[${named}!]` : named;
}

class SdlWriter {
  private readonly parts: string[] = [];
  private readonly emitted = new Set<string>();
  readonly query: string[] = [];
  readonly mutation: string[] = [];

  /** Adds a definition once: key inputs are shared by every reference to the same target. */
  add(name: string, text: string): void {
    if (this.emitted.has(name)) return;
    this.emitted.add(name);
    this.parts.push(text);
  }

  toString(): string {
    const roots = [
      this.query.length ? `extend type Query {\n${this.query.join('\n')}\n}` : '',
      this.mutation.length ? `extend type Mutation {\n${this.mutation.join('\n')}\n}` : '',
    ];
    return `${[...this.parts, ...roots].filter(Boolean).join('\n\n')}\n`;
  }
}

function deriveKind(w: SdlWriter, schema: RelationshipSchema, kind: KindDef, resourceFields: string[]): void {
  const n = kindNames(kind);
  const api = kind.api;
  const K = kind.name;
  const fields: string[] = [...resourceFields, 'name: String!'];
  if (kind.parent) fields.push(`${desc(`The ${kind.parent} this ${K} is part of.`)}${schema.kind(kind.parent).key}: ${kind.parent}!`);

  const createInput: string[] = kind.identity.map((f) => `${f}: String!`);
  const updateInput: string[] = [];

  for (const [field, fragment] of Object.entries(kind.fields)) {
    const t = contentFieldType(K, field, fragment);
    if (t.enumValues) w.add(t.named, `enum ${t.named} {\n${t.enumValues.map((v) => `  ${v}`).join('\n')}\n}`);
    fields.push(`${desc(t.description)}${field}: ${outputType(t)}`);
    createInput.push(`${desc(t.description)}${field}: ${inputType(t)}`);
    updateInput.push(`${field}: ${inputType(t)}`);
  }
  for (const ref of kind.references) {
    const rapi = ref;
    fields.push(
      ref.list
        ? `${desc(rapi.description)}${ref.field}(first: Int = ${DEFAULT_PAGE}): [${ref.kind}!]! ${listSize(rapi.assumedSize ?? DEFAULT_ASSUMED_SIZE)}`
        : `${desc(rapi.description)}${ref.field}: ${ref.kind}`,
    );
    const keyInput = referenceKeyInput(ref);
    if (keyInput) {
      const scoped = ref.scope.length ? ` The referrer's own ${ref.scope.join(', ')} complete it.` : '';
      w.add(
        keyInput,
        `${desc(`Names a ${ref.kind} by its identity.${scoped}`)}input ${keyInput} {\n${ref.valueFields.map((f) => `  ${f}: String!`).join('\n')}\n}`,
      );
    }
    const inputDesc = rapi.description ?? (ref.scope.length ? `Names a ${ref.kind} of the same ${ref.scope.join(', ')}.` : null);
    createInput.push(`${desc(inputDesc)}${ref.field}: ${referenceInputType(ref)}`);
    updateInput.push(`${ref.field}: ${referenceInputType(ref)}`);
  }
  for (const rr of kind.remoteReferences) {
    const names = remoteTypeNames(schema.remoteType(rr.type));
    const d = rr.description;
    fields.push(`${desc(d)}${rr.field}: ${names.refType}`);
    createInput.push(`${desc(d)}${rr.field}: ${names.keyInput}`);
    updateInput.push(`${rr.field}: ${names.keyInput}`);
  }
  for (const child of schema.childKinds(K)) {
    const cn = kindNames(child);
    const size = child.api.assumedSize ?? DEFAULT_ASSUMED_SIZE;
    fields.push(`${cn.childrenField}(first: Int = ${DEFAULT_PAGE}): [${child.name}!]! ${listSize(size)}`);
  }
  if (n.approve) fields.push(`${desc('The approval in force (not revoked), if any.')}approval: Approval`);

  const keys = ['id', naturalKeyFields(schema, kind), 'kind naturalKey'].map((k) => `@key(fields: ${str(k)})`).join(' ');
  w.add(K, `${desc(api.description)}type ${K} implements Resource ${keys} ${scopes(READ_SCOPE)} {\n${indent(fields)}\n}`);
  w.add(n.createInput, `input ${n.createInput} {\n${indent(createInput)}\n}`);
  if (hasUpdate(kind)) {
    w.add(
      n.updateInput,
      `${desc('Omitted fields stay as they are; an explicit null clears.')}input ${n.updateInput} {\n${indent(updateInput)}\n}`,
    );
  }
  w.add(n.edgeType, `type ${n.edgeType} ${scopes(READ_SCOPE)} {\n  cursor: String!\n  node: ${K}!\n}`);
  w.add(
    n.connectionType,
    `type ${n.connectionType} ${scopes(READ_SCOPE)} {\n  edges: [${n.edgeType}!]!\n  pageInfo: ${PAGE_INFO}!\n` +
      `  ${str(`Every ${K} the arguments select (that the caller may see), over all pages.`)}\n  totalCount: Int!\n}`,
  );

  const identityArgs = kind.identity.map((f) => `${f}: String!`).join(', ');
  const required = new Set(kind.api.listRequires ?? []);
  const ancestorArgs = kind.identity
    .slice(0, -1)
    .map((f) => `${f}: String${required.has(f) ? '!' : ''}, `)
    .join('');
  const read = scopes(READ_SCOPE);
  w.query.push(
    `  ${str(`The ${K} with this identity; null if there is none.`)}\n  ${n.field}(${identityArgs}): ${K} ${read}`,
    `  ${str(`${K}s in a stable order; \`after\` is the id of the last item of the previous page.`)}\n` +
      `  ${n.plural}(${ancestorArgs}first: Int = ${DEFAULT_PAGE}, after: ID): [${K}!]! ${read}`,
    `  ${str(`The same list as \`${n.plural}\`, with cursors and a total; an \`after\` that is not a cursor of this list is refused.`)}\n` +
      `  ${n.connectionField}(${ancestorArgs}first: Int = ${DEFAULT_PAGE}, after: String): ${n.connectionType}! ${read}` +
      ` @listSize(slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false)`,
  );
  const write = scopes(n.writeScope);
  w.mutation.push(`  ${n.create}(input: ${n.createInput}!): ${K}! ${write}`);
  if (hasUpdate(kind)) w.mutation.push(`  ${n.update}(id: ID!, input: ${n.updateInput}!, expectedVersion: Int): ${K}! ${write}`);
  if (n.approve) w.mutation.push(`  ${n.approve}(id: ID!): Approval! ${scopes(APPROVE_SCOPE)}`);
}

function deriveRemoteType(w: SdlWriter, t: RemoteTypeDef, remoteReferenceFields: string[]): void {
  const n = remoteTypeNames(t);
  const api = t;
  // Non-key fields are @shareable: the subgraph that owns the type serves them too, and this one
  // serves them from the remote_ref cache.
  const fields = t.fields.map(
    (f) => `${desc(api.fieldTypes?.[f]?.description)}${f}: ${remoteFieldType(t, f)}${t.key.includes(f) ? '' : ' @shareable'}`,
  );
  fields.push(
    `${desc(`The documents whose remote references point at this ${t.name}.`)}referencedBy(first: Int = ${DEFAULT_PAGE}): [RemoteReferrer!]! ${listSize(DEFAULT_ASSUMED_SIZE)}`,
  );
  w.add(
    n.type,
    `${desc(api.description)}type ${n.type} @key(fields: ${str(t.key.join(' '))}) ${scopes(READ_SCOPE)} {\n${indent(fields)}\n}`,
  );
  w.add(
    n.refType,
    `type ${n.refType} implements RemoteReference ${scopes(READ_SCOPE)} {\n${indent([...remoteReferenceFields, `entity: ${n.type}`])}\n}`,
  );
  w.add(n.keyInput, `input ${n.keyInput} {\n${indent(t.key.map((f) => `${f}: ${remoteFieldType(t, f)}`))}\n}`);
  // @shareable: the subgraph that owns the type may serve its own browse query.
  w.query.push(
    `  ${str(`Browse the remote ${t.name}s: the first step of saving a reference to one.`)}\n` +
      `  ${n.browseField}(first: Int = ${DEFAULT_BROWSE_PAGE}, after: ID): [${n.type}!]! @shareable ${scopes(READ_SCOPE)}`,
  );
}

const indent = (lines: string[]) =>
  lines
    .map((l) =>
      l
        .split('\n')
        .map((x) => `  ${x}`)
        .join('\n'),
    )
    .join('\n');

/**
 * The derived SDL as text: per-kind and per-remote-type types, inputs, and Query/Mutation
 * extensions. Check `findNameProblems` first: a schema with problems derives names that collide
 * or do not parse (start-up refuses on the problems, with their paths, before deriving).
 */
export function deriveKindSdl(schema: RelationshipSchema, options: DeriveOptions): string {
  const w = new SdlWriter();
  const resourceFields = interfaceFields(options.shared, 'Resource');
  const remoteReferenceFields = interfaceFields(options.shared, 'RemoteReference');
  for (const kind of kindsOf(schema)) deriveKind(w, schema, kind, resourceFields);
  for (const t of remoteTypesOf(schema)) deriveRemoteType(w, t, remoteReferenceFields);
  w.add(
    PAGE_INFO,
    `${desc('Where a page of a connection ends.')}type ${PAGE_INFO} @shareable {\n  hasNextPage: Boolean!\n` +
      `  ${str('The cursor of the last edge; null on an empty page.')}\n  endCursor: String\n}`,
  );
  // Parsing here turns a derivation bug into an error at once, not at schema build.
  return print(parse(w.toString()));
}

export function deriveKindDocument(schema: RelationshipSchema, options: DeriveOptions): DocumentNode {
  return parse(deriveKindSdl(schema, options));
}
