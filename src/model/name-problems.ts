import { Kind, type DocumentNode } from 'graphql';
import type { RelationshipSchema } from './model.js';
import { PAGE_INFO, enumTypeName, kindNames, kindsOf, hasUpdate, referenceKeyInput, remoteTypeNames, remoteTypesOf } from './api-names.js';
import { GRAPHQL_NAME, stringEnum } from './content-types.js';

/**
 * Names the derivation would generate that cannot coexist: two kinds (or remote types) deriving
 * one name, a derived name the shared SDL or GraphQL/federation already uses, a name GraphQL
 * cannot spell. Each problem names the entries involved (JSON paths into the relationship schema)
 * and what to change; start-up refuses while there is any.
 */
export interface NameProblem {
  /** The generated name in question. */
  name: string;
  /** Where in the relationship schema the entries involved are (JSON paths). */
  paths: string[];
  /** What is wrong and what to change; names the entries, not the paths. */
  message: string;
}

interface Claim {
  /** "kind <Name>", "remote type <Name>": what a reader recognises. */
  owner: string;
  path: string;
  /** What the owner could change to free the name. */
  fix: string;
}

type Space = 'type' | 'Query field' | 'Mutation field';

/** Types GraphQL and federation define in every subgraph, whatever the shared SDL says. */
const RESERVED_TYPES = new Set([
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  'Query',
  'Mutation',
  'Subscription',
  '_Any',
  '_Entity',
  '_Service',
  '_FieldSet',
  'FieldSet',
]);
const RESERVED_TYPE_PREFIXES = ['__', 'link__', 'federation__', 'join__'];
const RESERVED_ROOT_FIELDS = new Set(['_entities', '_service']);

function sharedNames(shared: DocumentNode) {
  const types = new Set<string>();
  const roots: Record<'Query' | 'Mutation', Set<string>> = { Query: new Set(), Mutation: new Set() };
  for (const d of shared.definitions) {
    if (!('name' in d) || !d.name) continue;
    if (d.kind === Kind.DIRECTIVE_DEFINITION) continue;
    types.add(d.name.value);
    const root = d.name.value === 'Query' || d.name.value === 'Mutation' ? roots[d.name.value] : null;
    if (root && (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION)) {
      for (const f of d.fields ?? []) root.add(f.name.value);
    }
  }
  return { types, roots };
}

