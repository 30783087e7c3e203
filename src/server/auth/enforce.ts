import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isAbstractType,
  Kind,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { GraphQLContext } from '../../../resolvers/context.js';
import { coerceVariables, selectedFields, UnresolvableSelection, type SelectedField } from '../operation/fields.js';
import type { Principal } from './principal.js';
import { judge, type AccessRules, type Rule } from './rules.js';

/** Why an operation is refused before it runs. */
interface Refusal {
  code: 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT';
  message: string;
}

/** Characters of a caller-given type name an error may quote. */
const QUOTED = 40;

/**
 * Enforces the SDL's @authenticated / @requiresScopes before execution, so a refused operation
 * reads no store. The check sees what the resolvers will see: variables and arguments coerced by
 * graphql-js, every field of every fragment, `@skip`/`@include` ignored (every field written is
 * checked). Per field: its own rule (a root field without one is refused), the rule of the type
 * it returns (for an interface or union, of every possible type; mutation results included, as
 * GraphOS Router applies type rules), and for `_entities` the rule of each representation's
 * `__typename`. Only `_service` is open to callers without a token. Whatever cannot be evaluated is refused.
 */
export function accessControl(rules: AccessRules): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, operation, document, schema, request }) {
          const auth = contextValue.auth;
          if (auth.mode === 'none') return;
          const refusal = operation
            ? firstRefusal(rules, schema, document, operation, request.variables, auth.principal, auth.principal ? '' : auth.problem)
            : { code: 'BAD_USER_INPUT' as const, message: 'The document names no operation to run' };
          if (refusal) {
            // 200, as GraphQL over HTTP answers a well-formed request: routers pass the error and its code on.
            throw new GraphQLError(refusal.message, { extensions: { code: refusal.code, http: { status: 200 } } });
          }
        },
      };
    },
  };
}

/** The first reason to refuse the operation, or null when every check passes. */
export function firstRefusal(
  rules: AccessRules,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | undefined,
  principal: Principal | null,
  problem: string,
): Refusal | null {
  // Every operation but the router's `_service` needs a valid token, whatever it selects
  // (introspection and an empty `_entities` included): refused before anything else is looked at.
  if (!principal && !onlyService(operation)) return { code: 'UNAUTHENTICATED', message: problem };
  const variables = coerceVariables(schema, operation, rawVariables);
  if (!variables.ok) return { code: 'BAD_USER_INPUT', message: variables.message };
  // Rules are shared objects (most fields answer to the same few): each is judged once per request.
  const passed = new Set<Rule>();
  const check = (rule: Rule | undefined, what: string): Refusal | null => {
    if (!rule) return { code: 'FORBIDDEN', message: `${what} declares no access rule, so nobody may use it` };
    if (passed.has(rule)) return null;
    const verdict = judge(rule, principal, problem, what);
    if (verdict.ok) passed.add(rule);
    return verdict.ok ? null : verdict;
  };
  try {
    for (const field of selectedFields(schema, document, operation, variables.values)) {
      // Federation's `_service` answers the router's composition query; introspection is open too.
      if (field.meta || (field.atRoot && field.def.name === '_service') || field.parent.name === '_Service') continue;
      const refusal =
        field.atRoot && field.def.name === '_entities' ? entitiesRefusal(rules, field, check) : fieldRefusal(rules, schema, field, check);
      if (refusal) return refusal;
    }
  } catch (e) {
    if (e instanceof UnresolvableSelection) return { code: 'BAD_USER_INPUT', message: `The operation cannot be checked: ${e.message}` };
    throw e;
  }
  return null;
}

/**
 * True when the operation is what a router sends to compose its supergraph: `_service { sdl }`
 * (and `__typename`), fields only, the SDL read at most once. It is all a caller without a token
 * may run: aliases would answer a 50-byte request with the 23 KB SDL a hundred times over.
 */
function onlyService(operation: OperationDefinitionNode): boolean {
  let sdl = 0;
  for (const sel of operation.selectionSet.selections) {
    if (sel.kind !== Kind.FIELD) return false;
    if (sel.name.value === '__typename') continue;
    if (sel.name.value !== '_service') return false;
    for (const inner of sel.selectionSet?.selections ?? []) {
      if (inner.kind !== Kind.FIELD) return false;
      if (inner.name.value === 'sdl') sdl++;
    }
  }
  return sdl <= 1;
}

type Check = (rule: Rule | undefined, what: string) => Refusal | null;

function fieldRefusal(rules: AccessRules, schema: GraphQLSchema, field: SelectedField, check: Check): Refusal | null {
  const { parent, def } = field;
  if (field.atRoot) {
    const own = check(rules.field(parent.name, def.name), `${parent.name}.${def.name}`);
    if (own) return own;
  } else {
    // Field rules live on object types; a field selected on an interface answers to all of them.
    for (const owner of isAbstractType(parent) ? schema.getPossibleTypes(parent) : [parent]) {
      const rule = rules.field(owner.name, def.name);
      const refusal = rule ? check(rule, `${owner.name}.${def.name}`) : null;
      if (refusal) return refusal;
    }
  }
  const returned = rules.returned(def.type);
  return returned.length ? check(returned, `${getNamedType(def.type).name} (returned by ${parent.name}.${def.name})`) : null;
}

/**
 * `_entities`: the representations as resolvers will get them (a single object given for the
 * list is a one-item list). Each must be an object whose `__typename` names an entity type;
 * otherwise the whole operation is refused. Then every named type's rule applies.
 */
function entitiesRefusal(rules: AccessRules, field: SelectedField, check: Check): Refusal | null {
  let representations: unknown;
  try {
    representations = field.args().representations;
  } catch (e) {
    return { code: 'BAD_USER_INPUT', message: e instanceof GraphQLError ? e.message : '_entities: the representations do not coerce' };
  }
  if (!Array.isArray(representations)) return { code: 'BAD_USER_INPUT', message: '_entities: representations must be a list' };
  const typenames = new Set<string>();
  for (const [i, r] of representations.entries()) {
    const typename = typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as { __typename?: unknown }).__typename : undefined;
    if (typeof typename !== 'string') {
      return { code: 'BAD_USER_INPUT', message: `_entities: representation ${i} must be an object with a string __typename` };
    }
    if (!rules.isEntityType(typename)) {
      return {
        code: 'BAD_USER_INPUT',
        message: `_entities: representation ${i} names ${JSON.stringify(typename.slice(0, QUOTED))}, which is not an entity type of this subgraph`,
      };
    }
    typenames.add(typename);
  }
  for (const t of typenames) {
    const refusal = check(rules.entity(t), `_entities of ${t}`);
    if (refusal) return refusal;
  }
  return null;
}
