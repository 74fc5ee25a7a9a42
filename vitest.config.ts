import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Test output stays quiet: expected failures log nothing (a test that reads logs sets its own level).
    env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "SILENT" },
    // Integration files share one real stack (and 2 cores): run files one at a time.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"] },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: { name: "infra", include: ["test/infra/**/*.test.ts"], testTimeout: 120_000 },
      },
      {
        // Kills and restarts private service instances (test/faults/README.md): `npm run test:faults`.
        extends: true,
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
