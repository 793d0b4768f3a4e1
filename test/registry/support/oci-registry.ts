/**
 * A real OCI registry on this machine for the registry preflight: Debian's `docker-registry` (the
 * CNCF distribution registry, /usr/bin/docker-registry; `.ci/run` installs it), started on a free
 * loopback port with its storage in a temporary folder. There is no Docker engine here, so images are
 * pushed over the registry's HTTP API: the config and layer blobs, then the manifest, whose digest
 * is what a deploy names.
 *
 * `startTokenGate` puts the token flow registries such as ghcr.io and Docker Hub use in front of it:
 * an anonymous request gets `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, the
 * realm hands out a token (to a user name and password, and to anyone when pulls are public), and
 * only a request carrying a valid token reaches the registry.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DOCKER_REGISTRY = "/usr/bin/docker-registry";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers at all; bounded, then fails loudly (the process may have died). */
export async function waitUntilUp(url: string, process: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`${what} exited with code ${process.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`${what} did not start within 30 s`);
}

export interface OciRegistry {
  /** `127.0.0.1:<port>`, the host part of an image reference. */
  host: string;
  url: string;
  /** Pushes a small image to `name` and returns its manifest digest (sha256:…). */
  push(name: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startOciRegistry(): Promise<OciRegistry> {
  const port = await freePort();
  const storage = mkdtempSync(join(tmpdir(), "shipyard-registry-"));
  const config = join(storage, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(storage, "data")}`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child = spawn(DOCKER_REGISTRY, ["serve", config], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const missing = new Promise<never>((_, reject) =>
    child.once("error", (error) =>
      reject(
        new Error(`${DOCKER_REGISTRY} could not start (${error.message}): apt-get install docker-registry`),
      ),
    ),
  );
  await Promise.race([waitUntilUp(`${url}/v2/`, child, "docker-registry"), missing]);
  return {
    host: `127.0.0.1:${port}`,
    url,
    push: (name, tag) => pushImage(url, name, tag),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

const sha256 = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

async function pushBlob(url: string, name: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const started = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: "POST" });
  if (started.status !== 202) throw new Error(`blob upload for ${name} answered HTTP ${started.status}`);
  const location = new URL(started.headers.get("location") ?? "", url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream" },
    body: data,
  });
  if (put.status !== 201) throw new Error(`blob ${digest} answered HTTP ${put.status}`);
  return digest;
}

/** A Docker image manifest (schema 2) with one config and one layer; a fresh image every call. */
async function pushImage(url: string, name: string, tag: string): Promise<string> {
  const layer = randomBytes(64);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [sha256(layer)] },
      config: {},
    }),
  );
  const configDigest = await pushBlob(url, name, config);
  const layerDigest = await pushBlob(url, name, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      size: config.length,
      digest: configDigest,
    },
    layers: [
      {
        mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
        size: layer.length,
        digest: layerDigest,
      },
    ],
  });
  const put = await fetch(`${url}/v2/${name}/manifests/${tag}`, {
    method: "PUT",
    headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v2+json" },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest for ${name}:${tag} answered HTTP ${put.status}`);
  const digest = sha256(manifest);
  if (put.headers.get("docker-content-digest") !== digest) {
    throw new Error(`the registry stored ${name}:${tag} as ${put.headers.get("docker-content-digest")}`);
  }
  return digest;
}

export interface TokenGateOptions {
  /** The one user the realm gives a token to. */
  username: string;
  password: string;
  /** Public pulls: the realm gives anyone a token (ghcr.io and Docker Hub do, for public images). */
  anonymousPull: boolean;
  /** Answer a token that may not pull with 404, hiding that the repository exists (some registries do). */
  hideAs404?: boolean;
}

export interface TokenGate {
  host: string;
  /** Every request, in order: "GET /token user=…" or "HEAD /v2/… bearer=valid|none|invalid". */
  requests: string[];
  /** The tokens handed out (to check none is ever printed). */
  tokens: string[];
  stop(): Promise<void>;
}

const SERVICE = "shipyard-test-registry";

/** A Bearer token gate and its realm in front of `registry`, on one loopback port. */
export async function startTokenGate(registry: OciRegistry, options: TokenGateOptions): Promise<TokenGate> {
  const requests: string[] = [];
  const tokens: string[] = [];
  const granted = new Map<string, string>();
  let base = "";
  const realm = (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const [user, ...rest] = basic ? Buffer.from(basic, "base64").toString("utf8").split(":") : [];
    const scope = url.searchParams.get("scope") ?? "";
    requests.push(
      `GET /token user=${user ?? "anonymous"} service=${url.searchParams.get("service")} scope=${scope}`,
    );
    const authenticated = user === options.username && rest.join(":") === options.password;
    if (basic && !authenticated) return response.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    if (!authenticated && !options.anonymousPull) {
      // Like ghcr.io for a private image: an anonymous token that may not pull.
      return json(response, { token: "anonymous-no-access" });
    }
    const token = `tok-${randomBytes(16).toString("hex")}`;
    tokens.push(token);
    granted.set(token, scope);
    return json(response, { token, access_token: token, expires_in: 300 });
  };
  const gate = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const name = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? "";
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const valid = bearer !== undefined && granted.get(bearer) === `repository:${name}:pull`;
    requests.push(
      `${request.method} ${url.pathname} bearer=${bearer === undefined ? "none" : valid ? "valid" : "invalid"}`,
    );
    if (!valid && bearer !== undefined && options.hideAs404) return response.writeHead(404).end();
    if (!valid) {
      response.setHeader(
        "WWW-Authenticate",
        `Bearer realm="${base}/token",service="${SERVICE}",scope="repository:${name}:pull"`,
      );
      return response.writeHead(401).end();
    }
    const answer = await fetch(`${registry.url}${url.pathname}`, {
      method: request.method ?? "GET",
      headers: { Accept: String(request.headers.accept ?? "") },
    });
    response.writeHead(answer.status, {
      "Content-Type": answer.headers.get("content-type") ?? "application/json",
      ...(answer.headers.get("docker-content-digest")
        ? { "Docker-Content-Digest": answer.headers.get("docker-content-digest")! }
        : {}),
    });
    response.end(request.method === "HEAD" ? undefined : Buffer.from(await answer.arrayBuffer()));
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", base);
    void (url.pathname === "/token" ? realm(request, response, url) : gate(request, response, url));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    tokens,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}
