import { gql } from './api.js';

/**
 * What the subgraph's API offers per kind (its kinds are data: the relationship schema it was
 * started with): which kinds have an update and an approve mutation, and which fields an update
 * input takes. Read from `integrityOverview.kindApis`, not by introspection, which production
 * turns off. Asked once per page load, then remembered.
 */

interface KindApi {
  kind: string;
  update: string | null;
  approve: string | null;
  updateInputFields: string[];
}

let shape: Promise<KindApi[]> | null = null;

function learn(): Promise<KindApi[]> {
  shape ??= gql<{ integrityOverview: { kindApis: KindApi[] } }>(
    `query ConsoleApiShape { integrityOverview { kindApis { kind update approve updateInputFields } } }`,
  )
    .then((d) => d.integrityOverview.kindApis)
    .catch((e: unknown) => {
      shape = null; // a later try (a token given meanwhile) asks again
      throw e;
    });
  return shape;
}

const apiOf = async (kind: string) => (await learn()).find((k) => k.kind === kind);

/** The kinds whose resources are approved (they have an approve mutation), in the API's order. */
export async function approvableKinds(): Promise<string[]> {
  return (await learn()).filter((k) => k.approve).map((k) => k.kind);
}

// Names follow the derivation's (the API's `kindApis` gives the same): `update<Kind>`, `approve<Kind>`, `Update<Kind>Input`.
export const updateField = (kind: string) => `update${kind}`;
export const approveField = (kind: string) => `approve${kind}`;
export const updateInputType = (kind: string) => `Update${kind}Input`;

/** The fields the kind's update takes; empty when the kind has no update. */
export async function updateInputFields(kind: string): Promise<Set<string>> {
  return new Set((await apiOf(kind))?.updateInputFields ?? []);
}
