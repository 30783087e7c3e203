import { gql } from './api.js';

/**
 * Removing a reference through the public API: the update mutation of the referrer's kind with
 * the field cleared (or the list without that item), guarded by the version the person saw.
 */

const UPDATE: Record<string, string> = {
  DeploymentIntentGroup: 'updateDeploymentIntentGroup',
  Project: 'updateProject',
};

/** The input that drops the reference at `path` from `content`; null when this console cannot edit it. */
export function removalInput(kind: string, path: string, content: Record<string, unknown>): Record<string, unknown> | null {
  if (!UPDATE[kind]) return null;
  const item = /^(\w+)\[(\d+)\]$/.exec(path);
  if (item) {
    const list = content[item[1]];
    if (!Array.isArray(list)) return null;
    return { [item[1]]: list.filter((_, i) => i !== Number(item[2])) };
  }
  if (/^\w+$/.test(path) && path in content) return { [path]: null };
  return null;
}

export async function removeReference(kind: string, id: string, version: number, input: Record<string, unknown>): Promise<void> {
  const field = UPDATE[kind];
  const inputType = `Update${kind}Input`;
  await gql(`mutation ConsoleUnreference($id: ID!, $input: ${inputType}!, $v: Int) { ${field}(id: $id, input: $input, expectedVersion: $v) { id version } }`, {
    id,
    input,
    v: version,
  });
}
