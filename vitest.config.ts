import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets on port 0, so files can run in parallel safely.
    pool: 'forks',
    // Two files at a time even on a 2-core machine (vitest's default there is one): most files
    // wait on sockets, timers and child processes, not the CPU, so the suite takes ~9 minutes
    // instead of ~14, and its timing tests already hold on a busy machine.
    maxWorkers: 2,
    // Child-process tests run dist/main.js; rebuild it when src/ is newer.
    globalSetup: ['test/global-setup-build.ts'],
  },
});
