import type { GraphQLError } from 'graphql';

type Path = readonly (string | number)[] | undefined;

/** The keys of `node` when it is an object of the response, for ordering paths through it. */
function keysOf(node: unknown): string[] | undefined {
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? Object.keys(node) : undefined;
}

/**
 * Orders two error paths by where they point in the response: list items by index, fields by the
 * order of their keys in the data (alphabetically where propagation nulled the object that held
 * them); an error without a path (the request's own) first, a parent before its children.
 */
function comparePaths(a: Path, b: Path, data: unknown): number {
  if (!a || !b) return (a ? 1 : 0) - (b ? 1 : 0);
  let node = data;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y) {
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      const keys = keysOf(node);
      const ix = keys ? keys.indexOf(String(x)) : -1;
      const iy = keys ? keys.indexOf(String(y)) : -1;
      if (ix >= 0 && iy >= 0) return ix - iy;
      if (ix >= 0 || iy >= 0) return ix >= 0 ? -1 : 1;
      return String(x) < String(y) ? -1 : 1;
    }
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[x] : undefined;
  }
  return a.length - b.length;
}

/**
 * graphql-js lists errors in the order they happen, which follows the stores' timing: two runs of
 * one query on one state can list them differently (a run whose loaders already hold a failure
 * reports it sooner). Callers get them in the order of the response instead, whichever engine
 * executed; errors at one path keep the order they happened in.
 */
export function inResponseOrder(errors: readonly GraphQLError[], data: unknown): GraphQLError[] {
  return errors
    .map((error, i) => ({ error, i }))
    .sort((p, q) => comparePaths(p.error.path, q.error.path, data) || p.i - q.i)
    .map((p) => p.error);
}
