import busboy from 'busboy';
import type { Context } from 'koa';
import { PayloadTooLargeError, ValidationError } from '../shared/errors.js';

/** A multipart/form-data body read whole: its text fields and at most one file. */
export interface MultipartBody {
  fields: Record<string, string>;
  file: { field: string; name: string; data: Buffer } | null;
}

/** Whether the request carries multipart/form-data (else it is JSON, parsed by the API's body parser). */
export function isMultipart(ctx: Context): boolean {
  return ctx.is('multipart/form-data') === 'multipart/form-data';
}

const sizeWords = (n: number) => (n >= 1024 * 1024 ? `${Number((n / 1024 / 1024).toFixed(1))} MB` : `${Math.round(n / 1024)} KB`);

/**
 * Read a multipart upload (busboy) into memory, refusing a file over `maxFileBytes` with 413 and the limit in the
 * message as soon as it passes it, and more than one file or a few small fields with 400. The rest of a refused body
 * is drained so the client reads the answer (docs/security.md §Request bodies).
 */
export function readMultipart(ctx: Context, maxFileBytes: number): Promise<MultipartBody> {
  return new Promise<MultipartBody>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: ctx.req.headers, limits: { fileSize: maxFileBytes, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 }, defParamCharset: 'utf8' });
    } catch {
      reject(new ValidationError('请求须为 multipart/form-data 且带 boundary'));
      return;
    }
    const fields: Record<string, string> = {};
    let file: MultipartBody['file'] = null;
    let failed: Error | null = null;
    const fail = (err: Error) => {
      if (failed) return;
      failed = err;
      ctx.req.unpipe(bb);
      ctx.req.resume();
      reject(err);
    };
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new ValidationError(`表单字段 ${name} 过长`));
      fields[name] = value;
    });
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(new PayloadTooLargeError(`文件不能超过 ${sizeWords(maxFileBytes)}（CONTENT_MAX_BYTES）`, 'file_too_large', { limit: maxFileBytes })));
      stream.on('end', () => {
        if (!failed) file = { field, name: info.filename ?? 'file', data: Buffer.concat(chunks) };
      });
    });
    bb.on('filesLimit', () => fail(new ValidationError('一次只能上传一个文件')));
    bb.on('fieldsLimit', () => fail(new ValidationError('表单字段过多')));
    bb.on('partsLimit', () => fail(new ValidationError('表单部分过多')));
    bb.on('error', (err: Error) => fail(new ValidationError(`无法解析上传内容：${err.message}`)));
    bb.on('close', () => {
      if (!failed) resolve({ fields, file });
    });
    ctx.req.pipe(bb);
  });
}
