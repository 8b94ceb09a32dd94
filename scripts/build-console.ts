// Builds the operator console (src/web/console, Vue + Vite) into dist/console/, which `npm start` serves at
// /console/ (docs/architecture.md §Operator console). `npm ci` runs it through `prepare`:
// - without the dev dependencies (`npm ci --omit=dev`) there is no Vite: it keeps a console built beforehand, or says
//   that none exists, and exits 0 so the production install goes on (the server then shows a zh-CN notice);
// - when nothing the build reads has changed since the last build it does nothing, so an `npm install` of some other
//   package costs no rebuild. `--force` (npm run build:console) always builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const source = join(root, 'src/web/console');
const out = join(root, 'dist/console');
const stamp = join(out, '.build-hash');
const force = process.argv.includes('--force');

function say(line: string): void {
  process.stdout.write(`[console] ${line}\n`);
}

let viteBin: string;
try {
  viteBin = join(resolve(createRequire(import.meta.url).resolve('vite/package.json'), '..'), 'bin/vite.js');
} catch {
  if (existsSync(join(out, 'index.html'))) say('开发依赖未安装，使用已构建的 dist/console/ / no dev dependencies: keeping the console built beforehand');
  else say('开发依赖未安装，控制台未构建（/console/ 将提示尚未构建）/ no dev dependencies: console not built; /console/ will say so');
  process.exit(0);
}

/** Every file the build reads from the repo: the console's sources and the lock (package versions). */
function inputsHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p.slice(root.length)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(source);
  h.update(readFileSync(join(root, 'package-lock.json')));
  return h.digest('hex');
}

const hash = inputsHash();
if (!force && existsSync(join(out, 'index.html')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
  say('dist/console/ 已是最新 / up to date');
  process.exit(0);
}

const started = Date.now();
const run = spawnSync(process.execPath, [viteBin, 'build', '--config', join(source, 'vite.config.ts'), '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) {
  say('构建失败 / build failed');
  process.exit(run.status ?? 1);
}
// The inputs again: the build regenerates components.d.ts, which is one of them.
writeFileSync(stamp, inputsHash());
say(`已构建到 dist/console/（${((Date.now() - started) / 1000).toFixed(1)} s）/ built`);
