import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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
          // One real stack is shared: files run one at a time so they never race on it.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: { name: "infra", include: ["test/infra/**/*.test.ts"], testTimeout: 120_000 },
      },
    ],
  },
});
