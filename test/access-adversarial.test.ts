import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getNamedType, parse, type GraphQLCompositeType, type OperationDefinitionNode } from 'graphql';
import { decodeJwt } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStatements } from '../src/data/statement-log.js';
import { DEMO_RESOURCES } from '../src/demo/demo-data.js';
import { DEMO_BANK_ACCOUNTS, DEMO_EMPLOYEES } from '../src/remote/client-demo.js';
import { firstRefusal } from '../src/server/auth/enforce.js';
import { AccessRules } from '../src/server/auth/rules.js';
import { buildSchema } from '../src/server/schema.js';
import {
  entityNeeds,
  entitySelection,
  entityTypes,
  listArgumentShapes,
  rootFieldOperations,
  sufficient,
  typesThroughRootFields,
  type GeneratedOperation,
} from './support/access-operations.js';
import { remoteQueries } from './support/remote-fixtures.js';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { as, bearer, hs256, jwtEnv, rawHs256, SCOPES, signingKey, unacceptableTokens, JwksServer } from './support/tokens.js';

/**
 * Issue 17, test 9(b): access control tried the way an attacker would, with operations generated
 * from the served schema (a new root field, type or entity is covered without editing this file).
 * Every refusal must come before any store is read: no operational statement, no remote query.
 */
const schema = buildSchema();
const AUTH = ['UNAUTHENTICATED', 'FORBIDDEN'];
const cases: Record<string, number> = {};
const count = (what: string, n = 1) => (cases[what] = (cases[what] ?? 0) + n);

const relationships = JSON.parse(readFileSync(new URL('../schema/relationships.json', import.meta.url), 'utf8')) as {
  kinds: Record<string, { identity: string[] }>;
};
const REMOTE_EXAMPLES: Record<string, Record<string, unknown>> = {
  Employee: { ...DEMO_EMPLOYEES[0] },
  BankAccount: { ...DEMO_BANK_ACCOUNTS[0] },
};

/** A representation of an existing demo entity of this type, by a key the type declares. */
function example(type: GraphQLCompositeType): Record<string, unknown> {
  const kind = type.name === 'Resource' ? 'Project' : type.name;
  const demo = DEMO_RESOURCES.find(([k]) => k === kind);
  if (demo) return { __typename: type.name, kind, naturalKey: relationships.kinds[kind].identity.map((f) => demo[1][f]).join('/') };
  const remote = REMOTE_EXAMPLES[type.name];
  if (!remote) throw new Error(`no demo example of the entity type ${type.name}: add one to this test`);
  const key = type.astNode!.directives!.find((d) => d.name.value === 'key')!.arguments![0].value;
  const fields = (key as { value: string }).value.split(/\s+/);
  return { __typename: type.name, ...Object.fromEntries(fields.map((f) => [f, remote[f]])) };
}

/** Tokens with every scope but the ones a requirement set needs: one per needed scope. */
function lacking(needs: string[][][]): Array<[string, string[]]> {
  const needed = sufficient(needs);
  return needed
    .map((s) => [`all but ${s}`, SCOPES.filter((x) => x !== s)] as [string, string[]])
    .filter(([, scopes]) =>
      // Refused only if no alternative of some requirement is still satisfied.
      needs.some((alternatives) => !alternatives.some((all) => all.every((x) => scopes.includes(x)))),
    );
}

