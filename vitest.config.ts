import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
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
    // Migrates one database per engine for the whole run; test apps start from copies (test/helpers/global-setup.ts).
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
