/**
 * The report every command produces: printed as JSON with --json (stdout), as Markdown into
 * $GITHUB_STEP_SUMMARY, and as the return value of the Dagger functions. Its shape is a contract
 * (DESIGN.md): `outcome`, `environment`, `cluster`, `service`, `image`, `taskDefinition`,
 * `previousTaskDefinition`, `reason` when not succeeded, and timings are always there.
 */
import type { ExitCode } from "../errors.js";

export type Outcome = "succeeded" | "rolled_back" | "failed" | "planned";

export interface PhaseTiming {
  name: string;
  startedAt: string;
  seconds: number;
}

export interface Timings {
  startedAt: string;
  finishedAt: string;
  totalSeconds: number;
  phases: PhaseTiming[];
}

export interface Report {
  command: "deploy" | "rollback" | "plan" | "status" | "verify" | "migrate";
  outcome: Outcome;
  exitCode: ExitCode;
  environment: string;
  cluster: string;
  service: string;
  /** The image reference deployed (with digest), or the one running for status/rollback. */
  image: string | null;
  release: string | null;
  /** ARN of the task definition deployed (or running, for status/rollback). */
  taskDefinition: string | null;
  /** ARN the service would return to on rollback. */
  previousTaskDefinition: string | null;
  /** Why it did not succeed: what happened, in one sentence. */
  reason?: string;
  /** Exact commands a person should run next, when any. */
  nextSteps?: string[];
  timings: Timings;
  /** ECS service events seen while waiting, oldest first. */
  events?: Array<{ at: string; message: string }>;
  /** Filled by the migration step (see src/migrations). */
  migration?: Record<string, unknown>;
  /** Filled by the verification step (see src/verify). */
  verification?: Record<string, unknown>;
  /** Extra facts for a command (plan diff, status details). */
  details?: Record<string, unknown>;
}
