import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientTables, execClientSql, insertDemoClientRows } from '../src/remote/client-demo.js';
import { startTestServer, type TestServer } from './support/server.js';
import { OPERATIONAL_KINDS, tempMysql } from './support/stores.js';
import { proxied, type TcpProxy } from './support/tcp-proxy.js';
import { until } from './support/poll.js';

/**
 * Issue 17, requirement 7 (finding 15's class): a change event for a key that a save is linking
 * for the first time. The save read the entity from its store before its transaction; an event
 * that arrives in between finds no cache row (nobody referred to the key yet) and is ignored. The
 * save must not then keep what it read before the change as the cached state: with the sweep off
 * nothing would ever set it right. The event is placed there deterministically: the store's
 * answer to the save's read is held until the change and its event are in.
 */

describe.each(OPERATIONAL_KINDS)('a change event while a save links a new key (%s)', (store) => {
  let s: TestServer;
  let proxy: TcpProxy;
  let clientUrl: string;
  let dropClient: () => Promise<void>;
  let group: string;

  beforeAll(async () => {
    const client = await tempMysql('client');
    clientUrl = client.url;
    dropClient = () => client.drop();
    await createClientTables(client.url);
    await insertDemoClientRows(client.url);
    const link = await proxied(client.url);
    proxy = link.proxy;
    // No sweep runs (REVALIDATE_INTERVAL_SECONDS=0 in test servers): only the save and the event can set the cache right.
    s = await startTestServer(store, { seedDemo: true, env: { CLIENT_DATABASE_URL: link.url } });
    group = (
      await s.ok(
        `{ deploymentIntentGroup(project: "retail", compositeApp: "storefront", compositeProfile: "default", name: "prod-west") { id } }`,
      )
    ).deploymentIntentGroup.id;
  }, 120_000);
  afterAll(async () => {
    proxy?.release();
    await s?.close();
    await proxy?.cut();
    await dropClient?.();
  });

  const OWNER = `owner { key status entity { name } }`;
  const APPLY = `mutation($events: [RemoteChangeInput!]!) { applyRemoteChanges(events: $events) { refreshed markedDeleted ignored } }`;

  /** Saves `employeeId` as the group's owner; `meanwhile` runs after the store answered the save's read, before the save goes on. */
  async function saveWith(employeeId: string, answered: string, meanwhile: () => Promise<void>) {
    await s.ok(`{ employees(first: 1) { employeeId } }`); // a pooled connection to the store
    proxy.hold({ repliesOnly: true });
    const saved = s.gql(
      `mutation($id: ID!, $e: ID!) { updateDeploymentIntentGroup(id: $id, input: { owner: { employeeId: $e } }) { ${OWNER} } }`,
      { id: group, e: employeeId },
    );
    try {
      await until("the store answered the save's read", async () => proxy.heldReplyText.includes(answered));
      await meanwhile();
    } finally {
      proxy.release();
    }
    const res = await saved;
    expect(res.errors).toBeUndefined();
    return res.data!.updateDeploymentIntentGroup.owner;
  }
  const ownerNow = async () =>
    (await s.ok(`query($id: ID!) { resource(id: $id) { ... on DeploymentIntentGroup { ${OWNER} } } }`, { id: group })).resource.owner;

  it('an update of the entity: the cache ends with the updated entity, not the one read before it', async () => {
    const saved = await saveWith('e-9', 'Dennis Ritchie', async () => {
      await execClientSql(clientUrl, [`UPDATE employee SET name = 'Dennis Renamed' WHERE employee_id = 'e-9'`]);
      const applied = await s.ok(APPLY, {
        events: [
          {
            entityType: 'Employee',
            key: { employeeId: 'e-9' },
            op: 'UPSERT',
            entity: { employeeId: 'e-9', name: 'Dennis Renamed', email: null, department: null },
          },
        ],
      });
      expect(applied.applyRemoteChanges.ignored).toBe(1); // nobody refers to it yet
    });
    expect(saved).toMatchObject({ status: 'FRESH', entity: { name: 'Dennis Renamed' } });
    expect(await ownerNow()).toMatchObject({ status: 'FRESH', entity: { name: 'Dennis Renamed' } });
  });

  it('a delete of the entity: the cache ends with it deleted, not with the copy read before', async () => {
    try {
      const saved = await saveWith('e-10', 'Radia Perlman', async () => {
        await execClientSql(clientUrl, [`DELETE FROM employee WHERE employee_id = 'e-10'`]);
        const applied = await s.ok(APPLY, { events: [{ entityType: 'Employee', key: { employeeId: 'e-10' }, op: 'DELETE' }] });
        expect(applied.applyRemoteChanges.ignored).toBe(1);
      });
      expect(saved).toMatchObject({ status: 'DELETED' });
      expect(await ownerNow()).toMatchObject({ status: 'DELETED' });
    } finally {
      await execClientSql(clientUrl, [
        `INSERT INTO employee (employee_id, name, department) VALUES ('e-10', 'Radia Perlman', 'Networking')`,
      ]);
    }
  });
});
