import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMA_FILE, loadRelationshipSchema, SchemaFileError } from '../src/model/load.js';
import { freePort, ROOT, spawnSubgraph } from './fixtures/subgraph-process.js';

const SHIPPED = join(ROOT, 'schema', 'relationships.json');
const DEMO_KINDS = ['Project', 'CompositeApp', 'CompositeProfile', 'DeploymentIntentGroup', 'LogicalCluster', 'ClusterProvider', 'Cluster'];

const dir = mkdtempSync(join(tmpdir(), 'relschema-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = any;
const shipped = (): Json => JSON.parse(readFileSync(SHIPPED, 'utf8'));
let n = 0;
/** Writes a variant of the shipped file (or raw text) to the temp dir and returns its path. */
function write(variant: string | ((s: Json) => Json | undefined)): string {
  const file = join(dir, `broken-${++n}.json`);
  if (typeof variant === 'string') writeFileSync(file, variant);
  else {
    const s = shipped();
    const out = variant(s) ?? s;
    writeFileSync(file, JSON.stringify(out, null, 2));
  }
  return file;
}

function loadError(file: string): SchemaFileError {
  try {
    loadRelationshipSchema(file);
  } catch (e) {
    // Anything but a SchemaFileError (a TypeError, say) is a crash, not a message for the user.
    expect(e, `expected a SchemaFileError, got ${String(e)}`).toBeInstanceOf(SchemaFileError);
    return e as SchemaFileError;
  }
  throw new Error(`${file} was accepted`);
}

describe('the shipped relationship schema', () => {
  const schema = loadRelationshipSchema(SHIPPED);

  it('is the default file and loads the seven kinds of the demo domain', () => {
    expect(DEFAULT_SCHEMA_FILE).toBe(SHIPPED);
    expect(loadRelationshipSchema().kinds.size).toBe(7);
    expect([...schema.kinds.keys()].sort()).toEqual([...DEMO_KINDS].sort());
    expect(schema.file).toBe(SHIPPED);
  });

  it('derives identities along the parent chain', () => {
    const ident = Object.fromEntries([...schema.kinds.values()].map((k) => [k.name, k.identity]));
    expect(ident).toEqual({
      Project: ['name'],
      CompositeApp: ['project', 'name'],
      CompositeProfile: ['project', 'compositeApp', 'name'],
      DeploymentIntentGroup: ['project', 'compositeApp', 'compositeProfile', 'name'],
      LogicalCluster: ['project', 'name'],
      ClusterProvider: ['name'],
      Cluster: ['provider', 'name'],
    });
  });

  it('knows parents, depths and children', () => {
    const parents = Object.fromEntries([...schema.kinds.values()].map((k) => [k.name, [k.parent, k.depth]]));
    expect(parents).toEqual({
      Project: [null, 0],
      CompositeApp: ['Project', 1],
      CompositeProfile: ['CompositeApp', 2],
      DeploymentIntentGroup: ['CompositeProfile', 3],
      LogicalCluster: ['Project', 1],
      ClusterProvider: [null, 0],
      Cluster: ['ClusterProvider', 1],
    });
    expect(
      schema
        .childKinds('Project')
        .map((k) => k.name)
        .sort(),
    ).toEqual(['CompositeApp', 'LogicalCluster']);
    expect(schema.childKinds('DeploymentIntentGroup')).toEqual([]);
  });

  it('has retention and the personal flag per kind', () => {
    const r = Object.fromEntries([...schema.kinds.values()].map((k) => [k.name, [k.retentionSeconds, k.personal]]));
    expect(r).toEqual({
      Project: [604800, false],
      CompositeApp: [604800, false],
      CompositeProfile: [604800, false],
      DeploymentIntentGroup: [86400, true],
      LogicalCluster: [604800, false],
      ClusterProvider: [2592000, false],
      Cluster: [2592000, false],
    });
  });

  it('derives arbitrary and remote references', () => {
    const dig = schema.kind('DeploymentIntentGroup');
    expect(dig.references).toEqual([
      {
        field: 'logicalCluster',
        kind: 'LogicalCluster',
        list: false,
        maxItems: 100,
        scope: ['project'],
        valueFields: ['name'],
        holdsSubtree: true,
        description: 'Name of a logical cluster of the same project.',
      },
      { field: 'clusters', kind: 'Cluster', list: true, maxItems: 500, scope: [], valueFields: ['provider', 'name'], holdsSubtree: true },
    ]);
    expect(dig.remoteReferences).toEqual([{ field: 'owner', type: 'Employee' }]);
    expect(schema.kind('Project').remoteReferences).toEqual([{ field: 'billingAccount', type: 'BankAccount' }]);
    expect(schema.remoteType('Employee').key).toEqual(['employeeId']);
    expect(schema.remoteType('BankAccount').key).toEqual(['number', 'owner']);
    expect(() => schema.kind('Nope')).toThrow(/unknown kind Nope/);
  });
});

describe('a broken relationship schema file', () => {
  const cases: Array<[string, string | ((s: Json) => Json | undefined), string, RegExp]> = [
    ['invalid JSON', '{ "version": 1, "kinds": { "Project": ', '$', /not valid JSON/],
    [
      'an unknown top-level property',
      (s) => {
        s.kindz = {};
      },
      '$.kindz',
      /not a known property/,
    ],
    ['a kind without identity', (s) => void delete s.kinds.Cluster.identity, '$.kinds.Cluster.identity', /required/],
    [
      'a parent naming an unknown kind',
      (s) => {
        s.kinds.Cluster.parent = 'Provider';
      },
      '$.kinds.Cluster.parent',
      /unknown kind "Provider"/,
    ],
    [
      'a parent naming an unknown kind, its child listed first',
      (s) => {
        const { Cluster, ClusterProvider, ...rest } = s.kinds;
        s.kinds = { Cluster, ClusterProvider: { ...ClusterProvider, parent: 'Cloud', identity: ['cloud', 'name'] }, ...rest };
      },
      '$.kinds.ClusterProvider.parent',
      /unknown kind "Cloud"/,
    ],
    [
      'an identity that does not follow the parent chain',
      (s) => {
        s.kinds.CompositeProfile.identity = ['project', 'name'];
      },
      '$.kinds.CompositeProfile.identity',
      /must be \["project","compositeApp","name"\]/,
    ],
    [
      'a reference to an unknown kind',
      (s) => {
        s.kinds.DeploymentIntentGroup.references.clusters.kind = 'Clustr';
      },
      '$.kinds.DeploymentIntentGroup.references.clusters.kind',
      /unknown kind "Clustr"/,
    ],
    [
      'holdsSubtree that is not a boolean',
      (s) => {
        s.kinds.DeploymentIntentGroup.references.clusters.holdsSubtree = 'no';
      },
      '$.kinds.DeploymentIntentGroup.references.clusters.holdsSubtree',
      /must be boolean/,
    ],
    [
      'a remote reference to an unknown remote type',
      (s) => {
        s.kinds.DeploymentIntentGroup.remoteReferences.owner.type = 'Person';
      },
      '$.kinds.DeploymentIntentGroup.remoteReferences.owner.type',
      /unknown remote type "Person"/,
    ],
    [
      'a parent cycle',
      (s) => {
        s.kinds.Project.parent = 'CompositeApp';
      },
      '$.kinds.Project.parent',
      /cycle/,
    ],
    [
      'a scope field that is not in the target identity',
      (s) => {
        s.kinds.DeploymentIntentGroup.references.logicalCluster.scope = ['compositeApp'];
      },
      '$.kinds.DeploymentIntentGroup.references.logicalCluster.scope',
      /"compositeApp" is not an identity field of LogicalCluster/,
    ],
    [
      'a list requiring a field that is not an ancestor identity field',
      (s) => {
        s.kinds.DeploymentIntentGroup.listRequires = ['name'];
      },
      '$.kinds.DeploymentIntentGroup.listRequires[0]',
      /"name" is not an ancestor's identity field of DeploymentIntentGroup/,
    ],
    [
      'retentionSeconds of the wrong type',
      (s) => {
        s.kinds.Cluster.retentionSeconds = '30d';
      },
      '$.kinds.Cluster.retentionSeconds',
      /must be integer/,
    ],
  ];

  it.each(cases)('%s is refused naming the file, the JSON path and the problem', (_, variant, path, problem) => {
    const file = write(variant);
    const e = loadError(file);
    expect(e.file).toBe(file);
    expect(e.path).toBe(path);
    expect(e.problem).toMatch(problem);
    expect(e.message).toContain(file);
    expect(e.message).toContain(path);
    expect(e.message).toMatch(problem);
  });

  it('a file that does not exist is refused naming it', () => {
    const file = join(dir, 'missing.json');
    const e = loadError(file);
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/cannot be read/);
  });

  it.each([
    [
      'a parent naming an unknown kind',
      (s: Json) => {
        s.kinds.Cluster.parent = 'Provider';
      },
      '$.kinds.Cluster.parent',
    ],
    [
      'retentionSeconds of the wrong type',
      (s: Json) => {
        s.kinds.Cluster.retentionSeconds = '30d';
      },
      '$.kinds.Cluster.retentionSeconds',
    ],
  ])('stops the real server at start-up (%s): exit code 1, file and path on stderr', async (_, variant, path) => {
    const file = write(variant);
    const data = mkdtempSync(join(tmpdir(), 'relschema-data-'));
    const proc = spawnSubgraph({ RELATIONSHIP_SCHEMA: file, DATA_DIR: data, PORT: '0', GC_INTERVAL_SECONDS: '0' });
    try {
      const exit = await proc.waitForExit(30_000);
      expect(exit.code, proc.stderr()).toBe(1);
      expect(proc.stderr()).toContain(file);
      expect(proc.stderr()).toContain(path);
      expect(proc.stdout()).not.toContain('Open Apollo Sandbox');
    } finally {
      await proc.kill();
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('the shipped schema from a checkout whose path has a space', () => {
  it('is found and the server starts', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'relschema-space-'));
    const checkout = join(parent, 'my checkout');
    mkdirSync(checkout);
    for (const entry of ['src', 'schema', 'resolvers', 'package.json', 'tsconfig.json'])
      cpSync(join(ROOT, entry), join(checkout, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
    const proc = spawnSubgraph(
      { DATA_DIR: join(parent, 'data'), PORT: String(await freePort()), GC_INTERVAL_SECONDS: '0', SEED_DEMO: 'false' },
      'node',
      checkout,
    );
    try {
      await expect(proc.waitForStdout(/Open Apollo Sandbox/, 60_000)).resolves.toBeTruthy();
    } finally {
      await proc.kill();
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('the engine is generic', () => {
  const engineDir = join(ROOT, 'src', 'engine');
  const files = (d: string): string[] =>
    readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
  const kindName = new RegExp(`\\b(${DEMO_KINDS.join('|')})\\b`);
  const stripComments = (src: string) =>
    src.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, '')).replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const hits = (text: (file: string) => string) =>
    files(engineDir).flatMap((f) =>
      text(f)
        .split('\n')
        .map((line, i) => [line, i] as const)
        .filter(([line]) => kindName.test(line))
        .map(([line, i]) => `${f.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`),
    );

  it('has engine files to look at', () => {
    expect(files(engineDir).length).toBeGreaterThan(3);
  });

  it('no kind name of the demo domain appears in engine code', () => {
    expect(hits((f) => stripComments(readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('no kind name of the demo domain appears anywhere in src/engine, comments included', () => {
    expect(hits((f) => readFileSync(f, 'utf8'))).toEqual([]);
  });
});
