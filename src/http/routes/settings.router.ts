import Router from '@koa/router';
import { OPERATORS, allow, api } from '../access.js';
import type { SettingsService } from '../../domain/settings/settings.service.js';

/**
 * `GET /api/v1/settings` (系统设置): the settings the engine runs with and where each comes from (environment variable,
 * config file or default). Read-only: they are read at start. Operators and admins; never a secret.
 */
export function settingsRouter(settings: SettingsService): Router {
  const router = new Router({ prefix: '/api/v1/settings', sensitive: true });
  router.get('/', allow(api(OPERATORS, 'none')), (ctx) => {
    ctx.body = settings.list();
  });
  return router;
}
