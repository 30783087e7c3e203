import { createHash } from 'node:crypto';

export type RemoteKey = Record<string, string>;

/** The key as canonical JSON: fields sorted by name, no spaces. */
export function canonicalKeyJson(key: RemoteKey): string {
  const sorted: RemoteKey = {};
  for (const field of Object.keys(key).sort()) sorted[field] = key[field];
  return JSON.stringify(sorted);
}

/** Lower-case hex MD5 of the canonical key: unique together with the entity type. */
export function hashKey(key: RemoteKey): string {
  return createHash('md5').update(canonicalKeyJson(key)).digest('hex');
}
