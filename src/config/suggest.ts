/** "Did you mean …?": the known name nearest to a mistyped one, for unknown keys and program names. */

/**
 * Edits (insert, delete, substitute, swap two adjacent characters) that turn `a` into `b`: the
 * optimal string alignment form of the Damerau-Levenshtein distance.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The candidate nearest to `word` (case-insensitive), or undefined when none is close: at most one
 * edit per three characters of `word` (at least one, at most three), and fewer edits than the
 * candidate has characters. Ties go to the earlier candidate.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const wanted = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    if (name === word) continue;
    const distance = editDistance(wanted, name.toLowerCase());
    if (distance > limit || distance >= name.length) continue;
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}

/** ` (did you mean 'x'?)` for the nearest candidate, or '' when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const nearest = closest(word, candidates);
  return nearest === undefined ? '' : ` (did you mean '${nearest}'?)`;
}
