// Preloaded with `node --import` into a CLI process: records the URL of every module the process loads, one per
// line, in the file named by RECORD_MODULES, so a test can say which modules a command never loaded.
import { register } from 'node:module';

register('./record-modules.hooks.mjs', import.meta.url, { data: { file: process.env.RECORD_MODULES } });
