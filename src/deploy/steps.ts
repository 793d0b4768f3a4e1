/**
 * Extension points of the deploy controller. Other parts of Shipyard plug in here without the
 * controller knowing them: migrations run as a `beforeUpdate` step (src/migrations/hook.ts), the
 * smoke test and the Sentry error-rate gate as `afterRollout` steps (src/verify/hook.ts).
 *
 * Contract with the controller (src/deploy/deploy.ts):
 *  - beforeUpdate `failed` or `inconclusive` → the service is never updated; outcome "failed", exit 1
 *    ("the service was not changed").
 *  - afterRollout `failed` → the previous revision is restored; exit 1 (3 when that is not confirmed).
 *  - afterRollout `inconclusive` → `environment.verify.onInconclusive`: "rollback" (restore, exit 1),
 *    "fail" (stay on the new revision, exit 3), "accept" (exit 0 with a warning in the report).
 *  - A step's `report` lands in `report[step.reportKey]`.
 *  - A step that throws counts as `failed` with the error's message.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { Clock, Random } from "../clock.js";
import type { Config, Environment } from "../config/schema.js";
import type { Progress } from "../progress.js";

export interface DeployStepContext {
  environmentName: string;
  environment: Environment;
  config: Config;
  /** Image reference deployed, by digest (repo@sha256:...). */
  image: string;
  release: string;
  /** The NEW task definition revision (already registered; the service may not run it yet). */
  taskDefinitionArn: string;
  /** The revision the service ran before this deploy: the one a rollback returns to. */
  previousTaskDefinitionArn: string;
  previousRelease: string | null;
  ecs: ECSClient;
  clock: Clock;
  random: Random;
  progress: Progress;
  signal: AbortSignal;
  /** Folder with shipyard.json; migrations are relative to it. */
  appRoot: string;
  /** For SENTRY_AUTH_TOKEN etc. Never print values from it. */
  env: NodeJS.ProcessEnv;
}

export type StepVerdict =
  | { status: "passed"; summary: string; report?: Record<string, unknown> }
  | { status: "failed"; reason: string; report?: Record<string, unknown> }
  | { status: "inconclusive"; reason: string; report?: Record<string, unknown> };

export interface DeployStep {
  name: string;
  reportKey: "migration" | "verification";
  run(ctx: DeployStepContext): Promise<StepVerdict>;
  /** Called after the controller restored the previous revision (e.g. to record the rollback in Sentry). */
  afterRollback?(ctx: DeployStepContext, reason: string): Promise<void>;
}

export interface DeploySteps {
  /** Run after the new revision is registered and before UpdateService (e.g. migrations). */
  beforeUpdate: DeployStep[];
  /** Run after our deployment completed (e.g. smoke test, error-rate gate). */
  afterRollout: DeployStep[];
}

export const noSteps: DeploySteps = { beforeUpdate: [], afterRollout: [] };
