/** "Did you mean ...?" for misspelt API names. */

/** Levenshtein distance, case-sensitive, O(a·b) with two rows. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known name closest to `name`, or null when none is close enough to be a plausible typo
 * (distance at most a third of the name's length, at least 2; case differences count as small),
 * else a known name that extends or shortens it (`warning` → `warn`, `badRequest` → `badRequestException`).
 */
export function nearestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0.5 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(2, Math.floor(name.length / 3));
  if (bestDistance <= allowed) return best;
  const lower = name.toLowerCase();
  const related = known
    .filter((c) => Math.min(c.length, name.length) >= 4)
    .filter((c) => c.toLowerCase().startsWith(lower) || lower.startsWith(c.toLowerCase()))
    .sort((a, b) => Math.abs(a.length - name.length) - Math.abs(b.length - name.length));
  return related[0] ?? null;
}
