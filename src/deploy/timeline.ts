/**
 * Report plumbing shared by the commands: phase timings on the injected clock, the report skeleton,
 * and the exact commands a person runs next.
 */
import type { Clock } from "../clock.js";
import type { Environment } from "../config/schema.js";
import type { ExitCode } from "../errors.js";
import type { Outcome, PhaseTiming, Report } from "../report/report.js";

export class Timeline {
  readonly startedAt: number;
  private readonly phases: PhaseTiming[] = [];

  constructor(private readonly clock: Clock) {
    this.startedAt = clock.now();
  }

  /** Runs `work` as a named phase; the phase is recorded even when `work` throws. */
  async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    try {
      return await work();
    } finally {
      this.phases.push({
        name,
        startedAt: new Date(start).toISOString(),
        seconds: Math.round((this.clock.now() - start) / 100) / 10,
      });
    }
  }

  timings(): Report["timings"] {
    const end = this.clock.now();
    return {
      startedAt: new Date(this.startedAt).toISOString(),
      finishedAt: new Date(end).toISOString(),
      totalSeconds: Math.round((end - this.startedAt) / 100) / 10,
      phases: [...this.phases],
    };
  }
}

export interface ReportBase {
  command: Report["command"];
  environmentName: string;
  environment: Environment;
}

export function makeReport(
  base: ReportBase,
  timeline: Timeline,
  fields: {
    outcome: Outcome;
    exitCode: ExitCode;
    image?: string | null;
    release?: string | null;
    taskDefinition?: string | null;
    previousTaskDefinition?: string | null;
    reason?: string;
    nextSteps?: string[];
    events?: Report["events"];
    details?: Record<string, unknown>;
    migration?: Record<string, unknown>;
    verification?: Record<string, unknown>;
  },
): Report {
  const report: Report = {
    command: base.command,
    outcome: fields.outcome,
    exitCode: fields.exitCode,
    environment: base.environmentName,
    cluster: base.environment.cluster,
    service: base.environment.service,
    image: fields.image ?? null,
    release: fields.release ?? null,
    taskDefinition: fields.taskDefinition ?? null,
    previousTaskDefinition: fields.previousTaskDefinition ?? null,
    timings: timeline.timings(),
  };
  if (fields.reason) report.reason = fields.reason;
  if (fields.nextSteps && fields.nextSteps.length > 0) report.nextSteps = fields.nextSteps;
  if (fields.events && fields.events.length > 0) report.events = fields.events;
  if (fields.migration) report.migration = fields.migration;
  if (fields.verification) report.verification = fields.verification;
  if (fields.details) report.details = fields.details;
  return report;
}

/** The commands that put a service back on `taskDefinitionArn`, by Shipyard and by the AWS CLI. */
export function restoreCommands(
  environmentName: string,
  environment: Environment,
  taskDefinitionArn: string,
): string[] {
  return [
    `npx shipyard rollback --env ${environmentName} --to ${taskDefinitionArn}`,
    `aws ecs update-service --region ${environment.region} --cluster ${environment.cluster} --service ${environment.service} --task-definition ${taskDefinitionArn}`,
  ];
}

export function statusCommand(environmentName: string): string {
  return `npx shipyard status --env ${environmentName}`;
}
