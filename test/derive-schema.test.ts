// The per-kind API derived from the relationship schema (issue 18): on the demo it keeps every
// operation the hand-written SDL served before (test/fixtures/derive/demo-before-issue18.graphql,
// printed just before the derivation replaced it); on a second domain written only as JSON it
// derives the names and types the relationship schema implies; colliding names are reported.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import {
  concatAST,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  print,
  type DefinitionNode,
  type DocumentNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { EMPLOYEES_SDL } from '../examples/employees-subgraph/server.js';
import { loadRelationshipSchema, parseRelationshipSchema, SchemaFileError } from '../src/model/load.js';
import type { RelationshipSchema } from '../src/model/model.js';
import { deriveKindDocument, deriveKindSdl } from '../src/model/derive-sdl.js';
import { findNameProblems } from '../src/model/name-problems.js';
import { buildSchema as buildServedSchema, sharedTypeDefs, typeDefs } from '../src/server/schema.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'derive');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Helpers: the shared SDL is today's SDL without what the derivation now defines.
// ---------------------------------------------------------------------------------------------

const definedName = (d: DefinitionNode): string | null => ('name' in d && d.name ? d.name.value : null);

/** Type names and root fields a document defines (root fields from `extend type Query/Mutation`). */
function definitions(doc: DocumentNode) {
  const types = new Set<string>();
  const roots = { Query: new Set<string>(), Mutation: new Set<string>() };
  for (const d of doc.definitions) {
    const name = definedName(d);
    if (!name) continue;
    if (d.kind === Kind.OBJECT_TYPE_EXTENSION && (name === 'Query' || name === 'Mutation')) {
      for (const f of d.fields ?? []) roots[name].add(f.name.value);
    } else types.add(name);
  }
  return { types, roots };
}

const subgraph = (doc: DocumentNode) => buildSubgraphSchema([{ typeDefs: doc }]);

const compose = (...graphs: Array<{ name: string; sdl: string }>) =>
  composeServices(graphs.map((g) => ({ name: g.name, url: `http://${g.name}.local/graphql`, typeDefs: parse(g.sdl) })));

/** The directives that carry meaning for clients, routers and access control, printed. */
function meaningful(node: { directives?: readonly { name: { value: string } }[] } | null | undefined): string[] {
  const names = new Set(['key', 'requiresScopes', 'authenticated', 'listSize', 'shareable']);
  return (node?.directives ?? [])
    .filter((d) => names.has(d.name.value))
    .map((d) => print(d as Parameters<typeof print>[0]))
    .sort();
}

const defaultOf = (a: GraphQLArgument | GraphQLInputField) => (a.astNode?.defaultValue ? print(a.astNode.defaultValue) : null);
/** `X!` in `before`, `X` in `after`: every operation valid before stays valid. */
const loosened = (before: string, after: string) => before === `${after}!`;

interface Differences {
  /** Would break an operation or a rule that works today. */
  incompatible: string[];
  /** Accepted widenings: a required argument made optional. */
  loosened: string[];
}

function compareField(where: string, before: GraphQLField<unknown, unknown>, after: GraphQLField<unknown, unknown>, out: Differences) {
  if (String(before.type) !== String(after.type)) out.incompatible.push(`${where}: type ${before.type} is ${after.type}`);
  const beforeDirectives = meaningful(before.astNode);
  const afterDirectives = meaningful(after.astNode).filter((d) => !d.startsWith('@listSize(slicing')); // new on connections only
  if (JSON.stringify(beforeDirectives) !== JSON.stringify(afterDirectives)) {
    out.incompatible.push(`${where}: directives ${beforeDirectives.join(' ')} are ${afterDirectives.join(' ')}`);
  }
  for (const a of before.args) {
    const b = after.args.find((x) => x.name === a.name);
    if (!b) out.incompatible.push(`${where}(${a.name}:) is missing`);
    else if (String(a.type) !== String(b.type)) {
      (loosened(String(a.type), String(b.type)) ? out.loosened : out.incompatible).push(`${where}(${a.name}:) ${a.type} is ${b.type}`);
    } else if (defaultOf(a) !== defaultOf(b)) out.incompatible.push(`${where}(${a.name}:) default ${defaultOf(a)} is ${defaultOf(b)}`);
  }
  for (const b of after.args) {
    if (!before.args.some((a) => a.name === b.name) && isNonNullType(b.type) && defaultOf(b) === null) {
      out.incompatible.push(`${where}(${b.name}:) is a new required argument`);
    }
  }
}

