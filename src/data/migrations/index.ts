import { InitialSchema1763750000000 } from './1763750000000-InitialSchema.js';
import { Audit1764400000000 } from './1764400000000-Audit.js';
import { RemoteSourcePosition1764500000000 } from './1764500000000-RemoteSourcePosition.js';
import { BinaryNamesAndLeaseSince1764600000000 } from './1764600000000-BinaryNamesAndLeaseSince.js';
import { CoveringReferenceIndex1764700000000 } from './1764700000000-CoveringReferenceIndex.js';
import { RemoteClocks1764810000000 } from './1764810000000-RemoteClocks.js';

/** Every committed migration, oldest first. Never edit one that has shipped: add a new one. */
export const migrations = [
  InitialSchema1763750000000,
  Audit1764400000000,
  RemoteSourcePosition1764500000000,
  BinaryNamesAndLeaseSince1764600000000,
  CoveringReferenceIndex1764700000000,
  RemoteClocks1764810000000,
];
