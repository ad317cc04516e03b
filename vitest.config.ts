import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Whole-library suites: `npm run test:slow` (vitest.slow.config.ts); .ci/run runs both.
    exclude: ['test/slow/**', '**/node_modules/**'],
    // Two files at once even on 2 cores (vitest's default there is one): most
    // files are CPU-bound and a few are long, and the whole suite then takes
    // about 3.5 minutes here instead of 5.5.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
