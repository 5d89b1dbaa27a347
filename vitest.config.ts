import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
          // Some read manifests or the compose file on their first run (cold module loads): seconds on a loaded machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          // One cluster, shared: files run one after another.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The Docker driver (test/e2e-docker): brings its own cluster up under dockerd; skipped where Docker cannot run.
          name: 'e2e-docker',
          include: ['test/e2e-docker/**/*.test.ts'],
          // After the other projects: two clusters at once are too much for a small CI machine.
          sequence: { groupOrder: 1 },
          testTimeout: 300_000,
          // The preparation is waited for when the file loads (a deadline of its own); the hooks bring a cluster up and down.
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
