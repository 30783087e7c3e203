import type { ApolloServerPlugin } from '@apollo/server';
import {
  getArgumentValues,
  getNamedType,
  GraphQLError,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { GraphQLContext } from '../../../resolvers/context.js';
import { judge, type AccessRules, type Rule } from './rules.js';

interface Check {
  rule: Rule | undefined;
  what: string;
}

/**
 * Enforces the SDL's @authenticated / @requiresScopes before execution, so a refused operation
 * reads no store: every selected field with a field-level rule, every root field (one without a
 * rule is refused: fail closed), and for `_entities` the type-level rule of each representation's
 * __typename. `_service` and introspection stay open. Type-level rules guard the entity path (what
 * a router fetches by key); a field that merely returns such a type is governed by its own rule.
 */
export function accessControl(rules: AccessRules): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, schema, request }) {
          const auth = contextValue.auth;
          if (auth.mode === 'none' || !operation) return;
          const principal = auth.principal;
          const problem = auth.principal ? '' : auth.problem;
          for (const check of checksOf(rules, schema, document, operation, request.variables ?? {})) {
            const verdict = check.rule
              ? judge(check.rule, principal, problem, check.what)
              : { ok: false as const, code: 'FORBIDDEN' as const, message: `${check.what} declares no access rule, so nobody may use it` };
            if (!verdict.ok) {
              // 200, as GraphQL over HTTP answers a well-formed request: routers pass the error and its code on.
              throw new GraphQLError(verdict.message, { extensions: { code: verdict.code, http: { status: 200 } } });
            }
          }
        },
      };
    },
  };
}

function* checksOf(
  rules: AccessRules,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Generator<Check> {
  const root = schema.getRootType(operation.operation);
  if (!root) return;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seenFragments = new Set<string>();

  // Every field of a selection set with the type it is selected on, through fragments (each once).
  function* fields(set: SelectionSetNode, parent: GraphQLCompositeType): Generator<{ node: FieldNode; parent: GraphQLCompositeType }> {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) yield { node: sel, parent };
      else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const on = sel.typeCondition ? (schema.getType(sel.typeCondition.name.value) as GraphQLCompositeType | undefined) : parent;
        if (on) yield* fields(sel.selectionSet, on);
      } else if (!seenFragments.has(sel.name.value)) {
        seenFragments.add(sel.name.value);
        const f = fragments.get(sel.name.value);
        const on = f && (schema.getType(f.typeCondition.name.value) as GraphQLCompositeType | undefined);
        if (f && on) yield* fields(f.selectionSet, on);
      }
    }
  }

  function* walk(set: SelectionSetNode, parent: GraphQLCompositeType, atRoot: boolean): Generator<Check> {
    for (const { node, parent: on } of fields(set, parent)) {
      const name = node.name.value;
      if (name.startsWith('__')) continue; // __typename, introspection
      if (atRoot && on === root) {
        if (name === '_service') continue;
        if (name === '_entities') {
          yield* entityChecks(rules, root.getFields()._entities, node, variables);
        } else {
          yield { rule: rules.field(root.name, name), what: `${root.name}.${name}` };
        }
      } else {
        // Field rules live on object types; a field selected on an interface answers to all of them.
        const owners = isAbstractType(on) ? schema.getPossibleTypes(on) : [on];
        for (const owner of owners) {
          const rule = rules.field(owner.name, name);
          if (rule) yield { rule, what: `${owner.name}.${name}` };
        }
      }
      const def = (isObjectType(on) || isInterfaceType(on)) && on.getFields()[name];
      const type = def ? getNamedType(def.type) : undefined;
      if (node.selectionSet && type && (isObjectType(type) || isAbstractType(type))) yield* walk(node.selectionSet, type, false);
    }
  }

  yield* walk(operation.selectionSet, root, true);
}

function* entityChecks(
  rules: AccessRules,
  def: Parameters<typeof getArgumentValues>[0] | undefined,
  node: FieldNode,
  variables: Record<string, unknown>,
): Generator<Check> {
  if (!def) return;
  let representations: unknown;
  try {
    representations = getArgumentValues(def, node, variables).representations;
  } catch {
    return; // malformed arguments: execution refuses them before any resolver runs
  }
  const typenames = new Set<string>();
  for (const r of Array.isArray(representations) ? representations : []) {
    const t = (r as { __typename?: unknown } | null)?.__typename;
    if (typeof t === 'string') typenames.add(t);
  }
  for (const t of typenames) yield { rule: rules.entity(t), what: `_entities of ${t.slice(0, 100)}` };
}
