// Builds the operator console (a Vue 3 app) into dist/console/, which the server serves at /console/
// (docs/architecture.md §Operator console). `npm run build:console` runs it; `npm ci` does through `prepare`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The dashboard's first screen needs nothing from the server but the page and its first answer
 * (docs/architecture.md §Operator console):
 * - first-screen.css inlined in the head (also in development);
 * - first-screen.ts built on its own (it must import nothing) and inlined as an async module script after the first
 *   screen's markup: it runs as soon as the page is parsed, waiting neither for a file nor for the app's stylesheet
 *   (a deferred script would), and asks the first screen's answers (in development the app asks them itself);
 * - the app's stylesheet moved from the head to the end of the body: in the head it held up the first frame until it
 *   had loaded; there it still holds up the app's code (a deferred script waits for every stylesheet before it runs).
 * The inline script is allowed by its hash in the page's Content-Security-Policy (src/http/routes/web.router.ts).
 */
function firstScreen(): Plugin {
  return {
    name: 'wecom-ops-first-screen',
    buildStart() {
      if (this.meta.watchMode) return;
      this.emitFile({ type: 'chunk', id: here('first-screen.ts'), name: 'first-screen' });
    },
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        // Without its comments: the page is sent on every load.
        const css = readFileSync(here('first-screen.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').trim();
        const style = { tag: 'style', children: css, injectTo: 'head' as const };
        if (!ctx.bundle) return { html, tags: [style] };
        const chunk = Object.values(ctx.bundle).find((c) => c.type === 'chunk' && c.name === 'first-screen');
        if (!chunk || chunk.type !== 'chunk') throw new Error('first-screen.ts was not built');
        // It must not wait for any other file: one script in the page, then its two questions.
        if (chunk.imports.length > 0 || chunk.dynamicImports.length > 0) throw new Error(`first-screen.ts must import nothing, imports ${[...chunk.imports, ...chunk.dynamicImports].join(', ')}`);
        delete ctx.bundle[chunk.fileName];
        const sheets: string[] = [];
        const rest = html.replace(/\s*<link rel="stylesheet"[^>]*>/g, (tag) => {
          sheets.push(tag.trim());
          return '';
        });
        const script = `<script type="module" async>${chunk.code.trim()}</script>`;
        return { html: rest.replace('</body>', `  ${script}\n    ${sheets.join('\n    ')}\n  </body>`), tags: [style] };
      },
    },
  };
}

export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [
    vue(),
    // Element Plus components and their CSS are imported where a template uses them, so the bundle carries only
    // those; our own components are imported explicitly (dirs: []).
    Components({ dirs: [], dts: here('components.d.ts'), resolvers: [ElementPlusResolver({ importStyle: 'css' })] }),
    firstScreen(),
  ],
  build: {
    outDir: here('../../../dist/console'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // Gzip sizes are measured by the browser test (README §Operator console); skip Vite's own pass over them.
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1200,
  },
  // `npx vite --config src/web/console/vite.config.ts` serves the sources against a running `npm start`.
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/readyz': 'http://127.0.0.1:3000',
      '/console/login': 'http://127.0.0.1:3000',
      '/console/auth': 'http://127.0.0.1:3000',
      '/sandbox': 'http://127.0.0.1:3000',
    },
  },
});
