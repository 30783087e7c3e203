import type { BankAccountRefResolvers, EmployeeRefResolvers, RemoteReferenceResolvers } from './__generated__/resolvers-types.js';
import type { RemoteRefRecord } from '../src/remote/remote-ref-store.js';

const refFields = {
  key: (r: RemoteRefRecord) => r.key,
  hashKey: (r: RemoteRefRecord) => r.hashKey,
  entity: (r: RemoteRefRecord) => r.entity,
};

export const RemoteReference: RemoteReferenceResolvers = {
  __resolveType: (r) => `${r.entityType}Ref` as 'EmployeeRef' | 'BankAccountRef',
};

export const EmployeeRef: EmployeeRefResolvers = { ...refFields };
export const BankAccountRef: BankAccountRefResolvers = { ...refFields };
