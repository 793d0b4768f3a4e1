/**
 * How Shipyard tells the outside world (GitHub Deployments, Slack, a webhook) without ever letting it
 * hold up or fail a deploy: every request is bounded by a real-time limit, a 5xx answer or a dropped
 * connection is tried once more, a timeout or a 4xx is not (waiting twice as long or asking again
 * with the same wrong token does not help), and the outcome is a value — never an exception.
 */

/** The HTTP function in use: the runtime's (tests, the scrubber's view) or the global one. */
export type HttpFetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface Delivery {
  fetch: HttpFetch;
  /** Builds the real-time bound of one request (tests control it). */
  requestSignal: (ms: number) => AbortSignal;
  timeoutMs: number;
}

/** Long enough for a slow API, short enough that a hanging one cannot hold a pipeline for long. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export type Delivered<T> = { ok: true; value: T } | { ok: false; problem: string };

/** An HTTP answer outside 2xx, as a value a caller can throw from inside an attempt. */
export class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}`);
  }
}

/** Runs `attempt` under the time bound; once more after a 5xx or a network error. */
export async function deliver<T>(
  delivery: Delivery,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<Delivered<T>> {
  for (let tries = 1; ; tries++) {
    const signal = delivery.requestSignal(delivery.timeoutMs);
    try {
      return { ok: true, value: await attempt(signal) };
    } catch (error) {
      const failure = describeFailure(error, signal, delivery.timeoutMs);
      if (!failure.retry || tries === 2) {
        return {
          ok: false,
          problem: tries === 2 ? `${failure.problem}, also on the retry` : failure.problem,
        };
      }
    }
  }
}

/** One POST of a JSON body; any 2xx is delivered. */
export function postJson(delivery: Delivery, url: string, body: unknown): Promise<Delivered<void>> {
  return deliver(delivery, async (signal) => {
    const answer = await delivery.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "shipyard" },
      body: JSON.stringify(body),
      signal,
    });
    const text = await answer.text().catch(() => "");
    if (!answer.ok) throw new HttpAnswer(answer.status, text);
  });
}

function describeFailure(
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): { problem: string; retry: boolean } {
  if (signal.aborted) return { problem: `no answer within ${timeoutMs / 1000}s`, retry: false };
  const answered = answerOf(error);
  if (answered) {
    const detail = oneLine(answered.detail);
    return {
      problem: `HTTP ${answered.status}${detail ? ` (${detail})` : ""}`,
      retry: answered.status >= 500,
    };
  }
  return { problem: `no connection (${networkCause(error)})`, retry: true };
}

/** The status and text of an HTTP answer: ours, or @octokit/request's RequestError (`response`). */
function answerOf(error: unknown): { status: number; detail: string } | null {
  if (error instanceof HttpAnswer) return { status: error.status, detail: error.detail };
  const response = (error as { response?: { status?: unknown } } | null)?.response;
  if (response && typeof response.status === "number") {
    return { status: response.status, detail: error instanceof Error ? error.message : "" };
  }
  return null;
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** What a server said, on one line and short: it goes into a warning. */
function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

/** GitHub cuts a status description at 140 characters; cut it ourselves, visibly. */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
