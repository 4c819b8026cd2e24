import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Browser tests: `bash test/browser/run.sh` (installs Chromium, builds web/dist, runs these).
const graphqlPath = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: { graphql: graphqlPath } },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/browser/**/*.spec.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
