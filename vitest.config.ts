import { defineConfig } from "vitest/config";

// Shipyard's own tests only. examples/app is a separate pnpm project with its own vitest config and
// database setup (run `pnpm test` there); without this include, vitest would collect its files too.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
  },
});
