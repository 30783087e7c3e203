import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Db } from '../src/data/db.js';
import { Engine, DEFAULT_MAINTENANCE } from '../src/engine/engine.js';
import { loadRelationshipSchema } from '../src/model/load.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { codes, startTestServer, type TestServer } from './support/server.js';
import { DEMO_EMPLOYEES, execClientSql, insertDemoClientRows } from '../src/remote/client-demo.js';
import { EMPLOYEE_AWAY, EMPLOYEE_BACK } from './support/remote-fixtures.js';

// The closures here are small: a page of 20 pins and 5 snapshots each holds them all.
const APPROVAL = `id approvedAt revokedAt stale resource { id } pins(first: 20) { resourceId kind version content remoteSnapshots(first: 5) { path entityType key entity } }`;

describe.each(OPERATIONAL_KINDS)('approvals on %s', (store) => {
  let s: TestServer;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    s = await startTestServer(store, { env: { RETENTION_SECONDS: '0' } });
    const r = await s.ok(`mutation {
      prov: createClusterProvider(input: { name: "prov" }) { id }
      c1: createCluster(input: { provider: "prov", name: "c1", labels: ["a"] }) { id }
      c2: createCluster(input: { provider: "prov", name: "c2" }) { id }
      c3: createCluster(input: { provider: "prov", name: "unrelated" }) { id }
      p: createProject(input: { name: "shop" }) { id }
      lc: createLogicalCluster(input: { project: "shop", name: "lc" }) { id }
      lc2: createLogicalCluster(input: { project: "shop", name: "other-lc" }) { id }
      app: createCompositeApp(input: { project: "shop", name: "web" }) { id }
      app2: createCompositeApp(input: { project: "shop", name: "sibling" }) { id }
      prof: createCompositeProfile(input: { project: "shop", compositeApp: "web", name: "default" }) { id }
      g: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "g",
           logicalCluster: "lc", clusters: [{ provider: "prov", name: "c1" }, { provider: "prov", name: "c2" }], owner: { employeeId: "e-4" } }) { id }
      g2: createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "sibling-group" }) { id }
    }`);
    for (const [k, v] of Object.entries(r)) ids[k] = (v as { id: string }).id;
  });
  afterAll(async () => {
    await s?.close();
  });

  let first: any;

  it('pins the closure: the group, its parents (not their other children), what it refers to with their parents, and remote snapshots', async () => {
    ({ approveDeploymentIntentGroup: first } = await s.ok(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { ${APPROVAL} } }`, {
      id: ids.g,
    }));
    expect(first.stale).toBe(false);
    expect(first.revokedAt).toBeNull();
    expect(first.resource.id).toBe(ids.g);
    const pinned = first.pins.map((p: any) => p.resourceId).sort();
    expect(pinned).toEqual([ids.g, ids.prof, ids.app, ids.p, ids.lc, ids.c1, ids.c2, ids.prov].sort());
    const group = first.pins.find((p: any) => p.resourceId === ids.g);
    expect(group).toMatchObject({ kind: 'DeploymentIntentGroup', version: 1 });
    expect(group.content.clusters).toEqual([
      { provider: 'prov', name: 'c1' },
      { provider: 'prov', name: 'c2' },
    ]);
    expect(group.remoteSnapshots).toEqual([
      {
        path: 'owner',
        entityType: 'Employee',
        key: { employeeId: 'e-4' },
        entity: expect.objectContaining({ employeeId: 'e-4', name: expect.any(String) }),
      },
    ]);
    const { deploymentIntentGroup } = await s.ok(
      `{ deploymentIntentGroup(project: "shop", compositeApp: "web", compositeProfile: "default", name: "g") { approval { id } } }`,
    );
    expect(deploymentIntentGroup.approval).toEqual({ id: first.id });
  });

  it('keeps showing the approved content after edits, and turns stale', async () => {
    await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["b"] }) { version } }`, { id: ids.c1 });
    await s.ok(
      `mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-4" }, op: UPSERT, entity: { employeeId: "e-4", name: "Renamed" } }]) { refreshed } }`,
    );
    const { approval } = await s.ok(
      `query($id: ID!, $c1: ID!) { approval(id: $id) { stale pinned(resourceId: $c1) { version content } pins(first: 20) { resourceId remoteSnapshots(first: 5) { entity } } } }`,
      {
        id: first.id,
        c1: ids.c1,
      },
    );
    expect(approval.stale).toBe(true);
    expect(approval.pinned).toEqual({ version: 1, content: { provider: 'prov', name: 'c1', labels: ['a'] } });
    const snapshot = approval.pins.find((p: any) => p.resourceId === ids.g).remoteSnapshots[0].entity;
    expect(snapshot.name).not.toBe('Renamed');
    const outside = await s.ok(`query($id: ID!, $r: ID!) { approval(id: $id) { pinned(resourceId: $r) { version } } }`, {
      id: first.id,
      r: ids.c3,
    });
    expect(outside.approval.pinned).toBeNull();
  });

  it('approving again replaces the approval in force; revoking ends it', async () => {
    const { approveDeploymentIntentGroup: second } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id stale pinned(resourceId: "${ids.c1}") { version } } }`,
      { id: ids.g },
    );
    expect(second).toMatchObject({ stale: false, pinned: { version: 2 } });
    const { approval: old } = await s.ok(`query($id: ID!) { approval(id: $id) { revokedAt } }`, { id: first.id });
    expect(old.revokedAt).not.toBeNull();
    const { revokeApproval } = await s.ok(`mutation($id: ID!) { revokeApproval(id: $id) { id revokedAt } }`, { id: second.id });
    expect(revokeApproval.revokedAt).not.toBeNull();
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { approval { id } } } }`, {
      id: ids.g,
    });
    expect(resource.approval).toBeNull();
    expect(codes(await s.gql(`mutation($id: ID!) { revokeApproval(id: $id) { id } }`, { id: second.id }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await s.gql(`mutation { revokeApproval(id: "nope") { id } }`))).toEqual(['NOT_FOUND']);
    expect(codes(await s.gql(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids.c1 }))).toEqual([
      'NOT_FOUND',
    ]);
  });

  it('refetches an evicted remote entity before snapshotting it', async () => {
    await s.ok(`mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-4" }, op: UPSERT }]) { evicted } }`);
    const { approveDeploymentIntentGroup: a } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id pinned(resourceId: "${ids.g}") { remoteSnapshots { entity } } } }`,
      { id: ids.g },
    );
    expect(a.pinned.remoteSnapshots).toEqual([{ entity: expect.objectContaining({ employeeId: 'e-4', name: expect.any(String) }) }]);
    await s.ok(`mutation($id: ID!) { revokeApproval(id: $id) { id } }`, { id: a.id });
  });

  it('refuses with REMOTE_SOURCE_UNAVAILABLE when an evicted owner cannot be fetched, and stores nothing', async () => {
    await s.ok(`mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-4" }, op: UPSERT }]) { evicted } }`);
    const approvals = async () => Number((await s.app.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM approval`))[0].n);
    const before = await approvals();
    await execClientSql(s.clientUrl, EMPLOYEE_AWAY);
    try {
      const res = await s.gql(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids.g });
      expect(codes(res)).toEqual(['REMOTE_SOURCE_UNAVAILABLE']);
      expect(await approvals()).toBe(before);
    } finally {
      await execClientSql(s.clientUrl, EMPLOYEE_BACK);
    }
  });

  it('pins the last copy of a deleted owner with its status and fetch time', async () => {
    const owner = async () =>
      (await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { owner { status } } } }`, { id: ids.g })).resource
        .owner;
    expect(await owner()).toEqual({ status: 'FRESH' });
    await execClientSql(s.clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-4'`]);
    await s.ok(
      `mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-4" }, op: DELETE }]) { markedDeleted } }`,
    );
    expect(await owner()).toEqual({ status: 'DELETED' });
    try {
      const { approveDeploymentIntentGroup: a } = await s.ok(
        `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id pinned(resourceId: "${ids.g}") { remoteSnapshots { entity status fetchedAt } } } }`,
        { id: ids.g },
      );
      expect(a.pinned.remoteSnapshots).toEqual([
        {
          entity: expect.objectContaining({ employeeId: 'e-4', name: DEMO_EMPLOYEES[3].name }),
          status: 'DELETED',
          fetchedAt: expect.stringMatching(/Z$/),
        },
      ]);
      await s.ok(`mutation($id: ID!) { revokeApproval(id: $id) { id } }`, { id: a.id });
    } finally {
      await insertDemoClientRows(s.clientUrl, { employees: [DEMO_EMPLOYEES[3]] });
    }
    // the key is back: approving again heals the row and pins it FRESH
    await s.app.db.execute(`UPDATE remote_ref SET fetched_at = '2000-01-01 00:00:00.000000' WHERE deleted = 1`);
    const { approveDeploymentIntentGroup: b } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id pinned(resourceId: "${ids.g}") { remoteSnapshots { status } } } }`,
      { id: ids.g },
    );
    expect(b.pinned.remoteSnapshots).toEqual([{ status: 'FRESH' }]);
    await s.ok(`mutation($id: ID!) { revokeApproval(id: $id) { id } }`, { id: b.id });
  });

  it('agrees with asOf: versions at t1, t1+1, approval at t1+2, t1+3 shows the t1+1 content', async () => {
    const { createDeploymentIntentGroup: g } = await s.ok(
      `mutation { createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "timeline", description: "v1" }) { id } }`,
    );
    await s.ok(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { description: "v2" }) { version } }`, { id: g.id });
    const { approveDeploymentIntentGroup: a } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id approvedAt } }`,
      { id: g.id },
    );
    await s.ok(`mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { description: "v3" }) { version } }`, { id: g.id });
    const { approval, resource } = await s.ok(
      `query($a: ID!, $id: ID!, $at: DateTime!) {
      approval(id: $a) { stale pinned(resourceId: $id) { version content } }
      resource(id: $id) { version asOf(at: $at) { version content } } }`,
      { a: a.id, id: g.id, at: a.approvedAt },
    );
    expect(resource.version).toBe(3);
    expect(approval.pinned.version).toBe(2);
    expect(approval.pinned.content.description).toBe('v2');
    expect(resource.asOf).toEqual(approval.pinned);
    expect(approval.stale).toBe(true);
  });

  it('refuses to approve over a marked resource, storing nothing', async () => {
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: ids.c2 });
    const before = Number((await s.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM approval'))[0].n);
    const res = await s.gql(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids.g });
    expect(codes(res)).toEqual(['REFERENCES_MARKED_RESOURCE']);
    expect(res.errors![0].message).toContain('Cluster prov/c2');
    expect(Number((await s.app.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM approval'))[0].n)).toBe(before);
    await s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: ids.c2 });
  });

  it('pins hold: pruning keeps pinned versions, collection keeps pinned resources, both say so', async () => {
    const { approveDeploymentIntentGroup: a } = await s.ok(
      `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id pinned(resourceId: "${ids.c2}") { version } } }`,
      { id: ids.g },
    );
    for (const l of ['x', 'y'])
      await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["${l}"] }) { version } }`, { id: ids.c2 });
    const { pruneHistory } = await s.ok(`mutation { pruneHistory(keepLast: 1) { versionsDeleted versionsKeptForApprovals } }`);
    expect(pruneHistory.versionsKeptForApprovals).toBeGreaterThanOrEqual(1);
    const { resource } = await s.ok(`query($id: ID!) { resource(id: $id) { history(first: 10) { version } } }`, { id: ids.c2 });
    expect(resource.history.map((h: any) => h.version)).toEqual([3, 1]);
    const { approval } = await s.ok(`query($a: ID!) { approval(id: $a) { pinned(resourceId: "${ids.c2}") { version content } } }`, {
      a: a.id,
    });
    expect(approval.pinned).toEqual({ version: 1, content: { provider: 'prov', name: 'c2' } });

    // dereference and mark: only the approval holds it now
    await s.ok(
      `mutation($id: ID!) { updateDeploymentIntentGroup(id: $id, input: { clusters: [{ provider: "prov", name: "c1" }] }) { version } }`,
      { id: ids.g },
    );
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: ids.c2 });
    const gc1 = (await s.ok(`mutation { collectGarbage { deleted blocked(first: 100) { resource { id } pinnedBy(first: 10) { id } } } }`))
      .collectGarbage;
    expect(gc1.deleted).not.toContain(ids.c2);
    expect(gc1.blocked).toContainEqual({ resource: { id: ids.c2 }, pinnedBy: [{ id: a.id }] });
    const queue = (await s.ok(`{ deletionQueue(first: 50) { resource { id } pinnedBy(first: 10) { id } } }`)).deletionQueue;
    expect(queue).toContainEqual({ resource: { id: ids.c2 }, pinnedBy: [{ id: a.id }] });
    await s.ok(`mutation($a: ID!) { revokeApproval(id: $a) { id } }`, { a: a.id });
    const gc2 = (await s.ok(`mutation { collectGarbage { deleted } }`)).collectGarbage;
    expect(gc2.deleted).toContain(ids.c2);
  });

  it('reads an approval with a constant number of statements, whatever the closure size', async () => {
    const prov = await s.ok(`mutation { createClusterProvider(input: { name: "wide" }) { id } }`);
    expect(prov).toBeTruthy();
    const names = Array.from({ length: 60 }, (_, i) => `w${i}`);
    await s.ok(`mutation { ${names.map((n) => `${n}: createCluster(input: { provider: "wide", name: "${n}" }) { id }`).join('\n')} }`);
    const approveWith = async (name: string, clusters: string[]) => {
      const { createDeploymentIntentGroup: g } = await s.ok(
        `mutation($c: [ClusterKey!]) { createDeploymentIntentGroup(input: { project: "shop", compositeApp: "web", compositeProfile: "default", name: "${name}", clusters: $c }) { id } }`,
        {
          c: clusters.map((n) => ({ provider: 'wide', name: n })),
        },
      );
      return (await s.ok(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: g.id })).approveDeploymentIntentGroup
        .id;
    };
    const small = await approveWith('small', names.slice(0, 3));
    const big = await approveWith('big', names);
    const read = `query($id: ID!) { approval(id: $id) { id stale approvedAt resource { ... on DeploymentIntentGroup { name } } pins(first: 100) { resourceId version content remoteSnapshots(first: 5) { entity } } } }`;
    const a = await s.countedGql(read, { id: small });
    const b = await s.countedGql(read, { id: big });
    expect(a.res.errors).toBeUndefined();
    expect((b.res.data as any).approval.pins.length).toBe(60 + 5); // clusters, their provider, the group, profile, app, project
    expect(b.statements.length).toBe(a.statements.length);
  });

  it('reads everything it pins under locks, inside the approval transaction', async () => {
    const { res, statements } = await s.countedGql(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids.g });
    expect(codes(res)).toEqual([]);
    const begin = statements.findIndex((q) => /^(START TRANSACTION|BEGIN)/i.test(q.trim()));
    const end = statements.findIndex((q, i) => i > begin && /^COMMIT/i.test(q.trim()));
    const reads = statements
      .slice(begin + 1, end)
      .filter((q) => /^SELECT/i.test(q.trim()) && /\bFROM (resource|resource_ref|remote_link)\b/.test(q));
    expect(reads.length).toBeGreaterThan(3);
    // On SQLite the transaction holds the whole file; on MariaDB every read of the closure takes row locks,
    // so it sees (and holds) the latest committed rows, not the transaction's first snapshot.
    if (store === 'mariadb') expect(reads.filter((q) => !/(LOCK IN SHARE MODE|FOR UPDATE)\s*$/.test(q.trim()))).toEqual([]);
  });
});

