import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientTables, insertDemoClientRows } from '../src/remote/client-demo.js';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempMysql } from './support/stores.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';
import { until } from './support/poll.js';

/**
 * Issue 17, requirement 6, with a write landing in the middle of a read operation: a resource
 * reached twice in one operation answers the same, whichever path reached it first, also when
 * another request writes it between the operation's statements. The write is placed there
 * deterministically: the operation waits for the client store (held, its bytes delivered later)
 * after its list was read and before its later paths read the same resources again.
 */

describe.each(OPERATIONAL_KINDS)('a write between the statements of one read operation (%s)', (store) => {
  let s: TestServer;
  let proxy: TcpProxy;
  let dropClient: () => Promise<void>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const client = await tempMysql('client');
    dropClient = () => client.drop();
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const link = await proxied(client.url);
    proxy = link.proxy;
    s = await startTestServer(store, { seedDemo: true, env: { CLIENT_DATABASE_URL: link.url } });
    const d = await s.ok(`{ deploymentIntentGroups(project: "retail", first: 10) { id name } }`);
    for (const g of d.deploymentIntentGroups) ids[g.name] = g.id;
  }, 120_000);
  afterAll(async () => {
    proxy?.release();
    await s?.close();
    await proxy?.cut();
    await dropClient?.();
  });

  /**
   * Runs `query` while the client store is held (an evicted owner makes its first statement wait
   * for it), lets `write` run meanwhile, then lets the query go on.
   */
  async function withWriteInBetween(query: string, write: () => Promise<unknown>, variables?: Record<string, unknown>, evicted = 'e-2') {
    await s.ok(
      `mutation($e: ID!) { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: $e }, op: UPSERT }]) { evicted } }`,
      { e: evicted },
    );
    proxy.hold();
    const answer = s.gql(query, variables);
    try {
      await until('the operation waits for the client store', async () => proxy.waitingRequests > 0);
      await write();
    } finally {
      proxy.release();
    }
    return answer;
  }

  let round = 0;
  const update = (name: string) => () =>
    s.ok(`mutation($id: ID!, $d: String) { updateDeploymentIntentGroup(id: $id, input: { description: $d }) { version } }`, {
      id: ids[name],
      d: `round ${++round}`,
    });

  /** Every object with an `id` in the answer, by id: each must answer the same on every path. */
  function byId(data: unknown): Map<string, Record<string, unknown>[]> {
    const out = new Map<string, Record<string, unknown>[]>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.id === 'string') out.set(o.id, [...(out.get(o.id) ?? []), o]);
        Object.values(o).forEach(walk);
      }
    };
    walk(data);
    return out;
  }
  const scalars = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v === null || typeof v !== 'object'));
  const expectOneAnswerPerResource = (data: unknown, reachedTwice = ids['prod-east']) => {
    const seen = byId(data);
    expect(seen.get(reachedTwice)!.length).toBeGreaterThan(1);
    for (const [, answers] of seen) {
      // Fields two answers both have must agree.
      for (const [i, one] of answers.entries()) {
        for (const other of answers.slice(i + 1)) {
          const a = scalars(one);
          const b = scalars(other);
          const common = Object.keys(a).filter((k) => k in b);
          expect(Object.fromEntries(common.map((k) => [k, b[k]]))).toEqual(Object.fromEntries(common.map((k) => [k, a[k]])));
        }
      }
    }
  };

  it("a list that shows versions and owners, and the same resources through the owners' referrers", async () => {
    const res = await withWriteInBetween(
      `{ deploymentIntentGroups(project: "retail", first: 10) { id name version updatedAt owner { entity { referencedBy(first: 10) { from { id ... on DeploymentIntentGroup { version updatedAt description } } } } } } }`,
      update('prod-east'),
    );
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
  });

  it('two lists of the same resources, one with the owners, one with versions', async () => {
    const res = await withWriteInBetween(
      `{ a: deploymentIntentGroups(project: "retail", first: 10) { id owner { id } }
         b: deploymentIntentGroups(project: "retail", first: 10) { id version owner { entity { referencedBy(first: 10) { from { id version } } } } } }`,
      update('prod-east'),
    );
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
  });

  it('a list that shows versions, and the same resources through a children list and their documents after the owners', async () => {
    const res = await withWriteInBetween(
      `{ deploymentIntentGroups(project: "retail", first: 10) { id version updatedAt
           owner { entity { referencedBy(first: 10) { from { ... on DeploymentIntentGroup { compositeProfile { deploymentIntentGroups(first: 10) { id version updatedAt description } } } } } } } } }`,
      update('prod-east'),
    );
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
  });

  it('a list that reads the documents is answered the same (held records)', async () => {
    const res = await withWriteInBetween(
      `{ deploymentIntentGroups(project: "retail", first: 10) { id version description owner { entity { referencedBy(first: 10) { from { id version ... on DeploymentIntentGroup { description } } } } } } }`,
      update('prod-east'),
    );
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
  });

  it("a resource's history and its version at an instant agree with the version it answers", async () => {
    const res = await withWriteInBetween(
      `query($at: DateTime!) { deploymentIntentGroups(project: "retail", first: 10) { id version
         owner { entity { referencedBy(first: 10) { from { id version history(first: 2) { version validTo } asOf(at: $at) { version validTo } } } } } } }`,
      update('prod-east'),
      { at: new Date(Date.now() + 3_600_000).toISOString() },
    );
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
    const from = res.data!.deploymentIntentGroups.flatMap((g: any) => g.owner.entity.referencedBy.map((r: any) => r.from));
    expect(from.length).toBeGreaterThan(0);
    for (const f of from) {
      // The version it answers is its current one, in its history and at an instant after it.
      expect(f.history[0]).toEqual({ version: f.version, validTo: null });
      expect(f.asOf).toEqual({ version: f.version, validTo: null });
    }
  });

  it("the deletion queue's resources, and the same resources after their owners", async () => {
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { resource { id } } }`, { id: ids['canary-east'] });
    const res = await withWriteInBetween(
      `{ deletionQueue(first: 10) { resource { id status markedForDeletionAt ... on DeploymentIntentGroup { owner { entity { referencedBy(first: 10) { from { id status markedForDeletionAt } } } } } } } }`,
      () => s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: ids['canary-east'] }),
      undefined,
      'e-4', // canary-east's owner: the queue's resource waits for it
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.deletionQueue.map((c: any) => c.resource.id)).toContain(ids['canary-east']);
    expectOneAnswerPerResource(res.data, ids['canary-east']);
  });

  it('an approval by id, and the approval in force of its group after the owners', async () => {
    const approved = await s.ok(`mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`, { id: ids['prod-east'] });
    const approvalId = approved.approveDeploymentIntentGroup.id;
    const res = await withWriteInBetween(
      `query($a: ID!) { approval(id: $a) { id revokedAt resource { id } }
         deploymentIntentGroups(project: "retail", first: 10) { id owner { id } approval { id revokedAt } } }`,
      () => s.ok(`mutation($a: ID!) { revokeApproval(id: $a) { id } }`, { a: approvalId }),
      { a: approvalId },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.approval).toMatchObject({ id: approvalId, revokedAt: null });
    // The approval answered in force is the group's approval in force in the same answer.
    expect(res.data!.deploymentIntentGroups.find((g: any) => g.id === ids['prod-east']).approval).toEqual({
      id: approvalId,
      revokedAt: null,
    });
  });

  it("a remote entity through `_entities`, and the same entity as a resource's owner read later", async () => {
    const res = await withWriteInBetween(
      `{ _entities(representations: [{ __typename: "Employee", employeeId: "e-1" }, { __typename: "Employee", employeeId: "e-2" }]) {
           ... on Employee { employeeId name referencedBy(first: 10) { from { id ... on DeploymentIntentGroup { owner { entity { employeeId name } } } } } } } }`,
      () =>
        s.ok(
          `mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-1" }, op: UPSERT, entity: { name: "Ada Renamed" } }]) { refreshed } }`,
        ),
    );
    expect(res.errors).toBeUndefined();
    const [e1] = res.data!._entities;
    const owners = e1.referencedBy.map((r: any) => r.from.owner.entity);
    expect(owners.length).toBeGreaterThan(0);
    for (const o of owners) expect(o).toEqual({ employeeId: 'e-1', name: e1.name });
    await s.ok(`mutation { applyRemoteChanges(events: [{ entityType: "Employee", key: { employeeId: "e-1" }, op: UPSERT }]) { evicted } }`);
  });

  it('a list that shows marks, and the same resources by id after the owners', async () => {
    const res = await withWriteInBetween(
      `{ deploymentIntentGroups(project: "retail", first: 10) { id status markedForDeletionAt owner { entity { referencedBy(first: 10) { from { id status markedForDeletionAt } } } } } }`,
      async () => {
        await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { resource { id } } }`, { id: ids['prod-east'] });
      },
    );
    await s.ok(`mutation($id: ID!) { cancelDeletion(id: $id) { id } }`, { id: ids['prod-east'] });
    expect(res.errors).toBeUndefined();
    expectOneAnswerPerResource(res.data);
  });
});
