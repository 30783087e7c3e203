/** A GitHub Markdown table; numbers are right-aligned. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) =>
    v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? '—' : String(v);
  const numeric = headers.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined || /^[\d.,×~ —-]+$/.test(cell(r[i]))),
  );
  const lines = [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** `12.3×`, or — when either side is missing. */
export function ratio(a: number | undefined, b: number | undefined): string | null {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  const r = a / b;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

export function fmt(n: number | undefined, digits = 2): string | null {
  if (n === undefined || !Number.isFinite(n)) return null;
  return n.toFixed(digits);
}
