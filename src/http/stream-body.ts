import type { IncomingMessage } from 'node:http';

/**
 * Thrown by `readChunks` when a body passes its byte cap; `declared` when Content-Length alone already said so and
 * nothing was read.
 */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    readonly declared: boolean,
  ) {
    super(declared ? `declared body exceeds ${limit} bytes` : `body exceeds ${limit} bytes`);
  }
}

/**
 * The request body chunk by chunk, at most `maxBytes` in all (BodyTooLargeError beyond, before the chunk that
 * crosses the cap is handed out). Unlike `for await (… of req)`, stopping early (an exception in the caller's loop,
 * a cap) does NOT destroy the request: destroying it tears down the socket, so no answer could be sent and `ctx.ip`
 * would throw (docs/security.md §Request bodies). Call `discardRest` after an early stop.
 */
export async function* readChunks(req: IncomingMessage, maxBytes: number): AsyncGenerator<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes, true);
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes, false);
    yield buf;
  }
}

/**
 * After refusing a body part-way: read and drop the rest, so the client, which is usually still sending, gets to
 * read the answer (a socket closed with unread data resets the connection and the answer is lost) and the
 * connection can be reused. Past `ceilingBytes` more the client is not going to stop; the socket is then closed.
 */
export function discardRest(req: IncomingMessage, ceilingBytes: number): void {
  if (req.complete || req.destroyed) return;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > ceilingBytes) req.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}
