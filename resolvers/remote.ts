import type { RemoteReferenceResolvers } from './__generated__/resolvers-types.js';

/** Every field of a reference is a property of the record: graphql-js's default resolver reads it. */

const refTypeNames = new Map<string, string>();

export const RemoteReference: RemoteReferenceResolvers = {
  // `<Type>Ref`, as the derivation names it; one string per remote type, not a new one per reference of a long list.
  __resolveType: (r) => {
    let name = refTypeNames.get(r.entityType);
    if (!name) {
      name = `${r.entityType}Ref`;
      refTypeNames.set(r.entityType, name);
    }
    return name as never;
  },
};
