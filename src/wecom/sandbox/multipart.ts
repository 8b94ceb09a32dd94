import type { UploadedFile } from './api-types.js';

/**
 * A small multipart/form-data reader for media/upload (docs/wecom-protocol.md §Media). The sandbox only needs named
 * file parts and plain fields, so this avoids adding a body-parser dependency.
 */
export function parseMultipart(body: Buffer, contentType: string): { fields: Record<string, string>; files: Record<string, UploadedFile> } {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const fields: Record<string, string> = {};
  const files: Record<string, UploadedFile> = {};
  if (!match) return { fields, files };
  const delimiter = Buffer.from(`--${match[1] ?? match[2]}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    const start = pos + delimiter.length;
    // "--" after a delimiter marks the end of the body.
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start + 2, next - 2); // drop the CRLF after the delimiter and before the next
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const data = part.subarray(headerEnd + 4);
      const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      const type = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
      if (name !== undefined) {
        if (filename !== undefined) files[name] = { filename, contentType: type, data: Buffer.from(data) };
        else fields[name] = data.toString('utf8');
      }
    }
    pos = next;
  }
  return { fields, files };
}
