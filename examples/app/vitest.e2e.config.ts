import { defineConfig } from "vitest/config";

/** End-to-end tests (`pnpm test:e2e`): they run the BUILT server, so `pnpm build` comes first. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/database.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
