import type { BankAccountRefResolvers, EmployeeRefResolvers, RemoteReferenceResolvers } from './__generated__/resolvers-types.js';

/** Every field of a reference is a property of the record: graphql-js's default resolver reads it. */

export const RemoteReference: RemoteReferenceResolvers = {
  __resolveType: (r) => `${r.entityType}Ref` as 'EmployeeRef' | 'BankAccountRef',
};

export const EmployeeRef: EmployeeRefResolvers = {};
export const BankAccountRef: BankAccountRefResolvers = {};
