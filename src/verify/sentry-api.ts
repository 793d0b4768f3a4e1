/**
 * A small client for the parts of Sentry's web API the gate reads: the release-health sessions
 * endpoint (per-release request health) and the project lookup it needs. Every failure becomes a
 * typed `SentryProblem` — the gate turns it into "inconclusive", never into a pass. The token is only
 * ever put in the Authorization header; no message, report or URL contains it.
 */
import type { Clock } from "../clock.js";
import type { HealthSample } from "./gate.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export type ProblemKind =
  | "config"
  | "auth"
  | "scopes"
  | "not-found"
  | "rate-limited"
  | "server"
  | "not-json"
  | "empty"
  | "malformed"
  | "network"
  | "timeout";

export interface SentryProblem {
  kind: ProblemKind;
  /** What happened and what to do, in one sentence; safe to print. */
  message: string;
  /** True when retrying within the window cannot help (bad token, missing scopes, unknown project). */
  permanent: boolean;
  status?: number;
}

export type SentryResult<T> = { ok: true; value: T } | { ok: false; problem: SentryProblem };

export interface SentryConnection {
  /** e.g. https://sentry.io (SENTRY_URL); no trailing slash needed. */
  baseUrl: string;
  token: string;
  org: string;
  fetch?: FetchLike;
  clock: Clock;
  /** Total time allowed for one HTTP request (connect + answer + body). */
  requestTimeoutMs?: number;
  /** Builds the per-request abort signal; tests inject one they control. */
  requestSignal?: (ms: number) => AbortSignal;
  signal?: AbortSignal;
}

export interface ReleaseHealth extends HealthSample {
  /** Session counts per status as Sentry reported them (healthy, errored, crashed, abnormal, ...). */
  byStatus: Record<string, number>;
}

export interface HealthQuery {
  projectId: string;
  release: string;
  environment: string;
  start: Date;
  end: Date;
  /** Sentry bucket size, e.g. "1m" or "1h". Only totals are used. */
  interval?: string;
  /** Retry a 429 after Retry-After only if that fits before this time (ms since epoch). */
  deadline?: number;
}

export const READ_SCOPES = "org:read and project:read";
const DEFAULT_TIMEOUT_MS = 10_000;

/** Reads SENTRY_URL / SENTRY_AUTH_TOKEN the way sentry-cli does; null token when absent. */
export function sentryEnv(env: NodeJS.ProcessEnv): { baseUrl: string; token: string | null } {
  const baseUrl = (env.SENTRY_URL?.trim() || "https://sentry.io").replace(/\/+$/, "");
  const token = env.SENTRY_AUTH_TOKEN?.trim() || null;
  return { baseUrl, token };
}

const fail = <T>(problem: SentryProblem): SentryResult<T> => ({ ok: false, problem });

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (error as { code?: string }).code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "DNS lookup failed";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection reset";
  return cause?.message ?? (error as Error).message ?? String(error);
}

function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export class SentryClient {
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;
  private readonly requestSignal: (ms: number) => AbortSignal;
  private readonly projectIds = new Map<string, string>();
  /** Calls made, for the report and tests: path + status or problem kind (never headers). */
  readonly calls: Array<{ path: string; outcome: string }> = [];

  constructor(private readonly connection: SentryConnection) {
    this.fetchImpl = connection.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = connection.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.requestSignal = connection.requestSignal ?? ((ms) => AbortSignal.timeout(ms));
  }

  get server(): string {
    return this.connection.baseUrl.replace(/\/+$/, "");
  }

  /** The numeric project id the sessions endpoint filters on. Cached. */
  async projectId(project: string): Promise<SentryResult<string>> {
    const cached = this.projectIds.get(project);
    if (cached !== undefined) return { ok: true, value: cached };
    const path = `/api/0/projects/${encodeURIComponent(this.connection.org)}/${encodeURIComponent(project)}/`;
    const result = await this.getJson(path, `project "${this.connection.org}/${project}"`);
    if (!result.ok) return result;
    const id = (result.value as { id?: unknown } | null)?.id;
    if (typeof id !== "string" && typeof id !== "number") {
      return fail({
        kind: "malformed",
        message: `Sentry's answer for project "${this.connection.org}/${project}" has no id; check SENTRY_URL points at the Sentry API`,
        permanent: true,
      });
    }
    this.projectIds.set(project, String(id));
    return { ok: true, value: String(id) };
  }

  /** Sessions of one release in one environment, summed over [start, end]. */
  async releaseHealth(query: HealthQuery): Promise<SentryResult<ReleaseHealth>> {
    const params = new URLSearchParams({
      field: "sum(session)",
      groupBy: "session.status",
      query: `release:"${query.release.replace(/"/g, '\\"')}"`,
      environment: query.environment,
      project: query.projectId,
      interval: query.interval ?? "1m",
      start: query.start.toISOString(),
      end: query.end.toISOString(),
    });
    const path = `/api/0/organizations/${encodeURIComponent(this.connection.org)}/sessions/?${params}`;
    const result = await this.getJson(path, `release health of ${query.release}`, query.deadline);
    if (!result.ok) return result;
    return parseSessions(result.value, query.release);
  }

  /** A GET of the web API, retried once after a 429 when Retry-After fits before the deadline. */
  async getJson(path: string, what: string, deadline?: number): Promise<SentryResult<unknown>> {
    const first = await this.getOnce(path, what);
    if (first.ok || first.problem.kind !== "rate-limited") return first;
    const wait = first.retryAfterMs;
    const now = this.connection.clock.now();
    if (wait === null || deadline === undefined || now + wait > deadline) return first;
    await this.connection.clock.sleep(wait, this.connection.signal);
    return this.getOnce(path, what);
  }

  private async getOnce(
    path: string,
    what: string,
  ): Promise<SentryResult<unknown> & { retryAfterMs: number | null }> {
    const url = `${this.server}${path}`;
    const signals = [this.requestSignal(this.timeoutMs)];
    if (this.connection.signal) signals.push(this.connection.signal);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        headers: { authorization: `Bearer ${this.connection.token}`, accept: "application/json" },
        signal: AbortSignal.any(signals),
      });
      text = await response.text();
    } catch (error) {
      if (this.connection.signal?.aborted) throw this.connection.signal.reason;
      const timedOut = (error as Error).name === "TimeoutError" || (error as Error).name === "AbortError";
      const kind = timedOut ? "timeout" : "network";
      const detail = timedOut
        ? `no answer within ${Math.round(this.timeoutMs / 1000)}s`
        : describeNetworkError(error);
      this.calls.push({ path: path.split("?")[0]!, outcome: kind });
      return {
        ...fail({
          kind,
          message: `could not reach Sentry at ${this.server} for ${what}: ${detail}; check SENTRY_URL and the network`,
          permanent: false,
        }),
        retryAfterMs: null,
      };
    }
    this.calls.push({ path: path.split("?")[0]!, outcome: String(response.status) });
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), this.connection.clock.now());
    const problem = classifyResponse(response, text, what, this.server);
    if (problem) return { ...fail(problem), retryAfterMs };
    return { ok: true, value: JSON.parse(text) as unknown, retryAfterMs };
  }
}

