/**
 * The report every command produces, and the one builder that makes it. It is printed as JSON with
 * --json (stdout), as a short summary on stderr, as Markdown into $GITHUB_STEP_SUMMARY, and it is the
 * return value of the Dagger functions. Its shape is a contract: `command`, `outcome`, `exitCode`,
 * `environment`, `cluster`, `service`, `image`, `release`, `taskDefinition`,
 * `previousTaskDefinition`, `checks` and `timings` are always there (null when unknown), `reason`
 * whenever it did not succeed.
 */
import type { Clock } from "../clock.js";
import { ExitCode } from "../errors.js";
import { seconds } from "./progress.js";

export type Outcome = "succeeded" | "rolled_back" | "failed" | "planned";

export type CommandName =
  | "deploy"
  | "rollback"
  | "plan"
  | "status"
  | "verify"
  | "migrate"
  | "migrate-lint"
  | "schema"
  | "init"
  | "try"
  | "history"
  | "metrics"
  | "preview-up"
  | "preview-down"
  | "preview-list"
  | "preview-gc"
  | "logs";

/** What a verification did: the summary says "ECS only" when smoke and gate did not run. */
export type CheckStatus = "passed" | "failed" | "inconclusive" | "not-configured" | "not-run";

export interface Checks {
  /** Our ECS deployment reached COMPLETED with our revision running. */
  ecs: CheckStatus;
  /** The health URL answered as configured. */
  smoke: CheckStatus;
  /** The Sentry error-rate gate. */
  gate: CheckStatus;
}

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

export type Section = Record<string, unknown>;

export interface Report {
  command: CommandName;
  outcome: Outcome;
  exitCode: ExitCode;
  environment: string | null;
  cluster: string | null;
  service: string | null;
  /** The image reference deployed (with digest), or the one running for status/rollback. */
  image: string | null;
  release: string | null;
  /** ARN of the task definition deployed (or running, for status/rollback). */
  taskDefinition: string | null;
  /** ARN the service would return to on rollback. */
  previousTaskDefinition: string | null;
  checks: Checks;
  /** Why it did not succeed, in one sentence. */
  reason?: string;
  /** Exact commands a person should run next, runnable as printed from where the command ran. */
  nextSteps?: string[];
  /** Things that did not stop the command but that a person should know. */
  warnings?: string[];
  timings: Timings;
  /** ECS service events seen while waiting, oldest first. */
  events?: Array<{ at: string; message: string }>;
  migration?: Section;
  verification?: Section;
  /** Facts particular to a command (plan diff, status details, restore method). */
  details?: Section;
  /** Why a release failed, as ECS, the load balancer and the logs tell it (failed deploys and migrations). */
  diagnosis?: Diagnosis;
  /**
   * One row per service and scheduled task, when the environment has more than one service or any
   * scheduled task (deploy, rollback, status, plan); the fields above then describe the primary service.
   */
  services?: ServiceRow[];
}

/** Where one service or scheduled task of the environment stands after the command. */
export type ServiceState =
  /** It runs the new revision, verified with the rest (deploy), or the target (rollback). */
  | "deployed"
  /** Put back on its previous revision, confirmed by ECS. */
  | "restored"
  /** Putting it back was not confirmed, or it was left alone: nextSteps has the commands for it. */
  | "not-restored"
  /** Nothing about it was changed. */
  | "unchanged"
  /** status and plan: as it runs now. */
  | "running";

/** What a deploy's rollout of one service did, on its own. */
export type ServiceRollout =
  | "completed"
  /** Its own deployment failed or timed out: the row's reason says how. */
  | "failed"
  /** Still in flight when another service failed: stopped waiting, then restored. */
  | "stopped"
  /** UpdateService did not take effect. */
  | "not-updated"
  /** Whether it changed is unknown (unreadable, interrupted). */
  | "unknown";

