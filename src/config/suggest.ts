/**
 * "Did you mean" suggestions for misspelt configuration keys and enumeration values.
 * @module
 */

/** Edit distance between `a` and `b`, with one row of `b.length + 1` cells. */
function levenshtein(a: string, b: string): number {
  const prev: number[] = [];
  for (let j = 0; j <= b.length; j++) prev.push(j);
  for (let i = 1; i <= a.length; i++) {
    const ca = a.charCodeAt(i - 1);
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      const sub = diag + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      const del = up + 1, ins = prev[j - 1] + 1;
      prev[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      diag = up;
    }
  }
  return prev[b.length];
}

/** Longest word {@link nearest} looks at; longer ones are no typo of a key or value. */
const MAX_SUGGEST_LENGTH = 64;

/**
 * The closest candidate to `word`, if it is close enough to be a likely typo. Words longer
 * than {@link MAX_SUGGEST_LENGTH} get none, which bounds the edit-distance work per word.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_SUGGEST_LENGTH) return undefined;
  const w = normalize(word);
  const limit = Math.max(2, Math.floor(w.length / 4));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const n = normalizedCandidate(c);
    // the edit distance is at least the difference in length: too far to be suggested
    if (Math.abs(n.length - w.length) > limit) continue;
    const d = n === w ? 0 : levenshtein(w, n) + 0.5;
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit + 0.5 ? best : undefined;
}

/** A word compared case-insensitively, ignoring `-`, `_` and spaces. */
function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_ ]/g, "");
}

/** Normalised candidates (keys and enum values of the fixed tables), computed once each. */
const NORMALIZED = new Map<string, string>();

function normalizedCandidate(c: string): string {
  let n = NORMALIZED.get(c);
  if (n === undefined) NORMALIZED.set(c, n = normalize(c));
  return n;
}

/** ` (did you mean "x"?)` naming the nearest candidate, or "" when none is near. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const n = nearest(word, candidates);
  return n === undefined ? "" : ` (did you mean ${JSON.stringify(n)}?)`;
}
