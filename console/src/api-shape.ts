import { gql } from './api.js';

/**
 * What the subgraph's API offers per kind, learned from the API itself (its kinds are data: the
 * relationship schema it was started with): which kinds have an update and an approve mutation,
 * and which fields an update input takes. Names follow the derivation's: `update<Kind>`,
 * `approve<Kind>`, `Update<Kind>Input`. Asked once per page load (per kind for inputs), then remembered.
 */

interface Shape {
  mutations: Set<string>;
  kinds: string[];
}

let shape: Promise<Shape> | null = null;
const inputs = new Map<string, Promise<Set<string>>>();

function learn(): Promise<Shape> {
  shape ??= gql<{ __schema: { mutationType: { fields: { name: string }[] } | null }; __type: { possibleTypes: { name: string }[] | null } | null }>(
    `query ConsoleApiShape { __schema { mutationType { fields { name } } } __type(name: "Resource") { possibleTypes { name } } }`,
  )
    .then((d) => ({ mutations: new Set((d.__schema.mutationType?.fields ?? []).map((f) => f.name)), kinds: (d.__type?.possibleTypes ?? []).map((t) => t.name) }))
    .catch((e: unknown) => {
      shape = null; // a later try (a token given meanwhile) asks again
      throw e;
    });
  return shape;
}

const mutationNames = async () => (await learn()).mutations;

/** The kinds whose resources are approved (`approve<Kind>` exists), in the API's order. */
export async function approvableKinds(): Promise<string[]> {
  const { mutations, kinds } = await learn();
  return kinds.filter((k) => mutations.has(approveField(k)));
}

export const updateField = (kind: string) => `update${kind}`;
export const approveField = (kind: string) => `approve${kind}`;
export const updateInputType = (kind: string) => `Update${kind}Input`;

/** The fields `update<Kind>` takes; empty when the kind has no update. */
export async function updateInputFields(kind: string): Promise<Set<string>> {
  if (!(await mutationNames()).has(updateField(kind))) return new Set();
  let known = inputs.get(kind);
  if (!known) {
    known = gql<{ __type: { inputFields: { name: string }[] | null } | null }>(`query ConsoleUpdateInput($name: String!) { __type(name: $name) { inputFields { name } } }`, {
      name: updateInputType(kind),
    }).then((d) => new Set((d.__type?.inputFields ?? []).map((f) => f.name)));
    known.catch(() => inputs.delete(kind));
    inputs.set(kind, known);
  }
  return known;
}
