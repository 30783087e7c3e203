import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getNamedType, isListType, isObjectType, getNullableType, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRules, judge } from '../src/server/auth/rules.js';
import { buildSchema } from '../src/server/schema.js';
import { freePort, spawnSubgraph } from './fixtures/subgraph-process.js';
import { rootOperations } from './support/operations.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { as, bearer, hs256, JwksServer, jwtEnv, SCOPES, signingKey } from './support/tokens.js';

const schema = buildSchema();
const rules = new AccessRules(schema);
const AUTH_CODES = ['UNAUTHENTICATED', 'FORBIDDEN'];

describe('access rules written in the SDL', () => {
  it('every root field carries @requiresScopes or @authenticated', () => {
    expect(rules.unguardedRootFields()).toEqual([]);
    expect(rootOperations(schema).length).toBeGreaterThan(25);
  });

  it('every entity type carries a type-level rule (it guards its _entities path)', () => {
    expect(rules.unguardedEntityTypes()).toEqual([]);
    expect(rules.entity('Project')).toEqual([{ scopes: [['integrity:read']] }]);
    // The Resource interface carries no directive (composition forbids it): its implementations' rules apply.
    expect(rules.entity('Resource')?.length).toBe(7);
  });

  it('every list of objects takes `first` (or is sized by the `first` of the connection above it), so the cost estimate can bound it', () => {
    const unpaged: string[] = [];
    // A connection's `edges`: `@listSize(slicingArguments: ["first"], sizedFields: ["edges"])` on the field that returns it.
    const sized = new Set<string>();
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type)) continue;
      for (const f of Object.values(type.getFields())) {
        const listSize = f.astNode?.directives?.find((d) => d.name.value === 'listSize');
        const arg = listSize?.arguments?.find((a) => a.name.value === 'sizedFields');
        if (arg?.value.kind === 'ListValue' && f.args.some((a) => a.name === 'first')) {
          for (const v of arg.value.values) if (v.kind === 'StringValue') sized.add(`${getNamedType(f.type).name}.${v.value}`);
        }
      }
    }
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('_')) continue;
      for (const f of Object.values(type.getFields())) {
        const listed = isListType(getNullableType(f.type));
        const at = `${type.name}.${f.name}`;
        if (listed && isObjectType(getNamedType(f.type)) && !f.args.some((a) => a.name === 'first') && !sized.has(at)) unpaged.push(at);
      }
    }
    expect(sized.size).toBeGreaterThan(0);
    expect(unpaged.filter((f) => f !== 'Query._entities')).toEqual([]);
  });

  it('judges with the federation meaning: outer list OR, inner list AND; @authenticated needs only a token', () => {
    const sdl = parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@authenticated", "@requiresScopes"])
      type Query {
        a: Int @requiresScopes(scopes: [["s:1", "s:2"], ["s:3"]])
        b: Int @authenticated
        c: Int
      }
      type T @key(fields: "id") @authenticated { id: ID! }`);
    const r = new AccessRules(buildSubgraphSchema(sdl));
    const p = (...scopes: string[]) => ({ subject: 'x', scopes: new Set(scopes), projects: null });
    const a = r.field('Query', 'a')!;
    expect(judge(a, p('s:1', 's:2'), '', 'a').ok).toBe(true);
    expect(judge(a, p('s:3'), '', 'a').ok).toBe(true);
    expect(judge(a, p('s:1'), '', 'a')).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(judge(a, null, 'no token', 'a')).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(judge(r.field('Query', 'b')!, p(), '', 'b').ok).toBe(true);
    expect(judge(r.field('Query', 'b')!, null, 'no token', 'b')).toMatchObject({ ok: false, code: 'UNAUTHENTICATED' });
    expect(r.unguardedRootFields()).toEqual(['Query.c']);
    expect(r.entity('T')).toEqual([{ scopes: null }]);
  });
});

describe.each(OPERATIONAL_KINDS)('authentication and scopes on %s (HS256 tokens)', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { env: jwtEnv(), seedDemo: true });
  });
  afterAll(() => s?.close());

  it('every root field: refused without a token, refused with the wrong scopes, allowed with its scope', async () => {
    for (const op of rootOperations(schema)) {
      const rule = rules.field(op.name.split('.')[0], op.field)!;
      const granting = new Set(rule.flatMap((r) => r.scopes ?? []).flat());
      const wrong = SCOPES.filter((x) => !granting.has(x));
      const right = rule[0].scopes![0];
      // The type it returns carries its own rule wherever it is returned (integrity:read on every type holding stored data).
      const returned = rules.returned(
        (op.name.startsWith('Query.') ? schema.getQueryType() : schema.getMutationType())!.getFields()[op.field].type,
      );
      const granted = [...new Set([...right, ...returned.flatMap((r) => r.scopes?.[0] ?? [])])];

      const anonymous = await s.gql(op.query, op.variables);
      expect(codes(anonymous), `${op.name} without a token`).toEqual(['UNAUTHENTICATED']);
      expect(anonymous.data ?? null, op.name).toBeNull();

      const underScoped = await s.gql(op.query, op.variables, await as('mallory', wrong));
      expect(codes(underScoped), `${op.name} with ${wrong.join(' ')}`).toEqual(['FORBIDDEN']);
      expect(underScoped.errors![0].message).toContain(right[0]);

      const allowed = await s.gql(op.query, op.variables, await as('alice', granted));
      for (const code of codes(allowed)) expect(AUTH_CODES, `${op.name} with ${granted.join(' ')}`).not.toContain(code);
      if (granted.length > right.length) {
        // The field's own scope alone does not read what it returns.
        const fieldOnly = await s.gql(op.query, op.variables, await as('walter', right));
        expect(codes(fieldOnly), `${op.name} with only ${right.join(' ')}`).toEqual(['FORBIDDEN']);
      }
    }
  });

  it('a refused mutation changes nothing: anonymous and under-scoped callers cannot mark or collect', async () => {
    const admin = await as('root', ['integrity:admin', 'integrity:read']);
    const { project } = await s.ok<{ project: { id: string } }>('{ project(name: "retail") { id } }', {}, admin);
    for (const headers of [{}, await as('mallory', ['integrity:read', 'integrity:write', 'integrity:approve', 'integrity:feed'])]) {
      const res = await s.gql(`mutation { markForDeletion(id: "${project.id}") { marked { id } } }`, {}, headers);
      expect(AUTH_CODES).toContain(codes(res)[0]);
      const gc = await s.gql('mutation { collectGarbage { deleted } }', {}, headers);
      expect(AUTH_CODES).toContain(codes(gc)[0]);
    }
    const after = await s.ok('{ project(name: "retail") { status } }', {}, admin);
    expect(after).toEqual({ project: { status: 'ACTIVE' } });
  });

  it('`_service` stays open; `_entities` needs integrity:read through the entity type rule', async () => {
    const sdl = await s.ok<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(sdl._service.sdl).toContain('@requiresScopes');
    const { project } = await s.ok<{ project: { id: string } }>(
      '{ project(name: "retail") { id } }',
      {},
      await as('r', ['integrity:read']),
    );
    const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { name } } }';
    const r = { r: [{ __typename: 'Project', id: project.id }] };
    expect(codes(await s.gql(query, r))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await s.gql(query, r, await as('w', ['integrity:write', 'integrity:admin'])))).toEqual(['FORBIDDEN']);
    expect(await s.ok(query, r, await as('r', ['integrity:read']))).toEqual({ _entities: [{ name: 'retail' }] });
    // A typename that is no entity type is refused as input (it used to be FORBIDDEN), never resolved.
    const odd = await s.gql(query, { r: [{ __typename: 'ResourceVersion', id: project.id }] }, await as('r', ['integrity:read']));
    expect(codes(odd)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses bad tokens with UNAUTHENTICATED and says why, without echoing them', async () => {
    const q = '{ projects { name } }';
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['no header', {}, /bearer token/],
      ['another scheme', { authorization: 'Basic YWxpY2U6c2VjcmV0' }, /Bearer <JWT>/],
      ['garbage', bearer('not-a-jwt'), /well-formed/],
      ['another secret', bearer(await hs256({ sub: 'x', scope: 'integrity:read' }, 'some-other-secret-0123456789abcdef')), /signature/],
      ['expired', bearer(await hs256({ sub: 'x', scope: 'integrity:read', exp: Math.floor(Date.now() / 1000) - 60 })), /expired/],
      [
        'projects not a list',
        bearer(await hs256({ sub: 'x', scope: 'integrity:read', projects: 'retail' as unknown as string[] })),
        /list of project names/,
      ],
      [
        'alg none',
        bearer(
          `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"scope":"integrity:read"}').toString('base64url')}.`,
        ),
        /does not accept/,
      ],
    ];
    for (const [what, headers, why] of cases) {
      const res = await s.gql(q, {}, headers);
      expect(codes(res), what).toEqual(['UNAUTHENTICATED']);
      expect(res.errors![0].message, what).toMatch(why);
      expect(res.data ?? null).toBeNull();
    }
    // Scopes may also come as an `scp` array.
    expect(await s.ok('{ project(name: "retail") { name } }', {}, bearer(await hs256({ sub: 'x', scp: ['integrity:read'] })))).toEqual({
      project: { name: 'retail' },
    });
  });
});

