import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import Database from 'better-sqlite3';
import { parse as parseGraphql, Kind } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startEmployeesSubgraph, type EmployeesSubgraph } from '../examples/employees-subgraph/server.js';
import { CLIENT_TABLES_DDL, DEMO_BANK_ACCOUNTS, DEMO_EMPLOYEES } from '../src/remote/client-demo.js';
import { ROOT } from './fixtures/subgraph-process.js';
import { type ForwardingRouter, startForwardingRouter } from './support/router.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { as, jwtEnv } from './support/tokens.js';

/**
 * deploy/compose.yaml cannot be run here (no container runtime runs containers on these
 * machines), so everything a runtime would reject or get wrong is checked on the file: the
 * Compose Specification's schema, then what the schema cannot see (names that must match across
 * services, files it mounts, URLs the router is given, settings, secrets).
 *
 * test/fixtures/compose-spec.json is the Compose Specification's JSON Schema as vendored from
 * github.com/compose-spec/compose-go, schema/compose-spec.json at commit
 * e70e961c3a3acebf0800b882f1afb3dbf1fb74a2 (2026-07-21). test/fixtures/router-config-schema.json is
 * GraphOS Router's configuration schema at the version the file pins: github.com/apollographql/router,
 * apollo-router/src/configuration/snapshots/apollo_router__configuration__tests__schema_generation.snap
 * at tag v2.13.1 (commit d104ef3de165db4c5a6da48a3c17b4733535c3e3), the snapshot's JSON without its header.
 */

const DEPLOY = join(ROOT, 'deploy');
const COMPOSE_FILE = join(DEPLOY, 'compose.yaml');
const read = (path: string) => readFileSync(path, 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read(COMPOSE_FILE);
const compose = parseYaml(composeText) as ComposeFile;
const services = compose.services;
const SUBGRAPH_SERVICES = ['migrate', 'integrity', 'employees'];

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateCompose = ajv.compile(JSON.parse(read(join(ROOT, 'test/fixtures/compose-spec.json'))) as object);
const ROUTER_VERSION = 'v2.13.1';
const validateRouterConfig = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(
  JSON.parse(read(join(ROOT, 'test/fixtures/router-config-schema.json'))) as object,
);
const routerConfigErrors = (config: unknown) =>
  validateRouterConfig(config)
    ? []
    : (validateRouterConfig.errors ?? []).map(
        (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
      );
const schemaErrors = (document: unknown) =>
  validateCompose(document)
    ? []
    : (validateCompose.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);

/** A compose `${NAME:?message}` / `${NAME}` reference to the environment. */
const INTERPOLATION = /\$\{([A-Z_][A-Z0-9_]*)(?::?[?-][^}]*)?\}/g;

/** The settings table of docs/operations.md (test/docs.test.ts holds it equal to what the code reads). */
function documentedSettings(): Set<string> {
  const text = read(join(ROOT, 'docs/operations.md'));
  const start = text.indexOf('\n## Settings');
  const end = text.indexOf('\n## ', start + 1);
  const names = new Set<string>();
  for (const line of text.slice(start, end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    for (const m of line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]);
  }
  return names;
}

/** Names the sources read from the environment, as test/docs.test.ts finds them. */
function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) {
        const text = read(path);
        for (const m of text.matchAll(
          /\benv\.([A-Z][A-Z0-9_]*)\b|\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]|\(\s*env\s*,\s*'([A-Z][A-Z0-9_]*)'/g,
        )) {
          names.add(m[1] ?? m[2] ?? m[3]);
        }
      }
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'examples'));
  return names;
}

/** The host side of each bind mount (`./x:/y[:ro]`), resolved against the compose file's folder. */
const bindSources = (service: Service) =>
  (service.volumes ?? []).filter((v) => v.startsWith('.') || v.startsWith('/')).map((v) => resolve(DEPLOY, v.split(':')[0]));

