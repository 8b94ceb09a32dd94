// Layer boundaries and import cycles in src/, checked by dependency-cruiser (`npm run lint` runs
// `depcruise src`; .ci/run runs `npm run lint`). README.md §Layout lists the same table for readers.
//
// The allowed directions are DATA: edit LAYERS, not the rules below it. Each layer may import itself, the layers in
// `may`, and with `import type` only the layers in `mayTypes`. Everything under src/ not listed is refused.
// Lower layers never import higher ones, so no direction below can close a cycle between layers.
//
// Paths are regular expressions over paths relative to the repository root.

/** A file holding only types: `*.types.ts` or `types.ts`. */
const TYPE_FILE = '([.]|^|/)types[.]ts$';

const DOMAIN_TYPES = '^src/domain/.+[.]types[.]ts$';

/** The entry points and the composition root: src/main.ts, src/cli.ts, src/app.ts, src/container.ts, src/cli/. */
const ROOT = ['^src/[^/]+[.]ts$', '^src/cli/'];

const LAYERS = {
  shared: { path: '^src/shared/', may: [], why: 'leaf helpers (clock, errors, logger, metrics); they know no feature' },
  config: {
    path: '^src/config/',
    // The sandbox's fixed corp identity is what SANDBOX=true fills in for the WeCom credentials.
    may: ['^src/shared/', '^src/wecom/sandbox-identity[.]ts$'],
    why: 'reads and validates the environment',
  },
  wecom: { path: '^src/wecom/', may: ['^src/shared/'], why: 'the WeCom client, callback codec and sandbox' },
  persistence: {
    path: '^src/persistence/',
    // token-cache.ts: the credential repository implements the token cache's shared store and uses its refresh-time
    // rule (docs/wecom-protocol.md §Access tokens).
    may: ['^src/shared/', '^src/wecom/client/token-cache[.]ts$'],
    // The entity types live in the domain (repositories take and return them); the WeCom types are the stores the
    // repositories implement (token cache, rate gate) and the message shapes they store. wecom imports only shared.
    mayTypes: [DOMAIN_TYPES, '^src/wecom/client/'],
    why: 'repositories over Db; all SQL lives here',
  },
  domain: {
    path: '^src/domain/',
    may: ['^src/persistence/', '^src/wecom/', '^src/shared/'],
    mayTypes: ['^src/config/'],
    why: 'services, handlers and planners; collaborators arrive as constructor parameters',
  },
  http: {
    path: '^src/http/',
    // The callback router decodes WeCom's envelope (callback codec, crypto); WeCom calls go through domain services,
    // so the client and the sandbox are types only here (the sandbox's router is mounted, never built, by http).
    may: ['^src/domain/', '^src/shared/', '^src/wecom/(?!client/|sandbox/)'],
    mayTypes: ['^src/config/', '^src/wecom/'],
    why: 'routers, presenters and middleware built from services',
  },
  jobs: {
    path: '^src/jobs/',
    may: ['^src/domain/', '^src/persistence/', '^src/shared/'],
    mayTypes: ['^src/config/'],
    why: 'job definitions, the scheduler and the run coordinator',
  },
  web: {
    path: '^src/web/',
    may: [],
    // The API's answer shapes, where the domain declares them in type files (they import only other type files), so
    // the console does not restate them; nothing of the server reaches the browser bundle.
    mayTypes: [DOMAIN_TYPES, '^src/wecom/client/types[.]ts$'],
    why: 'the console and the sidebar, which run in the browser and call the API',
  },
};

const allLayerPaths = Object.values(LAYERS).map((l) => l.path);

function layerRules() {
  const rules = [];
  for (const [name, layer] of Object.entries(LAYERS)) {
    const mayTypes = layer.mayTypes ?? [];
    const allowed = [...layer.may.map(shortPath), ...mayTypes.map((p) => `${shortPath(p)} (import type)`)];
    rules.push({
      name: `${name}-imports`,
      comment: `src/${name}/ (${layer.why}) may import only: ${allowed.join(', ') || 'nothing outside itself'}.`,
      severity: 'error',
      from: { path: layer.path },
      // Imports of the entry points and the container are the next rules' business (one report per import).
      to: { path: '^src/', pathNot: [layer.path, ...layer.may, ...mayTypes, ...ROOT] },
    });
    if (mayTypes.length > 0) {
      rules.push({
        name: `${name}-imports-types-only`,
        comment: `src/${name}/ may import ${mayTypes.map(shortPath).join(', ')} only with \`import type\`.`,
        severity: 'error',
        from: { path: layer.path },
        to: { path: mayTypes, pathNot: [layer.path, ...layer.may], dependencyTypesNot: ['type-only', 'type-import'] },
      });
    }
  }
  return rules;
}

