import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/**
 * One full collection now, so that how far the heap may grow next (bin/heap-growth.js: half of what is live) is
 * measured from what is live at this moment. Before a long job that allocates steadily (planning a broadcast to a
 * million customers), a process whose last full collection was long ago, or never, otherwise lets the heap grow
 * from an old, higher limit first (docs/audiences.md §Memory while planning). Node exposes `gc` only with
 * `--expose-gc`; setting the flag at run time gives it to a new context. False when that is not possible.
 */
export function collectGarbageNow(): boolean {
  if (collector === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      if (!exposed) setFlagsFromString('--expose-gc');
      collector = exposed ?? (runInNewContext('gc') as () => void);
    } catch {
      collector = null;
    }
  }
  collector?.();
  return collector !== null;
}