/** The file a service mounts at `target`. */
function mounted(service: Service, target: string): string {
  const volume = (service.volumes ?? []).find((v) => v.split(':')[1] === target);
  if (!volume) throw new Error(`nothing is mounted at ${target}`);
  return resolve(DEPLOY, volume.split(':')[0]);
}

describe('deploy/compose.yaml against the Compose Specification', () => {
  it('is valid', () => {
    expect(Object.keys(services).sort()).toEqual(['employees', 'integrity', 'mariadb', 'migrate', 'nats', 'router']);
    expect(schemaErrors(compose)).toEqual([]);
  });

  it('a broken copy is rejected: a misspelt key, a wrong condition, a list where a map belongs', () => {
    const copy = () => parseYaml(composeText) as { services: Record<string, Record<string, unknown>> } & Record<string, unknown>;

    const typo = copy();
    typo.services.integrity.healthchek = typo.services.integrity.healthcheck;
    delete typo.services.integrity.healthcheck;
    expect(schemaErrors(typo).join('\n')).toContain('healthchek');

    const condition = copy();
    (condition.services.integrity.depends_on as Record<string, { condition: string }>).migrate.condition = 'service_completed';
    expect(schemaErrors(condition).length).toBeGreaterThan(0);

    const topLevel = copy();
    topLevel.service = topLevel.services;
    expect(schemaErrors(topLevel).join('\n')).toContain('service');

    const build = copy();
    build.services.migrate.build = { context: '..', containerfile: 'Containerfile' };
    expect(schemaErrors(build).join('\n')).toContain('containerfile');
  });
});

