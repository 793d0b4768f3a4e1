/**
 * moto's server (python3 -m moto.server) on a free loopback port: a second, independent
 * implementation of the AWS APIs (ECS, ECR, ELBv2, CloudWatch Logs) for the tests that must not
 * only agree with Shipyard's own emulator. One per test file; `stop()` in afterAll.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface Moto {
  endpoint: string;
  stop(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for moto to answer (it needs a second or two to import); bounded, then fails loudly. */
export async function waitUntilUp(url: string, moto: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (moto.exitCode !== null) throw new Error(`moto exited with code ${moto.exitCode}`);
    try {
      await fetch(`${url}/moto-api/`);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error("moto did not start within 30 s");
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const moto = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    env: { ...process.env, MOTO_ECS_SERVICE_RUNNING: "1" },
    stdio: "ignore",
  });
  await waitUntilUp(endpoint, moto);
  return { endpoint, stop: () => moto.kill("SIGTERM") };
}
