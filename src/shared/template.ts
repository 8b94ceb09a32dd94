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

/**
 * renderTemplate for one template and many sets of values: the template is split at its variables once, and each
 * rendering only joins the pieces. A broadcast renders its text for every customer of a page of thousands; the
 * regex pass per customer allocated its match arrays each time. Same output as renderTemplate.
 */
export function compileTemplate(tpl: string): (vars: TemplateVars) => string {
  const pieces: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of tpl.matchAll(VARIABLE)) {
    pieces.push(tpl.slice(last, m.index));
    names.push(m[1]);
    last = m.index + m[0].length;
  }
  if (names.length === 0) return () => tpl;
  pieces.push(tpl.slice(last));
  return (vars) => {
    let out = pieces[0];
    for (let i = 0; i < names.length; i++) {
      const value = Object.hasOwn(vars, names[i]) ? vars[names[i]] : undefined;
      out += (value === null || value === undefined ? '' : String(value)) + pieces[i + 1];
    }
    return out;
  };
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