describe('deploy/compose.yaml, what the schema cannot check', () => {
  it('every depends_on names a service of the file, with the order the subgraph needs', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {}))
        expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
    }
    expect(services.migrate.depends_on?.mariadb.condition).toBe('service_healthy');
    expect(services.integrity.depends_on?.migrate.condition).toBe('service_completed_successfully');
    expect(services.router.depends_on?.integrity.condition).toBe('service_healthy');
    // A depends_on on a health condition needs a health check on that service.
    for (const service of Object.values(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(services[dependency].healthcheck, `${dependency} has no healthcheck`).toBeDefined();
      }
    }
  });

  it('the three subgraph services run one image built once from the repository Containerfile, with the commands it takes', () => {
    const builds = SUBGRAPH_SERVICES.map((s) => services[s].build);
    for (const b of builds) expect(b).toEqual(builds[0]);
    expect(resolve(DEPLOY, builds[0]?.context ?? '')).toBe(ROOT);
    expect(builds[0]?.dockerfile).toBe('Containerfile');
    expect(existsSync(join(ROOT, 'Containerfile'))).toBe(true);
    // Each command the file runs is one the image's entrypoint takes.
    const entrypoint = readFileSync(join(ROOT, 'src/tools/entrypoint.ts'), 'utf8');
    for (const s of SUBGRAPH_SERVICES) expect(entrypoint).toMatch(new RegExp(`^  ${services[s].command?.[0]}: `, 'm'));
    expect(new Set(SUBGRAPH_SERVICES.map((s) => services[s].image)).size).toBe(1);
    expect(SUBGRAPH_SERVICES.map((s) => services[s].command)).toEqual([['migrate'], ['serve'], ['employees']]);
    expect(services.integrity.healthcheck?.test.at(-1)).toBe('health');
    // Only services built here may go without a pinned image tag.
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) expect(service.image, name).toMatch(/^[a-z0-9.-]+\/[a-z0-9/._-]+:[A-Za-z0-9._-]+$/);
    }
    expect(services.router.image).toBe(`ghcr.io/apollographql/router:${ROUTER_VERSION}`);
  });

  it('every file it mounts is in the repository', () => {
    const sources = Object.values(services).flatMap(bindSources);
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(relative(ROOT, source).startsWith('..'), `${source} is outside the repository`).toBe(false);
      expect(existsSync(source), `${relative(ROOT, source)} does not exist`).toBe(true);
    }
    // Named volumes are declared.
    for (const service of Object.values(services)) {
      for (const v of service.volumes ?? []) {
        const source = v.split(':')[0];
        if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
    }
  });

  it("the router's supergraph routes to compose services on the ports they listen on", () => {
    const supergraph = parseGraphql(read(mounted(services.router, '/dist/schema/supergraph.graphql')));
    const urls: string[] = [];
    for (const definition of supergraph.definitions) {
      if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
      for (const value of definition.values ?? []) {
        const graph = value.directives?.find((d) => d.name.value === 'join__graph');
        const url = graph?.arguments?.find((a) => a.name.value === 'url')?.value;
        if (url?.kind === Kind.STRING) urls.push(url.value);
      }
    }
    expect(urls.length).toBe(2);
    for (const url of urls) {
      const { hostname, port, pathname } = new URL(url);
      expect(Object.keys(services), url).toContain(hostname);
      expect(services[hostname].environment?.PORT, url).toBe(port);
      expect(pathname).toBe('/graphql');
    }
    expect(urls.map((u) => new URL(u).hostname).sort()).toEqual(['employees', 'integrity']);
  });

  it("router.yaml is valid for the pinned router's configuration schema, listens where the file publishes and passes the Authorization header to the subgraph", () => {
    const router = services.router;
    const text = read(mounted(router, '/dist/config/router.yaml'));
    const config = parseYaml(text) as {
      supergraph: { listen: string };
      health_check: { listen: string; enabled: boolean };
      headers: { subgraphs: Record<string, { request: Array<{ propagate?: { named: string } }> }> };
    };
    expect(routerConfigErrors(config)).toEqual([]);
    // A misspelt key would stop the router at start-up: the schema sees it.
    const broken = parseYaml(text) as typeof config;
    broken.headers.subgraphs.integrity.request = [{ propogate: { named: 'authorization' } } as never];
    expect(routerConfigErrors(broken).length).toBeGreaterThan(0);
    expect(routerConfigErrors({ ...parseYaml(text), include_subgraph_error: { all: true } }).join('\n')).toContain(
      'include_subgraph_error',
    );

    expect(router.command).toEqual(['--config', '/dist/config/router.yaml', '--supergraph', '/dist/schema/supergraph.graphql']);
    expect(config.headers.subgraphs.integrity.request).toContainEqual({ propagate: { named: 'authorization' } });
    expect(config.supergraph.listen).toBe('0.0.0.0:4000');
    expect(config.health_check).toMatchObject({ enabled: true, listen: '0.0.0.0:8088' });
    expect(router.ports).toEqual(['127.0.0.1:4000:4000', '127.0.0.1:8088:8088']);
    expect(router.healthcheck?.test.join(' ')).toContain('/dev/tcp/127.0.0.1/8088');
    expect(router.environment?.APOLLO_TELEMETRY_DISABLED).toBe('true');
    // Nothing in it turns on a licensed router feature (the router would refuse to start without a licence).
    // (The sections v2.13.1's licence enforcement restricts: src/uplink/license_enforcement.rs.)
    const licensed = [
      'apq',
      'authentication',
      'authorization',
      'batching',
      'coprocessor',
      'demand_control',
      'limits',
      'persisted_queries',
      'plugins',
      'preview_entity_cache',
      'response_cache',
      'subscription',
    ];
    expect(Object.keys(config).filter((k) => licensed.includes(k))).toEqual([]);
  });

  it('writes no secret: every password and secret comes from the environment, and compose refuses to start without it', () => {
    const required = new Set<string>();
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const where = `${name}.environment.${key}`;
        if (/SECRET|PASSWORD|TOKEN|_KEY$/.test(key) && !/RANDOM/.test(key)) {
          expect(value, where).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
          required.add(key);
        }
        if (/^[a-z]+:\/\//.test(value)) {
          const userinfo = /^[a-z]+:\/\/([^@/]*)@/.exec(value)?.[1];
          if (userinfo?.includes(':'))
            expect(userinfo.slice(userinfo.indexOf(':') + 1), `${where}: the password in the URL`).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
        }
      }
    }
    expect([...required].sort()).toEqual(['AUTH_JWT_SECRET', 'MARIADB_PASSWORD']);
    expect(services.integrity.environment?.AUTH_MODE).toBe('jwt');
    // Whatever it references from the environment is a required one.
    const referenced = new Set([...composeText.matchAll(INTERPOLATION)].map((m) => m[1]));
    expect([...referenced].sort()).toEqual(['AUTH_JWT_SECRET', 'MARIADB_PASSWORD']);
  });

  it('the subgraph services set only settings the code reads and docs/operations.md documents, with the production ones this file is about', () => {
    const documented = documentedSettings();
    const code = settingsTheCodeReads();
    expect(documented.has('CHANGE_FEED_URL') && code.has('CHANGE_FEED_URL')).toBe(true);
    for (const name of SUBGRAPH_SERVICES) {
      for (const key of Object.keys(services[name].environment ?? {})) {
        expect(documented.has(key), `${name} sets ${key}, which docs/operations.md does not list`).toBe(true);
        expect(code.has(key), `${name} sets ${key}, which no source reads`).toBe(true);
      }
    }
    const env = services.integrity.environment ?? {};
    expect(env.MIGRATIONS).toBe('check');
    expect(env.CHANGE_FEED_URL).toMatch(/^nats:\/\/nats:4222\/[A-Z]+$/);
    expect(new URL(env.DATABASE_URL.replace(INTERPOLATION, 'x')).hostname).toBe('mariadb');
    expect(env.CLIENT_DATABASE_URL).toBe(services.employees.environment?.CLIENT_DATABASE_URL);
    expect(services.migrate.environment?.DATABASE_URL).toBe(env.DATABASE_URL);
    // Credentials and database names agree with what the mariadb service creates.
    const db = services.mariadb.environment ?? {};
    const url = new URL(env.DATABASE_URL.replace(INTERPOLATION, 'x'));
    expect([url.username, url.pathname]).toEqual([db.MARIADB_USER, `/${db.MARIADB_DATABASE}`]);
    expect(services.nats.command).toContain('-js');
  });

  it("the client store's init SQL holds the contract's tables and the demo rows, readable by the subgraphs' user", () => {
    const initDir = mounted(services.mariadb, '/docker-entrypoint-initdb.d');
    // MariaDB's image runs every *.sql file there in name order: this one is all there is.
    expect(readdirSync(initDir)).toEqual(['client-store.sql']);
    const sql = read(join(initDir, 'client-store.sql'));
    const client = new URL(services.employees.environment?.CLIENT_DATABASE_URL.replace(INTERPOLATION, 'x') ?? '');
    const database = client.pathname.slice(1);
    expect(sql).toContain(`CREATE DATABASE ${database} `);
    expect(sql).toContain(`GRANT SELECT ON ${database}.* TO '${services.mariadb.environment?.MARIADB_USER}'@'%';`);
    for (const ddl of CLIENT_TABLES_DDL) expect(sql).toContain(`${ddl};`);
    // Everything but the server-level statements runs on SQLite too: the rows are the demo's.
    const db = new Database(':memory:');
    try {
      db.exec(sql.replace(/^(CREATE DATABASE|USE|GRANT) [^;]*;$/gm, ''));
      expect(db.prepare('SELECT employee_id AS employeeId, name, email, department FROM employee ORDER BY rowid').all()).toEqual(
        DEMO_EMPLOYEES,
      );
      expect(db.prepare('SELECT number, owner, bank, currency FROM bank_account ORDER BY rowid').all()).toEqual(DEMO_BANK_ACCOUNTS);
    } finally {
      db.close();
    }
  });
});

