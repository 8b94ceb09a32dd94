/**
 * Search grams of the content library (docs/content.md §Search): the text is folded (NFKC, lower case) and cut into
 * overlapping two-character grams, so a two-character Chinese word such as 优惠 is one gram. Neither engine's own
 * full-text index does that here (MariaDB has no n-gram parser, SQLite's trigram tokenizer needs three characters).
 * Spaces and punctuation split the text into runs; a run of one character is kept as a one-character gram.
 */
export function searchGrams(text: string): Set<string> {
  const grams = new Set<string>();
  for (const run of runsOf(text)) {
    if (run.length === 1) grams.add(run[0]);
    for (let i = 0; i + 1 < run.length; i++) grams.add(run[i] + run[i + 1]);
  }
  return grams;
}

/**
 * What a query looks for: the AND of its grams. A one-character query cannot be a bigram; it matches items with
 * that character anywhere (`chars`: the caller looks it up among every gram starting or ending with it).
 */
export function queryGrams(query: string): { grams: string[]; chars: string[] } {
  const grams = new Set<string>();
  const chars = new Set<string>();
  for (const run of runsOf(query)) {
    if (run.length === 1) chars.add(run[0]);
    for (let i = 0; i + 1 < run.length; i++) grams.add(run[i] + run[i + 1]);
  }
  return { grams: [...grams], chars: [...chars] };
}

/** Folded runs of letters and digits (any script), as arrays of whole code points. */
function runsOf(text: string): string[][] {
  const folded = text.normalize('NFKC').toLowerCase();
  return folded
    .split(/[^\p{L}\p{N}]+/u)
    .filter((r) => r.length > 0)
    .map((r) => Array.from(r));
}
