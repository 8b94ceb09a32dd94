/**
 * Message templates: `{{name}}`-style substitution and nothing else.
 *
 * Templates are written by operators in the console, so rendering is a single regex pass over plain
 * strings: no expressions, no helpers, no eval, and substituted values are never re-scanned, so a
 * customer named "{{staff}}" renders literally.
 */

/** Values a template can refer to; null and undefined render empty. */
export type TemplateVars = Readonly<Record<string, string | number | null | undefined>>;

/** WeCom's limit on `text.content` for customer messages (docs/wecom-protocol.md §Welcome messages, §Mass messages). */
export const WECOM_TEXT_MAX_BYTES = 4000;

/** WeCom's limit on `text.content` for app messages to staff (message/send truncates beyond it). */
export const WECOM_APP_TEXT_MAX_BYTES = 2048;

// Letters of any script, so Chinese operators may write {{姓名}}; whitespace inside braces is tolerated.
const VARIABLE = /\{\{\s*([\p{L}_][\p{L}\p{N}_]*)\s*\}\}/gu;

/** Replaces every `{{var}}` with its value; unknown variables render empty. */
export function renderTemplate(tpl: string, vars: TemplateVars): string {
  return tpl.replace(VARIABLE, (_match, name: string) => {
    // Own properties only: {{constructor}} or {{__proto__}} must not reach Object.prototype.
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    return value === null || value === undefined ? '' : String(value);
  });
}

/** The distinct variable names a template uses, in order of first appearance. */
export function listVariables(tpl: string): string[] {
  return [...new Set(Array.from(tpl.matchAll(VARIABLE), (m) => m[1]))];
}

/** UTF-8 length in bytes, the unit WeCom's text limits are stated in (a Chinese character is 3). */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** True when `text` fits in `maxBytes` of UTF-8 (default: WeCom's 4000-byte customer text limit). */
export function fitsByteLimit(text: string, maxBytes: number = WECOM_TEXT_MAX_BYTES): boolean {
  return byteLength(text) <= maxBytes;
}
