// Builds the operator console (a Vue 3 app) into dist/console/, which the server serves at /console/
// (docs/architecture.md §Operator console). `npm run build:console` runs it; `npm ci` does through `prepare`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [
    vue(),
    // Element Plus components and their CSS are imported where a template uses them, so the bundle carries only
    // those; our own components are imported explicitly (dirs: []).
    Components({ dirs: [], dts: here('components.d.ts'), resolvers: [ElementPlusResolver({ importStyle: 'css' })] }),
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
