import { gql } from './api.js';
import { updateField, updateInputType } from './api-shape.js';

/**
 * Removing a reference through the public API: the update mutation of the referrer's kind with
 * the field cleared (or the list without that item), guarded by the version the person saw.
 */

/**
 * The input that drops the reference at `path` from `content`; null when the kind's update input
 * (`editable`, as the API describes it) has no such field.
 */
export function removalInput(
  path: string,
  content: Record<string, unknown>,
  editable: ReadonlySet<string>,
): Record<string, unknown> | null {
  const item = /^(\w+)\[(\d+)\]$/.exec(path);
  if (item) {
    const list = content[item[1]];
    if (!editable.has(item[1]) || !Array.isArray(list)) return null;
    return { [item[1]]: list.filter((_, i) => i !== Number(item[2])) };
  }
  if (/^\w+$/.test(path) && editable.has(path) && path in content) return { [path]: null };
  return null;
}

export async function removeReference(kind: string, id: string, version: number, input: Record<string, unknown>): Promise<void> {
  await gql(
    `mutation ConsoleUnreference($id: ID!, $input: ${updateInputType(kind)}!, $v: Int) { ${updateField(kind)}(id: $id, input: $input, expectedVersion: $v) { id version } }`,
    {
      id,
      input,
      v: version,
    },
  );
}
