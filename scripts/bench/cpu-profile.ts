import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/**
 * A V8 CPU profile of this process, started now when `path` is set (open the file in Chrome DevTools). Returns the
 * function that stops it and writes the file; the bench's servers call it on SIGTERM. Without a path it does nothing.
 */
export async function startCpuProfile(path: string | undefined): Promise<() => Promise<void>> {
  if (!path) return async () => undefined;
  const session = new Session();
  session.connect();
  await new Promise<void>((r) => session.post('Profiler.enable', () => session.post('Profiler.start', () => r())));
  return () =>
    new Promise<void>((r) => {
      session.post('Profiler.stop', (_err, res) => {
        writeFileSync(path, JSON.stringify(res.profile));
        r();
      });
    });
}
