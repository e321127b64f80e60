import { defineConfig } from 'vitest/config';

// Suites: unit (pure, on the host), kernel (inside user-mode Linux, against
// the real IPVS), e2e (real gRPC clients against the server, in the same
// user-mode Linux), no-ipvs (inside a user-mode Linux without IPVS).
// `npm test` (scripts/test.ts) runs each where it belongs.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          // One CPU in the guest, and tests that share one kernel. The files share one process (isolate: false):
          // each would otherwise load its modules afresh, ~10 s in user-mode Linux. Hooks are registered by each file.
          pool: 'forks',
          fileParallelism: false,
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // On this machine: npm start's user-mode Linux fallback, end to end.
      { test: { name: 'sandbox', include: ['test/sandbox/**/*.test.ts'], testTimeout: 180_000 } },
      { test: { name: 'no-ipvs', include: ['test/no-ipvs/**/*.test.ts'], pool: 'forks' } },
    ],
  },
});
