/**
 * Print the access-policy table that SECURITY.md carries between its access-table markers, from the routes a
 * freshly built app registers (a throwaway SQLite database in the sandbox corp). `--write` replaces the table in
 * SECURITY.md. The access-matrix test fails when the file and the code disagree.
 *
 *   npm run security:table [-- --write]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/load.js';
import { buildContainer } from '../src/container.js';
import { createApp } from '../src/app.js';
import { registeredRoutes, renderAccessTable } from '../src/http/access.js';
import { silentLogger } from '../src/shared/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'wecom-ops-table-'));
try {
  const config = loadConfig({
    env: { NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(dir, 'table.sqlite')}`, DATA_KEY: randomBytes(32).toString('base64'), PORT: '0', HOST: '127.0.0.1' },
  });
  const container = await buildContainer(config, silentLogger);
  const table = renderAccessTable(registeredRoutes(createApp(container)));
  await container.close();
  if (process.argv.includes('--write')) {
    const file = resolve(import.meta.dirname, '../SECURITY.md');
    const doc = readFileSync(file, 'utf8');
    const next = doc.replace(/(<!-- access-table:start -->\n)[\s\S]*?(<!-- access-table:end -->)/, `$1${table}$2`);
    if (next === doc && !doc.includes(table)) throw new Error('SECURITY.md has no access-table markers');
    writeFileSync(file, next);
    console.log(`SECURITY.md: ${table.split('\n').length - 3} routes`);
  } else process.stdout.write(table);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
