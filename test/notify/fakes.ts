/**
 * The other ends of a deploy's announcements, on node:http, recording every request in order:
 * a GitHub REST API that keeps deployments and their statuses (the four endpoints Shipyard uses,
 * shaped like https://docs.github.com/en/rest/deployments), and a webhook receiver that stands for
 * Slack and for any JSON webhook. Either can be told to fail: answer a status with a body (e.g. one
 * that echoes secrets back), or hang without answering.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The body as sent. */
  raw: string;
  /** The body parsed as JSON (null when empty). */
  body: unknown;
}

/** How a matching request is answered instead of the normal way. */
export type Fault = { status: number; body: string } | "hang";

interface FaultRule {
  /** "METHOD /path" the rule applies to; a path ending in "*" matches by prefix. */
  route: string;
  fault: Fault;
  times: number;
}

export interface FakeServer {
  url: string;
  requests: Recorded[];
  /** "METHOD /path" of each request, in order. */
  routes(): string[];
  /** Answers the next `times` requests to `route` with `fault`. */
  fail(route: string, fault: Fault, times?: number): void;
  /** Called when a request is held without an answer (a test ends its wait from here). */
  onHang: () => void;
  close(): Promise<void>;
}

type Handler = (request: Recorded) => { status: number; body: unknown };

async function startServer(handle: Handler): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const faults: FaultRule[] = [];
  const fake: FakeServer = {
    url: "",
    requests,
    routes: () => requests.map((r) => `${r.method} ${r.path}`),
    fail(route, fault, times = 1) {
      faults.push({ route, fault, times });
    },
    onHang: () => {},
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const raw = Buffer.concat(chunks).toString("utf8");
      const recorded: Recorded = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        raw,
        body: raw ? (JSON.parse(raw) as unknown) : null,
      };
      requests.push(recorded);
      const rule = faults.find((f) => f.times > 0 && routeMatches(f.route, recorded));
      if (rule) {
        rule.times -= 1;
        if (rule.fault === "hang") {
          fake.onHang();
          return;
        }
        res.writeHead(rule.fault.status, { "content-type": "application/json" }).end(rule.fault.body);
        return;
      }
      const answer = handle(recorded);
      res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function routeMatches(route: string, request: Recorded): boolean {
  const [method, path] = route.split(" ");
  if (method !== request.method || path === undefined) return false;
  return path.endsWith("*") ? request.path.startsWith(path.slice(0, -1)) : request.path === path;
}

export interface FakeDeployment {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  payload: unknown;
  statuses: Array<Record<string, unknown>>;
}

export interface FakeGitHub extends FakeServer {
  deployments: FakeDeployment[];
  /** The only token it accepts. */
  token: string;
}

/**
 * GitHub's deployments API for one repository, and its commits (`GET /repos/R/commits/SHA`: the
 * committer dates given, 422 "No commit found" for any other); answers 401 to any other token.
 */
export async function startFakeGitHub(
  token: string,
  repository = "acme/app",
  commitDates: Readonly<Record<string, string>> = {},
): Promise<FakeGitHub> {
  const deployments: FakeDeployment[] = [];
  const base = `/repos/${repository}/deployments`;
  const server = await startServer((request) => {
    const auth = request.headers.authorization ?? "";
    if (auth !== `token ${token}` && auth !== `bearer ${token}`) {
      return { status: 401, body: { message: "Bad credentials" } };
    }
    const commit = new RegExp(`^/repos/${repository}/commits/([0-9a-f]+)$`).exec(request.path);
    if (commit && request.method === "GET") {
      const date = commitDates[commit[1]!];
      return date
        ? { status: 200, body: { sha: commit[1], commit: { committer: { date }, author: { date } } } }
        : { status: 422, body: { message: `No commit found for SHA: ${commit[1]}` } };
    }
    if (request.path === base && request.method === "POST") {
      const input = request.body as { ref: string; environment: string; payload: unknown };
      const deployment: FakeDeployment = {
        id: deployments.length + 1,
        ref: input.ref,
        sha: input.ref,
        environment: input.environment,
        payload: input.payload,
        statuses: [],
      };
      deployments.push(deployment);
      return { status: 201, body: shown(deployment) };
    }
    if (request.path === base && request.method === "GET") {
      const listed = deployments
        .filter((d) => !request.query.environment || d.environment === request.query.environment)
        .filter((d) => !request.query.sha || d.sha === request.query.sha)
        .reverse();
      return { status: 200, body: listed.map(shown) };
    }
    const statuses = new RegExp(`^${base}/(\\d+)/statuses$`).exec(request.path);
    const deployment = statuses ? deployments.find((d) => d.id === Number(statuses[1])) : undefined;
    if (!deployment) return { status: 404, body: { message: "Not Found" } };
    if (request.method === "POST") {
      const status = { id: deployment.statuses.length + 1, ...(request.body as Record<string, unknown>) };
      deployment.statuses.push(status);
      return { status: 201, body: status };
    }
    return { status: 200, body: [...deployment.statuses].reverse() };
  });
  return Object.assign(server, { deployments, token });
}

function shown(deployment: FakeDeployment) {
  const { statuses: _statuses, ...rest } = deployment;
  return { ...rest, task: "deploy", description: null };
}

/** A webhook endpoint (Slack's or anyone's): answers 200 "ok" to every POST. */
export function startReceiver(): Promise<FakeServer> {
  return startServer(() => ({ status: 200, body: "ok" }));
}