describe('issuer, audience and claim names (SQLite)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      env: jwtEnv({
        AUTH_ISSUER: 'https://idp.test',
        AUTH_AUDIENCE: 'integrity',
        AUTH_SCOPES_CLAIM: 'roles',
        AUTH_PROJECTS_CLAIM: 'tenants',
      }),
      seedDemo: true,
    });
  });
  afterAll(() => s?.close());

  it('checks iss and aud when set, and reads scopes and projects from the configured claims', async () => {
    const q = '{ projects { name } }';
    const good = { sub: 'x', iss: 'https://idp.test', aud: 'integrity', roles: ['integrity:read'], tenants: ['logistics'] };
    expect(await s.ok(q, {}, bearer(await hs256(good)))).toEqual({ projects: [{ name: 'logistics' }] });
    expect(codes(await s.gql(q, {}, bearer(await hs256({ ...good, iss: 'https://evil.test' }))))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await s.gql(q, {}, bearer(await hs256({ ...good, aud: 'other' }))))).toEqual(['UNAUTHENTICATED']);
    // `scope` is not the configured claim here: no scopes.
    expect(
      codes(await s.gql(q, {}, bearer(await hs256({ sub: 'x', iss: 'https://idp.test', aud: 'integrity', scope: 'integrity:read' })))),
    ).toEqual(['FORBIDDEN']);
  });
});

