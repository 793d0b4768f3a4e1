import { defineConfig } from "vitest/config";

// Shipyard's own tests only. examples/app is a separate pnpm project with its own vitest config and
// database setup (run `pnpm test` there); without this include, vitest would collect its files too.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Tests run on this machine's Node 20; the SDK's Node 22 notice is for users, not for test logs.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
