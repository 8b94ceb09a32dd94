import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { waitFor } from './app.js';

const root = resolve(import.meta.dirname, '../..');

/** `wecom-ops serve [args]` as its own process, on a free port, once /healthz answers. */
export interface ServeProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  /** Signal it and wait for its exit (SIGKILL unless told). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as import('node:net').AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

export async function serveProcess(args: string[], env: Record<string, string>): Promise<ServeProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [resolve(root, 'bin/wecom-ops.js'), 'serve', ...args], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  const url = `http://127.0.0.1:${port}`;
  const name = ['serve', ...args].join(' ');
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${out}`);
      return fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    },
    60_000,
    `${name} listening (${out})`,
  );
  return {
    url,
    proc,
    output: () => out,
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      await exited;
    },
  };
}
