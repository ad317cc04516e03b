import { defineConfig } from 'vitest/config';

/** The slow suites (test/slow): whole-library properties of the explorer. */
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