describe('deploy/supergraph.graphql', () => {
  const temp = mkdtempSync(join(tmpdir(), 'compose-file-'));
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('is what `npm run supergraph:compose:deploy` writes now (regenerate it when the schema changes)', () => {
    const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { scripts: Record<string, string> };
    const script = pkg.scripts['supergraph:compose:deploy'];
    expect(script).toBe('node --import tsx examples/supergraph/compose.ts --deploy');
    const out = join(temp, 'supergraph.graphql');
    const [node, ...args] = script.split(' ');
    execFileSync(node === 'node' ? process.execPath : node, [...args, out], { cwd: ROOT, stdio: 'pipe' });
    expect(
      read(out) === read(join(DEPLOY, 'supergraph.graphql')),
      'deploy/supergraph.graphql is stale: run npm run supergraph:compose:deploy',
    ).toBe(true);
  });

  it('links no authorization spec (a router without a GraphOS licence refuses those) and keeps every field those directives were on', () => {
    const sdl = read(join(DEPLOY, 'supergraph.graphql'));
    expect(sdl).not.toMatch(/specs\.apollo\.dev\/(requiresScopes|authenticated)|@requiresScopes|@authenticated/);
    expect(sdl).toContain('deploymentIntentGroups(');
    expect(sdl).toContain('markForDeletion(');
    expect(sdl).toContain('bankAccounts');
  });
});

