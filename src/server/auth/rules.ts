import {
  getNamedType,
  isAbstractType,
  isInterfaceType,
  isObjectType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import type { Principal } from './principal.js';

/** One federation authorization directive: `@authenticated` (scopes null) or `@requiresScopes`. */
export interface Requirement {
  /** Federation meaning: any inner list (OR) whose scopes the caller all holds (AND). */
  scopes: readonly (readonly string[])[] | null;
}
/** Every requirement written on one schema element must hold. */
export type Rule = readonly Requirement[];

// Imported names, or the namespaced ones federation uses when a schema does not import them.
const AUTHENTICATED = new Set(['authenticated', 'federation__authenticated']);
const REQUIRES_SCOPES = new Set(['requiresScopes', 'federation__requiresScopes']);
const KEY = new Set(['key', 'federation__key']);

function requirementsOf(directives: readonly ConstDirectiveNode[]): Requirement[] {
  const out: Requirement[] = [];
  for (const d of directives) {
    if (AUTHENTICATED.has(d.name.value)) out.push({ scopes: null });
    if (REQUIRES_SCOPES.has(d.name.value)) {
      const arg = d.arguments?.find((a) => a.name.value === 'scopes');
      const value = arg ? valueFromASTUntyped(arg.value) : [];
      out.push({
        scopes: (Array.isArray(value) ? value : [value]).map((inner) => (Array.isArray(inner) ? inner.map(String) : [String(inner)])),
      });
    }
  }
  return out;
}

/**
 * The access rules as the SDL writes them: field-level directives by `Type.field`, type-level
 * directives by type name. Read once from the served schema, so the SDL is the one source.
 */
export class AccessRules {
  private readonly fieldRules = new Map<string, Rule>();
  private readonly typeRules = new Map<string, Rule>();
  private readonly entityTypes = new Set<string>();
  /** By type name: one Rule object per type, so a checker can remember what it already judged. */
  private readonly returnedRules = new Map<string, Rule>();

  constructor(private readonly schema: GraphQLSchema) {
    // What `_entities` may resolve: the members of `_Entity` and the entity interfaces (@key on an interface).
    const union = schema.getType('_Entity');
    if (union && isAbstractType(union)) for (const t of schema.getPossibleTypes(union)) this.entityTypes.add(t.name);
    for (const type of Object.values(schema.getTypeMap())) {
      if (isInterfaceType(type) && type.astNode?.directives?.some((d) => KEY.has(d.name.value))) this.entityTypes.add(type.name);
    }
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      const typeDirectives = [type.astNode, ...type.extensionASTNodes].flatMap((n) => n?.directives ?? []);
      const typeRule = requirementsOf(typeDirectives);
      if (typeRule.length) this.typeRules.set(type.name, typeRule);
      for (const field of Object.values(type.getFields())) {
        const rule = requirementsOf(field.astNode?.directives ?? []);
        if (rule.length) this.fieldRules.set(`${type.name}.${field.name}`, rule);
      }
    }
  }

  field(typeName: string, fieldName: string): Rule | undefined {
    return this.fieldRules.get(`${typeName}.${fieldName}`);
  }

  /**
   * What a field returning `type` needs, wherever it is selected (as GraphOS Router applies a
   * type-level rule): the type's own rule, or for an interface or union the rules of every type it
   * may turn out to be. Empty when none of them carries a rule.
   */
  returned(type: GraphQLOutputType): Rule {
    const named = getNamedType(type);
    let rule = this.returnedRules.get(named.name);
    if (!rule) {
      if (isObjectType(named)) rule = this.typeRules.get(named.name) ?? [];
      else if (isAbstractType(named)) rule = this.schema.getPossibleTypes(named).flatMap((t) => this.typeRules.get(t.name) ?? []);
      else rule = [];
      this.returnedRules.set(named.name, rule);
    }
    return rule;
  }

  /** True for a type name `_entities` can resolve: an entity object type or an entity interface. */
  isEntityType(typeName: string): boolean {
    return this.entityTypes.has(typeName);
  }

  /**
   * The rule for resolving an entity of this type through `_entities`. For an entity interface
   * (which may carry no directive) every implementation's rule applies; a type without any rule
   * has none (and the caller refuses it).
   */
  entity(typeName: string): Rule | undefined {
    const type = this.schema.getType(typeName);
    if (isObjectType(type)) return this.typeRules.get(type.name);
    if (!isAbstractType(type)) return undefined;
    const rules = this.schema.getPossibleTypes(type).map((t) => this.typeRules.get(t.name));
    return rules.length && rules.every((r) => r) ? rules.flatMap((r) => r!) : undefined;
  }

  /** Root fields (Query, Mutation, Subscription) the SDL gives no rule, apart from federation's own. */
  unguardedRootFields(): string[] {
    const roots = [this.schema.getQueryType(), this.schema.getMutationType(), this.schema.getSubscriptionType()];
    return roots.flatMap((root) =>
      root
        ? Object.keys(root.getFields())
            .filter((f) => !FEDERATION_ROOT_FIELDS.has(f) && !this.field(root.name, f))
            .map((f) => `${root.name}.${f}`)
        : [],
    );
  }

  /** Object types with a federation @key that carry no type-level rule (their `_entities` path would be refused). */
  unguardedEntityTypes(): string[] {
    return Object.values(this.schema.getTypeMap())
      .filter((t) => isObjectType(t) && t.astNode?.directives?.some((d) => KEY.has(d.name.value)))
      .map((t) => t.name)
      .filter((name) => !this.typeRules.has(name));
  }
}

/** Federation's own root fields: `_service` is open; `_entities` is judged per representation type. */
export const FEDERATION_ROOT_FIELDS = new Set(['_service', '_entities']);

export type Verdict = { ok: true } | { ok: false; code: 'UNAUTHENTICATED' | 'FORBIDDEN'; message: string };

/** Judges one rule for a caller (null: no valid token, `problem` says why). */
export function judge(rule: Rule, principal: Principal | null, problem: string, what: string): Verdict {
  if (!rule.length) return { ok: true };
  if (!principal) return { ok: false, code: 'UNAUTHENTICATED', message: `${problem} (${what} needs authentication)` };
  for (const r of rule) {
    if (r.scopes === null) continue;
    if (!r.scopes.some((all) => all.every((s) => principal.scopes.has(s)))) {
      const needed = r.scopes.map((all) => all.join(' and ')).join(', or ');
      return { ok: false, code: 'FORBIDDEN', message: `${what} needs the scope ${needed}; the token does not grant it` };
    }
  }
  return { ok: true };
}