export interface ServiceRow {
  /** The ECS service name, or "rule NAME" / "schedule NAME" for a scheduled task. */
  name: string;
  kind: "service" | "rule" | "schedule";
  container: string;
  /** Serves the environment's traffic (gets the smoke test). */
  traffic: boolean;
  state: ServiceState;
  /** deploy: what its own rollout did (a service that failed shows "failed" here, "restored" above). */
  rollout?: ServiceRollout;
  /** The revision it runs (or was taken to). */
  taskDefinition: string | null;
  /** The revision it ran before the command (what a restore returns to). */
  previousTaskDefinition: string | null;
  reason?: string;
  /** How it was put back (restores), or what it would change (plan). */
  detail?: string;
  seconds?: number;
  /** Commands for this one, when it needs a person. */
  nextSteps?: string[];
}

/** The causes of a failed task Shipyard recognises and explains. */
export type CauseKind =
  | "image-pull"
  | "resource-initialization"
  | "out-of-memory"
  | "essential-container-exited"
  | "elb-health-check"
  | "container-health-check"
  | "unknown";

export interface DiagnosedCause {
  kind: CauseKind;
  /** What happened, in plain words ("the image could not be pulled"). */
  title: string;
  /** Why it usually happens, with what ECS said. */
  explanation: string;
  /** What to change. */
  fix: string;
  /** How many of the tasks looked at stopped for this cause. */
  tasks: number;
}

export interface DiagnosedTask {
  taskId: string;
  taskDefinition: string | null;
  lastStatus: string | null;
  stopCode: string | null;
  stoppedReason: string | null;
  healthStatus: string | null;
  stoppedAt: string | null;
  containers: Array<{
    name: string;
    exitCode: number | null;
    reason: string | null;
    healthStatus: string | null;
  }>;
  cause: CauseKind;
}

/** A load balancer target that is not healthy, as ELB DescribeTargetHealth says. */
export interface DiagnosedTarget {
  targetGroup: string;
  id: string;
  port: number | null;
  state: string;
  reason: string | null;
  description: string | null;
}

/** The last lines one container logged, newest first, scrubbed. */
export interface DiagnosedLog {
  taskId: string;
  container: string;
  group: string;
  stream: string;
  lines: string[];
}

export interface Diagnosis {
  /** What was looked at: the rollout's tasks, the migration task, or the release a smoke test failed. */
  subject: "rollout" | "migration" | "smoke test";
  /** The likeliest cause, in one sentence. */
  summary: string;
  /** What to do about it, when the cause is known. */
  fix: string | null;
  /** Every cause seen, the most frequent first. */
  causes: DiagnosedCause[];
  tasks: DiagnosedTask[];
  targets: DiagnosedTarget[];
  logs: DiagnosedLog[];
  /** What could not be read (missing permissions...): the diagnosis is partial, the deploy unchanged. */
  notes: string[];
  /** AWS calls the diagnosis made. */
  calls: number;
}

export interface ReportScope {
  command: CommandName;
  environment: string | null;
  cluster: string | null;
  service: string | null;
}

type Settable = Partial<
  Pick<Report, "image" | "release" | "taskDefinition" | "previousTaskDefinition" | "events">
>;

const EMPTY_ROW: Omit<ServiceRow, "name"> = {
  kind: "service",
  container: "",
  traffic: false,
  state: "unchanged",
  taskDefinition: null,
  previousTaskDefinition: null,
};

const NOT_RUN: Checks = { ecs: "not-run", smoke: "not-run", gate: "not-run" };

export class ReportBuilder {
  private readonly startedAt: number;
  private readonly phases: PhaseTiming[] = [];
  private readonly fields: Settable = {};
  private readonly checks: Checks = { ...NOT_RUN };
  private readonly warnings: string[] = [];
  private readonly sections: { migration?: Section; verification?: Section; details?: Section } = {};
  private diagnosis: Diagnosis | undefined;
  private readonly rows = new Map<string, ServiceRow>();

  constructor(
    private scope: ReportScope,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
  }

  get command(): CommandName {
    return this.scope.command;
  }

  /** Fills in where the command ran once the config is known. */
  locate(scope: Omit<ReportScope, "command">): this {
    this.scope = { ...this.scope, ...scope };
    return this;
  }

