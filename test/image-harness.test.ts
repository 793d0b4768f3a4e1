/**
 * The image suite's own parsing, without Docker: what it reads from wrk, BuildKit and the bundled task
 * definition. (The suite itself runs with `npm run test:image`.)
 */
import { describe, expect, it } from "vitest";
import { dependencyStepsCached } from "./bench/image.js";
import { stopTimeoutSeconds, taskRunFlags } from "./image/app-image.js";
import { parseWrk } from "./image/zero-downtime.js";

const wrkClean = `Running 10s test @ http://127.0.0.1:8080/notes
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.21ms    2.10ms  40.12ms   90.00%
    Req/Sec     2.22k   150.00     2.50k    70.00%
  31010 requests in 14.00s, 9.10MB read
Requests/sec:   2215.00
Transfer/sec:    665.00KB
`;

const wrkWithFailures = `Running 1s test @ http://127.0.0.1:18765/
  1 threads and 2 connections
  2568 requests in 1.00m, 1.27MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:     42.80
`;

describe("parseWrk", () => {
  it("reads the request count, duration and rate of a clean run", () => {
    expect(parseWrk(wrkClean)).toEqual({
      requests: 31010,
      seconds: 14,
      requestsPerSecond: 2215,
      non2xx: 0,
      socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 },
    });
  });

  it("reads every kind of socket error and the non-2xx count, and minutes as a unit", () => {
    const result = parseWrk(wrkWithFailures);
    expect(result.seconds).toBe(60);
    expect(result.non2xx).toBe(17);
    expect(result.socketErrors).toEqual({ connect: 1, read: 2, write: 3, timeout: 4 });
  });

  it("refuses output without a summary instead of reporting zero failures", () => {
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused")).toThrow(/no summary/);
  });
});

describe("dependencyStepsCached", () => {
  const header = (id: number, stage: string, command: string) =>
    `#${id} [${stage}] RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store ${command}`;

  it("is true when every pnpm fetch/install step was answered from the cache", () => {
    const log = [
      header(8, "fetch 4/4", 'pnpm fetch --store-dir "$PNPM_STORE"'),
      "#8 CACHED",
      header(10, "deps 2/2", "pnpm install --frozen-lockfile"),
      "#10 CACHED",
      "#12 [build 2/2] RUN pnpm run build",
      "#12 DONE 1.9s",
    ].join("\n");
    expect(dependencyStepsCached(log)).toBe(true);
  });

  it("is false when one dependency step ran again", () => {
    const log = [
      header(8, "fetch 4/4", "pnpm fetch"),
      "#8 CACHED",
      header(10, "deps 2/2", "pnpm install"),
      "#10 DONE 3.2s",
    ];
    expect(dependencyStepsCached(log.join("\n"))).toBe(false);
  });

  it("is false when the log shows no dependency step at all (a Dockerfile that installs differently)", () => {
    expect(dependencyStepsCached("#5 [build 1/1] RUN npm ci\n#5 CACHED")).toBe(false);
  });
});

describe("the bundled task definition, as the image suite applies it to containers", () => {
  it("gives the containers its memory, init process and plain environment, never a placeholder", () => {
    const flags = taskRunFlags();
    expect(flags).toEqual(expect.arrayContaining(["--init", "--memory", "512m", "--env", "PORT=3000"]));
    expect(flags.join(" ")).not.toContain("{{");
    expect(stopTimeoutSeconds()).toBe(30);
  });
});
