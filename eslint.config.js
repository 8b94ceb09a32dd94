// ESLint (flat config): typescript-eslint's recommended rules over the sources, tests and scripts (`npm run lint`,
// run by .ci/run). The layer boundaries and import cycles are checked by dependency-cruiser (.dependency-cruiser.cjs),
// which `npm run lint` runs after ESLint.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'dist/**', 'coverage/**', 'scripts/bench/_*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks a binding kept on purpose (an interface's parameter, a field destructured away).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The repositories build WHERE clauses with `cond && (where.push(…), params.push(…))`-style pairs on one line.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    // The sidebar and console pages run in the browser, the sidebar with WeCom's JS-SDK global `ww`.
    files: ['src/web/**/*.js'],
    languageOptions: { globals: { ...globals.browser, ww: 'readonly' } },
  },
  {
    // Tests read loosely shaped JSON and poke at private state; `any` there costs nothing a reader relies on.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