describe('two replicas approving and editing the same group at once (mariadb)', () => {
  let s: TestServer;
  let other: { engine: Engine; db: Db };
  beforeAll(async () => {
    s = await startTestServer('mariadb');
    const db = await Db.open({ url: (s.app.db.dataSource.options as { url: string }).url });
    other = {
      db,
      engine: new Engine(db, loadRelationshipSchema(), s.app.engine.remote.sources, { batching: true, maintenance: DEFAULT_MAINTENANCE }),
    };
  });
  afterAll(async () => {
    await other?.db.close();
    await s?.close();
  });

  it('every approval pins versions that were all current at its approval time', async () => {
    const e1 = s.app.engine;
    const e2 = other.engine;
    await e1.create('ClusterProvider', { name: 'p' });
    for (const n of ['a', 'b', 'c']) await e1.create('Cluster', { provider: 'p', name: n });
    await e1.create('Project', { name: 'proj' });
    await e1.create('CompositeApp', { project: 'proj', name: 'app' });
    await e1.create('CompositeProfile', { project: 'proj', compositeApp: 'app', name: 'prof' });
    const g = await e1.create('DeploymentIntentGroup', {
      project: 'proj',
      compositeApp: 'app',
      compositeProfile: 'prof',
      name: 'g',
      clusters: [
        { provider: 'p', name: 'a' },
        { provider: 'p', name: 'b' },
        { provider: 'p', name: 'c' },
      ],
    });
    const clusters = await Promise.all(['a', 'b', 'c'].map((n) => e1.findByIdentity('Cluster', { provider: 'p', name: n })));
    const approvals: string[] = [];
    const approver = (async () => {
      for (let i = 0; i < 15; i++) approvals.push((await e1.approve('DeploymentIntentGroup', g.id)).id);
    })();
    const editor = (async () => {
      for (let i = 0; i < 15; i++) {
        const c = clusters[i % 3]!;
        await e2.update('Cluster', c.id, { labels: [`l${i}`] });
        await e2.update('DeploymentIntentGroup', g.id, { description: `d${i}` });
      }
    })();
    await Promise.all([approver, editor]);

    const inForce = await s.app.db.query<{ id: string }>('SELECT id FROM approval WHERE resource_id = ? AND revoked_at IS NULL', [g.id]);
    expect(inForce).toEqual([{ id: approvals[approvals.length - 1] }]);
    for (const id of approvals) {
      const [a] = await s.app.db.query<{ approved_at: string }>('SELECT approved_at FROM approval WHERE id = ?', [id]);
      const pins = await s.app.db.query<{ resource_id: string; version: number; content: string }>(
        'SELECT resource_id, version, content FROM approval_pin WHERE approval_id = ?',
        [id],
      );
      expect(pins.length).toBe(8);
      for (const p of pins) {
        const [h] = await s.app.db.query<{ version: number; content: string }>(
          'SELECT version, content FROM resource_history WHERE resource_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)',
          [p.resource_id, a.approved_at, a.approved_at],
        );
        expect({ id, resource: p.resource_id, version: Number(h.version) }).toEqual({
          id,
          resource: p.resource_id,
          version: Number(p.version),
        });
        expect(JSON.parse(h.content)).toEqual(JSON.parse(p.content));
      }
    }
  });
});
