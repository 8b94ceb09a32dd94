import type { BrowserContext, Page } from 'playwright-core';

// The console's first figure as the page itself sees it, shared by the console browser test and
// `npm run bench -- console-first` (README §Operator console): no test runner needed here.

/** What watchFirstFigure saw on the dashboard (times in ms since navigation start, positions in CSS pixels). */
export interface FirstFigure {
  /** The first frame painted with the figure, or null while none has. */
  shownMs: number | null;
  /** Who drew it first: the static first screen (src/web/console/first-screen.ts) or the app. */
  by: 'first-screen' | 'app' | null;
  /** Where the number's text was, in the first screen and once the app drew it. */
  firstScreenAt: { x: number; y: number } | null;
  appAt: { x: number; y: number } | null;
  /** Frames painted after the figure first showed and before the app's own, without it: the figure was hidden. */
  framesWithout: number;
}

/**
 * Watches, from before the page's first script, for the dashboard's first figure (`[data-test="stat-total"]` holding
 * `want`): when a painted frame first holds it (the rAF before that paint, then a task after it), who drew it, and
 * every frame until the app has drawn its own: whether the figure stayed on screen and where its number was.
 * Read it with firstFigure(page). In the page's own clock, so a busy test process does not add to the figure.
 */
export async function watchFirstFigure(ctx: BrowserContext, want: string): Promise<void> {
  await ctx.addInitScript((wanted: string) => {
    // Runs in the page; test files are type-checked without the DOM's types.
    interface Box { getBoundingClientRect(): { left: number; top: number } }
    interface El extends Box { textContent: string | null; closest(s: string): El | null; querySelector(s: string): El | null }
    const w = globalThis as unknown as {
      document: { querySelectorAll(s: string): Iterable<El> } & object;
      requestAnimationFrame(f: () => void): void;
      MessageChannel: new () => { port1: { onmessage: (() => void) | null }; port2: { postMessage(m: null): void } };
      MutationObserver: new (f: () => void) => { observe(n: object, o: object): void; disconnect(): void };
      performance: { now(): number };
      __firstFigure: FirstFigureRecord;
    };
    interface FirstFigureRecord { shownMs: number | null; by: string | null; firstScreenAt: { x: number; y: number } | null; appAt: { x: number; y: number } | null; framesWithout: number }
    const rec: FirstFigureRecord = { shownMs: null, by: null, firstScreenAt: null, appAt: null, framesWithout: 0 };
    w.__firstFigure = rec;
    const find = (): El | null => {
      for (const el of w.document.querySelectorAll('[data-test="stat-total"]')) if ((el.textContent ?? '').includes(wanted)) return el;
      return null;
    };
    const at = (el: Box | null) => {
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: Math.round(r.left * 2) / 2, y: Math.round(r.top * 2) / 2 };
    };
    const started = w.performance.now();
    // Every frame from the first with the figure until the app's own: the state each paint shows.
    const frame = () => {
      const el = find();
      if (!el) rec.framesWithout++;
      else if (el.closest('#first-screen')) rec.firstScreenAt = at(el.querySelector('[data-first="total"]'));
      else {
        rec.appAt = at(el.querySelector('.el-statistic__number'));
        return;
      }
      if (w.performance.now() - started < 30_000) w.requestAnimationFrame(frame);
    };
    const seen = new w.MutationObserver(() => {
      const el = find();
      if (!el) return;
      seen.disconnect();
      rec.by = el.closest('#first-screen') ? 'first-screen' : 'app';
      w.requestAnimationFrame(() => {
        const after = new w.MessageChannel();
        after.port1.onmessage = () => (rec.shownMs = Math.round(w.performance.now()));
        after.port2.postMessage(null);
        frame();
      });
    });
    seen.observe(w.document, { childList: true, subtree: true, characterData: true });
  }, want);
}

/** What watchFirstFigure recorded, once the app has drawn its own figure (at most 20 s). */
export async function readFirstFigure(page: Page): Promise<FirstFigure> {
  const read = () => page.evaluate(() => (globalThis as unknown as { __firstFigure: FirstFigure }).__firstFigure);
  for (const t0 = Date.now(); Date.now() - t0 < 20_000; ) {
    const r = await read();
    if (r.appAt !== null && r.shownMs !== null) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`the dashboard's first figure was not drawn by the app within 20 s: ${JSON.stringify(await read())}`);
}
