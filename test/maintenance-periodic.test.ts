import { until } from './support/poll.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execClientSql } from '../src/remote/client-demo.js';
import { OPERATIONAL_KINDS } from './support/stores.js';
import { startTestServer, type TestServer } from './support/server.js';

describe.each(OPERATIONAL_KINDS)('background maintenance on %s', (store) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(store, {
      env: {
        GC_INTERVAL_SECONDS: '1',
        RETENTION_SECONDS: '0',
        HISTORY_KEEP_LAST: '2',
        REVALIDATE_AFTER_SECONDS: '0',
        REVALIDATE_INTERVAL_SECONDS: '1',
        LEASE_TTL_SECONDS: '5',
      },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('collects marked resources and prunes history on GC_INTERVAL_SECONDS, without being asked', async () => {
    const r = await s.ok(`mutation {
      p: createClusterProvider(input: { name: "bg" }) { id }
      gone: createCluster(input: { provider: "bg", name: "gone" }) { id }
      kept: createCluster(input: { provider: "bg", name: "kept" }) { id }
    }`);
    for (const l of ['a', 'b', 'c', 'd'])
      await s.ok(`mutation($id: ID!) { updateCluster(id: $id, input: { labels: ["${l}"] }) { version } }`, { id: r.kept.id });
    await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { marked { id } } }`, { id: r.gone.id });
    const gone = await until('the background collection', async () => {
      const d = await s.ok(`query($id: ID!) { resource(id: $id) { id } }`, { id: r.gone.id });
      return d.resource === null && d;
    });
    expect(gone.resource).toBeNull();
    const history = await until('the background pruning', async () => {
      const d = await s.ok(`query($id: ID!) { resource(id: $id) { history { version } } }`, { id: r.kept.id });
      return d.resource.history.length === 2 && d;
    });
    expect(history.resource.history).toEqual([{ version: 5 }, { version: 4 }]);
  });

  it('revalidates cached remote entities changed behind its back', async () => {
    await s.ok(`mutation {
      p: createProject(input: { name: "reval", billingAccount: { number: "ACC-2002", owner: "e-5" } }) { id }
    }`);
    await execClientSql(s.clientUrl, [
      `UPDATE bank_account SET bank = 'Changed Behind Its Back' WHERE number = 'ACC-2002' AND owner = 'e-5'`,
    ]);
    const project = await until('the sweep to refresh the account', async () => {
      const d = await s.ok(`{ project(name: "reval") { billingAccount { status entity { bank } } } }`);
      return d.project.billingAccount.entity.bank === 'Changed Behind Its Back' && d;
    });
    expect(project.project.billingAccount).toEqual({ status: 'FRESH', entity: { bank: 'Changed Behind Its Back' } });
    await execClientSql(s.clientUrl, [`DELETE FROM bank_account WHERE number = 'ACC-2002' AND owner = 'e-5'`]);
    const deleted = await until('the sweep to flag the account deleted', async () => {
      const d = await s.ok(`{ project(name: "reval") { billingAccount { status entity { bank } } } }`);
      return d.project.billingAccount.status === 'DELETED' && d;
    });
    expect(deleted.project.billingAccount).toEqual({ status: 'DELETED', entity: { bank: 'Changed Behind Its Back' } });
  });
});
