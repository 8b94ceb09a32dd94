import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import './lib/base.css';

const app = createApp(App).use(router);
// Mounted once the first page is resolved (the session known, its code loaded), not before: mounting empties #app,
// which holds the first screen first-screen.ts may have painted the dashboard's first number into, and the app's own
// page then replaces it in one step with the same figure in the same place. docs/architecture.md §Operator console
void router
  .isReady()
  .catch(() => undefined)
  .then(() => app.mount('#app'));
