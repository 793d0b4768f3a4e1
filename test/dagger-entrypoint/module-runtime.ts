/**
 * The module runtime as the engine starts it: like the engine's generated __dagger.entrypoint.ts, it
 * calls @dagger.io/dagger's `entrypoint` with the module's TypeScript files (given as arguments). It
 * connects to the session named by DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN, registers the module
 * or invokes one function, and may end the process itself.
 *
 * One thing differs from the engine, and only when the runner asks for it (fakeClock): the Dagger
 * face's clock becomes a FakeClock starting there (and its randomness fixed), the same swap the
 * in-process Dagger tests make, so a deploy's lock settles and polls jump instead of taking real
 * seconds. The entrypoint imports the same src/ files, so it sees the swapped clock.
 */
import { entrypoint } from "@dagger.io/dagger";
import { FAKE_CLOCK_START_MS } from "./runner.js";

const fakeClockStart = process.env[FAKE_CLOCK_START_MS];
if (fakeClockStart !== undefined) {
  const [{ faceRuntime }, { FakeClock }] = await Promise.all([
    import("../../src/dagger/runtime.js"),
    import("../support/clock.js"),
  ]);
  faceRuntime.clock = new FakeClock(Number(fakeClockStart));
  faceRuntime.random = () => 0.5;
  // The registry preflight asks ghcr.io for the deployed digest: answer it here, so no test run
  // depends on (or reaches) the network; anything else is refused as a closed network would.
  faceRuntime.fetch = async (input) => {
    if (/^https:\/\/ghcr\.io\/v2\/acme\/[^/]+\/manifests\/sha256:[0-9a-f]{64}$/.test(input)) {
      return new Response(null, { status: 200 });
    }
    throw new TypeError(`fetch failed: ${input} is not reachable from the entrypoint tests`);
  };
}

await entrypoint(process.argv.slice(2));
