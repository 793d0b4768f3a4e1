import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HealthCheckSchema } from "../../src/config/schema.js";
import { backoffDelay, runSmokeTest } from "../../src/verify/smoke.js";
import { FakeClock } from "../support/clock.js";
import { captureOutput } from "../support/world.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Answers the health path with the next status of a script (the last one repeats). */
function scripted(statuses: number[], release = "v2"): { handler: Handler; hits: () => number } {
  let hits = 0;
  return {
    hits: () => hits,
    handler: (req, res) => {
      if (req.url === "/version") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ release }));
        return;
      }
      const status = statuses[Math.min(hits, statuses.length - 1)]!;
      hits += 1;
      res.writeHead(status);
      res.end(status === 200 ? "ok" : "bad");
    },
  };
}

function input(url: string, overrides: Record<string, unknown> = {}, release: string | null = "v2") {
  const clock = new FakeClock();
  const captured = captureOutput();
  return {
    clock,
    captured,
    smoke: {
      settings: HealthCheckSchema.parse({ url: `${url}/health`, ...overrides }),
      release,
      clock,
      random: () => 0.5,
      progress: captured.output,
    },
  };
}

describe("smoke test", () => {
  it("passes after N healthy answers in a row", async () => {
    const app = scripted([200]);
    const url = await serve(app.handler);
    const { smoke } = input(url);
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(true);
    expect(result.checks).toBe(3);
    expect(result.summary).toContain("answered 200 3 times in a row");
  });

  it("recovers from a slow start: failures back off, then 3 in a row pass", async () => {
    const app = scripted([503, 503, 200]);
    const url = await serve(app.handler);
    const { smoke, clock } = input(url);
    const started = clock.now();
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(true);
    expect(result.failures).toBe(2);
    // 2 s after the first failure, 4 s after the second (random 0.5 = no jitter), then 2 s twice.
    expect(clock.now() - started).toBe(2000 + 4000 + 2000 + 2000);
  });

  it("fails a flapping endpoint that never answers 3 times in a row, with a clear reason", async () => {
    const statuses = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 200 : 502));
    const app = scripted(statuses);
    const url = await serve(app.handler);
    const { smoke } = input(url, { budgetSeconds: 60 });
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(false);
    expect(result.summary).toMatch(
      /^\d+ of \d+ checks failed: status 502 \(expected 200\) at http:.*\/health; last status (200|502); needed 3 healthy answers in a row within 1m00s, best run was 1$/,
    );
  });

  it("fails when the service reports another release (old tasks still answering)", async () => {
    const app = scripted([200], "v1");
    const url = await serve(app.handler);
    const { smoke } = input(url, { releaseUrl: `${url}/version`, budgetSeconds: 20 });
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(false);
    expect(result.summary).toContain(`${url}/version reports release v1, expected v2`);
    expect(result.attempts.at(-1)).toMatchObject({ reportedRelease: "v1", ok: false });
  });

  it("passes when the release URL reports the deployed release", async () => {
    const app = scripted([200], "v2");
    const url = await serve(app.handler);
    const { smoke } = input(url, { releaseUrl: `${url}/version` });
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(true);
    expect(result.summary).toContain("reporting release v2");
  });

  it("rejects a release URL that does not answer JSON", async () => {
    const url = await serve((req, res) => {
      res.writeHead(200);
      res.end(req.url === "/version" ? "<html>hi</html>" : "ok");
    });
    const { smoke } = input(url, { releaseUrl: `${url}/version`, budgetSeconds: 5 });
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(false);
    expect(result.summary).toContain('did not answer JSON with a "release" field');
  });

  it("times out a request that hangs, and says so", async () => {
    let received = 0;
    const timers: AbortController[] = [];
    const url = await serve(() => {
      // Never answers; the per-request timer (controlled by the test) fires once the request arrived.
      received += 1;
      timers.at(-1)?.abort(new DOMException("timed out", "TimeoutError"));
    });
    const { smoke } = input(url, { budgetSeconds: 10, requestTimeoutSeconds: 3 });
    const result = await runSmokeTest({
      ...smoke,
      requestSignal: () => {
        const controller = new AbortController();
        timers.push(controller);
        return controller.signal;
      },
    });
    expect(result.passed).toBe(false);
    expect(received).toBeGreaterThan(0);
    expect(result.summary).toContain(`no answer within 3s at ${url}/health`);
  });

  it("says connection refused when nothing listens", async () => {
    const url = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    const { smoke, captured } = input(url, { budgetSeconds: 10 });
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(false);
    expect(result.summary).toMatch(
      /^\d+ of \d+ checks failed: connection refused at http:\/\/127\.0\.0\.1:\d+\/health; needed/,
    );
    expect(captured.lines.some((l) => l.includes("connection refused"))).toBe(true);
  });

  it("stops at the time budget", async () => {
    const app = scripted([500]);
    const url = await serve(app.handler);
    const { smoke, clock } = input(url, { budgetSeconds: 30 });
    const started = clock.now();
    const result = await runSmokeTest(smoke);
    expect(result.passed).toBe(false);
    expect(clock.now() - started).toBeLessThanOrEqual(30_000);
    expect(result.summary).toContain("last status 500");
  });
});

describe("backoff", () => {
  it("doubles per failure, caps at 30 s and jitters ±50%", () => {
    expect(backoffDelay(2000, 0, () => 0)).toBe(2000);
    expect(backoffDelay(2000, 1, () => 0.5)).toBe(2000);
    expect(backoffDelay(2000, 3, () => 0.5)).toBe(8000);
    expect(backoffDelay(2000, 10, () => 0.5)).toBe(30_000);
    expect(backoffDelay(2000, 3, () => 0)).toBe(4000);
    expect(backoffDelay(2000, 3, () => 0.999)).toBe(11_992);
  });
});