  /** Runs `work` as a named phase; the phase is timed even when `work` throws. */
  async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    try {
      return await work();
    } finally {
      this.phases.push({
        name,
        startedAt: new Date(start).toISOString(),
        seconds: seconds(this.clock.now() - start),
      });
    }
  }

  set(fields: Settable): this {
    Object.assign(this.fields, fields);
    return this;
  }

  check(name: keyof Checks, status: CheckStatus): this {
    this.checks[name] = status;
    return this;
  }

  warn(warning: string): this {
    if (!this.warnings.includes(warning)) this.warnings.push(warning);
    return this;
  }

  /** Merges data into a section of the report. */
  section(key: "migration" | "verification" | "details", data: Section | undefined): this {
    if (data) this.sections[key] = { ...this.sections[key], ...data };
    return this;
  }

  /** Records why the release failed (the last diagnosis wins: it is the one the outcome is about). */
  diagnose(diagnosis: Diagnosis): this {
    this.diagnosis = diagnosis;
    return this;
  }

  /** Sets or updates the row of one service or scheduled task (rows keep their first order). */
  serviceRow(row: Pick<ServiceRow, "name"> & Partial<ServiceRow>): this {
    const known = this.rows.get(row.name);
    this.rows.set(row.name, { ...(known ?? EMPTY_ROW), ...row } as ServiceRow);
    return this;
  }

  /** Appends one entry to a list in the details section (e.g. the steps a deploy ran). */
  append(key: string, item: unknown): this {
    const details = this.sections.details ?? {};
    const list = Array.isArray(details[key]) ? (details[key] as unknown[]) : [];
    this.sections.details = { ...details, [key]: [...list, item] };
    return this;
  }

  finish(
    outcome: Outcome,
    exitCode: ExitCode,
    ending: { reason?: string; nextSteps?: readonly string[] } = {},
  ): Report {
    const end = this.clock.now();
    const report: Report = {
      command: this.scope.command,
      outcome,
      exitCode,
      environment: this.scope.environment,
      cluster: this.scope.cluster,
      service: this.scope.service,
      image: this.fields.image ?? null,
      release: this.fields.release ?? null,
      taskDefinition: this.fields.taskDefinition ?? null,
      previousTaskDefinition: this.fields.previousTaskDefinition ?? null,
      checks: { ...this.checks },
      timings: {
        startedAt: new Date(this.startedAt).toISOString(),
        finishedAt: new Date(end).toISOString(),
        totalSeconds: seconds(end - this.startedAt),
        phases: [...this.phases],
      },
    };
    if (ending.reason) report.reason = ending.reason;
    if (ending.nextSteps && ending.nextSteps.length > 0) report.nextSteps = [...ending.nextSteps];
    if (this.warnings.length > 0) report.warnings = [...this.warnings];
    if (this.fields.events && this.fields.events.length > 0) report.events = this.fields.events;
    if (this.sections.migration) report.migration = this.sections.migration;
    if (this.sections.verification) report.verification = this.sections.verification;
    if (this.sections.details) report.details = this.sections.details;
    if (this.diagnosis) report.diagnosis = this.diagnosis;
    if (this.rows.size > 0) report.services = [...this.rows.values()];
    return report;
  }

  succeeded(): Report {
    return this.finish("succeeded", ExitCode.Success);
  }

  /** Refused before anything changed: exit 2. */
  refused(reason: string, nextSteps: readonly string[] = []): Report {
    return this.finish("failed", ExitCode.BadInput, { reason: withNothingChanged(reason), nextSteps });
  }
}

function withNothingChanged(reason: string): string {
  return /nothing (was|has been) changed|was not changed|nothing was run/i.test(reason)
    ? reason
    : `${reason.replace(/[.\s]+$/, "")}; nothing was changed`;
}

/** Which checks verified the release, in words: "ECS, smoke test and error-rate gate", "ECS only". */
export function verifiedBy(checks: Checks): string {
  const passed = [
    checks.ecs === "passed" ? "ECS" : null,
    checks.smoke === "passed" ? "smoke test" : null,
    checks.gate === "passed" ? "error-rate gate" : null,
  ].filter((name): name is string => name !== null);
  if (passed.length === 0) return "nothing";
  if (passed.length === 1) return `${passed[0]} only`;
  return `${passed.slice(0, -1).join(", ")} and ${passed.at(-1)}`;
}
