import type { GatewayExecutor, GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import {
  execute,
  GraphQLError,
  Kind,
  parse,
  print,
  type DirectiveNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GraphQLContext } from '../../resolvers/context.js';
import type { Engine } from '../../src/engine/engine.js';
import { runInScope } from '../../src/observability/request-scope.js';
import type { AuthState } from '../../src/server/auth/principal.js';
import { formatError } from '../../src/server/errors.js';
import { settledErrors } from '../../src/server/execution/error-order.js';
import { createClientTables, insertDemoClientRows } from '../../src/remote/client-demo.js';
import { buildSchema } from '../../src/server/schema.js';
import type { GeneratedOperation, ValuePools } from './operation-generator.js';
import { startTestServer, type TestServer } from './server.js';
import { tempMysql, type OperationalKind } from './stores.js';
import { proxied } from './tcp-proxy.js';

/**
 * Runs one operation on graphql-js and on another executor, in process, each with a context of its
 * own as a request would have, and words what the caller would see of each: the data as JSON (key
 * order included) and every error's message, path and contract code, in order.
 */

export interface Answer {
  data: string;
  errors: { message: string; path?: readonly (string | number)[]; code: unknown }[];
}

function contextFor(engine: Engine): GraphQLContext {
  const actor = { subject: null, projects: null };
  return { engine, actor, auth: { mode: 'none' } as AuthState, loaders: engine.loaders(actor) };
}

/** What a caller sees of a result: Apollo's formatting with this subgraph's error classifier. */
export function answerOf(result: ExecutionResult): Answer {
  return {
    data: JSON.stringify(result.data),
    errors: (result.errors ?? []).map((e) => {
      const f = formatError(e instanceof GraphQLError ? e.toJSON() : { message: String(e) }, e);
      return { message: f.message, path: f.path, code: f.extensions?.code };
    }),
  };
}

function inScope<T>(fn: () => Promise<T>): Promise<T> {
  return runInScope({ deadline: Date.now() + 30_000, operation: 'differential', statements: 0, outcome: 'ok' }, fn);
}

/**
 * graphql-js's answer with its errors settled as the server settles them: in the order of the
 * response, and only the fatal ones when data is null (src/server/execution/error-order.ts).
 */
export function interpreted(schema: GraphQLSchema, engine: Engine, op: GeneratedOperation): Promise<ExecutionResult> {
  const document = parse(op.query);
  return inScope(async () => {
    const result = await execute({ schema, document, contextValue: contextFor(engine), variableValues: op.variables });
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    return settledErrors(result, schema, document, operation);
  });
}

/** Through a gateway executor, as Apollo Server calls it after parsing and validating. */
export function throughExecutor(executor: GatewayExecutor, engine: Engine, op: GeneratedOperation): Promise<ExecutionResult> {
  const document = parse(op.query);
  const rc = {
    document,
    source: op.query,
    queryHash: op.query,
    operationName: null,
    operation: document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode,
    request: { query: op.query, variables: op.variables },
    context: contextFor(engine),
  } as unknown as GatewayGraphQLRequestContext;
  return inScope(async () => (await executor(rc)) as ExecutionResult);
}

export interface Difference {
  index: number;
  op: GeneratedOperation;
  interpreted: Answer;
  other: Answer;
}

/**
 * Two root fields that both fail and null `data` leave graphql-js with the error of whichever
 * failed first, which is the stores' timing: the other is never reported. Two answers with null
 * data agree when each error of either is what graphql-js reports for the root field it sits under
 * when that field runs alone: both reported a real, fatal failure of the same operation.
 */
async function sameFailure(
  a: Answer,
  b: Answer,
  op: GeneratedOperation,
  interpret: (op: GeneratedOperation) => Promise<ExecutionResult>,
): Promise<boolean> {
  if (a.data !== 'null' || b.data !== 'null' || !a.errors.length || !b.errors.length) return false;
  for (const root of new Set([...a.errors, ...b.errors].map((e) => e.path?.[0]))) {
    if (typeof root !== 'string') return false;
    const alone = answerOf(await interpret({ query: print(onlyRootField(parse(op.query), root)), variables: op.variables }));
    if (alone.data !== 'null') return false;
    for (const answer of [a, b]) {
      const under = answer.errors.filter((e) => e.path?.[0] === root);
      if (under.length && JSON.stringify(alone.errors) !== JSON.stringify(under)) return false;
    }
  }
  return true;
}

/**
 * The document with every root-level field but the one answering `key` skipped, through fragments
 * on Query. Skipped with `@skip(if: true)` rather than removed: a fragment whose every field is
 * removed would print without a selection set, which does not parse.
 */
export function onlyRootField(document: DocumentNode, key: string): DocumentNode {
  const op = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const root = 'Query'; // generated operations are queries: mutations are not re-runnable
  const skip: DirectiveNode = {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: 'skip' },
    arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'if' }, value: { kind: Kind.BOOLEAN, value: true } }],
  };
  const keep = (set: SelectionSetNode): SelectionSetNode => ({
    ...set,
    selections: set.selections.map((sel) => {
      if (sel.kind === Kind.FIELD) {
        if ((sel.alias ?? sel.name).value === key) return sel;
        return { ...sel, directives: [...(sel.directives ?? []).filter((d) => d.name.value !== 'skip'), skip] };
      }
      if (sel.kind === Kind.INLINE_FRAGMENT && (!sel.typeCondition || sel.typeCondition.name.value === root)) {
        return { ...sel, selectionSet: keep(sel.selectionSet) };
      }
      return sel;
    }),
  });
  return {
    ...document,
    definitions: document.definitions.map((d) =>
      d === op
        ? { ...op, selectionSet: keep(op.selectionSet) }
        : d.kind === Kind.FRAGMENT_DEFINITION && d.typeCondition.name.value === root
          ? { ...d, selectionSet: keep(d.selectionSet) }
          : d,
    ),
  };
}

