/**
 * Every EventBridge call Shipyard makes, in one place: the ECS target of a scheduled task, read and
 * moved to another task definition revision. A scheduled task is either a rule's target (EventBridge
 * rules: ListTargetsByRule, PutTargets) or a schedule's (EventBridge Scheduler: GetSchedule,
 * UpdateSchedule). Each SDK is imported, and its client built, on first use: an environment with only
 * rules never loads the Scheduler SDK.
 *
 * Both writes replace what they are given, so a retarget sends back everything it read and changes
 * only the task definition: a field left out would silently change the customer's rule or schedule
 * (its input, role, network, time window...).
 *
 * The endpoint overrides are AWS_ENDPOINT_URL_EVENTBRIDGE and AWS_ENDPOINT_URL_SCHEDULER, then
 * AWS_ENDPOINT_URL.
 */
import type { EventBridgeClient, Target as RuleTarget } from "@aws-sdk/client-eventbridge";
import type { GetScheduleOutput, SchedulerClient } from "@aws-sdk/client-scheduler";
import { type AwsClientOptions, AwsGateway, clientConfig, endpointOverride } from "./client.js";
import { awsErrorName } from "./ecs.js";

/** A scheduled task as shipyard.json names it: a rule on a bus (and a target), or a schedule in a group. */
export interface ScheduledTaskRef {
  rule?: string | undefined;
  eventBus: string;
  targetId?: string | undefined;
  schedule?: string | undefined;
  group: string;
}

export type TargetLookup =
  | { found: true; taskDefinitionArn: string; clusterArn: string | null; description: string }
  | { found: false; reason: string };

export type EventsClientFactory = (options: AwsClientOptions) => Promise<EventBridgeClient>;
export type SchedulerClientFactory = (options: AwsClientOptions) => Promise<SchedulerClient>;

export const createEventsClient: EventsClientFactory = async (options) => {
  const { EventBridgeClient } = await import("@aws-sdk/client-eventbridge");
  return new EventBridgeClient(clientConfig(options));
};

export const createSchedulerClient: SchedulerClientFactory = async (options) => {
  const { SchedulerClient } = await import("@aws-sdk/client-scheduler");
  return new SchedulerClient(clientConfig(options));
};

export interface SchedulesEndpoints {
  eventsEndpoint?: string;
  schedulerEndpoint?: string;
}

/** The endpoint overrides: AWS_ENDPOINT_URL_EVENTBRIDGE / _SCHEDULER, then AWS_ENDPOINT_URL. */
export function schedulesEndpoints(env: NodeJS.ProcessEnv): SchedulesEndpoints {
  const events = endpointOverride(env, "EVENTBRIDGE");
  const scheduler = endpointOverride(env, "SCHEDULER");
  return {
    ...(events ? { eventsEndpoint: events } : {}),
    ...(scheduler ? { schedulerEndpoint: scheduler } : {}),
  };
}

/** A rule or a schedule that failed to take the new task definition. */
export class ScheduledTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduledTargetError";
  }
}

/** One SDK client behind AwsGateway's `send`; Schedules keeps the one ordered record of both. */
class Channel extends AwsGateway {
  constructor(client: object) {
    super(client);
  }

  request<T>(operation: string, command: unknown, signal?: AbortSignal): Promise<T> {
    return this.send<T>(operation, command, signal);
  }
}

type Found<T> =
  | { found: true; value: T; lookup: Extract<TargetLookup, { found: true }> }
  | { found: false; reason: string };

const eventsSdk = () => import("@aws-sdk/client-eventbridge");
const schedulerSdk = () => import("@aws-sdk/client-scheduler");

