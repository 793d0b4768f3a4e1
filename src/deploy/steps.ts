/**
 * The deploy's extension points. `beforeRegister` steps run after the preflight and before anything
 * is written (the Sentry preflight, the migration lint), `beforeUpdate` steps after the new revision
 * is registered and before the service changes (the migration task), and `afterRollout` steps once
 * our deployment completed (smoke test, release bookkeeping, error-rate gate). The steps themselves
 * come from src/verify and src/migrations; src/commands/deploy-steps.ts puts them here.
 *
 * Contract:
 *  - beforeRegister / beforeUpdate `failed` or `inconclusive` → the service is never updated (exit 1,
 *    or 2 when the step threw an InputError: its own settings are wrong).
 *  - afterRollout `failed` → the previous revision is restored; `inconclusive` → verify.onInconclusive.
 *  - A step's `section` lands in the report under its `section` key; `check` names the report check.
 *  - A step that throws counts as `failed` with the error's message.
 */
import type { Ecs } from "../aws/ecs.js";
import type { Clock, Random } from "../clock.js";
import type { Config, Environment } from "../config/schema.js";
import { InputError, messageOf } from "../errors.js";
import type { Progress } from "../report/progress.js";
import type { Checks, ReportBuilder } from "../report/report.js";
import type { Verdict } from "../report/verdict.js";

export interface StepContext {
  environmentName: string;
  environment: Environment;
  config: Config;
  /** Image deployed, by digest. */
  image: string;
  release: string;
  /** The NEW revision (registered; the service may not run it yet). */
  taskDefinitionArn: string;
  /** The revision the service ran before: the one a rollback returns to. */
  previousTaskDefinitionArn: string;
  previousRelease: string | null;
  ecs: Ecs;
  clock: Clock;
  random: Random;
  progress: Progress;
  signal: AbortSignal;
  /** Folder with shipyard.json; migrations are relative to it. */
  appRoot: string;
  /** For SENTRY_AUTH_TOKEN etc. Never print values from it. */
  env: NodeJS.ProcessEnv;
}

export interface DeployStep {
  name: string;
  section: "migration" | "verification";
  /** The report check this step decides, if any. */
  check?: Exclude<keyof Checks, "ecs">;
  run(ctx: StepContext): Promise<Verdict>;
  /** Called after the previous revision was restored (e.g. to record the rollback in Sentry). */
  afterRollback?(ctx: StepContext, reason: string): Promise<void>;
}

export interface DeploySteps {
  /** Read-only checks; `taskDefinitionArn` is still "" when they run. */
  beforeRegister?: DeployStep[];
  beforeUpdate: DeployStep[];
  afterRollout: DeployStep[];
}

export type StepsOutcome =
  | { status: "passed" }
  | { status: "failed" | "inconclusive"; step: string; reason: string; badInput: boolean };

/** Runs steps in order and stops at the first that does not pass; records each in the report. */
export async function runSteps(
  steps: readonly DeployStep[],
  ctx: StepContext,
  report: ReportBuilder,
  ran: DeployStep[],
): Promise<StepsOutcome> {
  for (const step of steps) {
    ran.push(step);
    ctx.progress.info(`Step: ${step.name}`);
    let verdict: Verdict;
    try {
      verdict = await step.run(ctx);
    } catch (error) {
      if (error instanceof InputError) {
        return { status: "failed", step: step.name, reason: error.message, badInput: true };
      }
      verdict = { status: "failed", reason: `it threw: ${messageOf(error)}` };
    }
    report.section(step.section, verdict.section);
    if (step.check) {
      const configured = !(verdict.status === "passed" && verdict.notConfigured);
      report.check(step.check, configured ? verdict.status : "not-configured");
    }
    const note = verdict.status === "passed" ? verdict.summary : verdict.reason;
    report.append("steps", { name: step.name, status: verdict.status, note });
    if (verdict.status !== "passed") {
      return { status: verdict.status, step: step.name, reason: verdict.reason, badInput: false };
    }
    ctx.progress.info(`  ${step.name} passed: ${verdict.summary}`);
  }
  return { status: "passed" };
}

/** Tells the steps that ran that the previous revision is back; their failures only warn. */
export async function afterRollback(ran: readonly DeployStep[], ctx: StepContext, reason: string) {
  for (const step of ran) {
    try {
      await step.afterRollback?.(ctx, reason);
    } catch (error) {
      ctx.progress.warn(`${step.name}: recording the rollback failed (${messageOf(error)}).`);
    }
  }
}