describe('RS256/ES256 tokens from a JWKS endpoint, with key rotation (SQLite)', () => {
  const jwks = new JwksServer();
  let s: TestServer;
  beforeAll(async () => {
    await jwks.start([await signingKey('k1', 'RS256')]);
    s = await startTestServer('sqlite', {
      env: { AUTH_MODE: 'jwt', AUTH_JWKS_URL: jwks.url, AUTH_JWKS_COOLDOWN_SECONDS: '0' },
      seedDemo: true,
    });
  });
  afterAll(async () => {
    await s?.close();
    await jwks.stop();
  });

  it('verifies with the cached key set, picks up a rotated key, and drops the retired one', async () => {
    const q = '{ project(name: "retail") { name } }';
    const claims = { sub: 'svc', scope: 'integrity:read' };
    const k1 = jwks.keys[0];
    const t1 = await k1.sign(claims);
    for (let i = 0; i < 3; i++) expect(await s.ok(q, {}, bearer(t1))).toEqual({ project: { name: 'retail' } });
    expect(jwks.fetches).toBe(1); // cached

    const k2 = await signingKey('k2', 'ES256');
    jwks.keys = [k2]; // rotation: k1 retired, k2 in
    expect(await s.ok(q, {}, bearer(await k2.sign(claims)))).toEqual({ project: { name: 'retail' } });
    expect(jwks.fetches).toBe(2);
    expect(codes(await s.gql(q, {}, bearer(t1)))).toEqual(['UNAUTHENTICATED']);
    // HS256 tokens are refused when no secret is configured (no algorithm confusion).
    expect(codes(await s.gql(q, {}, bearer(await hs256(claims))))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-startup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with AUTH_MODE=jwt (the default off the embedded store) and no key, stops with a message naming what to set', async () => {
    const proc = spawnSubgraph({ AUTH_MODE: '', DATABASE_URL: `sqlite:${join(dir, 'op.sqlite')}`, DATA_DIR: dir, PORT: '0' });
    try {
      const exit = await proc.waitForExit(60_000);
      expect(exit.code).toBe(1);
      expect(proc.stderr()).toMatch(/AUTH_JWKS_URL/);
      expect(proc.stderr()).toMatch(/AUTH_JWT_SECRET/);
    } finally {
      await proc.kill();
    }
  });

  it('on the embedded store the default is AUTH_MODE=none: Sandbox works without a token, and the log says so', async () => {
    const port = await freePort();
    const proc = spawnSubgraph({ AUTH_MODE: '', DATA_DIR: join(dir, 'embedded'), PORT: String(port), GC_INTERVAL_SECONDS: '0' });
    try {
      const [, url] = await proc.waitForStdout(/Open Apollo Sandbox: (\S+)/, 60_000);
      // The log line is written asynchronously (pino): it may reach stdout after the banner.
      await proc.waitForStdout(/"level":40[^\n]*AUTH_MODE=none/, 10_000);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ project(name: "retail") { name } }' }),
      });
      expect(await res.json()).toEqual({ data: { project: { name: 'retail' } } });
    } finally {
      await proc.kill();
    }
  });
});
