#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci && npm start` needs no build step.
import { register } from 'tsx/esm/api';
import { limitHeapGrowth } from './heap-growth.js';

// Before anything is loaded: the heap of every command, `serve` (what npm start runs) included, grows by at most
// half of its live data between full collections (bin/heap-growth.js).
limitHeapGrowth();
register();
const { main } = await import(new URL('../src/cli.ts', import.meta.url).href);
await main(process.argv.slice(2)).catch((err) => {
  // An error meant for the operator (a wrong DATA_KEY) carries its exit code: its message says it all, no stack.
  if (err instanceof Error && typeof err.exitCode === 'number') {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