/** Runs each operation once to warm caches (remote fetches write the cache), then on both paths. */
export async function differences(
  ops: readonly GeneratedOperation[],
  first: number,
  run: { interpreted: (op: GeneratedOperation) => Promise<ExecutionResult>; other: (op: GeneratedOperation) => Promise<ExecutionResult> },
): Promise<Difference[]> {
  const out: Difference[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    await run.interpreted(op);
    const a = answerOf(await run.interpreted(op));
    const b = answerOf(await run.other(op));
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (await sameFailure(a, b, op, run.interpreted)) continue;
    out.push({ index: first + i, op, interpreted: a, other: b });
  }
  return out;
}

/** The demo data with an approval, a marked group and remote references of every state. */
export interface DifferentialServer {
  s: TestServer;
  schema: GraphQLSchema;
  pools: ValuePools;
  /** The client store becomes unreachable, and two employees leave the cache: their references are MISSING. */
  killClientStore(): Promise<void>;
  close(): Promise<void>;
}

export async function startDifferentialServer(kind: OperationalKind): Promise<DifferentialServer> {
  const client = await tempMysql('client');
  await createClientTables(client.url);
  await insertDemoClientRows(client.url);
  const { proxy, url } = await proxied(client.url);
  const s = await startTestServer(kind, {
    seedDemo: true,
    env: {
      CLIENT_DATABASE_URL: url,
      // Answers that depend on the clock would differ between the two runs of one operation:
      // no revalidation of cached entities, and a breaker that stays open once open (the
      // remote errors' wording says whether it is).
      REVALIDATE_AFTER_SECONDS: '86400',
      REMOTE_BREAKER_HALF_OPEN_MS: '86400000',
    },
  });
  const ids = await s.ok<{
    projects: { id: string; compositeApps: { profiles: { deploymentIntentGroups: { id: string; name: string }[] }[] }[] }[];
  }>(`{ projects(first: 10) { id compositeApps(first: 10) { profiles(first: 10) { deploymentIntentGroups(first: 10) { id name } } } } }`);
  const groups = ids.projects.flatMap((p) => p.compositeApps.flatMap((a) => a.profiles.flatMap((f) => f.deploymentIntentGroups)));
  const group = (name: string) => groups.find((g) => g.name === name)!.id;
  const approval = await s.ok<{ approveDeploymentIntentGroup: { id: string } }>(
    `mutation($id: ID!) { approveDeploymentIntentGroup(id: $id) { id } }`,
    { id: group('prod-east') },
  );
  await s.ok(`mutation($id: ID!) { markForDeletion(id: $id) { resource { id } } }`, { id: group('canary-east') });
  const everything = await s.ok<{ a: { id: string }[]; b: { id: string }[]; c: { owner: { id: string } | null }[] }>(`{
    a: projects(first: 10) { id logicalClusters(first: 10) { id } compositeApps(first: 10) { id profiles(first: 10) { id } } }
    b: projects(first: 10) { id }
    c: deploymentIntentGroups(project: "retail") { id owner { id } }
  }`);
  const resourceIds = [...JSON.stringify(everything.a).matchAll(/"id":"([^"]+)"/g)].map((m) => m[1]).concat(groups.map((g) => g.id));
  const pools: ValuePools = {
    resourceIds: [...new Set(resourceIds)],
    projectNames: ['retail', 'logistics'],
    providerNames: ['edge-east', 'edge-west'],
    groups: [
      ['retail', 'storefront', 'default', 'prod-east'],
      ['retail', 'storefront', 'canary', 'canary-east'],
      ['logistics', 'tracker', 'default', 'tracker-prod'],
    ],
    approvalIds: [approval.approveDeploymentIntentGroup.id],
    remoteRefIds: everything.c.flatMap((g) => (g.owner ? [g.owner.id] : [])),
    representations: [
      { __typename: 'Project', id: ids.projects[0].id },
      { __typename: 'Project', name: 'retail' },
      { __typename: 'Project', kind: 'Project', naturalKey: 'logistics' },
      { __typename: 'Project', id: 'zzz' },
      { __typename: 'CompositeApp', project: { name: 'retail' }, name: 'storefront' },
      { __typename: 'CompositeProfile', compositeApp: { project: { name: 'retail' }, name: 'storefront' }, name: 'canary' },
      {
        __typename: 'DeploymentIntentGroup',
        compositeProfile: { compositeApp: { project: { name: 'retail' }, name: 'storefront' }, name: 'default' },
        name: 'prod-east',
      },
      { __typename: 'DeploymentIntentGroup', id: group('tracker-prod') },
      { __typename: 'LogicalCluster', project: { name: 'retail' }, name: 'lc-east' },
      { __typename: 'Cluster', provider: { name: 'edge-west' }, name: 'west-1' },
      { __typename: 'ClusterProvider', name: 'edge-east' },
      { __typename: 'Resource', id: group('payments-prod') },
      { __typename: 'Resource', kind: 'CompositeApp', naturalKey: 'logistics/tracker' },
      { __typename: 'Resource', kind: 'Nope', naturalKey: 'x' },
      { __typename: 'Employee', employeeId: 'e-1' },
      { __typename: 'Employee', employeeId: 'e-4' },
      { __typename: 'Employee', employeeId: 'e-12' },
      { __typename: 'Employee', employeeId: 'e-999' },
      { __typename: 'Employee' },
      { __typename: 'BankAccount', number: 'ACC-1001', owner: 'e-2' },
      { __typename: 'BankAccount', number: 'ACC-2001', owner: 'e-3' },
      { __typename: 'BankAccount', number: 'ACC-9999', owner: 'e-1' },
    ],
  };
  return {
    s,
    schema: buildSchema(),
    pools,
    async killClientStore() {
      await proxy.cut();
      // Upserts without an entity evict the cached copies: reads must now go to the dead store.
      await s.ok(`mutation { applyRemoteChanges(events: [
        { entityType: "Employee", key: { employeeId: "e-4" }, op: UPSERT },
        { entityType: "Employee", key: { employeeId: "e-1" }, op: UPSERT },
        { entityType: "BankAccount", key: { number: "ACC-2001", owner: "e-3" }, op: UPSERT }
      ]) { evicted } }`);
      // Opens the breaker now, so that every later remote failure is worded alike.
      for (let i = 0; i < 10; i++)
        await s.gql(`{ _entities(representations: [{ __typename: "Employee", employeeId: "e-999" }]) { __typename } }`);
      const open = await s.gql(`{ _entities(representations: [{ __typename: "Employee", employeeId: "e-999" }]) { __typename } }`);
      if (!open.errors?.[0]?.message.includes('circuit open'))
        throw new Error(`the client store's breaker is not open: ${JSON.stringify(open.errors)}`);
    },
    async close() {
      await proxy.open().catch(() => undefined); // lets the server close its pool cleanly
      try {
        await s.close();
      } finally {
        await proxy.cut();
        await client.drop();
      }
    },
  };
}
