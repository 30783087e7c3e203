// RELATIONSHIP_SCHEMA as a directory (issue 18): one JSON file per team, merged; an entry defined
// twice, a reference to what no file defines, or a derived name two files both claim refuses to
// start, naming the files, the JSON pointers and what to change.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { lexicographicSortSchema, printSchema, type DocumentNode } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRelationshipSchema, SchemaFileError } from '../src/model/load.js';
import { SchemaNameError, typeDefs } from '../src/server/schema.js';
import { spawnSubgraph } from './fixtures/subgraph-process.js';

type Json = Record<string, any>;
const DOCUMENTS = join(import.meta.dirname, 'fixtures', 'derive', 'documents.relationships.json');
const root = mkdtempSync(join(tmpdir(), 'relschema-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** The documents domain split over three team files, after `edit` (file name → content). */
function split(edit: (files: Record<string, Json>) => void = () => {}): string {
  const all = JSON.parse(readFileSync(DOCUMENTS, 'utf8')) as Json;
  const pick = (names: string[]) => Object.fromEntries(names.map((k) => [k, all.kinds[k]]));
  const files: Record<string, Json> = {
    'crm.json': { version: 1, sources: all.sources, remoteTypes: all.remoteTypes },
    'workspaces.json': { version: 1, kinds: pick(['Workspace', 'Folder', 'Template', 'Category']) },
    'documents.json': { version: 1, kinds: pick(['Document', 'Note']) },
  };
  edit(files);
  const dir = join(root, `team-${++n}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), JSON.stringify(content, null, 2));
  return dir;
}

function refusal(dir: string): string {
  try {
    typeDefs(loadRelationshipSchema(dir));
  } catch (e) {
    expect(e instanceof SchemaFileError || e instanceof SchemaNameError, String(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`${dir} was accepted`);
}

describe('a relationship schema directory', () => {
  it('merges the files of a directory into the schema one file gives', () => {
    const dir = split();
    const merged = loadRelationshipSchema(dir);
    expect([...merged.kinds.keys()].sort()).toEqual(['Category', 'Document', 'Folder', 'Note', 'Template', 'Workspace']);
    expect(merged.fileOf('$.kinds.Note.parent')).toBe(join(dir, 'documents.json'));
    // The same API; only the order of definitions follows the files'.
    const sorted = (doc: DocumentNode) => printSchema(lexicographicSortSchema(buildSubgraphSchema([{ typeDefs: doc }])));
    expect(sorted(typeDefs(merged))).toBe(sorted(typeDefs(loadRelationshipSchema(DOCUMENTS))));
  });

  it('refuses a kind defined in two files, naming both and the pointer', () => {
    const dir = split((f) => (f['documents.json'].kinds.Folder = f['workspaces.json'].kinds.Folder));
    const message = refusal(dir);
    expect(message).toContain(join(dir, 'workspaces.json'));
    expect(message).toContain(join(dir, 'documents.json'));
    expect(message).toContain('/kinds/Folder');
    expect(message).toContain('kind Folder is defined twice');
    expect(message).toContain('keep one definition');
  });

  it('refuses a reference to a kind or remote type no file defines, naming the file that refers', () => {
    let dir = split((f) => (f['documents.json'].kinds.Document.references.template.kind = 'Stencil'));
    let message = refusal(dir);
    expect(message).toContain(join(dir, 'documents.json'));
    expect(message).toContain('/kinds/Document/references/template/kind');
    expect(message).toContain('names unknown kind "Stencil"');
    dir = split((f) => delete f['crm.json'].remoteTypes);
    message = refusal(dir);
    expect(message).toContain(join(dir, 'documents.json'));
    expect(message).toContain('/kinds/Document/remoteReferences/reviewer/type');
    expect(message).toContain('names unknown remote type "Customer"');
  });

  it('refuses generated names that collide across files, naming each file, pointer and what to change', () => {
    const dir = split((f) => (f['documents.json'].kinds.Note.plural = 'folders'));
    const message = refusal(dir);
    expect(message).toContain(`${join(dir, 'workspaces.json')} at $.kinds.Folder.plural (JSON pointer /kinds/Folder/plural)`);
    expect(message).toContain(`${join(dir, 'documents.json')} at $.kinds.Note.plural (JSON pointer /kinds/Note/plural)`);
    expect(message).toContain(
      'kind Note and kind Folder both derive the Query field "folders": give kind Note another "plural", or give kind Folder another "plural"',
    );
    const shared = refusal(
      split((f) => (f['workspaces.json'].kinds.Approval = { key: 'approvalRecord', identity: ['name'], retentionSeconds: 0 })),
    );
    expect(shared).toContain('derives the type "Approval", a type of the shared SDL: rename kind Approval');
  });

  it('refuses to start the real server on a colliding directory: exit code 1, files and pointers on stderr', async () => {
    const dir = split((f) => (f['documents.json'].kinds.Note.plural = 'folders'));
    const data = mkdtempSync(join(tmpdir(), 'relschema-dir-data-'));
    const proc = spawnSubgraph({
      RELATIONSHIP_SCHEMA: dir,
      DATA_DIR: data,
      PORT: '0',
      GC_INTERVAL_SECONDS: '0',
      CRM_DATABASE_URL: 'sqlite:/nonexistent',
    });
    try {
      const exit = await proc.waitForExit(30_000);
      expect(exit.code, proc.stderr()).toBe(1);
      expect(proc.stderr()).toContain(join(dir, 'documents.json'));
      expect(proc.stderr()).toContain('/kinds/Note/plural');
      expect(proc.stdout()).not.toContain('Open Apollo Sandbox');
    } finally {
      await proc.kill();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