/** Every type and root field of `before` that is per kind (by the relationship schema's names alone). */
function perKind(schema: GraphQLSchema, model: RelationshipSchema) {
  const kinds = [...model.kinds.keys()];
  const remotes = [...model.remoteTypes.keys()];
  const owned = new Set([...kinds, ...remotes]);
  const types = Object.keys(schema.getTypeMap()).filter(
    (n) =>
      owned.has(n) ||
      remotes.some((r) => n === `${r}Ref` || n === `${r}Key`) ||
      kinds.some((k) => n === `Create${k}Input` || n === `Update${k}Input` || n.startsWith(`${k}Key`)),
  );
  const returnsOwned = (f: GraphQLField<unknown, unknown>) => owned.has(getNamedType(f.type).name);
  const query = Object.values(schema.getQueryType()!.getFields()).filter(returnsOwned);
  const mutation = Object.values(schema.getMutationType()!.getFields()).filter(
    (f) => returnsOwned(f) || kinds.some((k) => f.name === `approve${k}`),
  );
  return { types, query: query.map((f) => f.name), mutation: mutation.map((f) => f.name) };
}

/** What of `before`'s per-kind API `after` lacks or types differently. */
function compare(before: GraphQLSchema, after: GraphQLSchema, model: RelationshipSchema): Differences {
  const out: Differences = { incompatible: [], loosened: [] };
  const items = perKind(before, model);
  for (const name of items.types) {
    const b = before.getType(name)!;
    const a = after.getType(name);
    if (!a) {
      out.incompatible.push(`type ${name} is missing`);
      continue;
    }
    if (b.constructor !== a.constructor) {
      out.incompatible.push(`${name} is a ${a.constructor.name}, was a ${b.constructor.name}`);
      continue;
    }
    const bd = meaningful(b.astNode);
    const ad = meaningful(a.astNode);
    if (bd.some((d) => !ad.includes(d)) || ad.length !== bd.length)
      out.incompatible.push(`${name}: directives ${bd.join(' ')} are ${ad.join(' ')}`);
    if (isObjectType(b) && isObjectType(a)) {
      for (const i of b.getInterfaces())
        if (!a.getInterfaces().some((x) => x.name === i.name)) out.incompatible.push(`${name} no longer implements ${i.name}`);
      for (const f of Object.values(b.getFields())) {
        const g = a.getFields()[f.name];
        if (!g) out.incompatible.push(`${name}.${f.name} is missing`);
        else compareField(`${name}.${f.name}`, f, g, out);
      }
    } else if (isInputObjectType(b) && isInputObjectType(a)) {
      for (const f of Object.values(b.getFields())) {
        const g = a.getFields()[f.name];
        if (!g) out.incompatible.push(`${name}.${f.name} is missing`);
        else if (String(f.type) !== String(g.type)) {
          (loosened(String(f.type), String(g.type)) ? out.loosened : out.incompatible).push(`${name}.${f.name}: ${f.type} is ${g.type}`);
        }
      }
      for (const g of Object.values(a.getFields())) {
        if (!b.getFields()[g.name] && isNonNullType(g.type) && defaultOf(g) === null)
          out.incompatible.push(`${name}.${g.name} is a new required field`);
      }
    } else if (isEnumType(b) && isEnumType(a)) {
      for (const v of b.getValues()) if (!a.getValue(v.name)) out.incompatible.push(`${name}.${v.name} is missing`);
    }
  }
  for (const [root, names] of [
    ['Query', items.query],
    ['Mutation', items.mutation],
  ] as const) {
    const bt = root === 'Query' ? before.getQueryType()! : before.getMutationType()!;
    const at = root === 'Query' ? after.getQueryType()! : after.getMutationType()!;
    for (const name of names) {
      const g = at.getFields()[name];
      if (!g) out.incompatible.push(`${root}.${name} is missing`);
      else compareField(`${root}.${name}`, bt.getFields()[name], g, out);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// (a) The demo domain
// ---------------------------------------------------------------------------------------------

/** The demo model: its API attributes are in the file. */
function demoDomain(): { model: RelationshipSchema } {
  return { model: loadRelationshipSchema() };
}

/** The served API before the derivation replaced the hand-written per-kind SDL. */
const BEFORE = join(FIXTURES, 'demo-before-issue18.graphql');
const COMMITTED_SDL = join(import.meta.dirname, '..', 'schema', 'generated', 'subgraph.graphql');

describe('derived per-kind API on the demo relationship schema', () => {
  const { model } = demoDomain();
  const served = buildSubgraphSchema([{ typeDefs: parse(readFileSync(BEFORE, 'utf8')) }]);
  const current = sharedTypeDefs();
  const derived = deriveKindDocument(model, { shared: current });
  const shared = current;
  const combined = buildServedSchema();

  it('is what the subgraph serves, and the committed schema/generated/subgraph.graphql is its print', () => {
    expect(print(typeDefs())).toBe(print(concatAST([shared, derived])));
    const committed = readFileSync(COMMITTED_SDL, 'utf8');
    expect(
      committed === `${printSubgraphSchema(combined)}\n`,
      'schema/generated/subgraph.graphql is out of date: run npm run schema:write && npm run codegen',
    ).toBe(true);
  });

  it('defines every per-kind type and root field the hand-written SDL had', () => {
    const items = perKind(served, model);
    const { types, roots } = definitions(derived);
    // Today's per-kind API, by the relationship schema's names: the comparison below covers all of it.
    expect(items.query.sort()).toEqual([
      'clusterProvider',
      'deploymentIntentGroup',
      'deploymentIntentGroups',
      'employees',
      'project',
      'projects',
    ]);
    expect(items.mutation.length).toBe(12);
    expect(items.types.length).toBe(7 + 2 + 2 + 2 + 7 + 4 + 1); // kinds, remote types, Refs, remote Keys, Create, Update, ClusterKey
    expect(items.types.filter((t) => !types.has(t))).toEqual([]);
    expect(items.query.filter((f) => !roots.Query.has(f))).toEqual([]);
    expect(items.mutation.filter((f) => !roots.Mutation.has(f))).toEqual([]);
  });

  it('types every per-kind field, argument, input and operation as the hand-written SDL did', () => {
    const diff = compare(served, combined, model);
    expect(diff.incompatible).toEqual([]);
    // No widening either: the demo entry keeps the group list's project required (`listRequires`), as the contract has it.
    expect(diff.loosened).toEqual([]);
  });

  it('adds what the issue asks for: lookups, lists and connections of every kind, the missing updates, every browse query', () => {
    const q = combined.getQueryType()!.getFields();
    const m = combined.getMutationType()!.getFields();
    for (const k of [
      'project',
      'compositeApp',
      'compositeProfile',
      'deploymentIntentGroup',
      'logicalCluster',
      'clusterProvider',
      'cluster',
    ]) {
      expect(q[k], k).toBeDefined();
      expect(String(q[`${k}s`].type)).toBe(`[${k[0].toUpperCase()}${k.slice(1)}!]!`);
      expect(String(q[`${k}sConnection`].type)).toBe(`${k[0].toUpperCase()}${k.slice(1)}Connection!`);
    }
    expect(q.compositeApp.args.map((a) => `${a.name}: ${a.type}`)).toEqual(['project: String!', 'name: String!']);
    expect(q.clustersConnection.args.map((a) => `${a.name}: ${a.type}`)).toEqual(['provider: String', 'first: Int', 'after: String']);
    expect(q.deploymentIntentGroups.args.map((a) => a.name)).toEqual(['project', 'compositeApp', 'compositeProfile', 'first', 'after']);
    expect(String(q.bankAccounts.type)).toBe('[BankAccount!]!');
    expect(meaningful(q.bankAccounts.astNode)).toEqual(['@requiresScopes(scopes: [["integrity:read"]])', '@shareable']);
    // Every kind has something to update (the kinds that were only an identity gained a description).
    expect(
      Object.keys(m)
        .filter((f) => f.startsWith('update'))
        .sort(),
    ).toEqual([
      'updateCluster',
      'updateClusterProvider',
      'updateCompositeApp',
      'updateCompositeProfile',
      'updateDeploymentIntentGroup',
      'updateLogicalCluster',
      'updateProject',
    ]);
    expect(meaningful(m.createClusterProvider.astNode)).toEqual(['@requiresScopes(scopes: [["integrity:admin"]])']);
    const connection = combined.getType('ClusterConnection');
    expect(isObjectType(connection) && Object.keys(connection.getFields())).toEqual(['edges', 'pageInfo', 'totalCount']);
    const edge = combined.getType('ClusterEdge');
    expect(isObjectType(edge) && Object.entries(edge.getFields()).map(([n, f]) => `${n}: ${f.type}`)).toEqual([
      'cursor: String!',
      'node: Cluster!',
    ]);
    const pageInfo = combined.getType('PageInfo');
    expect(isObjectType(pageInfo) && Object.entries(pageInfo.getFields()).map(([n, f]) => `${n}: ${f.type}`)).toEqual([
      'hasNextPage: Boolean!',
      'endCursor: String',
    ]);
  });

  it('copies the Resource and RemoteReference interfaces into every implementation, field for field', () => {
    for (const [iface, impls] of [
      ['Resource', [...model.kinds.keys()]],
      ['RemoteReference', ['EmployeeRef', 'BankAccountRef']],
    ] as const) {
      const i = combined.getType(iface);
      expect(isInterfaceType(i)).toBe(true);
      if (!isInterfaceType(i)) continue;
      for (const name of impls) {
        const t = combined.getType(name);
        if (!isObjectType(t)) throw new Error(`${name} is not an object type`);
        for (const f of Object.values(i.getFields())) {
          expect(String(t.getFields()[f.name]?.type), `${name}.${f.name}`).toBe(String(f.type));
          expect(t.getFields()[f.name].args.map((a) => `${a.name}: ${a.type} = ${defaultOf(a)}`)).toEqual(
            f.args.map((a) => `${a.name}: ${a.type} = ${defaultOf(a)}`),
          );
        }
      }
    }
  });

  it('reports no name problems', () => {
    expect(findNameProblems(model, shared)).toEqual([]);
  });

  it('composes with the shared SDL alone and beside the owner of employees, with no errors and no hints', () => {
    const printed = printSubgraphSchema(combined);
    for (const result of [
      compose({ name: 'integrity', sdl: printed }),
      compose({ name: 'integrity', sdl: printed }, { name: 'employees', sdl: EMPLOYEES_SDL }),
    ]) {
      expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
      expect((result.hints ?? []).map((h) => h.message)).toEqual([]);
    }
  });

  it('is deterministic: the same schema derives the same text', () => {
    expect(deriveKindSdl(model, { shared: current })).toBe(print(derived));
  });
});

// ---------------------------------------------------------------------------------------------
// (b) A second domain, written only as JSON
// ---------------------------------------------------------------------------------------------

const DOCUMENTS_FILE = join(FIXTURES, 'documents.relationships.json');

/** The second domain through the loader (JSON Schema included), after `edit`. */
function documentsDomain(edit: (raw: Record<string, unknown>) => void = () => {}) {
  const raw = readJson(DOCUMENTS_FILE);
  edit(raw);
  return { model: parseRelationshipSchema(DOCUMENTS_FILE, raw) };
}

/** The hand-written shared SDL: no demo kind in it. */
const sharedSdl = (): DocumentNode => sharedTypeDefs();

describe('derived per-kind API of a second domain', () => {
  const shared = sharedSdl();
  const { model } = documentsDomain();
  const derived = deriveKindDocument(model, { shared });
  const schema = subgraph(concatAST([shared, derived]));
  const fieldsOf = (name: string) => {
    const t = schema.getType(name);
    if (!isObjectType(t) && !isInputObjectType(t)) throw new Error(`${name} is not an object or input type`);
    return Object.fromEntries(Object.values(t.getFields()).map((f) => [f.name, String(f.type)]));
  };
  const argsOf = (root: 'Query' | 'Mutation', field: string) => {
    const f = (root === 'Query' ? schema.getQueryType() : schema.getMutationType())!.getFields()[field];
    if (!f) throw new Error(`${root}.${field} is missing`);
    return `(${f.args.map((a) => `${a.name}: ${a.type}${defaultOf(a) === null ? '' : ` = ${defaultOf(a)}`}`).join(', ')}): ${f.type}`;
  };

  it('has no demo kind left in the shared SDL, and no name problems', () => {
    const names = definitions(shared).types;
    for (const demo of ['Project', 'Cluster', 'DeploymentIntentGroup', 'Employee', 'EmployeeRef', 'ClusterKey', 'CreateProjectInput']) {
      expect(names.has(demo), demo).toBe(false);
    }
    expect(findNameProblems(model, shared)).toEqual([]);
  });

  it('types content fields from their JSON Schema, with descriptions, references, remote references, children and approval', () => {
    expect(fieldsOf('Document')).toMatchObject({
      name: 'String!',
      folder: 'Folder!',
      title: 'String',
      pages: 'Int',
      score: 'Float',
      draft: 'Boolean',
      stage: 'DocumentStage',
      tags: '[DocumentTags!]!',
      metadata: 'JSON',
      scores: '[Float!]!',
      template: 'Template',
      related: '[Document!]!',
      categories: '[Category!]!',
      reviewer: 'CustomerRef',
      notes: '[Note!]!',
      approval: 'Approval',
    });
    const document = schema.getType('Document');
    if (!isObjectType(document)) throw new Error('Document');
    expect(document.description).toBeUndefined();
    expect(document.getFields().title.description).toBe("The document's heading.");
    expect(meaningful(document.getFields().related.astNode)).toEqual(['@listSize(assumedSize: 3)']);
    expect(meaningful(document.astNode)).toEqual([
      '@key(fields: "folder { workspace { name } name } name")',
      '@key(fields: "id")',
      '@key(fields: "kind naturalKey")',
      '@requiresScopes(scopes: [["integrity:read"]])',
    ]);
    expect(meaningful(schema.getType('Note')!.astNode)).toContain(
      '@key(fields: "document { folder { workspace { name } name } name } name")',
    );
    const stage = schema.getType('DocumentStage');
    expect(isEnumType(stage) && stage.getValues().map((v) => v.name)).toEqual(['DRAFT', 'REVIEW', 'PUBLISHED']);
    expect(isEnumType(schema.getType('FolderColor'))).toBe(true);
    expect(schema.getType('Workspace')!.description).toBe("A team's space: its folders, templates and documents.");
    expect(fieldsOf('Workspace')).toMatchObject({
      title: 'String',
      customer: 'CustomerRef',
      folders: '[Folder!]!',
      templates: '[Template!]!',
    });
    const workspace = schema.getType('Workspace');
    if (!isObjectType(workspace)) throw new Error('Workspace');
    expect(meaningful(workspace.getFields().folders.astNode)).toEqual(['@listSize(assumedSize: 20)']);
    expect(meaningful(workspace.getFields().templates.astNode)).toEqual(['@listSize(assumedSize: 10)']);
    expect(fieldsOf('Template')).toMatchObject({ workspace: 'Workspace!', body: 'String', variables: '[String!]!' });
    expect(fieldsOf('Category')).toMatchObject({ name: 'String!', label: 'String' });
    expect(Object.keys(fieldsOf('Note'))).not.toContain('approval');
  });

  it('derives inputs: identity, content, references by natural key (scope taken from the referrer), remote references by remote key', () => {
    expect(fieldsOf('CreateDocumentInput')).toEqual({
      workspace: 'String!',
      folder: 'String!',
      name: 'String!',
      title: 'String',
      pages: 'Int',
      score: 'Float',
      draft: 'Boolean',
      stage: 'DocumentStage',
      tags: '[DocumentTags!]',
      metadata: 'JSON',
      scores: '[Float!]',
      template: 'String',
      related: '[DocumentKeyInWorkspace!]',
      categories: '[String!]',
      reviewer: 'CustomerKey',
    });
    const { workspace: _w, folder: _f, name: _n, ...updatable } = fieldsOf('CreateDocumentInput');
    expect(fieldsOf('UpdateDocumentInput')).toEqual(updatable);
    expect(fieldsOf('DocumentKeyInWorkspace')).toEqual({ folder: 'String!', name: 'String!' });
    expect(fieldsOf('CustomerKey')).toEqual({ customerId: 'ID!' });
    expect(fieldsOf('CreateNoteInput')).toEqual({
      workspace: 'String!',
      folder: 'String!',
      document: 'String!',
      name: 'String!',
      text: 'String',
    });
  });

  it('derives queries and mutations with the names the entries give, and their scopes', () => {
    expect(argsOf('Query', 'workspace')).toBe('(name: String!): Workspace');
    expect(argsOf('Query', 'workspaces')).toBe('(first: Int = 100, after: ID): [Workspace!]!');
    expect(argsOf('Query', 'document')).toBe('(workspace: String!, folder: String!, name: String!): Document');
    expect(argsOf('Query', 'documents')).toBe('(workspace: String, folder: String, first: Int = 100, after: ID): [Document!]!');
    expect(argsOf('Query', 'documentsConnection')).toBe(
      '(workspace: String, folder: String, first: Int = 100, after: String): DocumentConnection!',
    );
    expect(argsOf('Query', 'documentTemplate')).toBe('(workspace: String!, name: String!): Template');
    expect(argsOf('Query', 'documentTemplatesConnection')).toBe(
      '(workspace: String, first: Int = 100, after: String): TemplateConnection!',
    );
    expect(argsOf('Query', 'categories')).toBe('(first: Int = 100, after: ID): [Category!]!');
    expect(argsOf('Query', 'notes')).toBe('(workspace: String, folder: String, document: String, first: Int = 100, after: ID): [Note!]!');
    expect(argsOf('Query', 'customers')).toBe('(first: Int = 50, after: ID): [Customer!]!');
    expect(argsOf('Mutation', 'createDocument')).toBe('(input: CreateDocumentInput!): Document!');
    expect(argsOf('Mutation', 'updateDocument')).toBe('(id: ID!, input: UpdateDocumentInput!, expectedVersion: Int): Document!');
    expect(argsOf('Mutation', 'approveDocument')).toBe('(id: ID!): Approval!');
    const m = schema.getMutationType()!.getFields();
    expect(Object.keys(m).filter((f) => f.startsWith('approve'))).toEqual(['approveDocument']);
    expect(meaningful(m.approveDocument.astNode)).toEqual(['@requiresScopes(scopes: [["integrity:approve"]])']);
    expect(meaningful(m.createDocument.astNode)).toEqual(['@requiresScopes(scopes: [["integrity:write"]])']);
    expect(meaningful(m.updateCategory.astNode)).toEqual(['@requiresScopes(scopes: [["integrity:admin"]])']);
    const q = schema.getQueryType()!.getFields();
    expect(Object.keys(q).filter((f) => /^(templates?|templatesConnection)$/.test(f))).toEqual([]);
  });

  it('types the remote type from its columns: key, nullability, scalars, descriptions, referencedBy', () => {
    expect(fieldsOf('Customer')).toEqual({
      customerId: 'ID!',
      displayName: 'String!',
      tier: 'String',
      seats: 'Int',
      active: 'Boolean',
      referencedBy: '[RemoteReferrer!]!',
    });
    const customer = schema.getType('Customer');
    if (!isObjectType(customer)) throw new Error('Customer');
    expect(customer.description).toBe('A customer of the CRM store, as the remote_ref cache holds it.');
    expect(customer.getFields().displayName.description).toBe('As the CRM shows it.');
    expect(meaningful(customer.astNode)).toEqual(['@key(fields: "customerId")', '@requiresScopes(scopes: [["integrity:read"]])']);
    expect(fieldsOf('CustomerRef').entity).toBe('Customer');
  });

  it('composes alone and beside a subgraph that owns Customer, with no errors and no hints', () => {
    const owner = `
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
      type Customer @key(fields: "customerId") {
        customerId: ID!
        displayName: String! @shareable
        tier: String @shareable
        seats: Int @shareable
        active: Boolean @shareable
        since: String
      }
      type Query { customer(customerId: ID!): Customer }`;
    const printed = printSubgraphSchema(schema);
    for (const result of [
      compose({ name: 'documents', sdl: printed }),
      compose({ name: 'documents', sdl: printed }, { name: 'crm', sdl: owner }),
    ]) {
      expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
      expect((result.hints ?? []).map((h) => h.message)).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// (c) Collisions and reserved names
// ---------------------------------------------------------------------------------------------

type Raw = Record<string, unknown>;
const kindsOf = (raw: Raw) => raw.kinds as Record<string, Raw>;
const remoteTypesOf = (raw: Raw) => raw.remoteTypes as Record<string, Raw>;

describe('name problems', () => {
  const shared = sharedSdl();
  const problems = (edit: (raw: Raw) => void) => {
    const { model } = documentsDomain(edit);
    return findNameProblems(model, shared).map((p) => `${p.paths.join(' + ')}: ${p.message}`);
  };

  it('two kinds with one plural: both named, with what to change', () => {
    expect(problems((raw) => (kindsOf(raw).Category.plural = 'folders'))).toEqual([
      '$.kinds.Folder.plural + $.kinds.Category.plural: kind Folder and kind Category both derive the Query field "folders": give kind Folder another "plural", or give kind Category another "plural"',
      '$.kinds.Folder.plural + $.kinds.Category.plural: kind Folder and kind Category both derive the Query field "foldersConnection": give kind Folder another "plural", or give kind Category another "plural"',
    ]);
  });

  it('a fieldName taken by another kind, and a kind named like a remote type', () => {
    // The plural follows the fieldName, so the lists collide too.
    expect(problems((raw) => (kindsOf(raw).Note.fieldName = 'document'))).toEqual([
      '$.kinds.Document.fieldName + $.kinds.Note.fieldName: kind Document and kind Note both derive the Query field "document": give kind Document another "fieldName", or give kind Note another "fieldName"',
      '$.kinds.Document.plural + $.kinds.Note.plural: kind Document and kind Note both derive the Query field "documents": give kind Document another "plural", or give kind Note another "plural"',
      '$.kinds.Document.plural + $.kinds.Note.plural: kind Document and kind Note both derive the Query field "documentsConnection": give kind Document another "plural", or give kind Note another "plural"',
    ]);
    const clash = problems((raw) => {
      remoteTypesOf(raw).Category = { source: 'crm', table: 'category', key: ['code'], columns: { code: 'code' } };
    });
    expect(clash).toContain(
      '$.kinds.Category + $.remoteTypes.Category: kind Category and remote type Category both derive the type "Category": rename kind Category, or rename remote type Category',
    );
  });

  it('a kind named like a shared type or a shared root field', () => {
    const clash = problems((raw) => {
      kindsOf(raw).Approval = { key: 'approvalRecord', identity: ['name'], fields: { note: { type: 'string' } }, retentionSeconds: 0 };
    });
    expect(clash).toEqual([
      '$.kinds.Approval: kind Approval derives the type "Approval", a type of the shared SDL: rename kind Approval',
      '$.kinds.Approval.fieldName: kind Approval derives the Query field "approval", a Query field of the shared SDL: give kind Approval another "fieldName"',
    ]);
    expect(problems((raw) => (kindsOf(raw).Category.plural = 'deletionQueue'))).toEqual([
      '$.kinds.Category.plural: kind Category derives the Query field "deletionQueue", a Query field of the shared SDL: give kind Category another "plural"',
    ]);
  });

  it('GraphQL and federation reserved names, and names GraphQL cannot spell', () => {
    expect(problems((raw) => (kindsOf(raw).Category.fieldName = '__type'))).toEqual([
      '$.kinds.Category.fieldName: "__type" cannot be the query field of one resource: a GraphQL name is letters, digits and _, not starting with a digit or "__"',
    ]);
    expect(problems((raw) => (kindsOf(raw).Category.plural = '_entities'))).toEqual([
      '$.kinds.Category.plural: kind Category derives the Query field "_entities", a root field federation reserves: give kind Category another "plural"',
    ]);
    // A name that is not even an identifier is the loader's: the JSON Schema refuses it.
    expect(() => problems((raw) => (kindsOf(raw).Folder.childrenField = 'sub-folders'))).toThrow(
      /at \$\.kinds\.Folder\.childrenField \(JSON pointer \/kinds\/Folder\/childrenField\): must match pattern/,
    );
    const reserved = problems((raw) => {
      kindsOf(raw).Query = { key: 'queryDoc', identity: ['name'], retentionSeconds: 0 };
      kindsOf(raw).PageInfo = { key: 'pageInfo', identity: ['name'], retentionSeconds: 0 };
    });
    expect(reserved).toEqual([
      '$.kinds.Query: kind Query derives the type "Query", a name GraphQL or federation reserves: rename kind Query',
      '$.kinds.PageInfo: kind PageInfo derives the type "PageInfo", the page type every connection shares: rename kind PageInfo',
    ]);
    expect(problems((raw) => (kindsOf(raw).Document.fields = { stage: { type: 'string', enum: ['DRAFT', 'in-review', 'null'] } }))).toEqual(
      [
        '$.kinds.Document.fields.stage: enum values "in-review", "null" cannot be GraphQL enum values (letters, digits and _, not true, false or null): change them or drop "enum"',
      ],
    );
  });

  it('two fields of one derived type with one name: a content field named like a Resource field, two child lists alike', () => {
    expect(problems((raw) => (kindsOf(raw).Category.fields = { status: { type: 'string' } }))).toEqual([
      '$.kinds.Category.fields.status: type Category would have two fields "status" (a content field, and a field of the Resource interface): rename the field',
    ]);
    expect(problems((raw) => (kindsOf(raw).Template.childrenField = 'folders'))).toEqual([
      '$.kinds.Template.childrenField: type Workspace would have two fields "folders" (the list of child kind Template, and the list of child kind Folder): give kind Template another "childrenField" (or "plural")',
    ]);
  });

  it('attributes of the wrong shape are refused by the loader, naming their path', () => {
    expect(() => documentsDomain((raw) => (kindsOf(raw).Document.approvable = 'yes'))).toThrow(SchemaFileError);
    expect(() => documentsDomain((raw) => (kindsOf(raw).Document.approvable = 'yes'))).toThrow(
      'at $.kinds.Document.approvable (JSON pointer /kinds/Document/approvable): must be boolean',
    );
    expect(() => documentsDomain((raw) => ((remoteTypesOf(raw).Customer.fieldTypes as Raw).seats = { type: 'bigint' }))).toThrow(
      'at $.remoteTypes.Customer.fieldTypes.seats.type (JSON pointer /remoteTypes/Customer/fieldTypes/seats/type): must be one of ["string","id","integer","number","boolean"]',
    );
  });
});
