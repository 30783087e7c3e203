// A second domain, written only as JSON (test/fixtures/derive/documents.relationships.json):
// workspaces > folders > documents > notes, templates, shared categories, and customers in a
// PostgreSQL client store. Started with no code change, its whole life runs through the derived
// GraphQL API on each operational store (issue 18).
import { composeServices } from '@apollo/composition';
import { printSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRelationshipSchema } from '../src/model/load.js';
import { buildSchema } from '../src/server/schema.js';
import { OPERATIONAL_KINDS, type TempStore } from './support/stores.js';
import { crmStore, DOCUMENTS } from './support/documents-domain.js';
import { codes, startTestServer, type TestServer } from './support/server.js';

describe.each(OPERATIONAL_KINDS)('a second domain from JSON only, on %s', (store) => {
  let s: TestServer;
  let crm: TempStore;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    crm = await crmStore();
    s = await startTestServer(store, { env: { RELATIONSHIP_SCHEMA: DOCUMENTS, CRM_DATABASE_URL: crm.url, RETENTION_SECONDS: '0' } });
  });
  afterAll(async () => {
    await s?.close();
    await crm?.drop();
  });

  it('creates the tree with typed fields, references by natural key and a remote reference', async () => {
    const r = await s.ok(`mutation {
      w: createWorkspace(input: { name: "acme", title: "Acme team", customer: { customerId: "c-1" } }) { id }
      legal: createCategory(input: { name: "legal", label: "Legal" }) { id }
      f: createFolder(input: { workspace: "acme", name: "docs", color: RED }) { id }
      old: createFolder(input: { workspace: "acme", name: "old" }) { id }
      t: createTemplate(input: { workspace: "acme", name: "letter", body: "Dear {name}", variables: ["name"] }) { id }
      d1: createDocument(input: { workspace: "acme", folder: "docs", name: "d1", title: "Contract", pages: 3, score: 0.5, draft: true,
        stage: DRAFT, tags: [LEGAL, INTERNAL], metadata: { lang: "en" }, scores: [1, 2.5], template: "letter", categories: ["legal"],
        reviewer: { customerId: "c-2" } }) { id }
      x: createDocument(input: { workspace: "acme", folder: "old", name: "x" }) { id }
      d2: createDocument(input: { workspace: "acme", folder: "docs", name: "d2", related: [{ folder: "docs", name: "d1" }, { folder: "old", name: "x" }] }) { id }
      n1: createNote(input: { workspace: "acme", folder: "docs", document: "d1", name: "n1", text: "private" }) { id }
    }`);
    for (const [k, v] of Object.entries(r)) ids[k] = (v as { id: string }).id;
    const { document } = await s.ok(`{ document(workspace: "acme", folder: "docs", name: "d1") {
      kind naturalKey version title pages score draft stage tags metadata scores
      folder { name color workspace { title customer { status entity { customerId displayName seats active } } } }
      template { name variables } categories(first: 5) { label } notes(first: 5) { name text }
      reviewer { key entity { displayName tier seats active } } } }`);
    expect(document).toEqual({
      kind: 'Document',
      naturalKey: 'acme/docs/d1',
      version: 1,
      title: 'Contract',
      pages: 3,
      score: 0.5,
      draft: true,
      stage: 'DRAFT',
      tags: ['LEGAL', 'INTERNAL'],
      metadata: { lang: 'en' },
      scores: [1, 2.5],
      folder: {
        name: 'docs',
        color: 'RED',
        workspace: {
          title: 'Acme team',
          customer: { status: 'FRESH', entity: { customerId: 'c-1', displayName: 'Acme', seats: 40, active: true } },
        },
      },
      template: { name: 'letter', variables: ['name'] },
      categories: [{ label: 'Legal' }],
      notes: [{ name: 'n1', text: 'private' }],
      reviewer: { key: { customerId: 'c-2' }, entity: { displayName: 'Globex', tier: null, seats: 3, active: false } },
    });
    // The JSON Schema of each field still decides what is stored.
    expect(
      codes(await s.gql(`mutation { createDocument(input: { workspace: "acme", folder: "docs", name: "bad", pages: -1 }) { id } }`)),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await s.gql(
          `mutation { createDocument(input: { workspace: "acme", folder: "docs", name: "bad", reviewer: { customerId: "c-404" } }) { id } }`,
        ),
      ),
    ).toEqual(['REMOTE_ENTITY_NOT_FOUND']);
  });

  it('updates, lists under an ancestor and pages a connection', async () => {
    const { updateDocument: u } = await s.ok(
      `mutation($id: ID!) { updateDocument(id: $id, input: { stage: REVIEW, tags: null }, expectedVersion: 1) { version stage tags title } }`,
      {
        id: ids.d1,
      },
    );
    expect(u).toEqual({ version: 2, stage: 'REVIEW', tags: [], title: 'Contract' });
    expect(
      codes(
        await s.gql(`mutation($id: ID!) { updateDocument(id: $id, input: { title: "late" }, expectedVersion: 1) { id } }`, { id: ids.d1 }),
      ),
    ).toEqual(['VERSION_CONFLICT']);
    const lists = await s.ok(
      `{ documents(workspace: "acme", folder: "docs", first: 10) { name } all: documents(first: 10) { name } categories(first: 5) { name } documentTemplates(workspace: "acme", first: 5) { name } }`,
    );
    expect(lists.documents.map((d: { name: string }) => d.name).sort()).toEqual(['d1', 'd2']);
    expect(lists.all).toHaveLength(3);
    expect(lists.categories).toEqual([{ name: 'legal' }]);
    expect(lists.documentTemplates).toEqual([{ name: 'letter' }]);
    const q = `query($after: String) { documentsConnection(workspace: "acme", first: 2, after: $after) { totalCount edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`;
    const p1 = (await s.ok(q, { after: null })).documentsConnection;
    expect(p1.totalCount).toBe(3);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = (await s.ok(q, { after: p1.pageInfo.endCursor })).documentsConnection;
    expect(p2.pageInfo).toEqual({ hasNextPage: false, endCursor: p2.edges[0].cursor });
    expect([...p1.edges, ...p2.edges].map((e: { node: { name: string } }) => e.node.name).sort()).toEqual(['d1', 'd2', 'x']);
    const foreign = (await s.ok(`{ foldersConnection(first: 1) { pageInfo { endCursor } } }`)).foldersConnection.pageInfo.endCursor;
    expect(codes(await s.gql(q, { after: foreign }))).toEqual(['BAD_USER_INPUT']);
    const { customers } = await s.ok(
      `{ customers(first: 10) { customerId displayName seats active referencedBy(first: 5) { path from { kind } } } }`,
    );
    expect(customers).toContainEqual({
      customerId: 'c-2',
      displayName: 'Globex',
      seats: 3,
      active: false,
      referencedBy: [{ path: 'reviewer', from: { kind: 'Document' } }],
    });
    expect(customers).toHaveLength(3);
  });

  it('approves an approvable kind and answers its pins typed, as of the pinned version', async () => {
    const { approveDocument: a } = await s.ok(
      `mutation($id: ID!) { approveDocument(id: $id) { id resource { ... on Document { name stage } } pins(first: 20) { kind } } }`,
      { id: ids.d1 },
    );
    expect(a.resource).toEqual({ name: 'd1', stage: 'REVIEW' });
    expect(a.pins.map((p: { kind: string }) => p.kind).sort()).toEqual(['Category', 'Document', 'Folder', 'Note', 'Template', 'Workspace']);
    await s.ok(`mutation($id: ID!) { updateDocument(id: $id, input: { stage: PUBLISHED, title: "Signed" }) { version } }`, { id: ids.d1 });
    const { approval } = await s.ok(
      `query($a: ID!, $d: ID!) { approval(id: $a) { stale pinned(resourceId: $d) { version resource { ... on Document { version stage title template { name } } } } } }`,
      {
        a: a.id,
        d: ids.d1,
      },
    );
    expect(approval).toEqual({
      stale: true,
      pinned: { version: 2, resource: { version: 2, stage: 'REVIEW', title: 'Contract', template: { name: 'letter' } } },
    });
    const { document } = await s.ok(
      `{ document(workspace: "acme", folder: "docs", name: "d1") { approval { id } } folder(workspace: "acme", name: "docs") { name } }`,
    );
    expect(document.approval).toEqual({ id: a.id });
    await s.ok(`mutation($a: ID!) { revokeApproval(id: $a) { id } }`, { a: a.id });
  });

  it('resolves _entities by id, by nested natural key and by kind naturalKey', async () => {
    const { _entities } = await s.ok(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Document { id name } ... on Folder { id } ... on Customer { displayName } } }`,
      {
        r: [
          { __typename: 'Document', id: ids.d1 },
          { __typename: 'Document', folder: { workspace: { name: 'acme' }, name: 'docs' }, name: 'd2' },
          { __typename: 'Document', kind: 'Document', naturalKey: 'acme/docs/d1' },
          { __typename: 'Folder', id: ids.d1 },
          { __typename: 'Customer', customerId: 'c-3' },
        ],
      },
    );
    expect(_entities).toEqual([
      { id: ids.d1, name: 'd1' },
      { id: ids.d2, name: 'd2' },
      { id: ids.d1, name: 'd1' },
      null,
      { displayName: 'Initech' },
    ]);
  });

  it('refuses references to marked resources, freezes their referrers, and collects with the ancestor rule', async () => {
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: ids.t });
    const refused = await s.gql(
      `mutation { createDocument(input: { workspace: "acme", folder: "docs", name: "d3", template: "letter" }) { id } }`,
    );
    expect(codes(refused)).toEqual(['REFERENCES_MARKED_RESOURCE']);
    // d1 refers to the marked template: frozen, except for a write that lets go of it.
    expect(codes(await s.gql(`mutation($id: ID!) { updateDocument(id: $id, input: { title: "again" }) { id } }`, { id: ids.d1 }))).toEqual([
      'REFERENCES_MARKED_RESOURCE',
    ]);
    await s.ok(`mutation($id: ID!) { updateDocument(id: $id, input: { template: null }) { version } }`, { id: ids.d1 });

    // The old folder holds x, which d2 refers to: nothing of it goes until d2 lets go.
    const marked = await s.ok(
      `mutation($id: ID!) { markForDeletion(id: $id) { marked(first: 10) { id } blockers(first: 10) { path from { id } } } }`,
      { id: ids.old },
    );
    expect(marked.markForDeletion.blockers).toEqual([{ path: 'related[1]', from: { id: ids.d2 } }]);
    // n1 is a note of d1, which d2 refers to without holding its subtree: n1 can go.
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked(first: 10) { id } } }`, { id: ids.n1 });
    const gc1 = (await s.ok(`mutation { collectGarbage { deleted blocked(first: 10) { resource { id } } } }`)).collectGarbage;
    expect(gc1.deleted.sort()).toEqual([ids.n1, ids.t].sort());
    expect(gc1.blocked.map((b: { resource: { id: string } }) => b.resource.id).sort()).toEqual([ids.old, ids.x].sort());
    await s.ok(`mutation($id: ID!) { updateDocument(id: $id, input: { related: [{ folder: "docs", name: "d1" }] }) { version } }`, {
      id: ids.d2,
    });
    const gc2 = (await s.ok(`mutation { collectGarbage { deleted } }`)).collectGarbage;
    expect(gc2.deleted.sort()).toEqual([ids.old, ids.x].sort());
    expect((await s.ok(`{ folders(workspace: "acme", first: 10) { name } }`)).folders).toEqual([{ name: 'docs' }]);
  });

  it('composes with a subgraph that owns Customer, with no errors and no hints', () => {
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
    const sdl = printSubgraphSchema(buildSchema(loadRelationshipSchema(DOCUMENTS)));
    const result = composeServices([
      { name: 'documents', url: 'http://documents.local/graphql', typeDefs: parse(sdl) },
      { name: 'crm', url: 'http://crm.local/graphql', typeDefs: parse(owner) },
    ]);
    expect(result.errors?.map((e) => e.message) ?? []).toEqual([]);
    expect((result.hints ?? []).map((h) => h.message)).toEqual([]);
  });
});
