import { parse, TypeInfo, visit, visitWithTypeInfo, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilable } from '../src/server/execution/compilable.js';
import { compiledExecution } from '../src/server/execution/compiled-executor.js';
import {
  answerOf,
  differences,
  interpreted,
  startDifferentialServer,
  throughExecutor,
  type DifferentialServer,
  type Difference,
} from './support/differential.js';
import { generateOperations, type GeneratedOperation } from './support/operation-generator.js';
import { OPERATIONAL_KINDS } from './support/stores.js';

/**
 * Issue 17, requirement 5: the executor Apollo uses (src/server/execution/compiled-executor.ts,
 * every operation compiled from its first run) answers generated operations exactly as graphql-js
 * does: the data as JSON (key order included), and every error's message, path and code, in order.
 * Operations come from the schema (test/support/operation-generator.ts) with a fixed seed; half run
 * while the client store answers, half after it died with remote entities evicted from the cache,
 * so remote references are MISSING and `_entities` items fail.
 */

const SEED = 17;
const PER_PHASE = 1_000;

/** The schema's `Type.field`s that the operations select. */
function fieldsSelected(schema: GraphQLSchema, ops: readonly GeneratedOperation[]): Set<string> {
  const seen = new Set<string>();
  for (const op of ops) {
    const info = new TypeInfo(schema);
    visit(
      parse(op.query),
      visitWithTypeInfo(info, {
        Field() {
          const parent = info.getParentType();
          const field = info.getFieldDef();
          if (parent && field) seen.add(`${parent.name}.${field.name}`);
        },
      }),
    );
  }
  return seen;
}

function report(diffs: readonly Difference[]): string {
  return diffs
    .slice(0, 3)
    .map(
      (d) =>
        `#${d.index} ${d.op.query}\nvariables ${JSON.stringify(d.op.variables)}\ngraphql-js ${JSON.stringify(d.interpreted)}\nexecutor   ${JSON.stringify(d.other)}`,
    )
    .join('\n\n');
}

describe.each(OPERATIONAL_KINDS)('compiled against interpreted execution of generated operations (%s)', (store) => {
  let d: DifferentialServer;
  let ops: GeneratedOperation[];
  let run: Parameters<typeof differences>[2];
  beforeAll(async () => {
    d = await startDifferentialServer(store);
    ops = generateOperations(d.schema, d.pools, SEED, 2 * PER_PHASE);
    const { executor } = compiledExecution(d.schema, { compileAfterRuns: 0 });
    const engine = d.s.app.engine;
    run = { interpreted: (op) => interpreted(d.schema, engine, op), other: (op) => throughExecutor(executor, engine, op) };
  }, 120_000);
  afterAll(async () => {
    await d?.close();
  });

  it('generates operations that reach every root field and entity type, with the shapes that matter', () => {
    const selected = fieldsSelected(d.schema, ops);
    const rootFields = Object.keys(d.schema.getQueryType()!.getFields()).map((f) => `Query.${f}`);
    expect(rootFields.filter((f) => !selected.has(f))).toEqual([]);
    const objectFields = Object.values(d.schema.getTypeMap())
      .filter(
        (t) =>
          !t.name.startsWith('_') &&
          'getFields' in t &&
          !('getValues' in t) &&
          !('ofType' in t) &&
          t.astNode?.kind !== 'InputObjectTypeDefinition',
      )
      .flatMap((t) => Object.keys((t as { getFields(): Record<string, unknown> }).getFields()).map((f) => `${t.name}.${f}`))
      .filter((f) => !f.startsWith('Mutation.') && !f.startsWith('Query.') && !f.includes('.__'));
    const missed = objectFields.filter((f) => !selected.has(f));
    // Types reached only through mutations (reports, results) are not generated: queries are re-runnable, mutations are not.
    expect(
      missed.every((f) => /^(MarkForDeletionResult|GarbageCollectionReport|PruneHistoryReport|ApplyRemoteChangesResult)\./.test(f)),
    ).toBe(true);
    const share = (p: (op: GeneratedOperation) => boolean) => ops.filter(p).length / ops.length;
    expect(share((op) => /@(skip|include)\(if: \$/.test(op.query))).toBeGreaterThan(0.1);
    expect(share((op) => /\.\.\.F\d+/.test(op.query))).toBeGreaterThan(0.1);
    expect(share((op) => /\.\.\. on /.test(op.query))).toBeGreaterThan(0.3);
    expect(share((op) => /\b\w+_\d: /.test(op.query))).toBeGreaterThan(0.3);
    expect(share((op) => op.query.includes('_entities('))).toBeGreaterThan(0.05);
    // Some run compiled: documents without directives.
    expect(
      share((op) => {
        const doc = parse(op.query);
        return compilable(doc, doc.definitions[0] as OperationDefinitionNode);
      }),
    ).toBeGreaterThan(0.2);
  });

  it(`answers ${PER_PHASE} generated operations as graphql-js does while the client store answers`, async () => {
    const diffs = await differences(ops.slice(0, PER_PHASE), 0, run);
    expect(diffs.length, report(diffs)).toBe(0);
  }, 180_000);

  it(`answers ${PER_PHASE} more as graphql-js does once the client store is dead (references MISSING, _entities items failing)`, async () => {
    await d.killClientStore();
    const rest = ops.slice(PER_PHASE);
    const diffs = await differences(rest, PER_PHASE, run);
    expect(diffs.length, report(diffs)).toBe(0);
    // The dead store was seen: remote failures among the answers.
    let remoteFailures = 0;
    for (const op of rest.filter((o) => o.query.includes('_entities(')).slice(0, 50)) {
      remoteFailures += answerOf(await run.interpreted(op)).errors.filter((e) => e.code === 'REMOTE_SOURCE_UNAVAILABLE').length;
    }
    expect(remoteFailures).toBeGreaterThan(0);
  }, 180_000);
});