// A path pattern as the messages show it: '^src/domain/.+[.]types[.]ts$' becomes 'src/domain/**/*.types.ts'.
function shortPath(re) {
  return re
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\[\.\]/g, '.')
    .replace('.+', '**/*')
    .replace(/\(\?!([^)]*)\)/, (_, not) => ` (not ${not.split('|').join(', ')})`);
}

module.exports = {
  forbidden: [
    ...layerRules(),
    {
      name: 'container-only-from-main-and-cli',
      comment:
        'Only src/main.ts, src/cli.ts and src/cli/ (and tests) import src/container.ts: everything else gets its ' +
        'collaborators as parameters from the composition root.',
      severity: 'error',
      from: { pathNot: ['^src/main[.]ts$', '^src/cli[.]ts$', '^src/cli/'] },
      to: { path: '^src/container[.]ts$' },
    },
    {
      name: 'entry-points-only-from-root',
      comment: 'src/main.ts, src/cli.ts, src/app.ts and src/cli/ are entry points; no layer imports them.',
      severity: 'error',
      from: { path: allLayerPaths },
      to: { path: ['^src/(main|cli|app)[.]ts$', '^src/cli/'] },
    },
    {
      name: 'domain-types-import-only-type-files',
      comment: 'A domain *.types.ts file imports nothing but other type files (*.types.ts, types.ts).',
      severity: 'error',
      from: { path: DOMAIN_TYPES },
      to: { pathNot: TYPE_FILE },
    },
    {
      name: 'persistence-does-not-re-export-domain',
      comment: 'A repository never exports the domain\'s types (no `export … from` src/domain/).',
      severity: 'error',
      from: { path: '^src/persistence/' },
      to: { path: '^src/domain/', dependencyTypes: ['export'] },
    },
    {
      name: 'sandbox-only-from-root',
      comment:
        'Only the composition root and the CLI load the WeCom sandbox (src/wecom/sandbox/); elsewhere `import type` ' +
        'only, which loads nothing.',
      severity: 'error',
      from: { pathNot: [...ROOT, '^src/wecom/sandbox/'] },
      to: { path: '^src/wecom/sandbox/', dependencyTypesNot: ['type-only', 'type-import'] },
    },
    {
      name: 'koa-only-in-http',
      comment: 'Only src/http/, src/app.ts and the sandbox\'s own server use Koa: routers are built in src/http/.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/http/', ...ROOT, '^src/wecom/sandbox/'] },
      to: { path: '(^|/)node_modules/(koa|@koa/[^/]+)/' },
    },
    {
      name: 'database-only-in-persistence',
      comment:
        'TypeORM and the database drivers are used (beyond `import type`) only in src/persistence/ and the root: ' +
        'SQL lives in repositories.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/persistence/', ...ROOT] },
      to: {
        path: '(^|/)node_modules/(typeorm|better-sqlite3|mysql2)/',
        dependencyTypesNot: ['type-only', 'type-import'],
      },
    },
    {
      name: 'no-circular',
      // `import type` counts: the container <-> register cycle the composition root removed closed through
      // `import type { Container }`, and two modules that name each other's types cannot be read apart either.
      // The one exception is inside the WeCom sandbox (next rule).
      comment: 'No import cycles in src/, `import type` included.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, via: { pathNot: '^src/wecom/sandbox/' } },
    },
    {
      name: 'no-circular-in-sandbox',
      // A cycle that stays inside src/wecom/sandbox/ is refused only when it loads code: the control router types
      // its parameter with the sandbox class that dispatches to it (`import type`, erased by TypeScript).
      comment: 'No import cycles in src/wecom/sandbox/ beyond `import type`.',
      severity: 'error',
      from: { path: '^src/wecom/sandbox/' },
      to: {
        circular: true,
        dependencyTypesNot: ['type-only', 'type-import'],
        viaOnly: { dependencyTypesNot: ['type-only', 'type-import'] },
      },
    },
    {
      name: 'not-to-unresolvable',
      // src/web/ is left to the browser build: the console's .vue files and bundler-resolved packages are Vite's.
      comment: 'An import dependency-cruiser cannot resolve would slip past every rule above.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/web/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Keep `import type` edges (marked 'type-only') so the types-only rules and the cycle rule see them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
