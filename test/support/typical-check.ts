/**
 * A typical AWS-CLI pipeline's check, kept for comparison only (tests and bench; Shipyard never runs it): one
 * call to the project stats endpoint after `sleep 30`, `jq '.[-1][1]'` (error events of the current
 * hour, every release and environment), roll back when > 50. An API failure yields no number,
 * `[ "" -gt 50 ]` is false, and the deploy passes: fail-open.
 */
import type { SentryClient, SentryResult } from "../../src/verify/sentry-api.js";

export type TypicalStatsResponse = { ok: true; body: unknown } | { ok: false; problem: string };

export interface TypicalDecision {
  rollback: boolean;
  value: number | null;
  why: string;
}

export function typicalCheck(response: TypicalStatsResponse, threshold = 50): TypicalDecision {
  if (!response.ok) {
    return {
      rollback: false,
      value: null,
      why: `API failed (${response.problem}): the check passes (fail-open)`,
    };
  }
  const body = response.body;
  const last = Array.isArray(body) ? body[body.length - 1] : undefined;
  const value = Array.isArray(last) && typeof last[1] === "number" ? last[1] : null;
  if (value === null)
    return { rollback: false, value, why: "no number in the response: the check passes (fail-open)" };
  return value > threshold
    ? { rollback: true, value, why: `${value} errors this hour > ${threshold}: roll back` }
    : { rollback: false, value, why: `${value} errors this hour ≤ ${threshold}: keep` };
}

/** The typical pipeline's endpoint (project stats) through Shipyard's Sentry client, for the comparison only. */
export function projectStats(
  client: SentryClient,
  org: string,
  project: string,
): Promise<SentryResult<unknown>> {
  return client.getJson(
    `/api/0/projects/${encodeURIComponent(org)}/${encodeURIComponent(project)}/stats/`,
    "project stats",
  );
}
