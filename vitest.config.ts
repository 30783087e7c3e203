import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

/**
 * The suites that need no MariaDB, PostgreSQL, Redis or NATS (embedded SQLite only): what
 * `npm run test:sqlite` (TEST_SERVICES=none) runs. A suite joins the list when it passes with every
 * service down.
 */
const NO_SERVER_SUITES = [
  'auth-router',
  'client-store-lock',
  'codegen',
  'compose-file',
  'cors',
  'demo',
  'demo-supergraph',
  'derive-schema',
  'docs',
  'documented-commands',
  'error-order',
  'graphql-source',
  'jwt-walkthrough',
  'lint',
  'production-defaults',
  'red-team-access',
  'relationship-schema',
  'runtime-dependencies',
  'signals',
  'schema-directory',
  'sqlite-queue',
  'test-services',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  resolve: {
    // One graphql for everyone: vite would pick graphql's ESM build ("module") for our imports while
    // @apollo/subgraph requires the CommonJS one, and schema objects then fail graphql's realm checks.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: process.env.TEST_SERVICES === 'none' ? NO_SERVER_SUITES : ['test/**/*.test.ts'],
    // Checks the services first, gives the run its own temporary directory and database prefix, removes both after.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
