/** Differences between two JSON documents, as paths a person reads: `clusters[1].name`. */

export interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function diff(before: unknown, after: unknown, path = ''): Change[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      const p = path ? `${path}.${k}` : k;
      if (!(k in before)) return after[k] === null ? [] : [{ path: p, kind: 'added' as const, after: after[k] }];
      if (!(k in after)) return before[k] === null ? [] : [{ path: p, kind: 'removed' as const, before: before[k] }];
      return diff(before[k], after[k], p);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: Change[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= before.length) out.push({ path: p, kind: 'added', after: after[i] });
      else if (i >= after.length) out.push({ path: p, kind: 'removed', before: before[i] });
      else out.push(...diff(before[i], after[i], p));
    }
    return out;
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (before === undefined || before === null) return [{ path: path || '(value)', kind: 'added', after }];
  if (after === undefined || after === null) return [{ path: path || '(value)', kind: 'removed', before }];
  return [{ path: path || '(value)', kind: 'changed', before, after }];
}

export const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
