/**
 * Shipyard's local Sentry emulator (used by `shipyard try` and by the tests): a Sentry web-API
 * simulator on 127.0.0.1 that both the real sentry-cli binary (through SENTRY_URL) and Shipyard's
 * own client talk to. It answers the endpoints those two use, records every call,
 * derives release health from traffic models on an injected clock (so "slow ingestion" is a matter
 * of moving the fake clock), and injects faults: 401, 403, 429 + Retry-After, 5xx, HTML, empty or
 * malformed bodies.
 *
 * Endpoints seen from sentry-cli 3.8.0 (recorded by running it against this server, see
 * test/verify/releases.test.ts):
 *   releases new V            POST /api/0/organizations/{org}/releases/            {version, projects, dateStarted}
 *   releases set-commits V --auto --ignore-missing
 *                             GET  /api/0/organizations/{org}/repos/?cursor=
 *                             POST /api/0/organizations/{org}/releases/            {version, projects}  (208: exists)
 *                             GET  /api/0/organizations/{org}/releases/{V}/previous-with-commits/  (404 here: none)
 *                             PUT  /api/0/organizations/{org}/releases/{V}/         {commits:[...]} from the local git
 *                                  tree when no repository integration matches
 *   releases finalize V       PUT  /api/0/organizations/{org}/releases/{V}/         {projects, dateReleased}
 *   deploys new -e E -r V -n N POST /api/0/organizations/{org}/releases/{V}/deploys/ {environment, name, url, dateFinished}
 * and Shipyard's own client:
 *   GET /api/0/projects/{org}/{project}/                       → {id}
 *   GET /api/0/organizations/{org}/sessions/?field=sum(session)&groupBy=session.status&query=release:"V"
 *       &environment=E&project=ID&interval=1m&start=..&end=..  → {groups:[{by:{session.status}, totals:{sum(session)}}]}
 *   GET /api/0/projects/{org}/{project}/stats/                 → [[hourStart, errorEvents], ...] (the typical pipeline's check)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../clock.js";

export interface RecordedCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** Whether the Authorization header carried the expected token (the token itself is not kept). */
  authorized: boolean;
  status: number;
}

/** Requests of one release in one environment: a steady rate from `startAt`, visible after a delay. */
export interface TrafficModel {
  release: string;
  environment: string;
  /** ms since epoch when the release started taking traffic. */
  startAt: number;
  /** ms since epoch when it stopped (rolled back / replaced); open-ended when absent. */
  endAt?: number;
  ratePerSecond: number;
  errorRate: number;
  /** Sessions reach the API this long after they happen (Sentry's ingestion + SDK flush). */
  ingestionDelayMs?: number;
  project?: string;
}

export interface Fault {
  /** Which calls it hits: a substring of the path, e.g. "/sessions/". */
  match: string;
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** How many calls it answers; Infinity for all. */
  times: number;
}

export interface SimOptions {
  clock: Clock;
  token?: string;
  org?: string;
  /** Project slug → numeric id. */
  projects?: Record<string, string>;
  /** Repositories `set-commits --auto` can match (empty: no repository integration). */
  repos?: Array<{ name: string; url: string }>;
}

export interface SentrySim {
  url: string;
  calls: RecordedCall[];
  traffic: TrafficModel[];
  releases: Map<
    string,
    { version: string; projects: string[]; dateReleased: string | null; refs: unknown; commits: unknown[] }
  >;
  deploys: Array<{ release: string; environment: string; name: string | null }>;
  /** Answers the next `times` matching calls with this fault. */
  fault(fault: Partial<Fault> & { match: string; status: number }): void;
  /** Adds a traffic model (release health source). */
  addTraffic(model: TrafficModel): void;
  close(): Promise<void>;
}

