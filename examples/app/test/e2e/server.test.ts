/**
 * End to end: the BUILT service (`pnpm build` first) as the image runs it — `node dist/migrate.js`,
 * then `node dist/server.js` — against a fresh database, over real HTTP, stopped with a real SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../database.js";

const APP = fileURLToPath(new URL("../..", import.meta.url));
const RELEASE = "e2e-0123abc";

interface LogLine {
  level: string;
  message: string;
  [field: string]: unknown;
}

/** A child process whose JSON log lines can be awaited. */
class NodeProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  private readonly child: ChildProcess;

  constructor(script: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [script], {
      cwd: APP,
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    createInterface({ input: this.child.stdout! }).on("line", (text) => {
      const line = JSON.parse(text) as LogLine;
      this.lines.push(line);
      for (const waiter of this.waiters.filter((w) => w.match(line))) waiter.resolve(line);
    });
  }

  waitFor(message: string): Promise<LogLine> {
    const seen = this.lines.find((line) => line.message === message);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match: (line) => line.message === message, resolve });
      this.exited.then((code) => reject(new Error(`exited with ${code} before logging "${message}"`)));
    });
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

let db: TestDatabase;
const running: NodeProcess[] = [];

function start(script: "dist/server.js" | "dist/migrate.js", env: Record<string, string>): NodeProcess {
  const child = new NodeProcess(script, env);
  running.push(child);
  return child;
}

beforeAll(async () => {
  if (!existsSync(`${APP}/dist/server.js`)) {
    throw new Error(
      "dist/server.js is missing: the e2e tests run the built service, so run `pnpm build` first",
    );
  }
  db = await createTestDatabase(inject("databaseServerUrl"), "e2e");
});
afterEach(async () => {
  for (const child of running.splice(0)) {
    child.signal("SIGKILL");
    await child.exited;
  }
});
afterAll(async () => {
  await db?.drop();
});

describe("dist/migrate.js", () => {
  it("applies the migrations, then finds nothing to do", async () => {
    const first = start("dist/migrate.js", { DATABASE_URL: db.url });
    expect(await first.exited).toBe(0);
    expect(first.lines.at(-1)).toMatchObject({
      message: "migrations done",
      applied: ["0001_create_notes.sql", "0002_index_notes_created_at.sql"],
    });

    const second = start("dist/migrate.js", { DATABASE_URL: db.url });
    expect(await second.exited).toBe(0);
    expect(second.lines.at(-1)).toMatchObject({ message: "database is up to date", applied: [] });
  });

  it("exits 1 and says what to set when DATABASE_URL is missing", async () => {
    const child = start("dist/migrate.js", {});
    expect(await child.exited).toBe(1);
    expect(child.lines).toEqual([
      expect.objectContaining({ level: "error", message: expect.stringMatching(/^DATABASE_URL is not set/) }),
    ]);
  });

  it("exits 1 when the database cannot be reached", async () => {
    const child = start("dist/migrate.js", { DATABASE_URL: "postgres://u:p@127.0.0.1:1/none" });
    expect(await child.exited).toBe(1);
    expect(child.lines.at(-1)).toMatchObject({ level: "error", message: "migration failed" });
  });
});

describe("dist/server.js", () => {
  let server: NodeProcess;
  let base: string;

  beforeAll(async () => {
    const migrated = start("dist/migrate.js", { DATABASE_URL: db.url });
    expect(await migrated.exited).toBe(0);
  });

  async function startServer(): Promise<void> {
    server = start("dist/server.js", {
      DATABASE_URL: db.url,
      PORT: "0",
      HOST: "127.0.0.1",
      SENTRY_RELEASE: RELEASE,
    });
    const { port } = await server.waitFor("listening");
    base = `http://127.0.0.1:${port}`;
  }

  it("serves health, version and notes", async () => {
    await startServer();
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(await (await fetch(`${base}/version`)).json()).toMatchObject({ release: RELEASE });

    const created = await fetch(`${base}/notes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "from e2e" }),
    });
    expect(created.status).toBe(201);
    const read = await fetch(base + created.headers.get("location"));
    expect(await read.json()).toMatchObject({ title: "from e2e" });
  });

  it("on SIGTERM finishes the request in flight, refuses new connections and exits 0", async () => {
    await startServer();
    const port = Number(new URL(base).port);
    const inFlight = slowPost(port, { title: "written during shutdown" });
    await inFlight.accepted;

    server.signal("SIGTERM");
    await server.waitFor("draining: no new connections, finishing requests in flight");
    await expect(fetch(`${base}/health`)).rejects.toThrow();

    const response = await inFlight.finish();
    expect(response.status).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({ title: "written during shutdown" });
    expect(await server.exited).toBe(0);
    expect(server.lines.at(-1)).toMatchObject({ message: "stopped", drained: true });
  });

  it("exits 1 with the reason when DATABASE_URL is missing", async () => {
    const child = start("dist/server.js", { PORT: "0" });
    expect(await child.exited).toBe(1);
    expect(child.lines.at(-1)).toMatchObject({
      level: "error",
      message: "the service could not start",
      error: expect.stringMatching(/^DATABASE_URL is not set/),
    });
  });
});

/** A POST held open: `accepted` once the server is handling it (100 Continue), `finish()` sends the body. */
function slowPost(port: number, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path: "/notes",
    headers: { "content-type": "application/json", "content-length": payload.length, expect: "100-continue" },
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("error", reject);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
  });
  response.catch(() => {});
  const accepted = new Promise<void>((resolve) => req.once("continue", resolve));
  req.flushHeaders();
  return {
    accepted,
    finish: () => {
      req.end(payload);
      return response;
    },
  };
}
