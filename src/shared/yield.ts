/**
 * Let the event loop run before the next page of a long job. On SQLite every statement runs synchronously and its
 * promise settles as a microtask, so a loop over a million customers would otherwise never give the callback route a
 * turn, and WeCom's 5 s acknowledgement window would pass (docs/inbox.md §Long jobs share the loop).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