describe('the checker alone, on a schema whose entity types need different scopes', () => {
  const toy = buildSubgraphSchema(
    parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@requiresScopes"])
      type Query { a: A @requiresScopes(scopes: [["s:a"]]) }
      type A @key(fields: "id") @requiresScopes(scopes: [["s:a"]]) { id: ID! b: B }
      type B @key(fields: "id") @requiresScopes(scopes: [["s:b"]]) { id: ID! }`),
  );
  const rules = new AccessRules(toy);
  const principal = (...scopes: string[]) => ({ subject: 'x', scopes: new Set(scopes), projects: null });
  const refusal = (query: string, variables: Record<string, unknown>, ...scopes: string[]) => {
    const document = parse(query);
    return (
      firstRefusal(rules, toy, document, document.definitions[0] as OperationDefinitionNode, variables, principal(...scopes), '')?.code ??
      'ok'
    );
  };
  const listVar = 'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }';
  const a = { __typename: 'A', id: '1' };
  const b = { __typename: 'B', id: '1' };

  it('mixed allowed and forbidden types in one request: refused whatever the input shape', () => {
    const shapes: Array<[string, string, Record<string, unknown>]> = [
      ['list variable', listVar, { r: [a, b] }],
      ['list literal', '{ _entities(representations: [{ __typename: "A", id: "1" }, { __typename: "B", id: "1" }]) { __typename } }', {}],
      [
        'variables inside a list literal',
        'query ($x: _Any!, $y: _Any!) { _entities(representations: [$x, $y]) { __typename } }',
        { x: a, y: b },
      ],
      ['single object variable', listVar, { r: b }],
      ['single object literal', '{ _entities(representations: { __typename: "B", id: "1" }) { __typename } }', {}],
    ];
    for (const [what, query, variables] of shapes) {
      expect(refusal(query, variables, 's:a'), what).toBe('FORBIDDEN');
      expect(refusal(query, variables, 's:a', 's:b'), what).toBe('ok');
      count('checker: mixed entity types × shape', 2);
    }
    expect(refusal(listVar, { r: [a] }, 's:a')).toBe('ok');
    // Nested lists: the coerced items are lists, not representations.
    expect(refusal(listVar, { r: [[a]] }, 's:a', 's:b')).toBe('BAD_USER_INPUT');
    // A type rule applies wherever the type is returned, not only on the entity path.
    expect(refusal('{ a { id b { id } } }', {}, 's:a')).toBe('FORBIDDEN');
    expect(refusal('{ a { id b { id } } }', {}, 's:a', 's:b')).toBe('ok');
    expect(refusal('{ _entities(representations: [{ __typename: "A", id: "1" }]) { ... on A { b { id } } } }', {}, 's:a')).toBe(
      'FORBIDDEN',
    );
    // @skip / @include do not hide a field from the check, nor do fragments.
    expect(refusal('query ($no: Boolean!) { a { id b @include(if: $no) { id } } }', { no: false }, 's:a')).toBe('FORBIDDEN');
    expect(refusal('{ a { ...F } } fragment F on A { b @skip(if: true) { id } }', {}, 's:a')).toBe('FORBIDDEN');
    // Variables that do not coerce are refused, not skipped.
    expect(refusal('query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }', {}, 's:a', 's:b')).toBe('BAD_USER_INPUT');
    count('checker: other shapes', 8);
  });
});

describe.each(OPERATIONAL_KINDS)('adversarial access control on %s', (kind) => {
  let s: TestServer;
  const logLines: string[] = [];
  beforeAll(async () => {
    for (const k of Object.keys(cases)) delete cases[k];
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    s = await startTestServer(kind, { env: jwtEnv(), seedDemo: true, log: pino({ level: 'info' }, sink) });
  });
  afterAll(() => {
    // The numbers for the issue's note (one store; the suite runs on each).
    console.info(`access-adversarial (${kind}): ${JSON.stringify(cases)}`);
    return s?.close();
  });

  /** Sends and expects one refusal with one of `expected`, no data, and nothing read from any store. */
  async function refused(
    what: string,
    query: string,
    variables: Record<string, unknown>,
    headers: Record<string, string>,
    expected: string[],
  ): Promise<GraphQLResponse> {
    const remote = remoteQueries(s);
    try {
      const { result, statements } = await countStatements(s.app.db.statementLog, () => s.gql(query, variables, headers));
      expect(codes(result), what).toHaveLength(1);
      expect(expected, `${what}: ${result.errors![0].message}`).toContain(codes(result)[0]);
      expect(result.data ?? null, what).toBeNull();
      expect(statements, what).toEqual([]);
      expect(remote.queries, what).toEqual([]);
      return result;
    } finally {
      remote.stop();
    }
  }

  async function allowed(what: string, op: GeneratedOperation): Promise<GraphQLResponse> {
    const scopes = sufficient(op.needs);
    const res = await s.gql(op.query, op.variables, await as('alice', scopes));
    // Placeholder arguments may find nothing or be refused by a resolver; what matters: the operation ran.
    for (const e of res.errors ?? []) {
      const why = `${what} with ${scopes.join(' ')}: ${JSON.stringify(e)}`;
      expect(AUTH, why).not.toContain(e.extensions?.code);
      // A resolver's refusal of the placeholder input has a path; one of the limits or the checker would not.
      expect(e.path, why).toBeDefined();
    }
    return res;
  }

  it('every root field: refused to every unacceptable token and to every token lacking a needed scope; allowed with exactly its scopes', async () => {
    const ops = rootFieldOperations(schema);
    expect(ops.length).toBeGreaterThan(25);
    const bad = unacceptableTokens();
    for (const op of ops) {
      for (const [name, headers] of bad) {
        await refused(`${op.name} (${name})`, op.query, op.variables, headers, ['UNAUTHENTICATED']);
        count('root field × unacceptable token');
      }
      const wrong = lacking(op.needs);
      expect(wrong.length, op.name).toBeGreaterThan(0);
      for (const [name, scopes] of wrong) {
        await refused(`${op.name} (${name})`, op.query, op.variables, await as('mallory', scopes), ['FORBIDDEN']);
        count('root field × token lacking a scope');
      }
      await allowed(op.name, op);
      count('root field: positive control');
    }
  });

  it('every list argument sent as a list, as a single value (coerced to a list) and as a nested list', async () => {
    const ops = listArgumentShapes(schema);
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) {
      // A nested list does not coerce: refused as input to any caller with a token, before any store is read.
      const expected = op.shape === 'nested' ? ['BAD_USER_INPUT'] : ['UNAUTHENTICATED'];
      await refused(`${op.name} without a token`, op.query, op.variables, {}, ['UNAUTHENTICATED']);
      for (const [name, scopes] of lacking(op.needs)) {
        await refused(
          `${op.name} (${name})`,
          op.query,
          op.variables,
          await as('mallory', scopes),
          op.shape === 'nested' ? expected : ['FORBIDDEN'],
        );
        count('list argument shape × token lacking a scope');
      }
      if (op.shape === 'nested') await refused(op.name, op.query, op.variables, await as('alice', sufficient(op.needs)), expected);
      else await allowed(op.name, op);
      count('list argument shape: no token and positive control', 2);
    }
  });

  it('every type a root field reaches (mutation results included) needs its own rule there', async () => {
    const paths = typesThroughRootFields(schema);
    const mutationTypes = new Set(paths.filter((p) => p.name.startsWith('Mutation.')).map((p) => p.type));
    // Every type with a rule that a mutation can return is tried through a mutation.
    expect(mutationTypes.size).toBeGreaterThan(10);
    for (const p of paths) {
      const granted = sufficient(p.needs).filter((x) => !p.without.includes(x));
      await refused(`${p.name} with ${granted.join(' ') || 'no scope'}`, p.query, p.variables, await as('mallory', granted), ['FORBIDDEN']);
      count('root field → reached type, token lacking its scope');
      await allowed(p.name, p);
      count('root field → reached type: positive control');
    }
  });

  it("_entities: every entity type in every input shape, refused without the type's scope, resolved with it", async () => {
    const bad = unacceptableTokens();
    for (const type of entityTypes(schema)) {
      const rep = example(type);
      const sel = entitySelection(schema, type);
      const defs = sel.defs.length ? `, ${sel.defs.join(', ')}` : '';
      const literal = (value: Record<string, unknown>) =>
        `{ ${Object.entries(value)
          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
          .join(', ')} }`;
      const shapes: Array<[string, string, Record<string, unknown>]> = [
        ['list variable', `query ($r: [_Any!]!${defs}) { _entities(representations: $r) { ${sel.body} } }`, { r: [rep] }],
        ['single object variable', `query ($r: [_Any!]!${defs}) { _entities(representations: $r) { ${sel.body} } }`, { r: rep }],
        [
          'list literal',
          `query ${sel.defs.length ? `(${sel.defs.join(', ')})` : ''} { _entities(representations: [${literal(rep)}]) { ${sel.body} } }`,
          {},
        ],
        [
          'single object literal',
          `query ${sel.defs.length ? `(${sel.defs.join(', ')})` : ''} { _entities(representations: ${literal(rep)}) { ${sel.body} } }`,
          {},
        ],
        ['variable inside a list literal', `query ($x: _Any!${defs}) { _entities(representations: [$x]) { ${sel.body} } }`, { x: rep }],
      ];
      const needs = entityNeeds(schema, type);
      for (const [shape, query, vars] of shapes) {
        const variables = { ...vars, ...sel.values };
        const what = `_entities of ${type.name} (${shape})`;
        for (const [name, headers] of bad) {
          await refused(`${what}, ${name}`, query, variables, headers, ['UNAUTHENTICATED']);
          count('entity type × shape × unacceptable token');
        }
        for (const [name, scopes] of lacking(needs)) {
          await refused(`${what}, ${name}`, query, variables, await as('mallory', scopes), ['FORBIDDEN']);
          count('entity type × shape × token lacking a scope');
        }
        const res = await s.gql(query, variables, await as('alice', [...new Set([...sufficient(needs), 'integrity:read'])]));
        expect(res.errors, what).toBeUndefined();
        expect(res.data!._entities, what).toHaveLength(1);
        expect(res.data!._entities[0], what).not.toBeNull();
        count('entity type × shape: positive control');
      }
      // Nested lists and malformed items are refused as a whole (to a caller with a token, naming the index).
      const malformed: Array<[string, unknown, RegExp]> = [
        ['nested list', [[rep]], /representation 0/],
        ['list of lists after a good item', [rep, [rep]], /representation 1/],
        ['item without __typename', [rep, { id: 'x' }], /representation 1/],
        ['__typename not a string', [{ ...rep, __typename: 7 }], /representation 0/],
        ['unknown __typename', [rep, { ...rep, __typename: 'NoSuchType' }], /representation 1 names "NoSuchType"/],
        ['a type that is no entity', [{ ...rep, __typename: 'ResourceVersion' }], /representation 0/],
        ['a null item in a single value', null, /./],
        ['a string', 'Project', /representation 0/],
      ];
      const query = `query ($r: [_Any!]!${defs}) { _entities(representations: $r) { ${sel.body} } }`;
      for (const [shape, value, message] of malformed) {
        await refused(`_entities of ${type.name}: ${shape}, no token`, query, { r: value, ...sel.values }, {}, ['UNAUTHENTICATED']);
        const res = await refused(`_entities of ${type.name}: ${shape}`, query, { r: value, ...sel.values }, await as('alice', SCOPES), [
          'BAD_USER_INPUT',
        ]);
        expect(res.errors![0].message).toMatch(message);
        count('entity type × malformed representations × caller', 2);
      }
    }
    // An unknown type name is quoted at most in part.
    const long = 'X'.repeat(5000);
    const res = await refused(
      'long typename',
      'query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
      { r: [{ __typename: long }] },
      await as('alice', SCOPES),
      ['BAD_USER_INPUT'],
    );
    expect(res.errors![0].message.length).toBeLessThan(200);
  });

  it('finding 1: a single object or a nested list for the representations is checked, not skipped', async () => {
    const query =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { name email } ... on Project { name compositeApps { name } } } }';
    const employee = { __typename: 'Employee', employeeId: DEMO_EMPLOYEES[0].employeeId };
    const project = example(schema.getType('Project') as GraphQLCompositeType);
    await refused('no token, single Employee', query, { r: employee }, {}, ['UNAUTHENTICATED']);
    await refused('feed token, single Project', query, { r: project }, await as('feeder', ['integrity:feed']), ['FORBIDDEN']);
    await refused('feed token, nested list', query, { r: [[project]] }, await as('feeder', ['integrity:feed']), ['BAD_USER_INPUT']);
    await refused('no token, nested list', query, { r: [[employee]] }, {}, ['UNAUTHENTICATED']);
    await refused('reader, nested list', query, { r: [[employee]] }, await as('reader', ['integrity:read']), ['BAD_USER_INPUT']);
    // Without a token nothing but `_service` answers: not an empty `_entities`, not introspection, not `__typename` with it.
    for (const q of [
      '{ _entities(representations: []) { __typename } }',
      '{ __schema { queryType { name } } }',
      '{ __type(name: "Project") { name } }',
      '{ __typename _service { sdl } __schema { types { name } } }',
    ]) {
      await refused(q, q, {}, {}, ['UNAUTHENTICATED']);
    }
    expect((await s.ok<any>('{ __typename _service { sdl } }'))._service.sdl).toContain('@requiresScopes');
    const read = await s.ok<any>(query, { r: employee }, await as('reader', ['integrity:read']));
    expect(read._entities).toEqual([{ name: DEMO_EMPLOYEES[0].name, email: DEMO_EMPLOYEES[0].email }]);
  });

  it('finding 2: a write-only token reads no project tree through a mutation result; an approve-only token reads no pinned content', async () => {
    const admin = await as('root', SCOPES);
    const { project } = await s.ok<any>('{ project(name: "retail") { id version } }', {}, admin);
    const noop = `mutation { updateProject(id: "${project.id}", input: {}) { compositeApps(first: 5) { name profiles(first: 5) { deploymentIntentGroups(first: 5) { owner { entity { email } } history(first: 5) { content changedBy } } } } } }`;
    const res = await refused('write-only no-op update', noop, {}, await as('writer', ['integrity:write']), ['FORBIDDEN']);
    expect(res.errors![0].message).toMatch(/integrity:read/);
    // The same fields under __typename only, or behind a fragment: still the type's rule.
    await refused(
      'write-only, __typename',
      `mutation { updateProject(id: "${project.id}", input: {}) { __typename } }`,
      {},
      await as('writer', ['integrity:write']),
      ['FORBIDDEN'],
    );
    await refused(
      'write-only, fragment',
      `mutation { updateProject(id: "${project.id}", input: {}) { ...P } } fragment P on Project { compositeApps { name } }`,
      {},
      await as('writer', ['integrity:write']),
      ['FORBIDDEN'],
    );
    // With read as well the write goes through (writers need integrity:read to see what they wrote).
    expect(
      await s.ok<any>(
        `mutation { updateProject(id: "${project.id}", input: {}) { version } }`,
        {},
        await as('writer', ['integrity:write', 'integrity:read']),
      ),
    ).toEqual({
      updateProject: { version: project.version },
    });

    const { deploymentIntentGroup: dig } = await s.ok<any>(
      '{ deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-east") { id approval { id } } }',
      {},
      admin,
    );
    const approve = `mutation { approveDeploymentIntentGroup(id: "${dig.id}") { id pins(first: 50) { content remoteSnapshots(first: 5) { entity } } } }`;
    await refused('approve-only approval with pins', approve, {}, await as('approver', ['integrity:approve']), ['FORBIDDEN']);
    const after = await s.ok<any>(`{ resource(id: "${dig.id}") { ... on DeploymentIntentGroup { approval { id } } } }`, {}, admin);
    expect(after.resource.approval).toEqual(dig.approval); // refused before it ran: no approval made
    const approved = await s.ok<any>(approve, {}, await as('approver', ['integrity:approve', 'integrity:read']));
    expect(approved.approveDeploymentIntentGroup.pins.length).toBeGreaterThan(0);
  });

  it('finding 3: tokens without exp, living too long, with a bad sub or a crit header are refused in one short line, and nothing logs a stack', async () => {
    const q = '{ project(name: "retail") { name } }';
    const before = logLines.length;
    for (const [name, headers] of unacceptableTokens()) {
      const res = await refused(name, q, {}, headers, ['UNAUTHENTICATED']);
      expect(res.errors![0].message.length, name).toBeLessThan(160);
      expect(res.errors![0].message, name).not.toMatch(/\n|at .*\.js/);
    }
    const now = Math.floor(Date.now() / 1000);
    // Just within the lifetime: accepted (HS256 with iat, and without iat measured from now).
    expect(await s.ok(q, {}, bearer(rawHs256({}, { sub: 'x', scope: 'integrity:read', iat: now, exp: now + 86_000 })))).toEqual({
      project: { name: 'retail' },
    });
    expect(await s.ok(q, {}, bearer(rawHs256({}, { sub: 'x', scope: 'integrity:read', exp: now + 3600 })))).toEqual({
      project: { name: 'retail' },
    });
    expect(await s.ok(q, {}, bearer(await hs256({ sub: 'x', scope: 'integrity:read' })))).toEqual({ project: { name: 'retail' } });
    const fresh = logLines.slice(before).join('\n');
    expect(fresh).not.toMatch(/"stack"| {4}at /);
    count('finding 3: token shapes', unacceptableTokens().length);
  });
});

describe('finding 3 on the JWKS path (SQLite)', () => {
  const jwks = new JwksServer();
  let s: TestServer;
  beforeAll(async () => {
    await jwks.start([await signingKey('k1', 'RS256')]);
    s = await startTestServer('sqlite', {
      env: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: jwks.url, AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' },
      seedDemo: true,
    });
  });
  afterAll(async () => {
    await s?.close();
    await jwks.stop();
  });

  it('needs exp and honours AUTH_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const q = '{ project(name: "retail") { name } }';
    const key = jwks.keys[0];
    const claims = { sub: 'svc', scope: 'integrity:read' };
    expect(await s.ok(q, {}, bearer(await key.sign(claims, '59m')))).toEqual({ project: { name: 'retail' } });
    for (const [name, expires] of [
      ['no exp', null],
      ['2 hours', '2h'],
      ['exp 1e20', 1e20],
    ] as const) {
      const res = await s.gql(q, {}, bearer(await key.sign(claims, expires)));
      expect(codes(res), name).toEqual(['UNAUTHENTICATED']);
    }
    expect(codes(await s.gql(q, {}, bearer(await key.sign({ scope: 'integrity:read', sub: 42 as unknown as string }))))).toEqual([
      'UNAUTHENTICATED',
    ]);
  });
});

describe('npm run token', () => {
  const mint = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/tools/mint-token.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, AUTH_JWT_SECRET: 'x'.repeat(32), ...env },
    });

  it('sets exp within the lifetime, and refuses unknown scopes and longer lifetimes', () => {
    const ok = mint(['--scopes', 'integrity:read integrity:write', '--sub', 'dev']);
    expect(ok.status, ok.stderr).toBe(0);
    const claims = decodeJwt(ok.stdout.trim());
    expect(claims.exp! - claims.iat!).toBe(8 * 3600);
    expect(claims.scope).toBe('integrity:read integrity:write');
    const unknown = mint(['--scopes', 'integrity:read integrity:everything']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/unknown scope "integrity:everything" \(known: integrity:read, .*\); no token was made/);
    const long = mint(['--scopes', 'integrity:read', '--expires', '2d']);
    expect(long.status).toBe(1);
    expect(long.stderr).toMatch(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/);
  });
});

// Every generated case names a type of the schema: a renamed or removed type fails here, not silently.
it('the generators cover every root field, entity type and ruled type of the schema', () => {
  const roots = [schema.getQueryType()!, schema.getMutationType()!].flatMap((r) =>
    Object.keys(r.getFields())
      .filter((f) => !f.startsWith('_'))
      .map((f) => `${r.name}.${f}`),
  );
  expect(
    rootFieldOperations(schema)
      .map((o) => o.name)
      .sort(),
  ).toEqual(roots.sort());
  expect(
    entityTypes(schema)
      .map((t) => t.name)
      .sort(),
  ).toEqual(
    [
      'BankAccount',
      'Cluster',
      'ClusterProvider',
      'CompositeApp',
      'CompositeProfile',
      'DeploymentIntentGroup',
      'Employee',
      'LogicalCluster',
      'Project',
      'Resource',
    ].sort(),
  );
  const ruled = Object.values(schema.getTypeMap()).filter(
    (t) => 'getFields' in t && !t.name.startsWith('_') && t.astNode?.directives?.some((d) => d.name.value === 'requiresScopes'),
  );
  const reached = new Set(typesThroughRootFields(schema).map((p) => p.type));
  expect(ruled.map((t) => t.name).filter((n) => !reached.has(n))).toEqual([]);
  expect(getNamedType(schema.getQueryType()!.getFields()._entities.type).name).toBe('_Entity');
});
