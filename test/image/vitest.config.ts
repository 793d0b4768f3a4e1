import { defineConfig } from "vitest/config";

// The image suite builds and runs containers: minutes, not seconds, and it needs a Docker engine.
// Its files end in .image-test.ts so the default `vitest run` of `npm test` never picks them up;
// `npm run test:image` provisions the engine and the base images, then runs this config.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/image/**/*.image-test.ts"],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    // One file at a time: the machine has 2 cores and the files share the built app image.
    fileParallelism: false,
    // Ryuk (testcontainers' reaper) is an image from a registry, which is unreachable here: the tests
    // stop their own containers instead.
    env: { TESTCONTAINERS_RYUK_DISABLED: "true" },
  },
});
