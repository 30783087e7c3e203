import { badInput } from './errors.js';

export const MAX_PAGE = 1000;

/** Checks a list's `first` argument: 0 to 1000. */
export function pageSize(first: number | null | undefined, fallback: number, argument = 'first'): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0) throw badInput(`${argument} must be a whole number from 0 to ${MAX_PAGE} (got ${n})`);
  if (n > MAX_PAGE) throw badInput(`${argument} must be at most ${MAX_PAGE} (got ${n})`);
  return n;
}