/** "rule nightly-report (bus jobs)" / "schedule cleanup (group jobs)", as shipyard.json names them. */
function taskName(task: ScheduledTaskRef): string {
  if (task.rule !== undefined)
    return `rule ${task.rule}${task.eventBus !== "default" ? ` (bus ${task.eventBus})` : ""}`;
  return `schedule ${task.schedule}${task.group !== "default" ? ` (group ${task.group})` : ""}`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The rule's one ECS target (the one `targetId` names, if set), or why there is none: a sentence with the fix. */
function pickRuleTarget(task: ScheduledTaskRef, targets: RuleTarget[]): RuleTarget | string {
  const name = taskName(task);
  const ids = (list: RuleTarget[]) => list.map((t) => t.Id).join(", ");
  const listed = targets.length > 0 ? ` (its targets: ${ids(targets)})` : "";
  if (task.targetId !== undefined) {
    const named = targets.find((t) => t.Id === task.targetId);
    if (!named)
      return `${capitalized(name)} has no target with id ${task.targetId}${listed}: correct \`targetId\` in shipyard.json.`;
    if (named.EcsParameters === undefined)
      return `Target ${task.targetId} of ${name} is not an ECS task (it targets ${named.Arn}): point \`targetId\` at the rule's ECS target.`;
    return named;
  }
  const ecs = targets.filter((t) => t.EcsParameters !== undefined);
  if (ecs.length === 1) return ecs[0]!;
  if (ecs.length === 0)
    return `${capitalized(name)} has no ECS task target${listed}: add one that runs the app's task definition, or remove the rule from \`scheduledTasks\`.`;
  return `${capitalized(name)} has ${ecs.length} ECS task targets (${ids(ecs)}): set \`targetId\` in shipyard.json to the one Shipyard should move.`;
}

export class Schedules {
  /** Operation names sent, in order, across both services. */
  readonly sent: string[] = [];
  private events: Promise<Channel> | undefined;
  private scheduler: Promise<Channel> | undefined;

  constructor(
    private readonly openEvents: () => Promise<EventBridgeClient>,
    private readonly openScheduler: () => Promise<SchedulerClient>,
    /** The run's clock: a start date already passed is not sent back (see updateSchedule). */
    private readonly now: () => number = Date.now,
  ) {}

  /** The task definition the scheduled task runs now, or why Shipyard cannot tell (a sentence with the fix). */
  async readTarget(task: ScheduledTaskRef, signal?: AbortSignal): Promise<TargetLookup> {
    const found =
      task.rule !== undefined
        ? await this.findRuleTarget(task, signal)
        : await this.findSchedule(task, signal);
    return found.found ? found.lookup : found;
  }

  /** Moves the scheduled task's ECS target to `taskDefinitionArn`, keeping everything else as it is. */
  async retarget(task: ScheduledTaskRef, taskDefinitionArn: string): Promise<void> {
    if (task.rule !== undefined) {
      const found = await this.findRuleTarget(task);
      if (!found.found) throw new ScheduledTargetError(found.reason);
      await this.putRuleTarget(task, found.value, taskDefinitionArn);
    } else {
      const found = await this.findSchedule(task);
      if (!found.found) throw new ScheduledTargetError(found.reason);
      await this.updateSchedule(found.value, taskDefinitionArn);
    }
  }

  private async call<T>(
    service: "events" | "scheduler",
    operation: string,
    command: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    if (service === "events") this.events ??= this.openEvents().then((client) => new Channel(client));
    else this.scheduler ??= this.openScheduler().then((client) => new Channel(client));
    const channel = await (service === "events" ? this.events : this.scheduler)!;
    this.sent.push(operation);
    return channel.request<T>(operation, command, signal);
  }

  /** Every target of the rule (ListTargetsByRule, paged). */
  private async ruleTargets(task: ScheduledTaskRef, signal?: AbortSignal): Promise<RuleTarget[]> {
    const { ListTargetsByRuleCommand } = await eventsSdk();
    const targets: RuleTarget[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.call<{ Targets?: RuleTarget[]; NextToken?: string }>(
        "events",
        "ListTargetsByRule",
        new ListTargetsByRuleCommand({
          Rule: task.rule,
          EventBusName: task.eventBus,
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
        signal,
      );
      targets.push(...(page.Targets ?? []));
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return targets;
  }

  private async findRuleTarget(task: ScheduledTaskRef, signal?: AbortSignal): Promise<Found<RuleTarget>> {
    const name = taskName(task);
    let targets: RuleTarget[];
    try {
      targets = await this.ruleTargets(task, signal);
    } catch (error) {
      // A missing bus answers the same way as a missing rule; AWS's message says which.
      if (awsErrorName(error) !== "ResourceNotFoundException") throw error;
      return {
        found: false,
        reason: `EventBridge rule ${task.rule} was not found on event bus ${task.eventBus} (${(error as Error).message}): create it, or correct \`rule\` and \`eventBus\` of this scheduled task in shipyard.json.`,
      };
    }
    const chosen = pickRuleTarget(task, targets);
    if (typeof chosen === "string") return { found: false, reason: chosen };
    return {
      found: true,
      value: chosen,
      lookup: {
        found: true,
        taskDefinitionArn: chosen.EcsParameters?.TaskDefinitionArn ?? "",
        clusterArn: chosen.Arn || null,
        description: `${name}, target ${chosen.Id}`,
      },
    };
  }

  /** PutTargets with the same target: only the task definition changes. */
  private async putRuleTarget(
    task: ScheduledTaskRef,
    target: RuleTarget,
    taskDefinitionArn: string,
  ): Promise<void> {
    const { PutTargetsCommand } = await eventsSdk();
    const moved: RuleTarget = {
      ...target,
      EcsParameters: { ...target.EcsParameters, TaskDefinitionArn: taskDefinitionArn },
    };
    const answer = await this.call<{
      FailedEntryCount?: number;
      FailedEntries?: Array<{ TargetId?: string; ErrorCode?: string; ErrorMessage?: string }>;
    }>(
      "events",
      "PutTargets",
      new PutTargetsCommand({ Rule: task.rule, EventBusName: task.eventBus, Targets: [moved] }),
    );
    // PutTargets reports a refused target in its answer (HTTP 200), not as an error.
    const failed = answer.FailedEntries?.[0];
    if ((answer.FailedEntryCount ?? 0) > 0 || failed) {
      const why = [failed?.ErrorCode, failed?.ErrorMessage].filter(Boolean).join(": ") || "no reason given";
      throw new ScheduledTargetError(
        `EventBridge refused to move target ${failed?.TargetId ?? target.Id} of ${taskName(task)} to ${taskDefinitionArn} (${why}).`,
      );
    }
  }

  /** GetSchedule: the whole schedule, which UpdateSchedule needs back. */
  private async findSchedule(
    task: ScheduledTaskRef,
    signal?: AbortSignal,
  ): Promise<Found<GetScheduleOutput>> {
    const { GetScheduleCommand } = await schedulerSdk();
    const name = taskName(task);
    let schedule: GetScheduleOutput;
    try {
      schedule = await this.call<GetScheduleOutput>(
        "scheduler",
        "GetSchedule",
        new GetScheduleCommand({ Name: task.schedule, GroupName: task.group }),
        signal,
      );
    } catch (error) {
      if (awsErrorName(error) !== "ResourceNotFoundException") throw error;
      return {
        found: false,
        reason: `EventBridge Scheduler schedule ${task.schedule} was not found in schedule group ${task.group} (${(error as Error).message}): create it, or correct \`schedule\` and \`group\` of this scheduled task in shipyard.json.`,
      };
    }
    const ecs = schedule.Target?.EcsParameters;
    if (!ecs) {
      return {
        found: false,
        reason: `${capitalized(name)} does not run an ECS task (it targets ${schedule.Target?.Arn ?? "nothing"}): give it an ECS RunTask target (EcsParameters) with the app's task definition, or remove it from \`scheduledTasks\`.`,
      };
    }
    return {
      found: true,
      value: schedule,
      lookup: {
        found: true,
        taskDefinitionArn: ecs.TaskDefinitionArn ?? "",
        clusterArn: schedule.Target?.Arn || null,
        description: name,
      },
    };
  }

  /** UpdateSchedule replaces the whole schedule: every field it accepts goes back as read. */
  private async updateSchedule(schedule: GetScheduleOutput, taskDefinitionArn: string): Promise<void> {
    const { UpdateScheduleCommand } = await schedulerSdk();
    const target = schedule.Target!;
    await this.call(
      "scheduler",
      "UpdateSchedule",
      new UpdateScheduleCommand({
        Name: schedule.Name,
        GroupName: schedule.GroupName,
        ScheduleExpression: schedule.ScheduleExpression,
        ScheduleExpressionTimezone: schedule.ScheduleExpressionTimezone,
        // Scheduler refuses a StartDate more than 5 minutes in the past; one that has passed no
        // longer holds anything back, so leaving it out changes nothing about when the schedule runs.
        ...(schedule.StartDate && schedule.StartDate.getTime() > this.now()
          ? { StartDate: schedule.StartDate }
          : {}),
        EndDate: schedule.EndDate,
        Description: schedule.Description,
        State: schedule.State,
        KmsKeyArn: schedule.KmsKeyArn,
        FlexibleTimeWindow: schedule.FlexibleTimeWindow,
        ActionAfterCompletion: schedule.ActionAfterCompletion,
        Target: {
          ...target,
          EcsParameters: { ...target.EcsParameters, TaskDefinitionArn: taskDefinitionArn },
        },
      }),
    );
  }
}

/** The gateway for a region; each service's client is built on its first call. */
export function openSchedules(
  options: Omit<AwsClientOptions, "endpoint"> &
    SchedulesEndpoints & {
      eventsFactory?: EventsClientFactory;
      schedulerFactory?: SchedulerClientFactory;
      now?: () => number;
    },
): Schedules {
  const { eventsEndpoint, schedulerEndpoint, eventsFactory, schedulerFactory, now, ...shared } = options;
  const forEndpoint = (endpoint: string | undefined): AwsClientOptions => ({
    ...shared,
    ...(endpoint ? { endpoint } : {}),
  });
  return new Schedules(
    () => (eventsFactory ?? createEventsClient)(forEndpoint(eventsEndpoint)),
    () => (schedulerFactory ?? createSchedulerClient)(forEndpoint(schedulerEndpoint)),
    now,
  );
}
