// Preloaded with `node --import` into a CLI process: records every V8 flag the process sets at run time
// (v8.setFlagsFromString), one per line, in the file named by RECORD_V8_FLAGS, then sets it as asked.
import { appendFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';

const set = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  appendFileSync(process.env.RECORD_V8_FLAGS, `${flags}\n`);
  set(flags);
};
// `import { setFlagsFromString } from 'node:v8'` in the program sees the recording one too.
syncBuiltinESMExports();
