// The entry of role all's handler thread (src/handler-thread.ts): it loads the TypeScript sources through tsx, as
// bin/wecom-ops.js does for the main thread, since a worker thread does not inherit the main thread's loader.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/handler-thread.worker.ts', import.meta.url).href);
