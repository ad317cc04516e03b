import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Whole-library suites: `npm run test:slow` (vitest.slow.config.ts); .ci/run runs both.
    exclude: ['test/slow/**', '**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
