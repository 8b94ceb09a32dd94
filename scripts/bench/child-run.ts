import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_SANDBOX_KEYS } from '../../test/helpers/callbacks.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * A script of ours (`src/cli.ts` as an operator runs `wecom-ops`, a load generator) in its own process, with the
 * sandbox's callback keys; resolves with everything it printed, rejects with the tail of it on a non-zero exit.
 */
export function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, WECOM_TOKEN: TEST_SANDBOX_KEYS.token, WECOM_ENCODING_AES_KEY: TEST_SANDBOX_KEYS.encodingAesKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolveRun(out) : reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`))));
  });
}