/**
 * The router of the compose file cannot run here; Apollo Gateway can load the same file. It does so
 * as written (no supergraphForApolloGateway: the file links nothing for SECURITY), with the compose
 * host names pointed at the two subgraphs on loopback and the Authorization header passed to the
 * integrity subgraph only, as deploy/router.yaml does. Without the router checking scopes, the
 * subgraph still refuses what the token does not allow.
 */
describe('deploy/supergraph.graphql behind a gateway, the subgraphs checking tokens themselves', () => {
  let s: TestServer;
  let employees: EmployeesSubgraph;
  let router: ForwardingRouter;
  beforeAll(async () => {
    // As in the compose file: off the embedded store nothing is seeded.
    s = await startTestServer('sqlite', { env: jwtEnv(), seedDemo: false });
    employees = await startEmployeesSubgraph({ clientUrl: s.clientUrl, port: 0 });
    const loopback: Record<string, string> = { 'http://integrity:4001/graphql': s.url, 'http://employees:4002/graphql': employees.url };
    router = await startForwardingRouter({
      supergraphSdl: read(join(DEPLOY, 'supergraph.graphql')),
      urls: loopback,
      forwardsTo: (name) => name === 'integrity',
    });
  });
  afterAll(async () => {
    await router?.stop();
    await employees?.stop();
    await s?.close();
  });
  const viaRouter = (query: string, headers?: Record<string, string>) => router.query(query, headers);

  it("runs docs/deployment.md's first queries as written: across both subgraphs with a token, refused without one or beyond its scopes", async () => {
    const doc = read(join(ROOT, 'docs/deployment.md'));
    const section = doc.slice(doc.indexOf('## The whole supergraph with compose'), doc.indexOf('## What was run here'));
    const scopes = /token --scopes "([^"]+)"/.exec(section)?.[1].split(' ') ?? [];
    const documents = [...section.matchAll(/-d '(\{.*\})'/g)].map((m) => (JSON.parse(m[1]) as { query: string }).query);
    expect(scopes).toEqual(['integrity:read', 'integrity:write']);
    expect(documents.length).toBe(2);
    const [create, list] = documents;

    expect(codes(await viaRouter(list))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await viaRouter(create, await as('reader', ['integrity:read'])))).toEqual(['FORBIDDEN']);
    const token = await as('dev', scopes);
    expect((await viaRouter(create, token)).errors).toBeUndefined();
    // The bank from the integrity subgraph's cache of the client store, the holder from the employees subgraph.
    expect(await viaRouter(list, token)).toEqual({
      data: {
        projects: [
          {
            name: 'retail',
            billingAccount: { status: 'FRESH', entity: { bank: 'First Analytical Bank', holder: { name: 'Ada Lovelace' } } },
          },
        ],
      },
    });
  });
});
