import type { BankAccountRefResolvers, EmployeeRefResolvers, RemoteReferenceResolvers } from './__generated__/resolvers-types.js';

/** Every field of a reference is a property of the record: graphql-js's default resolver reads it. */

type RefTypeName = 'EmployeeRef' | 'BankAccountRef';
const refTypeNames = new Map<string, RefTypeName>();

export const RemoteReference: RemoteReferenceResolvers = {
  // One name per remote type, not a new string per reference of a long list.
  __resolveType: (r) => {
    let name = refTypeNames.get(r.entityType);
    if (!name) refTypeNames.set(r.entityType, (name = `${r.entityType}Ref` as RefTypeName));
    return name;
  },
};

export const EmployeeRef: EmployeeRefResolvers = {};
export const BankAccountRef: BankAccountRefResolvers = {};
