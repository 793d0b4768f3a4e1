/**
 * The commands a report tells a person to run next, each runnable as printed from where they ran
 * the failing one (the face's invocation knows the program and the config path).
 */
import type { EnvironmentContext } from "./context.js";

/** Puts the service back on `taskDefinitionArn`: with Shipyard, and with the AWS CLI as a fallback. */
export function restoreCommands(ctx: EnvironmentContext, taskDefinitionArn: string): string[] {
  const { region, cluster, service } = ctx.environment;
  return [
    ctx.command("rollback", { to: taskDefinitionArn }),
    `aws ecs update-service --region ${region} --cluster ${cluster} --service ${service} --task-definition ${taskDefinitionArn}`,
  ];
}
