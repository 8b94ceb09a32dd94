// How far the JavaScript heap may grow past what its last full collection left live before V8 collects again.
//
// V8 on its own lets the old generation reach about four times the live data on a machine with memory to spare
// (its largest growing factor applies once the heap limit is 2 GB or more). The bot's live heap is about 45 MB,
// most of it the loaded program; a long job that promotes garbage steadily (planning a broadcast to a million
// customers) therefore ran the process up to 390-430 MB RSS before the first full collection freed it, although the
// job itself held one page. Collecting once the heap has grown by half keeps that planning under 260 MB (SQLite,
// 945,101 rows) at the cost of more frequent, short full collections. This is a growth limit, not a cap: unlike
// --max-old-space-size the heap can still grow as far as live data needs, so nothing fails for being large.
// The measurements: docs/audiences.md §Memory while planning
import { setFlagsFromString } from 'node:v8';

/** The growth, in percent of the live heap, that the bot allows between full collections. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Set V8's heap growing factor for this process, unless the operator started node with their own
 * (`node --heap-growing-percent=… bin/wecom-ops.js serve`). V8 reads the flag at every full collection, so setting
 * it at start-up, before the program is loaded, governs the whole run. NODE_OPTIONS cannot carry this flag.
 */
export function limitHeapGrowth(execArgv = process.execArgv, setFlags = setFlagsFromString) {
  if (execArgv.some((a) => a === '--heap-growing-percent' || a.startsWith('--heap-growing-percent='))) return null;
  const flag = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
  setFlags(flag);
  return flag;
}
