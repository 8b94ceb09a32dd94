import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { TEST_SANDBOX_KEYS } from './callbacks.js';

/** A server running in a child process. */
export interface ChildServer {
  url: string;
  proc: ChildProcess;
  stderr: string[];
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawn `node --import tsx <script>` with env, wait for `READY <url>` on stdout. `wrapper` runs it under another
 * command, e.g. `['faketime', '2026-12-01 00:59:52']` for a process whose clock starts at a given instant.
 */
export async function spawnServer(script: string, env: Record<string, string>, timeoutMs = 20000, wrapper: string[] = []): Promise<ChildServer> {
  const root = resolve(import.meta.dirname, '../..');
  const argv = [process.execPath, '--import', 'tsx', resolve(root, script)];
  const [cmd, ...args] = [...wrapper, ...argv];
  // A wrapper such as faketime forks the server rather than exec'ing it, so signalling the wrapper alone would orphan
  // the server (it kept running, and eating CPU, after the test). A wrapped server gets its own process group, and
  // kill() signals the whole group.
  const isGroup = wrapper.length > 0;
  const proc = spawn(cmd, args, {
    cwd: root,
    // Known sandbox callback keys (test/helpers/callbacks.ts) unless the test gives others.
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      WECOM_TOKEN: TEST_SANDBOX_KEYS.token,
      WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: isGroup,
  });
  const stderr: string[] = [];
  proc.stderr!.on('data', (d) => stderr.push(String(d)));
  let buf = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs} ms: ${stderr.join('')}`)), timeoutMs);
    proc.stdout!.on('data', (d) => {
      buf += String(d);
      const m = /READY (\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr.join('')}`));
    });
  });
  return {
    url,
    proc,
    stderr,
    stdout: () => buf,
    kill: async (signal = 'SIGKILL') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      if (isGroup && proc.pid) process.kill(-proc.pid, signal);
      else proc.kill(signal);
      await exited;
    },
  };
}
