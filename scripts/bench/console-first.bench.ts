import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { readFirstFigure, watchFirstFigure, type FirstFigure } from '../../test/helpers/first-figure.js';
import { cpuWindow } from './cpu-share.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as import('node:net').AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** `npm start` in a folder of its own: the embedded SQLite and the built-in sandbox, which syncs its 200 customers. */
async function startBot(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [resolve(ROOT, 'bin/wecom-ops.js'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: `sqlite:${join(dir, 'wecom-ops.sqlite')}`,
      ADMIN_USERIDS: 'zhangsan',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the bot exited with ${proc.exitCode}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error('the bot did not answer /healthz in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, proc };
}

/** Signs 张三 in through the sandbox's stand-in for WeCom's QR page; the session's cookies. */
async function signIn(browser: Browser, url: string): Promise<Awaited<ReturnType<BrowserContext['cookies']>>> {
  const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${url}/console/signin`);
  await page.click('[data-test="wecom-login"]');
  await page.click('a:has-text("张三")');
  await page.waitForURL(`${url}/console/`, { timeout: 30_000 });
  const cookies = await ctx.cookies();
  await ctx.close();
  return cookies;
}

/** Where a cold load's time went, in ms since navigation start (the page's own clock). */
interface LoadTrace extends FirstFigure {
  documentMs: number;
  countMs: number | null;
  firstScreenJsMs: number | null;
  entryJsMs: number | null;
  cssMs: number | null;
  domContentLoadedMs: number;
  /** Long tasks (≥ 50 ms) that started before the figure was shown: start+duration each. */
  longTasks: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Busy loops in child processes, as a test run's neighbours load the machine (BENCH_FIRST_BUSY=<n>). */
function busyLoops(n: number): ChildProcess[] {
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
}

/**
 * `npm run bench -- console-first`: the operator console's first page with a cold cache, as README §Operator console
 * states its budget (first API data on screen < 1 s). The bot runs as `npm start` runs it (embedded SQLite, the
 * built-in sandbox's 200 customers), headless Chromium signs 张三 in through the sandbox's QR stand-in, then
 * `BENCH_FIRST_LOADS` (default 5) times a fresh profile with the session's cookie opens /console/ and the page's own
 * clock records the first frame painted with 客户总数 (test/helpers/first-figure.ts, as the console browser test
 * does), with the resource timings of what it could have waited for. `BENCH_FIRST_BUSY=<n>` adds n busy loops.
 */
export async function runConsoleFirstBench(): Promise<Record<string, unknown>[]> {
  if (!CHROMIUM) throw new Error('no Chromium found (set CHROMIUM_PATH)');
  const loads = Number(process.env.BENCH_FIRST_LOADS ?? 5);
  const busy = Number(process.env.BENCH_FIRST_BUSY ?? 0);
  const dir = mkdtempSync(join(tmpdir(), 'wo-first-'));
  let bot: { url: string; proc: ChildProcess } | undefined;
  let browser: Browser | undefined;
  let loops: ChildProcess[] = [];
  try {
    bot = await startBot(dir);
    const { url } = bot;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
    const cookies = await signIn(browser, url);
    const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    // The initial sync of the sandbox's corp runs in the background after the start: wait until it is whole.
    let total = 0;
    for (let i = 0; i < 600 && total < 200; i++) {
      const r = (await (await fetch(`${url}/api/v1/customers?audience=all&page=1&pageSize=1`, { headers: { cookie: cookieHeader } })).json()) as { total: number };
      total = r.total;
      if (total < 200) await new Promise((res) => setTimeout(res, 200));
    }
    loops = busyLoops(busy);
    const traces: LoadTrace[] = [];
    const cpu = cpuWindow([process.pid, bot.proc.pid!]);
    for (let i = 0; i < loads + 1; i++) {
      const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport: { width: 1440, height: 900 } });
      await ctx.addCookies(cookies);
      // tsx compiles this process with esbuild's keepNames, which wraps the functions handed to the page in __name(…);
      // the page has no such helper, so the watch below would throw before it starts.
      await ctx.addInitScript({ content: 'globalThis.__name = (f) => f;' });
      await ctx.addInitScript(() => {
        const w = globalThis as unknown as { __longTasks: { s: number; d: number }[]; PerformanceObserver: new (f: (l: { getEntries(): { startTime: number; duration: number }[] }) => void) => { observe(o: object): void } };
        w.__longTasks = [];
        new w.PerformanceObserver((l) => l.getEntries().forEach((e) => w.__longTasks.push({ s: Math.round(e.startTime), d: Math.round(e.duration) }))).observe({ type: 'longtask', buffered: true });
      });
      await watchFirstFigure(ctx, total.toLocaleString('en-US'));
      const page = await ctx.newPage();
      await page.goto(`${url}/console/`);
      const fig = await readFirstFigure(page).catch(async (err: unknown) => {
        await page.screenshot({ path: join(tmpdir(), 'console-first-failed.png') });
        throw new Error(`${(err as Error).message} (total ${total}, at ${page.url()}; screenshot in ${join(tmpdir(), 'console-first-failed.png')})`);
      });
      const timing = await page.evaluate(() => {
        const p = globalThis as unknown as { performance: { getEntriesByType(t: string): { name: string; responseEnd: number; domContentLoadedEventStart?: number }[] }; __longTasks: { s: number; d: number }[] };
        const nav = p.performance.getEntriesByType('navigation')[0];
        const res = p.performance.getEntriesByType('resource');
        const end = (re: RegExp) => {
          const e = res.find((r) => re.test(r.name));
          return e ? Math.round(e.responseEnd) : null;
        };
        // Every file and request before the first figure: asked (startTime), sent, first byte, last byte.
        const steps = res.map((r) => {
          const e = r as unknown as { name: string; startTime: number; requestStart: number; responseStart: number; responseEnd: number };
          return `${e.name.replace(/^.*\/(assets\/)?/, '').slice(0, 24)} ${[e.startTime, e.requestStart, e.responseStart, e.responseEnd].map(Math.round).join('>')}`;
        });
        return {
          documentMs: Math.round(nav.responseEnd),
          domContentLoadedMs: Math.round(nav.domContentLoadedEventStart ?? 0),
          countMs: end(/\/api\/v1\/customers\?audience=all/),
          firstScreenJsMs: end(/\/assets\/first-screen-[\w-]+\.js$/),
          entryJsMs: end(/\/assets\/index-[\w-]+\.js$/),
          cssMs: end(/\/assets\/index-[\w-]+\.css$/),
          longTasks: p.__longTasks,
          steps,
        };
      });
      await ctx.close();
      // The first load warms the server (its statements, the files' page cache): not counted.
      if (i === 0) continue;
      const shown = fig.shownMs ?? Infinity;
      const { steps, ...times } = timing;
      traces.push({ ...fig, ...times, longTasks: timing.longTasks.filter((t) => t.s < shown).map((t) => `${t.s}+${t.d}`).join(' ') });
      process.stdout.write(`[console-first] load ${i}: first data ${fig.shownMs} ms by ${fig.by}; ${JSON.stringify(times)}\n  ${steps.join('\n  ')}\n`);
    }
    const share = cpu.end();
    const loadAvg1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    const shown = traces.map((t) => t.shownMs ?? NaN);
    return [
      {
        engine: 'sqlite',
        customers: total,
        loads,
        busyLoops: busy,
        firstDataMedianMs: median(shown),
        firstDataMs: shown.join('/'),
        firstDataMaxMs: Math.max(...shown),
        drawnBy: [...new Set(traces.map((t) => t.by))].join(','),
        documentMs: traces.map((t) => t.documentMs).join('/'),
        countMs: traces.map((t) => t.countMs).join('/'),
        firstScreenJsMs: traces.map((t) => t.firstScreenJsMs).join('/'),
        entryJsMs: traces.map((t) => t.entryJsMs).join('/'),
        domContentLoadedMs: traces.map((t) => t.domContentLoadedMs).join('/'),
        longTasksBeforeFirst: traces.map((t) => t.longTasks || '-').join(' | '),
        ...share,
        loadAvg1,
        target: 'first API data on screen < 1 s',
      },
    ];
  } finally {
    for (const l of loops) l.kill('SIGKILL');
    await browser?.close().catch(() => undefined);
    if (bot && bot.proc.exitCode === null) {
      const exited = once(bot.proc, 'exit');
      bot.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
