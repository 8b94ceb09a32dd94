/**
 * Run `fn`, counting the turns of the event loop other work got meanwhile: on SQLite every statement runs on the
 * loop, so a long job that never yields lets not one pass (docs/inbox.md §Long jobs share the loop).
 */
export async function turnsDuring(fn: () => Promise<unknown>): Promise<number> {
  let turns = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turns += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await fn();
  } finally {
    running = false;
  }
  return turns;
}
