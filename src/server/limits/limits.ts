import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { GraphQLSchema, ParseOptions, ValidationRule } from 'graphql';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import type { LimitSettings } from '../../config.js';
import { costModel, estimateCost } from './cost.js';
import { countDirectives, largestPage } from './shape.js';

/** Fields the list-items check visits with fragments expanded: far above any real document (10,000 tokens), milliseconds of work. */
const MAX_EXPANDED_FIELDS = 100_000;

const refusal = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });

/**
 * What one request may ask for, checked before anything executes, so a hostile document is refused
 * in milliseconds and cannot hold memory or the event loop: depth (introspection included) and
 * aliases by GraphQL Armor's validation rules, tokens by graphql-js's own parser limit (Armor's
 * token plugin runs outside Apollo's parse-error handling and would answer 500), directives,
 * items per list and the estimated cost (cost.ts, shape.ts) per request, on coerced variables.
 * Every refusal is BAD_USER_INPUT. `listBounds`: sizes of lists without `first` that the
 * relationship schema bounds (`Type.field` → items).
 */
export function requestLimits(
  limits: LimitSettings,
  schema: GraphQLSchema,
  listBounds?: ReadonlyMap<string, number>,
): { validationRules: ValidationRule[]; parseOptions: ParseOptions; plugin: ApolloServerPlugin<BaseContext> } {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: false, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    // Counted below: Armor's count drops the directives of a repeated fragment spread.
    maxDirectives: { enabled: false },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  const model = costModel(schema, listBounds);
  return {
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: limits.maxTokens },
    plugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ document, operation, request }) {
            if (!operation) return;
            const directives = countDirectives(document, operation);
            if (directives > limits.maxDirectives) {
              throw refusal(
                `The operation carries ${directives} directives (fragment spreads counted each time); one request may carry at most ${limits.maxDirectives}`,
              );
            }
            // Fragments are expanded for this walk: it gives up (and refuses) past a bound.
            const page = largestPage(schema, document, operation, request.variables, MAX_EXPANDED_FIELDS);
            if (page === 'exceeded') throw refusal('The operation expands to too many fields through its fragments');
            if (page && page.items > limits.maxListItems) {
              throw refusal(
                `The operation asks ${page.field} for ${page.items} items (first, summed over its aliases and fragments); one request may ask a list for at most ${limits.maxListItems}`,
              );
            }
            const cost = estimateCost(model, document, operation, request.variables, limits.maxCost);
            if (cost !== undefined && cost > limits.maxCost) {
              throw refusal(
                `The operation may return about ${cost > 1e12 ? 'more than 10^12' : Math.round(cost)} objects and values, above the limit of ${limits.maxCost}: ` +
                  'ask for fewer items per list (first), fewer fields or aliases, or fewer nested lists',
              );
            }
          },
        };
      },
    },
  };
}