export function findNameProblems(schema: RelationshipSchema, shared: DocumentNode): NameProblem[] {
  const problems: NameProblem[] = [];
  const claims: Record<Space, Map<string, Claim[]>> = { type: new Map(), 'Query field': new Map(), 'Mutation field': new Map() };
  const claim = (space: Space, name: string, c: Claim) => {
    const list = claims[space].get(name) ?? [];
    if (!list.some((x) => x.owner === c.owner)) list.push(c);
    claims[space].set(name, list);
  };
  // Names set by hand (fieldName, plural, childrenField) must be GraphQL names.
  const spellable = (name: string, path: string, what: string) => {
    if (GRAPHQL_NAME.test(name) && !name.startsWith('__')) return;
    problems.push({
      name,
      paths: [path],
      message: `"${name}" cannot be the ${what}: a GraphQL name is letters, digits and _, not starting with a digit or "__"`,
    });
  };

  for (const kind of kindsOf(schema)) {
    const n = kindNames(kind);
    const api = kind.api;
    const at = `$.kinds.${kind.name}`;
    const owner = `kind ${kind.name}`;
    const rename: Claim = { owner, path: at, fix: `rename kind ${kind.name}` };
    if (api.fieldName !== undefined) spellable(api.fieldName, `${at}.fieldName`, 'query field of one resource');
    if (api.plural !== undefined) spellable(api.plural, `${at}.plural`, 'query field of the list');
    if (api.childrenField !== undefined) spellable(api.childrenField, `${at}.childrenField`, `list on ${kind.parent ?? 'its parent'}`);

    for (const t of [n.type, n.connectionType, n.edgeType, n.createInput]) claim('type', t, rename);
    if (hasUpdate(kind)) claim('type', n.updateInput, rename);
    claim('Query field', n.field, { owner, path: `${at}.fieldName`, fix: `give kind ${kind.name} another "fieldName"` });
    for (const f of [n.plural, n.connectionField]) {
      claim('Query field', f, { owner, path: `${at}.plural`, fix: `give kind ${kind.name} another "plural"` });
    }
    for (const m of [n.create, hasUpdate(kind) ? n.update : null, n.approve]) if (m) claim('Mutation field', m, rename);

    for (const [field, fragment] of Object.entries(kind.fields)) {
      const path = `${at}.fields.${field}`;
      const e =
        stringEnum(fragment) ??
        (typeof fragment.items === 'object' && fragment.items ? stringEnum(fragment.items as Record<string, unknown>) : null);
      if (e?.unusable.length) {
        problems.push({
          name: enumTypeName(kind.name, field),
          paths: [path],
          message: `enum values ${e.unusable.map((v) => JSON.stringify(v)).join(', ')} cannot be GraphQL enum values (letters, digits and _, not true, false or null): change them or drop "enum"`,
        });
      }
      if (e)
        claim('type', enumTypeName(kind.name, field), { owner: `field ${field} of kind ${kind.name}`, path, fix: `rename field ${field}` });
    }
    for (const ref of kind.references) {
      const input = referenceKeyInput(ref);
      if (input) claim('type', input, { owner: `kind ${ref.kind}`, path: `$.kinds.${ref.kind}`, fix: `rename kind ${ref.kind}` });
    }
    problems.push(...fieldCollisions(schema, shared, kind.name));
  }

  for (const t of remoteTypesOf(schema)) {
    const n = remoteTypeNames(t);
    const at = `$.remoteTypes.${t.name}`;
    const owner = `remote type ${t.name}`;
    const rename: Claim = { owner, path: at, fix: `rename remote type ${t.name}` };
    for (const name of [n.type, n.refType, n.keyInput]) claim('type', name, rename);
    if (t.plural !== undefined) spellable(n.browseField, `${at}.plural`, 'browse query field');
    claim('Query field', n.browseField, { owner, path: `${at}.plural`, fix: `give remote type ${t.name} another "plural"` });
    if (t.fields.includes('referencedBy')) {
      problems.push({
        name: `${t.name}.referencedBy`,
        paths: [`${at}.columns.referencedBy`],
        message: `"referencedBy" is the derived list of documents that refer to a ${t.name}: rename the field`,
      });
    }
  }

  const { types, roots } = sharedNames(shared);
  for (const [space, map] of Object.entries(claims) as Array<[Space, Map<string, Claim[]>]>) {
    for (const [name, list] of map) {
      const who = list.map((c) => c.owner).join(' and ');
      const fixes = list.map((c) => c.fix).join(', or ');
      const paths = list.map((c) => c.path);
      if (list.length > 1) {
        problems.push({ name, paths, message: `${who} both derive the ${space} "${name}": ${fixes}` });
      }
      if (name.startsWith('__') || !GRAPHQL_NAME.test(name)) continue; // reported by spellable
      const clash =
        space === 'type'
          ? RESERVED_TYPES.has(name) || RESERVED_TYPE_PREFIXES.some((p) => name.startsWith(p))
            ? 'a name GraphQL or federation reserves'
            : name === PAGE_INFO
              ? 'the page type every connection shares'
              : types.has(name)
                ? 'a type of the shared SDL'
                : null
          : RESERVED_ROOT_FIELDS.has(name)
            ? 'a root field federation reserves'
            : roots[space === 'Query field' ? 'Query' : 'Mutation'].has(name)
              ? `a ${space} of the shared SDL`
              : null;
      if (clash)
        problems.push({ name, paths, message: `${who} derive${list.length > 1 ? '' : 's'} the ${space} "${name}", ${clash}: ${fixes}` });
    }
  }
  return problems;
}

/** Two fields of one derived object type with one name (a content field named `status`, two child lists named alike). */
function fieldCollisions(schema: RelationshipSchema, shared: DocumentNode, kindName: string): NameProblem[] {
  const kind = schema.kind(kindName);
  const at = `$.kinds.${kindName}`;
  const taken = new Map<string, string>();
  const resource = shared.definitions.find((d) => d.kind === Kind.INTERFACE_TYPE_DEFINITION && d.name.value === 'Resource');
  if (resource && resource.kind === Kind.INTERFACE_TYPE_DEFINITION) {
    for (const f of resource.fields ?? []) taken.set(f.name.value, 'a field of the Resource interface');
  }
  const problems: NameProblem[] = [];
  const add = (name: string, what: string, path: string, fix: string) => {
    const before = taken.get(name);
    if (before)
      problems.push({
        name: `${kindName}.${name}`,
        paths: [path],
        message: `type ${kindName} would have two fields "${name}" (${what}, and ${before}): ${fix}`,
      });
    else taken.set(name, what);
  };
  add('name', 'the identity', `${at}.identity`, 'identity must end in "name"');
  if (kind.parent)
    add(schema.kind(kind.parent).key, `the parent ${kind.parent}`, `$.kinds.${kind.parent}.key`, `change the key of ${kind.parent}`);
  for (const f of Object.keys(kind.fields)) add(f, 'a content field', `${at}.fields.${f}`, 'rename the field');
  for (const r of kind.references) add(r.field, 'a reference', `${at}.references.${r.field}`, 'rename the reference');
  for (const r of kind.remoteReferences)
    add(r.field, 'a remote reference', `${at}.remoteReferences.${r.field}`, 'rename the remote reference');
  for (const child of schema.childKinds(kindName)) {
    const field = kindNames(child).childrenField!;
    add(
      field,
      `the list of child kind ${child.name}`,
      `$.kinds.${child.name}.childrenField`,
      `give kind ${child.name} another "childrenField" (or "plural")`,
    );
  }
  if (kind.api.approvable) add('approval', 'the approval in force', `${at}.approvable`, 'rename the field that takes "approval"');
  return problems;
}
