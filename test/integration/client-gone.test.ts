import { afterEach, describe, expect, it, vi } from 'vitest';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { onAppError } from '../../src/http/middleware/client-gone.js';
import { capturedLogger } from '../helpers/captured-logger.js';

/**
 * A client that goes away mid-answer (a browser test closing its page while an asset or a CSV streams): Koa reports
 * the cut stream ("Premature close", EPIPE) to the app's error listener, whose default printed a stack to stderr on
 * every such request. The app's own listener (src/app.ts) ignores them quietly and still logs a real error.
 */
describe('a client that goes away mid-answer', () => {
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
    vi.restoreAllMocks();
  });

  async function serve(body: () => unknown) {
    const { log, lines } = capturedLogger('debug');
    const app = new Koa();
    app.on('error', onAppError(log));
    app.use((ctx) => {
      ctx.type = 'text/plain';
      ctx.body = body();
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    return { port: (server.address() as AddressInfo).port, lines, app };
  }

  it('is ignored quietly: nothing on stderr, one debug line', async () => {
    const stderr = vi.spyOn(console, 'error');
    // An answer that never ends on its own, as a large file would not before the socket closes.
    const { port, lines } = await serve(() => new Readable({ read() { setTimeout(() => this.push('x'.repeat(16_384)), 5); } }));
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await expect.poll(() => lines.some((l) => l.includes('client went away'))).toBe(true);
    const entry = JSON.parse(lines.find((l) => l.includes('client went away'))!) as { level: number; code: string; path: string };
    expect(entry).toMatchObject({ level: 20, path: '/big' });
    expect(['ERR_STREAM_PREMATURE_CLOSE', 'EPIPE', 'ECONNRESET']).toContain(entry.code);
    expect(lines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
    expect(stderr).not.toHaveBeenCalled();
  });

  it('still logs an error that is not a client going away', async () => {
    const { app, lines } = await serve(() => 'ok');
    app.emit('error', new Error('disk on fire'), { path: '/x' });
    const entry = JSON.parse(lines.at(-1)!) as { level: number; msg: string; err: { message: string } };
    expect(entry).toMatchObject({ level: 50, msg: 'error after the answer was started', err: { message: 'disk on fire' } });
  });
});