/** Turns an HTTP answer into a problem, or null when it is a JSON body we can read. */
export function classifyResponse(
  response: Response,
  text: string,
  what: string,
  server: string,
): SentryProblem | null {
  const status = response.status;
  if (status === 401) {
    return {
      kind: "auth",
      status,
      permanent: true,
      message: `Sentry rejected the token (401) reading ${what}: SENTRY_AUTH_TOKEN is missing, mistyped, expired or revoked; create a token with ${READ_SCOPES} (plus project:releases for release bookkeeping)`,
    };
  }
  if (status === 403) {
    return {
      kind: "scopes",
      status,
      permanent: true,
      message: `Sentry refused ${what} (403): the token lacks the scopes ${READ_SCOPES}, or has no access to this organization; grant them to the token`,
    };
  }
  if (status === 404) {
    return {
      kind: "not-found",
      status,
      permanent: true,
      message: `Sentry has no ${what} (404): check sentry.org and sentry.project in shipyard.json and SENTRY_URL (${server})`,
    };
  }
  if (status === 429) {
    return {
      kind: "rate-limited",
      status,
      permanent: false,
      message: `Sentry rate-limited the read of ${what} (429); it is retried on the next reading`,
    };
  }
  if (status >= 500) {
    return {
      kind: "server",
      status,
      permanent: false,
      message: `Sentry answered ${status} reading ${what}; it is retried on the next reading (see status.sentry.io)`,
    };
  }
  if (status < 200 || status >= 300) {
    return {
      kind: "server",
      status,
      permanent: false,
      message: `Sentry answered an unexpected ${status} reading ${what}`,
    };
  }
  const type = response.headers.get("content-type") ?? "";
  if (text.trim() === "") {
    return {
      kind: "empty",
      status,
      permanent: false,
      message: `Sentry answered ${what} with an empty body (status ${status}); a proxy may be in the way`,
    };
  }
  if (type.includes("text/html") || /^\s*</.test(text)) {
    return {
      kind: "not-json",
      status,
      permanent: false,
      message: `Sentry answered ${what} with an HTML page, not JSON: SENTRY_URL (${server}) may point at a login page or proxy instead of the API`,
    };
  }
  try {
    JSON.parse(text);
  } catch {
    return {
      kind: "malformed",
      status,
      permanent: false,
      message: `Sentry's answer for ${what} is not valid JSON (${text.length} bytes starting "${text.slice(0, 40).replace(/\s+/g, " ")}")`,
    };
  }
  return null;
}

/**
 * Sums the sessions endpoint's groups of `release`. Every status except "healthy" is a failed
 * request: errored, crashed, abnormal (and "unhandled" on newer servers).
 */
export function parseSessions(body: unknown, release: string): SentryResult<ReleaseHealth> {
  const groups = (body as { groups?: unknown } | null)?.groups;
  if (!Array.isArray(groups)) {
    return fail({
      kind: "malformed",
      permanent: false,
      message: `Sentry's sessions answer for ${release} has no "groups" list; the API may have changed`,
    });
  }
  const byStatus: Record<string, number> = {};
  for (const group of groups) {
    // An answer grouped by release as well names each group's release: count only the one asked for.
    const groupRelease = (group as { by?: Record<string, unknown> })?.by?.release;
    if (groupRelease !== undefined && groupRelease !== release) continue;
    const status = (group as { by?: Record<string, unknown> })?.by?.["session.status"];
    const count = (group as { totals?: Record<string, unknown> })?.totals?.["sum(session)"];
    if (typeof status !== "string" || typeof count !== "number" || !Number.isFinite(count) || count < 0) {
      return fail({
        kind: "malformed",
        permanent: false,
        message: `Sentry's sessions answer for ${release} has a group without a session.status and a sum(session) count`,
      });
    }
    byStatus[status] = (byStatus[status] ?? 0) + count;
  }
  const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
  const errored = total - (byStatus.healthy ?? 0);
  return { ok: true, value: { total, errored, byStatus } };
}
