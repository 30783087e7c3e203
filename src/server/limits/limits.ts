import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ParseOptions, ValidationRule } from 'graphql';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import type { LimitSettings } from '../../config.js';
import { estimateCost, largestRootPage } from './cost.js';

const refusal = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });

/**
 * What one request may ask for, checked before anything executes, so a hostile document is refused
 * in milliseconds and cannot hold memory or the event loop: depth, aliases and directives by GraphQL
 * Armor's validation rules, tokens by graphql-js's own parser limit (Armor's token plugin runs
 * outside Apollo's parse-error handling and would answer 500), and the estimated cost (cost.ts).
 * Every refusal is BAD_USER_INPUT.
 */
export function requestLimits(limits: LimitSettings): { validationRules: ValidationRule[]; parseOptions: ParseOptions; plugin: ApolloServerPlugin<BaseContext> } {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    maxDirectives: { n: limits.maxDirectives },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: limits.maxTokens },
    plugin: {
      async requestDidStart() {
        return {
          async didResolveOperation({ schema, document, operation, request }) {
            if (!operation) return;
            const page = largestRootPage(schema, operation, request.variables ?? {});
            if (page && page.items > limits.maxListItems) {
              throw refusal(
                `The operation asks ${page.field} for ${page.items} items (first, summed over its aliases); one request may ask a list for at most ${limits.maxListItems}`,
              );
            }
            const cost = estimateCost(schema, document, operation, request.variables ?? {}, limits.maxCost);
            if (cost > limits.maxCost) {
              throw refusal(
                `The operation may return about ${cost > 1e12 ? 'more than 10^12' : Math.round(cost)} objects, above the limit of ${limits.maxCost}: ` +
                  'ask for fewer items per list (first) or fewer nested lists',
              );
            }
          },
        };
      },
    },
  };
}
