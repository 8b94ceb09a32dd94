// Builds the operator console (a Vue 3 app) into dist/console/, which the server serves at /console/
// (docs/architecture.md §Operator console). `npm run build:console` runs it; `npm ci` does through `prepare`.
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * first-screen.ts as a file of its own (hashed like every asset), first in the page's head and run as soon as it
 * arrives (async): it asks the first screen's answers and paints the first number while the app's code still loads
 * (docs/architecture.md §Operator console). In development the app asks them itself.
 */
function firstScreen(): Plugin {
  return {
    name: 'wecom-ops-first-screen',
    apply: 'build',
    buildStart() {
      this.emitFile({ type: 'chunk', id: here('first-screen.ts'), name: 'first-screen' });
    },
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunk = Object.values(ctx.bundle ?? {}).find((c) => c.type === 'chunk' && c.name === 'first-screen');
        if (!chunk || chunk.type !== 'chunk') throw new Error('first-screen.ts was not built');
        // It must not wait for any other file: one request, then its two questions.
        if (chunk.imports.length > 0) throw new Error(`first-screen.ts must import nothing at run time, imports ${chunk.imports.join(', ')}`);
        return [{ tag: 'script', attrs: { type: 'module', async: true, crossorigin: true, src: `/console/${chunk.fileName}` }, injectTo: 'head-prepend' }];
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
