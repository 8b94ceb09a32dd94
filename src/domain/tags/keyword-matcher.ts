/** What the matcher needs of a rule. */
export interface KeywordRuleSpec {
  pattern: string;
  matchType: 'substring' | 'regex';
}

/** Longest text examined: a pasted essay must not make a regex crawl. */
export const MAX_MATCH_TEXT = 2000;

/**
 * Normalise for matching: NFKC folds full-width letters, digits and punctuation (Ｖ Ｉ Ｐ, １２３, ？) into
 * their ASCII forms, which Chinese input methods produce all the time; then lower-case.
 */
export function normalizeForMatch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/**
 * Whether a message matches a rule, case-insensitively and Chinese-aware. A substring pattern may list
 * alternatives separated by `|` (`价格|多少钱`); a regex pattern is a JavaScript regex run with `iu` on the
 * normalised text. A pattern that does not compile never matches (rules are validated on save).
 */
export function matchesKeyword(rule: KeywordRuleSpec, text: string): boolean {
  const haystack = normalizeForMatch(text.slice(0, MAX_MATCH_TEXT));
  if (rule.matchType === 'regex') {
    const re = compileRulePattern(rule.pattern);
    return re !== null && re.test(haystack);
  }
  return rule.pattern
    .split('|')
    .map((alt) => normalizeForMatch(alt.trim()))
    .some((alt) => alt.length > 0 && haystack.includes(alt));
}

/** Compile a regex rule pattern, or null when it is not a valid pattern. */
export function compileRulePattern(pattern: string): RegExp | null {
  try {
    return new RegExp(normalizeForMatch(pattern), 'iu');
  } catch {
    return null;
  }
}
