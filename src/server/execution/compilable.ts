import { BREAK, visit, type DocumentNode, type OperationDefinitionNode } from 'graphql';

/**
 * Whether graphql-jit (0.8) answers an operation exactly as graphql-js does when nothing fails,
 * decided once per document. The differential test (test/differential-execution.test.ts) found
 * graphql-jit wrong only where an operation carries directives: a field excluded by
 * `@skip`/`@include` still runs when the same response key is selected elsewhere (its
 * sub-selections are merged in), and a key whose first occurrence is excluded keeps that first
 * position in the answer. Its `useExperimentalPathBasedSkipInclude` option changes neither.
 * Mutations run on graphql-js: a result with errors is re-executed there (compiled-executor.ts),
 * which only a read can be.
 */
export function compilable(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.operation !== 'query') return false;
  let directives = false;
  visit(document, {
    Directive() {
      directives = true;
      return BREAK;
    },
  });
  return !directives;
}
