import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * `npm run lint`: the type check, ESLint, the console's type check and the import directions (README §Tests).
 *
 * Each check is single-threaded and takes 5–20 s, so they run as many at a time as there are cores: on the 2-core CI
 * machine that is about 35 s instead of 65. A check's output is held until it ends and printed whole, in the order
 * below, so two checks' errors never interleave. The exit code is non-zero when any check failed.
 */
const CHECKS: { name: string; cmd: string[] }[] = [
  { name: 'tsc', cmd: ['npx', 'tsc', '--noEmit', '-p', '.'] },
  { name: 'eslint', cmd: ['npx', 'eslint', '.'] },
  { name: 'console types', cmd: ['npm', 'run', '-s', 'lint:console'] },
  { name: 'boundaries', cmd: ['npm', 'run', '-s', 'lint:boundaries'] },
];

type Outcome = { name: string; code: number; output: string; ms: number };

function runCheck(check: (typeof CHECKS)[number]): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolveOutcome) => {
    const child = spawn(check.cmd[0], check.cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' } });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err) => chunks.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code) => resolveOutcome({ name: check.name, code: code ?? 1, output: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
  });
}

async function main(): Promise<number> {
  const width = Math.max(1, Math.min(CHECKS.length, availableParallelism()));
  const outcomes: Promise<Outcome>[] = [];
  const slots: Promise<unknown>[] = [];
  let next = 0;
  // A fixed number of lanes, each taking the next check when its last one ends.
  for (let lane = 0; lane < width; lane++) {
    slots.push(
      (async () => {
        while (next < CHECKS.length) {
          const i = next++;
          const p = runCheck(CHECKS[i]);
          outcomes[i] = p;
          await p;
        }
      })(),
    );
  }
  await Promise.all(slots);
  let failed = 0;
  for (const outcome of await Promise.all(outcomes)) {
    if (outcome.output.trim()) process.stdout.write(outcome.output.endsWith('\n') ? outcome.output : `${outcome.output}\n`);
    process.stdout.write(`lint: ${outcome.name} ${outcome.code === 0 ? 'ok' : `failed (exit ${outcome.code})`} in ${(outcome.ms / 1000).toFixed(1)} s\n`);
    if (outcome.code !== 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
