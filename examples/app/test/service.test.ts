import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { silentLog } from "../src/log.js";
import { migrate } from "../src/migrator.js";
import { type RunningService, startService } from "../src/service.js";
import type { Settings } from "../src/settings.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

const MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

let db: TestDatabase;
let service: RunningService;
let base: string;

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    port: 0,
    host: "127.0.0.1",
    databaseUrl: db.url,
    release: "test-release",
    shutdownTimeoutMs: 5_000,
    poolSize: 4,
    ...overrides,
  };
}

beforeAll(async () => {
  db = await createTestDatabase(inject("databaseServerUrl"), "service");
  await migrate({ databaseUrl: db.url, directory: MIGRATIONS, log: silentLog });
  service = await startService(settings(), silentLog);
  base = `http://127.0.0.1:${service.port}`;
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const postJson = (path: string, body: unknown) =>
  fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("operations endpoints", () => {
  it("/health answers 200 when the database answers", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("/health answers 503 when the database is down", async () => {
    // Port 1 on localhost refuses connections: a database that is down.
    const down = await startService(settings({ databaseUrl: "postgres://u:p@127.0.0.1:1/none" }), silentLog);
    try {
      const response = await fetch(`http://127.0.0.1:${down.port}/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: "unavailable",
        reason: "the database does not answer",
      });
    } finally {
      await down.stop();
    }
  });

  it("/version reports the release the image was built with", async () => {
    const response = await fetch(`${base}/version`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ release: "test-release", node: process.versions.node });
  });
});

describe("notes", () => {
  it("creates a note and reads it back by its Location", async () => {
    const created = await postJson("/notes", { title: "  Groceries ", body: "milk; eggs" });
    expect(created.status).toBe(201);
    const note = (await created.json()) as { id: string; title: string; body: string; createdAt: string };
    expect(note).toMatchObject({ title: "Groceries", body: "milk; eggs" });
    expect(created.headers.get("location")).toBe(`/notes/${note.id}`);

    const read = await fetch(base + created.headers.get("location"));
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(note);
  });

  it("lists notes newest first", async () => {
    await postJson("/notes", { title: "older" });
    await postJson("/notes", { title: "newer" });
    const { notes } = (await (await fetch(`${base}/notes`)).json()) as { notes: Array<{ title: string }> };
    expect(notes.slice(0, 2).map((n) => n.title)).toEqual(["newer", "older"]);
  });

  it("answers 404 for a note that does not exist, or an id that cannot exist", async () => {
    for (const id of ["999999999", "abc", "0", "12345678901234567890"]) {
      const response = await fetch(`${base}/notes/${id}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: `there is no note ${id}` });
    }
  });

  it.each([
    [{ body: "no title" }, '"title" is required: a non-empty string'],
    [{ title: "   " }, '"title" is required: a non-empty string'],
    [{ title: "x".repeat(201) }, '"title" must be at most 200 characters'],
    [{ title: "ok", body: 42 }, '"body" must be a string'],
    [{ title: "ok", body: "x".repeat(10_001) }, '"body" must be at most 10000 characters'],
    [["an", "array"], 'send a JSON object such as {"title": "Groceries", "body": "milk"}'],
  ])("rejects %j with 400 and says which field to fix", async (body, message) => {
    const response = await postJson("/notes", body);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: message });
  });

  it("rejects a body that is not JSON", async () => {
    const response = await fetch(`${base}/notes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "the body is not valid JSON" });
  });

  it("rejects another content type with 415", async () => {
    const response = await fetch(`${base}/notes`, { method: "POST", body: "title=x" });
    expect(response.status).toBe(415);
  });

  it("rejects a body over 64 KiB with 413 and closes the connection", async () => {
    const response = await postJson("/notes", { title: "big", body: "x".repeat(70_000) });
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
  });
});

describe("routing", () => {
  it("answers 405 with Allow for a method a path does not support", async () => {
    const response = await fetch(`${base}/notes`, { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
  });

  it("answers 404 for an unknown path", async () => {
    const response = await fetch(`${base}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "there is nothing at /nope" });
  });
});

describe("stop (what SIGTERM runs)", () => {
  it("refuses new connections, finishes the request in flight and tells its client to reconnect elsewhere", async () => {
    const svc = await startService(settings(), silentLog);
    const inFlight = startSlowPost(svc.port, { title: "sent across the shutdown" });
    await inFlight.inFlight;

    const stopped = svc.stop();
    await expect(fetch(`http://127.0.0.1:${svc.port}/health`)).rejects.toThrow();

    const response = await inFlight.finish();
    expect(response.status).toBe(201);
    expect(response.connection).toBe("close");
    expect(await stopped).toEqual({ drained: true });
  });

  it("cuts off a request that does not finish within the shutdown timeout and reports it", async () => {
    const svc = await startService(settings({ shutdownTimeoutMs: 50 }), silentLog);
    const stuck = startSlowPost(svc.port, { title: "never finished" });
    await stuck.inFlight;
    expect(await svc.stop()).toEqual({ drained: false });
    await expect(stuck.finish()).rejects.toThrow(/socket hang up|ECONNRESET|write after end/);
  });

  it("does not wait for idle keep-alive connections (a load balancer keeps some open)", async () => {
    const svc = await startService(settings(), silentLog);
    const agent = new Agent({ keepAlive: true });
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: "127.0.0.1", port: svc.port, path: "/version", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
        .on("error", reject)
        .end();
    });
    expect(status).toBe(200);
    expect(await svc.stop()).toEqual({ drained: true });
    agent.destroy();
  });

  it("can be called twice", async () => {
    const svc = await startService(settings(), silentLog);
    const [first, second] = await Promise.all([svc.stop(), svc.stop()]);
    expect(first).toEqual({ drained: true });
    expect(second).toBe(first);
  });
});

/**
 * A POST whose body is held back: `inFlight` resolves once the server is handling the request (it
 * waits for the body), and `finish()` sends the body.
 */
function startSlowPost(port: number, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/notes",
    // The server answers "100 Continue" as it hands the request to the app: from then on it is in flight.
    headers: { "content-type": "application/json", "content-length": payload.length, expect: "100-continue" },
  });
  const response = new Promise<{ status: number; connection: string | undefined; body: string }>(
    (resolve, reject) => {
      req.on("error", reject);
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }),
        );
        res.on("error", reject);
      });
    },
  );
  response.catch(() => {});
  const inFlight = new Promise<void>((resolve) => req.once("continue", resolve));
  req.flushHeaders();
  return {
    inFlight,
    finish: () => {
      req.end(payload);
      return response;
    },
  };
}
