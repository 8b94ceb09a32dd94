import { Errcode, SandboxApiError } from './errcodes.js';

/** Request-field readers that answer WeCom's parameter errcodes instead of throwing TypeErrors. */

/** A required non-empty string field; absent → 40063 (参数为空), wrong type → 40058. */
export function requireString(src: Record<string, unknown>, key: string, missingCode: number = Errcode.ParameterEmpty): string {
  const v = src[key];
  if (v === undefined || v === null || v === '') throw new SandboxApiError(missingCode, `${key} is required`);
  if (typeof v !== 'string') throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be a string`);
  return v;
}

/** An optional string field. */
export function optionalString(src: Record<string, unknown>, key: string): string | undefined {
  const v = src[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be a string`);
  return v;
}

/** An optional integer field; numeric strings are accepted because query parameters arrive as strings. */
export function optionalInt(src: Record<string, unknown>, key: string): number | undefined {
  const v = src[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be an integer`);
  return n;
}

/** An optional boolean field. */
export function optionalBool(src: Record<string, unknown>, key: string): boolean | undefined {
  const v = src[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be a boolean`);
  return v;
}

/** An optional array of strings. */
export function stringArray(src: Record<string, unknown>, key: string): string[] {
  const v = src[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be an array of strings`);
  }
  return v as string[];
}

/** An optional plain object. */
export function optionalObject(src: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = src[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new SandboxApiError(Errcode.InvalidParameterValue, `${key} must be an object`);
  return v as Record<string, unknown>;
}

/** Characters as WeCom counts them for "≤ N 个字" limits (code points, not UTF-16 units). */
export function charLength(s: string): number {
  return [...s].length;
}

/** UTF-8 bytes, for "≤ N bytes" limits such as text.content ≤ 4000 bytes (docs/wecom-protocol.md §Welcome messages). */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Fail with 40058 when a string exceeds a documented character limit. */
export function assertMaxChars(value: string | undefined, max: number, field: string): void {
  if (value !== undefined && charLength(value) > max) {
    throw new SandboxApiError(Errcode.InvalidParameterValue, `${field} exceeds ${max} characters`);
  }
}
