/**
 * Zero downtime, measured for real: nginx in front of version 1 under wrk load, version 2 started and
 * waited healthy, switched in with graceful reloads, version 1 drained then stopped with SIGTERM.
 */
import { expect, it } from "vitest";
import { measureReplacement } from "./zero-downtime.js";

it("replaces version 1 by version 2 under load without one failed request", async () => {
  const result = await measureReplacement({ minRequests: 10_000, log: (line) => console.log(line) });
  console.log(JSON.stringify({ ...result, timeline: undefined }, null, 2));

  expect(result.requests).toBeGreaterThanOrEqual(10_000);
  expect(result.socketErrors).toEqual({ connect: 0, read: 0, write: 0, timeout: 0 });
  expect(result.non2xx).toBe(0);
  expect(result.failed).toBe(0);
  // Both versions answered: the load really spanned the replacement.
  expect(result.servedBy["zero-downtime-v1 200"] ?? 0).toBeGreaterThan(0);
  expect(result.servedBy["zero-downtime-v2 200"] ?? 0).toBeGreaterThan(0);
  // nginx saw only 200s; 499 is nginx's "client closed": wrk's last requests when it is stopped.
  const statuses = Object.keys(result.servedBy);
  expect(
    statuses.filter(
      (key) => !["zero-downtime-v1 200", "zero-downtime-v2 200", "zero-downtime-v2 499"].includes(key),
    ),
  ).toEqual([]);
  expect(result.versionOneExitCode).toBe(0);
  expect(result.versionOneStopSeconds).toBeLessThan(result.stopTimeoutSeconds);
  expect(result.releaseAfter).toBe("zero-downtime-v2");
});