function json(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Sessions a model produced inside [from, to] and visible at `now`, by status. */
export function sessionsIn(
  model: TrafficModel,
  from: number,
  to: number,
  now: number,
): { healthy: number; errored: number } {
  const visibleUntil = Math.min(
    to,
    now - (model.ingestionDelayMs ?? 0),
    model.endAt ?? Number.POSITIVE_INFINITY,
  );
  const begin = Math.max(from, model.startAt);
  if (visibleUntil <= begin) return { healthy: 0, errored: 0 };
  const countUntil = (t: number) => Math.floor(((t - model.startAt) / 1000) * model.ratePerSecond);
  const total = countUntil(visibleUntil) - countUntil(begin);
  const erroredUntil = (t: number) => Math.floor(countUntil(t) * model.errorRate);
  const errored = erroredUntil(visibleUntil) - erroredUntil(begin);
  return { healthy: total - errored, errored };
}

function release(version: string, projects: string[], dateReleased: string | null) {
  return {
    version,
    shortVersion: version,
    ref: null,
    url: null,
    dateCreated: new Date(0).toISOString(),
    dateReleased,
    dateStarted: null,
    newGroups: 0,
    commitCount: 0,
    deployCount: 0,
    lastEvent: null,
    authors: [],
    projects: projects.map((slug) => ({ slug, name: slug })),
    data: {},
  };
}

export async function startSentrySim(options: SimOptions): Promise<SentrySim> {
  const token = options.token ?? "sntrys_sim_token_0123456789";
  const org = options.org ?? "acme";
  const projects = options.projects ?? { app: "4501" };
  const calls: RecordedCall[] = [];
  const traffic: TrafficModel[] = [];
  const faults: Fault[] = [];
  const releases: SentrySim["releases"] = new Map();
  const deploys: SentrySim["deploys"] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const call = await answer(req, res);
    call.record.status = call.status;
  };

  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ record: RecordedCall; status: number }> => {
    const url = new URL(req.url ?? "/", "http://sim");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const body = await readBody(req);
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const call: RecordedCall = {
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      body,
      authorized,
      status: 0,
    };
    calls.push(call);
    const done = (status: number) => ({ record: call, status });

    const fault = faults.find((f) => f.times > 0 && path.includes(f.match));
    if (fault) {
      fault.times -= 1;
      res.writeHead(fault.status, {
        "content-type": fault.contentType ?? "application/json",
        ...fault.headers,
      });
      res.end(fault.body ?? "");
      return done(fault.status);
    }
    if (!authorized) {
      json(res, 401, { detail: "Invalid token" });
      return done(401);
    }

    const orgPrefix = `/api/0/organizations/${org}`;
    const projectMatch = path.match(/^\/api\/0\/projects\/([^/]+)\/([^/]+)\/$/);
    const statsMatch = path.match(/^\/api\/0\/projects\/([^/]+)\/([^/]+)\/stats\/$/);
    const deploysMatch = path.match(new RegExp(`^${orgPrefix}/releases/([^/]+)/deploys/$`));
    const releaseMatch = path.match(new RegExp(`^${orgPrefix}/releases/([^/]+)/$`));
    if (method === "GET" && path === `${orgPrefix}/sessions/`) {
      const status = sessionsAnswer(url.searchParams);
      json(res, status.code, status.body);
      return done(status.code);
    }
    if (projectMatch && method === "GET") {
      const m = projectMatch;
      const id = m[1] === org ? projects[m[2]!] : undefined;
      if (id === undefined) {
        json(res, 404, { detail: "The requested resource does not exist" });
        return done(404);
      }
      json(res, 200, { id, slug: m[2], name: m[2] });
      return done(200);
    }
    if (statsMatch && method === "GET") {
      const m = statsMatch;
      json(res, 200, projectStats(m[2]!));
      return done(200);
    }
    if (method === "POST" && path === `${orgPrefix}/releases/`) {
      const input = body as { version: string; projects?: string[] };
      const existing = releases.get(input.version);
      const entry = existing ?? {
        version: input.version,
        projects: input.projects ?? [],
        dateReleased: null,
        refs: null,
        commits: [],
      };
      releases.set(input.version, entry);
      json(res, existing ? 208 : 201, release(entry.version, entry.projects, entry.dateReleased));
      return done(existing ? 208 : 201);
    }
    if (method === "GET" && path === `${orgPrefix}/repos/`) {
      json(
        res,
        200,
        (options.repos ?? []).map((r, i) => ({
          id: String(i + 1),
          name: r.name,
          url: r.url,
          provider: { id: "integrations:github", name: "GitHub" },
          status: "active",
          dateCreated: new Date(0).toISOString(),
        })),
      );
      return done(200);
    }
    if (deploysMatch && method === "POST") {
      const m = deploysMatch;
      const version = decodeURIComponent(m[1]!);
      if (!releases.has(version)) {
        json(res, 404, { detail: "The requested resource does not exist" });
        return done(404);
      }
      const input = body as {
        environment: string;
        name?: string | null;
        dateStarted?: string | null;
        dateFinished?: string | null;
        url?: string | null;
      };
      deploys.push({ release: version, environment: input.environment, name: input.name ?? null });
      json(res, 201, {
        id: String(deploys.length),
        environment: input.environment,
        name: input.name ?? null,
        url: input.url ?? null,
        dateStarted: input.dateStarted ?? null,
        dateFinished: input.dateFinished ?? new Date(options.clock.now()).toISOString(),
      });
      return done(201);
    }
    if (releaseMatch) {
      const m = releaseMatch;
      const version = decodeURIComponent(m[1]!);
      const entry = releases.get(version);
      if (!entry) {
        json(res, 404, { detail: "The requested resource does not exist" });
        return done(404);
      }
      if (method === "PUT") {
        const input = body as { dateReleased?: string; refs?: unknown; commits?: unknown };
        if (input.dateReleased) entry.dateReleased = input.dateReleased;
        if (input.refs) entry.refs = input.refs;
        if (Array.isArray(input.commits)) entry.commits = input.commits;
      }
      json(res, 200, release(entry.version, entry.projects, entry.dateReleased));
      return done(200);
    }
    json(res, 404, { detail: "The requested resource does not exist" });
    return done(404);
  };

  function sessionsAnswer(params: URLSearchParams): { code: number; body: unknown } {
    const query = params.get("query") ?? "";
    const releaseMatch = query.match(/release:"((?:[^"\\]|\\.)*)"/);
    const field = params.get("field");
    if (field !== "sum(session)" || params.get("groupBy") !== "session.status" || !releaseMatch) {
      return {
        code: 400,
        body: {
          detail: 'field=sum(session), groupBy=session.status and query=release:"V" are required here',
        },
      };
    }
    const wanted = releaseMatch[1]!.replace(/\\"/g, '"');
    const environment = params.get("environment");
    const projectId = params.get("project");
    const start = Date.parse(params.get("start") ?? "");
    const end = Date.parse(params.get("end") ?? "");
    if (Number.isNaN(start) || Number.isNaN(end))
      return { code: 400, body: { detail: "start and end are required here" } };
    const now = options.clock.now();
    let healthy = 0;
    let errored = 0;
    for (const model of traffic) {
      if (model.release !== wanted) continue;
      if (environment && model.environment !== environment) continue;
      if (projectId && projects[model.project ?? "app"] !== projectId) continue;
      const counts = sessionsIn(model, start, end, now);
      healthy += counts.healthy;
      errored += counts.errored;
    }
    // Sentry omits groups with no sessions; a release with no data answers an empty list.
    const groups = [
      { status: "healthy", n: healthy },
      { status: "errored", n: errored },
    ]
      .filter((g) => g.n > 0)
      .map((g) => ({
        by: { "session.status": g.status },
        totals: { "sum(session)": g.n },
        series: { "sum(session)": [g.n] },
      }));
    return {
      code: 200,
      body: {
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        intervals: [new Date(start).toISOString()],
        groups,
        query,
      },
    };
  }

  /** `[[hourStartSeconds, errorEvents], ...]` over the last 24 hours, all releases and environments. */
  function projectStats(project: string): Array<[number, number]> {
    const now = options.clock.now();
    const hour = 3_600_000;
    const currentHour = Math.floor(now / hour) * hour;
    const buckets: Array<[number, number]> = [];
    for (let h = currentHour - 23 * hour; h <= currentHour; h += hour) {
      let errors = 0;
      for (const model of traffic) {
        if ((model.project ?? "app") !== project) continue;
        errors += sessionsIn(model, h, h + hour, now).errored;
      }
      buckets.push([h / 1000, errors]);
    }
    return buckets;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { detail: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    traffic,
    releases,
    deploys,
    fault: (fault) => faults.push({ times: 1, ...fault }),
    addTraffic: (model) => traffic.push(model),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export const SIM_TOKEN = "sntrys_sim_token_0123456789";
