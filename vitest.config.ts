import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets on port 0, so files can run in parallel safely.
    pool: 'forks',
    // Child-process tests run dist/main.js; rebuild it when src/ is newer.
    globalSetup: ['test/global-setup-build.ts'],
  },
});
