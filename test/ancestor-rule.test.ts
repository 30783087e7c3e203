import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { countStatements } from '../src/data/statement-log.js';
import { DEFAULT_MAINTENANCE, Engine } from '../src/engine/engine.js';
import { buildSchema } from '../src/model/load.js';
import { OPERATIONAL_KINDS, tempOperationalStore, type TempStore } from './support/stores.js';

/**
 * The ancestor rule and bounded cycle batches, on a relationship schema of its own (the engine
 * knows kinds only through it): folders hold files, files hold notes; a Link refers to a folder
 * (and so holds its whole subtree), a Tag refers to one without holding it (`holdsSubtree: false`);
 * Nodes refer to each other, so marked nodes can form cycles.
 */
const SCHEMA = buildSchema('ancestor-test.json', {
  kinds: {
    Folder: { key: 'folder', identity: ['name'], retentionSeconds: 0 },
    File: { key: 'file', parent: 'Folder', identity: ['folder', 'name'], retentionSeconds: 0 },
    Note: { key: 'note', parent: 'File', identity: ['folder', 'file', 'name'], retentionSeconds: 0 },
    Link: { key: 'link', identity: ['name'], references: { target: { kind: 'Folder' } }, retentionSeconds: 0 },
    Tag: {
      key: 'tag',
      identity: ['name'],
      references: { folders: { kind: 'Folder', list: true, holdsSubtree: false } },
      retentionSeconds: 0,
    },
    Node: { key: 'node', identity: ['name'], references: { next: { kind: 'Node', list: true } }, retentionSeconds: 0 },
  },
});

describe.each(OPERATIONAL_KINDS)('the ancestor rule on %s', (kind) => {
  let store: TempStore;
  let db: Db;
  let engine: Engine;
  const BATCH = 2;
  beforeAll(async () => {
    store = await tempOperationalStore(kind);
    db = await Db.open({ url: store.url });
    await db.migrate();
    engine = new Engine(db, SCHEMA, new Map(), {
      retentionSeconds: 0,
      batching: true,
      maintenance: { ...DEFAULT_MAINTENANCE, leaseTtlSeconds: 30, gcBatchSize: BATCH },
    });
  });
  afterAll(async () => {
    await db?.close();
    await store?.drop();
  });

  const present = async (...ids: string[]) =>
    (await engine.db.query<{ id: string }>(`SELECT id FROM resource`))
      .map((r) => r.id)
      .filter((id) => ids.includes(id))
      .sort();
  const blockersOf = (report: Awaited<ReturnType<Engine['collectGarbage']>>, id: string) =>
    report.blocked.find((b) => b.resource.id === id)?.blockers.map((b) => ({ from: b.fromId, to: b.toId, path: b.path }));

  it('keeps a marked file while something outside refers to its folder, naming that referrer; a non-holding reference does not', async () => {
    const folder = await engine.create('Folder', { name: 'docs' });
    const file = await engine.create('File', { folder: 'docs', name: 'a' });
    const note = await engine.create('Note', { folder: 'docs', file: 'a', name: 'n' });
    const sibling = await engine.create('File', { folder: 'docs', name: 'b' });
    const link = await engine.create('Link', { name: 'l', target: 'docs' });
    const tag = await engine.create('Tag', { name: 't', folders: ['docs'] });

    const mark = await engine.markForDeletion(file.id);
    expect(mark.marked.map((r) => r.id).sort()).toEqual([file.id, note.id].sort());
    // Who holds it: the link to its folder (the tag does not hold the subtree).
    expect(mark.blockers.map((b) => ({ from: b.fromId, to: b.toId, path: b.path }))).toEqual([
      { from: link.id, to: folder.id, path: 'target' },
    ]);

    const dry = await engine.collectGarbage(true);
    expect(dry.deleted).toEqual([]);
    const gc = await engine.collectGarbage(false);
    expect(gc.deleted).toEqual([]);
    expect(await present(file.id, note.id)).toEqual([file.id, note.id].sort());
    // Two levels down as well: the note is held by the link to its grandparent.
    expect(blockersOf(gc, file.id)).toEqual([
      { from: note.id, to: file.id, path: 'parent' },
      { from: link.id, to: folder.id, path: 'target' },
    ]);
    expect(blockersOf(gc, note.id)).toEqual([{ from: link.id, to: folder.id, path: 'target' }]);
    const queue = await engine.deletionQueue(10);
    expect(queue.find((q) => q.resource.id === note.id)?.blockers.map((b) => b.fromId)).toEqual([link.id]);

    // The link lets go: only the tag refers to the folder now, and it does not hold the subtree.
    await engine.update('Link', link.id, { target: null });
    const after = await engine.collectGarbage(false);
    expect([...after.deleted].sort()).toEqual([file.id, note.id].sort());
    expect(await present(folder.id, sibling.id, tag.id)).toEqual([folder.id, sibling.id, tag.id].sort());
  });

  it('a marked folder referred to by a marked link goes with it: the referrer is inside the collected set', async () => {
    const folder = await engine.create('Folder', { name: 'old' });
    const file = await engine.create('File', { folder: 'old', name: 'x' });
    const link = await engine.create('Link', { name: 'old-link', target: 'old' });
    await engine.markForDeletion(folder.id);
    const held = await engine.collectGarbage(false);
    expect(held.deleted).toEqual([]);
    expect(blockersOf(held, file.id)).toEqual([{ from: link.id, to: folder.id, path: 'target' }]);
    expect(blockersOf(held, folder.id)).toEqual([
      { from: file.id, to: folder.id, path: 'parent' },
      { from: link.id, to: folder.id, path: 'target' },
    ]);
    await engine.markForDeletion(link.id);
    const gc = await engine.collectGarbage(false);
    expect([...gc.deleted].sort()).toEqual([folder.id, file.id, link.id].sort());
  });

  it('collects cycles of marked resources in batches closed under references, bounded by the batch size', async () => {
    // Three cycles of two nodes each, and one cycle of three (larger than the batch size of 2).
    const pairs: string[][] = [];
    for (const p of ['p', 'q', 'r']) {
      const a = await engine.create('Node', { name: `${p}1` });
      const b = await engine.create('Node', { name: `${p}2`, next: [`${p}1`] });
      await engine.update('Node', a.id, { next: [`${p}2`] });
      pairs.push([a.id, b.id]);
    }
    const t1 = await engine.create('Node', { name: 't1' });
    const t2 = await engine.create('Node', { name: 't2', next: ['t1'] });
    const t3 = await engine.create('Node', { name: 't3', next: ['t2'] });
    await engine.update('Node', t1.id, { next: ['t3'] });
    const all = [...pairs.flat(), t1.id, t2.id, t3.id];
    for (const id of all) await engine.markForDeletion(id);

    const { result: gc, statements } = await countStatements(engine.db.statementLog, () => engine.collectGarbage(false));
    expect([...gc.deleted].sort()).toEqual([...all].sort());
    const deletes = statements.filter((s) => /^DELETE FROM resource WHERE id IN/.test(s.trim()));
    const sizes = deletes.map((s) => (s.match(/\?/g) ?? []).length).sort();
    // Each two-node cycle in a batch of its own (two would not fit); the three-node cycle alone.
    expect(sizes).toEqual([2, 2, 2, 3]);
    expect(await present(...all)).toEqual([]);
  });
});
