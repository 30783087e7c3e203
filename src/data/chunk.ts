/** Long `IN (...)` lists are split so no statement exceeds a driver's parameter limit. */
export const IN_CHUNK = 500;

export function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `read` on each chunk of the distinct ids and concatenates what it returns. */
export async function readInChunks<T>(ids: readonly string[], read: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const chunk of chunks([...new Set(ids)])) out.push(...(await read(chunk)));
  return out;
}

export const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
