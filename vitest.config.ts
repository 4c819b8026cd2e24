import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql must load once: under vitest it could load as ESM and CJS, which fails with
// "Cannot use GraphQLSchema from another module or realm".
const graphqlPath = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: { graphql: graphqlPath } },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
