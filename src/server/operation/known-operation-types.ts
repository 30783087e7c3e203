import { GraphQLError, type ValidationRule } from 'graphql';

/**
 * A document's operations must be of a type the schema has: this subgraph has no subscriptions, and
 * graphql-js 16 accepts `subscription { ... }` at validation and fails it at execution with an
 * error that has no code (an internal error, logged as one, for the caller's mistake). graphql-js
 * 17 has this rule as KnownOperationTypesRule.
 */
export const KnownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(new GraphQLError(`This subgraph has no ${node.operation} operations`, { nodes: node }));
    }
  },
});
