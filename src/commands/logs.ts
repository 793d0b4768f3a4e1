/**
 * `logs`: what the service's tasks wrote to CloudWatch Logs, for the running release or a given one,
 * across its tasks, each line prefixed with the task (short id) and the container. `--follow` polls on
 * the injected clock (FilterLogEvents from the last line seen) until Ctrl-C, which ends it cleanly.
 *
 * Reads only: DescribeServices, DescribeTaskDefinition (with tags, to find a release), ListTasks and
 * DescribeTasks for the tasks of that revision, then FilterLogEvents over their awslogs streams
 * (`prefix/container/taskId`) — five calls for the running release, then one per poll.
 */
import type { Service, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { type Ecs, shortArn } from "../aws/ecs.js";
import type { LogLine, Logs } from "../aws/logs.js";
import { releaseOf } from "../config/taskdef.js";
import { awslogsStream } from "../deploy/diagnosis.js";
import { TAG } from "../deploy/revisions.js";
import { InputError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";
import { readGateways } from "./diagnose.js";
import { defineCommand, environmentOptions, type OptionValues, wholeNumberOption } from "./spec.js";

const DEFAULT_SINCE_SECONDS = 600;
const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 10_000;
/** How often --follow asks for new lines. */
export const FOLLOW_POLL_MS = 2_000;
/** Pages read for one answer without --follow (each up to 10,000 lines or 1 MB). */
const MAX_PAGES = 10;
/** Revisions of the family looked at to find a release that no deployment runs any more. */
const RELEASE_SEARCH = 10;

const options = {
  ...environmentOptions,
  since: {
    type: "duration",
    value: "DURATION",
    help: "how far back to start: 90s, 10m, 2h, 1d (default 10m)",
  },
  follow: { type: "boolean", help: "keep printing new lines until Ctrl-C", cli: "only" },
  release: {
    type: "string",
    value: "NAME",
    help: "the release whose tasks to read (default: the one the service runs)",
  },
  limit: {
    type: "string",
    value: "N",
    help: `print at most the newest N lines (1-${MAX_LIMIT}, default ${DEFAULT_LIMIT}); --follow prints every new line`,
  },
} as const;

type Options = OptionValues<typeof options>;

export const command = defineCommand({
  name: "logs",
  description:
    "Prints the service's logs from CloudWatch Logs (the awslogs streams of the task definition) for the running release or a given one, across its tasks, each line prefixed with the task's short id and the container; --follow keeps printing new lines until Ctrl-C. Changes nothing.",
  config: "environment",
  options,
  examples: [
    "shipyard logs --env production --since 30m",
    "shipyard logs --env staging --follow",
    "shipyard logs --env production --release 5d6e7f8 --limit 50",
  ],
  check: (values) => {
    limitOf(values);
  },
  run: logs,
});

function limitOf(values: Pick<Options, "limit">): number {
  return wholeNumberOption("--limit", values.limit, {
    min: 1,
    max: MAX_LIMIT,
    fallback: DEFAULT_LIMIT,
    unit: "lines",
  });
}

/** Where one task's container writes: the group, and the stream of this task. */
interface Source {
  group: string;
  region: string;
  stream: string;
  taskId: string;
  container: string;
}

async function logs(ctx: EnvironmentContext, values: Options): Promise<Report> {
  const { report, runtime } = ctx;
  const limit = limitOf(values);
  const ecs = await ctx.ecs();
  const lookup = await ecs.describeService(ctx.service);
  if (!lookup.found) {
    return report.refused(lookup.reason, [
      `check environments.${ctx.environmentName} (region, cluster, service) in shipyard.json`,
    ]);
  }
  const revision = await revisionOf(ctx, ecs, lookup.service, values.release);
  const release =
    releaseOf(revision.definition, ctx.environment.container) ?? revision.tags[TAG.release] ?? null;
  report.set({ taskDefinition: revision.definition.taskDefinitionArn ?? null, release });
  const tasks = await tasksOf(
    ecs,
    ctx,
    revision.definition.taskDefinitionArn ?? "",
    values.release !== undefined,
  );
  const sources = sourcesOf(tasks, revision.definition, ctx.environment.region);
  const since = runtime.clock.now() - (values.since ?? DEFAULT_SINCE_SECONDS) * 1000;
  const details = {
    revision: revision.definition.taskDefinitionArn ?? null,
    tasks: tasks.map((t) => shortId(t.taskArn ?? "")),
    groups: [...new Set(sources.map((s) => s.group))],
    since: new Date(since).toISOString(),
  };
  report.section("details", details);
  if (sources.length === 0) {
    const why =
      tasks.length === 0
        ? `no task of ${shortArn(details.revision)} was found (ECS keeps stopped tasks about an hour)`
        : `the containers of ${shortArn(details.revision)} do not log to CloudWatch Logs with an awslogs-stream-prefix`;
    ctx.output.warn(why);
    return report.warn(why).succeeded();
  }
  ctx.output.info(
    `Logs of ${shortArn(details.revision)}${release ? ` (release ${release})` : ""}: ${tasks.length} task(s), since ${details.since}${values.follow ? "; Ctrl-C to stop" : ""}`,
  );
  const gateways = readGateways(ctx);
  const printed = values.follow
    ? await follow(ctx, gateways.logs, sources, since, values.json)
    : await printOnce(ctx, gateways.logs, sources, since, limit, values.json);
  return report.section("details", { lines: printed }).succeeded();
}

interface FoundRevision {
  definition: TaskDefinition;
  tags: Record<string, string>;
}

/** The running revision, or the one whose release is `wanted`: the service's deployments first, then the family's newest revisions. */
async function revisionOf(
  ctx: EnvironmentContext,
  ecs: Ecs,
  service: Service,
  wanted: string | undefined,
): Promise<FoundRevision> {
  const running = await ecs.describeTaskDefinition(service.taskDefinition!);
  const matches = (found: FoundRevision) =>
    wanted === undefined ||
    releaseOf(found.definition, ctx.environment.container) === wanted ||
    found.tags[TAG.release] === wanted;
  const first = { definition: running.taskDefinition, tags: running.tags };
  if (matches(first)) return first;
  const seen = new Set([running.taskDefinition.taskDefinitionArn]);
  const deployed = (service.deployments ?? []).map((d) => d.taskDefinition ?? "");
  const family = running.taskDefinition.family ?? "";
  const newest = await ecs.listTaskDefinitions(family, { maxResults: RELEASE_SEARCH });
  for (const arn of [...deployed, ...newest.arns.filter((a) => shortArn(a).split(":")[0] === family)]) {
    if (!arn || seen.has(arn)) continue;
    seen.add(arn);
    const described = await ecs.describeTaskDefinition(arn);
    const found = { definition: described.taskDefinition, tags: described.tags };
    if (matches(found)) return found;
  }
  throw new InputError(
    `Release ${JSON.stringify(wanted)} is not run by ${ctx.service.cluster}/${ctx.service.service} nor recorded on the newest ${RELEASE_SEARCH} revisions of ${family}; nothing was read.`,
    [],
    `check the name with ${ctx.command("history")}`,
  );
}

/** The tasks of one revision: running ones, and for a release asked for by name the recently stopped too. */
async function tasksOf(
  ecs: Ecs,
  ctx: EnvironmentContext,
  revision: string,
  stoppedToo: boolean,
): Promise<Task[]> {
  const { cluster, service } = ctx.service;
  const arns = await ecs.listTasks(cluster, { serviceName: service, desiredStatus: "RUNNING" });
  if (stoppedToo)
    arns.push(...(await ecs.listTasks(cluster, { serviceName: service, desiredStatus: "STOPPED" })));
  const tasks = await ecs.describeTasks(cluster, arns);
  return tasks.filter((t) => t.taskDefinitionArn === revision);
}

function sourcesOf(tasks: Task[], definition: TaskDefinition, region: string): Source[] {
  const sources: Source[] = [];
  for (const task of tasks) {
    const taskId = shortArn(task.taskArn);
    for (const container of definition.containerDefinitions ?? []) {
      const where = awslogsStream(container, taskId, region);
      if (where) sources.push({ ...where, taskId, container: container.name ?? "" });
    }
  }
  return sources;
}

const shortId = (arn: string) => shortArn(arn).slice(0, 8);

/** Streams one FilterLogEvents may name. */
const STREAMS_PER_CALL = 100;

/** Groups (and their region) → their sources, at most STREAMS_PER_CALL each: one FilterLogEvents reads them at once. */
function byGroup(sources: Source[]): Array<{ group: string; region: string; sources: Source[] }> {
  const groups = new Map<string, { group: string; region: string; sources: Source[] }>();
  for (const source of sources) {
    const key = `${source.region} ${source.group}`;
    const entry = groups.get(key) ?? { group: source.group, region: source.region, sources: [] };
    entry.sources.push(source);
    groups.set(key, entry);
  }
  return [...groups.values()].flatMap((entry) => {
    const chunks = [];
    for (let at = 0; at < entry.sources.length; at += STREAMS_PER_CALL) {
      chunks.push({ ...entry, sources: entry.sources.slice(at, at + STREAMS_PER_CALL) });
    }
    return chunks;
  });
}

function format(line: LogLine, sources: Source[]): string {
  const source = sources.find((s) => s.stream === line.stream);
  const who = source ? `${source.taskId.slice(0, 8)} ${source.container}` : (line.stream ?? "?");
  return `[${who}] ${new Date(line.timestamp).toISOString()} ${line.message}`;
}

type LogsFor = (region: string) => Promise<Logs>;

/** Every page since `since` (bounded), across groups, then the newest `limit` lines in time order. */
async function printOnce(
  ctx: EnvironmentContext,
  logsFor: LogsFor,
  sources: Source[],
  since: number,
  limit: number,
  json: boolean,
): Promise<number> {
  const lines: LogLine[] = [];
  for (const group of byGroup(sources)) {
    const client = await logsFor(group.region);
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await client.filter(
        {
          group: group.group,
          streams: group.sources.map((s) => s.stream),
          startTime: since,
          ...(nextToken ? { nextToken } : {}),
        },
        ctx.runtime.signal,
      );
      lines.push(...answer.lines);
      nextToken = answer.nextToken;
      if (!nextToken) break;
    }
  }
  const newest = lines.sort((a, b) => a.timestamp - b.timestamp).slice(-limit);
  emit(ctx, newest, sources, json);
  return newest.length;
}

/** Polls from the last line seen until the signal ends it; Ctrl-C is the normal way out (exit 0). */
async function follow(
  ctx: EnvironmentContext,
  logsFor: LogsFor,
  sources: Source[],
  since: number,
  json: boolean,
): Promise<number> {
  const { clock, signal } = ctx.runtime;
  const groups = byGroup(sources).map((g) => ({ ...g, from: since, seenAtFrom: new Set<string>() }));
  let printed = 0;
  while (!signal.aborted) {
    for (const group of groups) {
      const client = await logsFor(group.region);
      let nextToken: string | undefined;
      const fresh: LogLine[] = [];
      try {
        do {
          const answer = await client.filter(
            {
              group: group.group,
              streams: group.sources.map((s) => s.stream),
              startTime: group.from,
              ...(nextToken ? { nextToken } : {}),
            },
            signal,
          );
          // The start time is inclusive: lines at the last millisecond seen come again, once.
          fresh.push(...answer.lines.filter((l) => !(l.eventId && group.seenAtFrom.has(l.eventId))));
          nextToken = answer.nextToken;
        } while (nextToken && !signal.aborted);
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      fresh.sort((a, b) => a.timestamp - b.timestamp);
      emit(ctx, fresh, group.sources, json);
      printed += fresh.length;
      const last = fresh.at(-1);
      if (last && last.timestamp >= group.from) {
        if (last.timestamp > group.from) group.seenAtFrom.clear();
        group.from = last.timestamp;
        for (const line of fresh)
          if (line.timestamp === group.from && line.eventId) group.seenAtFrom.add(line.eventId);
      }
    }
    try {
      await clock.sleep(FOLLOW_POLL_MS, signal);
    } catch {
      break;
    }
  }
  ctx.output.info(`Stopped following (${printed} line(s)).`);
  return printed;
}

/** Lines go to stdout; with --json they go into the report instead, which is then the only stdout. */
function emit(ctx: EnvironmentContext, lines: LogLine[], sources: Source[], json: boolean): void {
  if (json) {
    for (const line of lines) {
      const source = sources.find((s) => s.stream === line.stream);
      ctx.report.append("log", {
        at: new Date(line.timestamp).toISOString(),
        task: source?.taskId.slice(0, 8) ?? null,
        container: source?.container ?? null,
        message: ctx.output.scrubber.scrub(line.message),
      });
    }
    return;
  }
  for (const line of lines) ctx.output.line(format(line, sources));
}
