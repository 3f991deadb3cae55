/** Text formatting the status views share: aligned tables and short durations. */

/** Left-aligned columns, indented by two spaces; control characters in a cell are shown as `?`. */
export function table(cells: string[][]): string[] {
  // eslint-disable-next-line no-control-regex
  const rows = cells.map((r) => r.map((cell) => cell.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
  );
}

/** `45s ago`. */
export function ago(ms: number): string {
  return `${duration(ms)} ago`;
}

/** `in 45s` or `45s ago`. */
export function relative(ms: number): string {
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

/** `45s`, `12m`, `3h`, `2d`. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** `text` cut to `max` characters, its middle replaced by `…` (ids and paths differ at both ends). */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.ceil((max - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (max - 1 - head))}`;
}
