import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['node_modules/**', 'test/lint-fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Integration tests use loop devices, QEMU and loopback servers: keep the 2-core machine sane.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
