/**
 * The commands a report tells a person to run next, each runnable as printed from where they ran
 * the failing one (the face's invocation knows the program and the config path).
 */
import type { ScheduledTaskSettings } from "../config/schema.js";
import type { EnvironmentContext } from "./context.js";

/**
 * Puts a service (the primary unless named) back on `taskDefinitionArn`: with Shipyard, and with the
 * AWS CLI as a fallback.
 */
export function restoreCommands(
  ctx: EnvironmentContext,
  taskDefinitionArn: string,
  service = ctx.environment.service,
): string[] {
  const { region, cluster, services } = ctx.environment;
  return [
    ctx.command("rollback", { ...(services.length > 1 ? { service } : {}), to: taskDefinitionArn }),
    `aws ecs update-service --region ${region} --cluster ${cluster} --service ${service} --task-definition ${taskDefinitionArn}`,
  ];
}

/** Points a scheduled task's ECS target back at `taskDefinitionArn` with the AWS CLI. */
export function retargetCommands(
  ctx: EnvironmentContext,
  task: ScheduledTaskSettings,
  taskDefinitionArn: string,
): string[] {
  const { region } = ctx.environment;
  const { rule, eventBus, schedule, group } = task;
  return rule !== undefined
    ? [
        `aws events list-targets-by-rule --region ${region} --rule ${rule} --event-bus-name ${eventBus}   # then put-targets with EcsParameters.TaskDefinitionArn = ${taskDefinitionArn}`,
      ]
    : [
        `aws scheduler get-schedule --region ${region} --name ${schedule} --group-name ${group}   # then update-schedule with Target.EcsParameters.TaskDefinitionArn = ${taskDefinitionArn}`,
      ];
}
