/**
 * A task replacement measured under load, the way an ALB and ECS do it, on loopback only:
 *
 *   wrk ──► nginx (127.0.0.1) ──► version 1 container
 *   1. version 2 starts and the harness waits for its HEALTHCHECK to report healthy;
 *   2. version 2 is registered next to version 1 (graceful `nginx -s reload`);
 *   3. version 1 is deregistered (reload again) and drained: every nginx worker that could still hold
 *      a request to it has exited;
 *   4. version 1 gets SIGTERM (`docker stop`, bounded by the task definition's stopTimeout);
 *   5. the load keeps running on version 2 until at least `minRequests` have been answered.
 * The tasks get the bundled task definition's memory limit, init process and plain environment values.
 *
 * Failed requests are wrk's socket errors plus its non-2xx/3xx count; nginx's access log (status and
 * upstream per request) says which version answered what.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appImage, exposedPort, inspectImage, stopTimeoutSeconds, taskRunFlags } from "./app-image.js";
import { type ContainerInspect, docker, inspectJson, run } from "./docker.js";
import { runMigrations, type Stack, startStack } from "./stack.js";

export interface ReplacementOptions {
  minRequests?: number;
  connections?: number;
  /** Requests answered by version 2 alone after version 1 stopped, at least. */
  tailRequests?: number;
  /** Load path through the proxy: /notes reads the database on every request. */
  path?: string;
  log?: (line: string) => void;
}

export interface ReplacementResult {
  requests: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  non2xx: number;
  failed: number;
  seconds: number;
  requestsPerSecond: number;
  /** Requests per upstream version, from nginx's access log. */
  servedBy: Record<string, number>;
  versionOneExitCode: number;
  versionOneStopSeconds: number;
  stopTimeoutSeconds: number;
  releaseAfter: string;
  timeline: string[];
}

interface Task {
  release: string;
  containerId: string;
  hostPort: number;
}

const nginxBinary = "/usr/sbin/nginx";

export async function measureReplacement(options: ReplacementOptions = {}): Promise<ReplacementResult> {
  const minRequests = options.minRequests ?? 10_000;
  const connections = options.connections ?? 16;
  const path = options.path ?? "/notes";
  const tailRequests = options.tailRequests ?? 5_000;
  const started = performance.now();
  const timeline: string[] = [];
  const mark = (event: string) => {
    const line = `${((performance.now() - started) / 1000).toFixed(1)} s  ${event}`;
    timeline.push(line);
    options.log?.(line);
  };

  const [one, two] = await Promise.all([appImage("zero-downtime-v1"), appImage("zero-downtime-v2")]);
  const port = exposedPort(await inspectImage(one.tag));
  mark("images built");
  const stack = await startStack();
  const tasks: Task[] = [];
  const proxy = new NginxProxy();
  try {
    const migration = await runMigrations(one.tag, stack);
    if (migration.exitCode !== 0)
      throw new Error(`migrations failed:\n${migration.stderr}${migration.stdout}`);
    const versionOne = await startTask(one.tag, "zero-downtime-v1", stack, port);
    tasks.push(versionOne);
    mark("version 1 healthy");
    await proxy.start([versionOne]);
    mark("nginx routes to version 1");

    const load = startLoad(`http://127.0.0.1:${proxy.port}${path}`, connections);
    await proxy.waitForRequests(500);
    mark("load running");

    const versionTwo = await startTask(two.tag, "zero-downtime-v2", stack, port);
    tasks.push(versionTwo);
    mark("version 2 healthy");
    await proxy.route([versionOne, versionTwo]);
    mark("version 2 registered next to version 1 (reload)");
    await proxy.route([versionTwo]);
    mark("version 1 deregistered and drained (reload, old workers exited)");

    const stopTimeout = stopTimeoutSeconds();
    const stop = await docker(["stop", "--time", String(stopTimeout), versionOne.containerId]);
    const stopped = await inspectJson<ContainerInspect>("container", versionOne.containerId);
    mark(`version 1 stopped with SIGTERM: exit ${stopped.State.ExitCode} after ${stop.seconds.toFixed(1)} s`);

    // Version 2 alone carries a real share of the load too, not just the last few requests.
    await proxy.waitForRequests(Math.max(minRequests, proxy.requestCount() + tailRequests));
    const wrk = await load.stop();
    mark(`load stopped: ${wrk.requests} requests`);
    const releaseAfter = await currentRelease(proxy.port);
    const servedBy = proxy.servedBy(tasks);
    const failed = wrk.non2xx + Object.values(wrk.socketErrors).reduce((sum, count) => sum + count, 0);
    return {
      ...wrk,
      failed,
      servedBy,
      versionOneExitCode: stopped.State.ExitCode,
      versionOneStopSeconds: stop.seconds,
      stopTimeoutSeconds: stopTimeout,
      releaseAfter,
      timeline,
    };
  } finally {
    await proxy.stop();
    for (const task of tasks) await docker(["rm", "--force", task.containerId], { allowFailure: true });
    await stack.stop();
  }
}

async function startTask(image: string, release: string, stack: Stack, port: number): Promise<Task> {
  const { stdout } = await docker([
    "run",
    "--detach",
    "--network",
    stack.network.getName(),
    "--env",
    `DATABASE_URL=${stack.databaseUrlInNetwork}`,
    "--publish",
    `127.0.0.1::${port}`,
    ...taskRunFlags(),
    image,
  ]);
  const containerId = stdout.trim();
  await waitFor(`${release} to turn healthy`, 120_000, async () => {
    const state = await inspectJson<ContainerInspect>("container", containerId);
    if (!state.State.Running)
      throw new Error(`${release} exited with ${state.State.ExitCode} while starting`);
    return state.State.Health?.Status === "healthy";
  });
  const mapping = await docker(["port", containerId, `${port}/tcp`]);
  const hostPort = Number(mapping.stdout.trim().split("\n")[0]?.split(":").pop());
  return { release, containerId, hostPort };
}

