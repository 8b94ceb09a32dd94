import { ValidationError } from '../../shared/errors.js';

/** What the parser wanted at a position, in both languages of the message. */
export interface Expectation {
  /** Chinese description, shown first. */
  zh: string;
  /** English description; also the machine-facing `details.expected`. */
  en: string;
}

/** Structured details of a syntax error, for consoles that highlight the spot. */
export interface AudienceSyntaxErrorDetails {
  /** 1-based column, counted in characters (code points), not UTF-16 units. */
  position: number;
  /** What was expected there, in English. */
  expected: string;
  /** The offending text, or null at the end of the input. */
  found: string | null;
}

const MAX_FOUND_CHARS = 24;

/** A malformed audience expression: a 400 `invalid_audience` naming the position and what was expected. */
export class AudienceSyntaxError extends ValidationError {
  declare readonly details: AudienceSyntaxErrorDetails;

  constructor(position: number, expected: Expectation, found: string | null) {
    const shown = found === null ? null : quote(truncate(found));
    const foundZh = shown ?? '输入结尾';
    const foundEn = shown ?? 'end of input';
    super(
      `第 ${position} 个字符处应为${spaced(expected.zh)}，实际为${spaced(foundZh)}` +
        `（expected ${expected.en} at position ${position}, found ${foundEn}）`,
      { position, expected: expected.en, found } satisfies AudienceSyntaxErrorDetails,
      'invalid_audience',
    );
  }
}

// Chinese typesetting puts a space between Han characters and following Latin text or quotes.
function spaced(text: string): string {
  return /^[\x21-\x7e]/.test(text) ? ` ${text}` : text;
}

function quote(text: string): string {
  return `"${text}"`;
}

function truncate(text: string): string {
  const chars = Array.from(text);
  return chars.length > MAX_FOUND_CHARS ? `${chars.slice(0, MAX_FOUND_CHARS).join('')}…` : text;
}
