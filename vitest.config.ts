import { defineConfig } from 'vitest/config';

/** Files with no database, no network and no process of their own (README §Tests: test/unit; test/console, the console's pure logic). */
const PURE = ['test/unit/**/*.test.ts', 'test/console/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30000,
    hookTimeout: 60000,
    // expect.poll waits for what a page or a job shows; its 1 s default was a timing assertion in disguise, and browser
    // tests failed with it when the other fork loaded the machine. A poll ends as soon as its value is right.
    expect: { poll: { timeout: 10_000 } },
    // Test files create their own databases, so they can run in parallel; 2 cores means 2 forks.
    pool: 'forks',
    maxWorkers: 2,
    env: { NODE_ENV: 'test' },
    setupFiles: ['test/helpers/setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'pure',
          include: PURE,
          // A fresh fork per file cost these files more than their tests (40 of them: 103 s isolated, 41 s not, on the
          // CI host under the same load): they share no state (no vi.mock, no env or global writes; README §Tests).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'db',
          include: ['test/**/*.test.ts'],
          exclude: PURE,
          // Migrates one database per engine for the whole run; test apps start from copies (test/helpers/global-setup.ts).
          globalSetup: ['test/helpers/global-setup.ts'],
          // Files share forks here too: a fork per file cost about 3.8 s of a worker's time each, some 470 s of a CI run
          // over 180 files. Each file still makes its own databases, servers and clocks and closes them in afterAll; the
          // product keeps no module-level state that one app could leak to the next (metrics registries, caches and
          // the template path are per app or pure). The whole suite passed so on both engines (README §Tests).
          isolate: false,
        },
      },
    ],
  },
});