async function currentRelease(proxyPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${proxyPort}/version`);
  const body = (await response.json()) as { release?: string };
  return body.release ?? "";
}

/** nginx in its own prefix directory: config, pid, logs and temp files never touch the system's. */
class NginxProxy {
  port = 0;
  private readonly directory = mkdtempSync(join(tmpdir(), "shipyard-nginx-"));
  private running = false;

  async start(tasks: Task[]): Promise<void> {
    this.port = await freePort();
    this.writeUpstream(tasks);
    const temp = (name: string) => `${name}_temp_path ${this.directory}/${name};`;
    writeFileSync(
      this.config,
      `worker_processes 1;
pid ${this.directory}/nginx.pid;
error_log ${this.directory}/error.log warn;
events { worker_connections 4096; }
http {
  log_format upstreams '$status $upstream_addr';
  access_log ${this.directory}/access.log upstreams;
  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")} ${temp("uwsgi")} ${temp("scgi")}
  include ${this.directory}/upstream.conf;
  server {
    listen 127.0.0.1:${this.port};
    # An ALB keeps its client connections whatever happens to its targets; an nginx reload closes the
    # old workers' idle keep-alive connections, racing a client that is writing its next request on
    # one. One request per client connection keeps that proxy artefact out of the count.
    keepalive_timeout 0;
    location / {
      proxy_pass http://app;
      # No retry on the other target: every failed upstream request must show up as a 502.
      proxy_next_upstream off;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
    }
  }
}
`,
    );
    await run(nginxBinary, ["-t", "-q", ...this.flags]);
    await run(nginxBinary, this.flags);
    this.running = true;
  }

  /** Points nginx at `tasks` with a graceful reload, and returns once the old workers have exited. */
  async route(tasks: Task[]): Promise<void> {
    const oldWorkers = this.workers();
    this.writeUpstream(tasks);
    await run(nginxBinary, [...this.flags, "-s", "reload"]);
    await waitFor("the old nginx workers to drain and exit", 60_000, async () =>
      oldWorkers.every((pid) => !processExists(pid)),
    );
  }

  async waitForRequests(count: number): Promise<void> {
    await waitFor(`${count} requests through nginx`, 300_000, async () => this.requestCount() >= count);
  }

  requestCount(): number {
    return this.accessLog().length;
  }

  servedBy(tasks: Task[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const line of this.accessLog()) {
      const [status = "", upstream = ""] = line.split(" ");
      const task = tasks.find((candidate) => upstream.endsWith(`:${candidate.hostPort}`));
      const key = `${task?.release ?? upstream} ${status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  async stop(): Promise<void> {
    if (this.running) {
      const master = this.masterPid();
      await run(nginxBinary, [...this.flags, "-s", "quit"], { allowFailure: true });
      await waitFor("nginx to quit", 30_000, async () => !processExists(master));
      this.running = false;
    }
    rmSync(this.directory, { recursive: true, force: true });
  }

  private get config(): string {
    return `${this.directory}/nginx.conf`;
  }

  private get flags(): string[] {
    return ["-p", this.directory, "-c", this.config];
  }

  private writeUpstream(tasks: Task[]): void {
    const servers = tasks.map((task) => `  server 127.0.0.1:${task.hostPort};`).join("\n");
    writeFileSync(`${this.directory}/upstream.conf`, `upstream app {\n${servers}\n  keepalive 32;\n}\n`);
  }

  private accessLog(): string[] {
    try {
      return readFileSync(`${this.directory}/access.log`, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  }

  private masterPid(): number {
    return Number(readFileSync(`${this.directory}/nginx.pid`, "utf8").trim());
  }

  private workers(): number[] {
    const master = this.masterPid();
    return readFileSync(`/proc/${master}/task/${master}/children`, "utf8").trim().split(/\s+/).map(Number);
  }
}

interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

interface Load {
  stop(): Promise<WrkResult>;
}

/** wrk with a generous duration, stopped with SIGINT (wrk then prints its summary). */
function startLoad(url: string, connections: number): Load {
  const child = spawn(
    "wrk",
    ["--threads", "1", "--connections", String(connections), "--duration", "600s", url],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error) => reject(new Error(`wrk did not start (${error.message}): run provision.sh`)));
    child.on("close", () => resolve());
  });
  return {
    async stop() {
      child.kill("SIGINT");
      await exited;
      return parseWrk(output);
    },
  };
}

export function parseWrk(output: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(m?s|m)\b/.exec(output);
  if (total === null) throw new Error(`wrk printed no summary:\n${output}`);
  const unit = total[3] === "ms" ? 0.001 : total[3] === "m" ? 60 : 1;
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
  return {
    requests: Number(total[1]),
    seconds: Number(total[2]) * unit,
    requestsPerSecond: Number(rate?.[1] ?? 0),
    non2xx: Number(non2xx?.[1] ?? 0),
    socketErrors: {
      connect: Number(errors?.[1] ?? 0),
      read: Number(errors?.[2] ?? 0),
      write: Number(errors?.[3] ?? 0),
      timeout: Number(errors?.[4] ?? 0),
    },
  };
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls real processes and containers (not the app's logic) until `check` holds; bounded. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
