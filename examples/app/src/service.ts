/**
 * The running service: a pg pool, the HTTP server, and the graceful stop that ECS needs. On SIGTERM
 * ECS has already taken the task out of the load balancer; we stop accepting connections, let the
 * requests in flight finish, close the pool, and give up after `shutdownTimeoutMs` — below the task
 * definition's stopTimeout, after which ECS would SIGKILL us mid-response.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { createApp } from "./app.js";
import { errorFields, type Log } from "./log.js";
import type { Settings } from "./settings.js";

export interface RunningService {
  port: number;
  /** Resolves once everything is closed; `drained` is false when requests had to be cut off. */
  stop(): Promise<{ drained: boolean }>;
}

export async function startService(settings: Settings, log: Log): Promise<RunningService> {
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: settings.poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 10_000,
    application_name: "shipyard-example",
  });
  // Without a listener, an idle connection dropped by the server (failover, restart) crashes the process.
  pool.on("error", (error) => log("warn", "idle database connection lost", errorFields(error)));

  let draining = false;
  const server = createServer(
    createApp({ db: pool, release: settings.release, log, isDraining: () => draining }),
  );
  // Longer than an ALB's 60 s idle timeout, so the balancer never reuses a socket we just closed (502s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await listen(server, settings.port, settings.host);
  const port = (server.address() as AddressInfo).port;
  log("info", "listening", { port, release: settings.release });

  let stopping: Promise<{ drained: boolean }> | undefined;
  const stop = () => {
    draining = true;
    stopping ??= drain(server, settings.shutdownTimeoutMs, log).then(async (drained) => {
      await pool.end();
      return { drained };
    });
    return stopping;
  };
  return { port, stop };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Closes the listener and waits for open connections; true when none had to be cut. */
function drain(server: Server, timeoutMs: number, log: Log): Promise<boolean> {
  return new Promise((resolve) => {
    log("info", "draining: no new connections, finishing requests in flight", { timeoutMs });
    const timer = setTimeout(() => {
      log("warn", "drain timed out: closing the remaining connections", { timeoutMs });
      server.closeAllConnections();
      resolve(false);
    }, timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve(true);
    });
    // Keep-alive sockets with no request in flight would hold close() open until they time out.
    server.closeIdleConnections();
  });
}
