import { defineConfig } from "vitest/config";

/** Unit and integration tests (`pnpm test`); the end-to-end tests have their own config. */
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**"],
    globalSetup: ["test/database.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
