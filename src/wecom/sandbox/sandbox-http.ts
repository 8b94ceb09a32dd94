import type { Context } from 'koa';
import type { UploadedFile } from './api-types.js';
import { parseMultipart } from './multipart.js';

/** media/upload allows files up to 20 MB (docs/wecom-protocol.md §Media); leave room for multipart framing. */
const MAX_BODY_BYTES = 25 * 1024 * 1024;

/** A decoded request body, or why it could not be decoded. */
export interface ParsedBody {
  body: Record<string, unknown>;
  files: Record<string, UploadedFile>;
  error?: string;
}

async function readRaw(ctx: Context): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * Read a JSON or multipart body. WeCom parses POST bodies as JSON whatever the content-type says, so this
 * does too. A body already parsed by an upstream middleware is reused rather than re-read.
 */
export async function readRequestBody(ctx: Context): Promise<ParsedBody> {
  const preParsed = (ctx.request as { body?: unknown }).body;
  if (preParsed !== undefined && typeof preParsed === 'object' && preParsed !== null && !Buffer.isBuffer(preParsed)) {
    return { body: preParsed as Record<string, unknown>, files: {} };
  }
  if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.req.readableEnded) return { body: {}, files: {} };
  let raw: Buffer;
  try {
    raw = await readRaw(ctx);
  } catch (err) {
    return { body: {}, files: {}, error: (err as Error).message };
  }
  const contentType = ctx.get('content-type');
  if (/^multipart\/form-data/i.test(contentType)) {
    const { fields, files } = parseMultipart(raw, contentType);
    return { body: fields, files };
  }
  const text = raw.toString('utf8').trim();
  if (text === '') return { body: {}, files: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { body: {}, files: {}, error: 'body must be a JSON object' };
    return { body: parsed as Record<string, unknown>, files: {} };
  } catch {
    return { body: {}, files: {}, error: 'body is not valid JSON' };
  }
}

/** Read a small form body (`application/x-www-form-urlencoded`) as text; one already parsed upstream is re-encoded. */
export async function readRequestText(ctx: Context): Promise<string> {
  const preParsed = (ctx.request as { body?: unknown }).body;
  if (preParsed !== undefined && typeof preParsed === 'object' && preParsed !== null && !Buffer.isBuffer(preParsed)) {
    return new URLSearchParams(Object.entries(preParsed as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)])).toString();
  }
  if (ctx.req.readableEnded) return '';
  return (await readRaw(ctx)).toString('utf8');
}
