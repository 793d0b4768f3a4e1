/**
 * Runs one command for a face: checks the options, builds the context once (config, environment,
 * template, clients), runs the command's story, and turns whatever escapes it into a report — bad
 * input into exit 2, an AWS failure into the one explanation every command shares (exit 2 when
 * nothing had changed, 3 when something may have), anything else into exit 3. Every face therefore
 * gets exactly one report per run, also on bad input.
 */
import { dirname } from "node:path";
import { ecsEndpoint } from "../aws/client.js";
import type { Ecs } from "../aws/ecs.js";
import { explainAwsError } from "../aws/errors.js";
import { openSchedules, type Schedules, schedulesEndpoints } from "../aws/schedules.js";
import { parseConfig, selectEnvironment } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { BUNDLED_SOURCE, readBundledTemplate, renderTaskDefinition } from "../config/taskdef.js";
import { ExitCode, InputError, messageOf, ShipyardError } from "../errors.js";
import { type Report, ReportBuilder } from "../report/report.js";
import type {
  CommandContext,
  EnvironmentContext,
  OptionalConfigContext,
  Runtime,
  SourceFiles,
} from "./context.js";
import { buildEcs } from "./ecs-gateway.js";
import type { AnyCommand } from "./spec.js";
import { parseOptions } from "./spec.js";

export const DEFAULT_CONFIG = "shipyard.json";
export const DEFAULT_TEMPLATE = "task-def.json";

export async function runCommand(
  spec: AnyCommand,
  runtime: Runtime,
  raw: Readonly<Record<string, unknown>>,
  /** A command line the face could not parse: reported like any other bad input. */
  commandLineError?: InputError,
): Promise<Report> {
  runtime.output.scrubber.addFromEnvironment(runtime.env);
  const environmentName = typeof raw.env === "string" && raw.env !== "" ? raw.env : null;
  const report = new ReportBuilder(
    { command: spec.name, environment: environmentName, cluster: null, service: null },
    runtime.clock,
  );
  const base: CommandContext = {
    runtime,
    report,
    output: runtime.output,
    command: (name, flags) => runtime.invocation.command(name, flags),
  };
  let environment: EnvironmentContext | null = null;
  const gateways: Ecs[] = [];
  try {
    if (commandLineError) throw commandLineError;
    const options = parseOptions(spec.options, raw);
    spec.check?.(options as never);
    const configPath = typeof raw.config === "string" && raw.config !== "" ? raw.config : undefined;
    switch (spec.config) {
      case "none":
        return await spec.run(base as never, options as never);
      case "optional": {
        const config = await readConfig(runtime.files, configPath, false);
        const ctx: OptionalConfigContext = { ...base, config, appRoot: appRootOf(runtime.files, configPath) };
        return await spec.run(ctx as never, options as never);
      }
      case "environment": {
        const config = (await readConfig(runtime.files, configPath, true)) as Config;
        const name = environmentName ?? spec.environmentOf?.(config) ?? "";
        environment = environmentContext(base, config, name, configPath, gateways);
        return await spec.run(environment as never, options as never);
      }
    }
    throw new Error(`command ${spec.name} declares an unknown config need`);
  } catch (error) {
    const changed = gateways.some((ecs) => ecs.serviceChanged);
    return failure(error, base, environment, changed);
  }
}

function appRootOf(files: SourceFiles, configPath: string | undefined): string {
  return configPath ? dirname(files.root === "." ? configPath : `${files.root}/${configPath}`) : files.root;
}

/** Reads and validates shipyard.json: the only place that does, once per command run. */
async function readConfig(
  files: SourceFiles,
  path: string | undefined,
  required: boolean,
): Promise<Config | null> {
  const where = files.describe(path ?? DEFAULT_CONFIG);
  const read = await files.read(path ?? DEFAULT_CONFIG);
  switch (read.kind) {
    case "file":
      return parseConfig(read.text, where);
    case "missing":
      if (!required && path === undefined) return null;
      throw new InputError(
        `There is no configuration at ${where} (ENOENT): Shipyard does not know where to deploy.`,
        [],
        path === undefined
          ? (files.missingConfigHint ??
              "run from the app's folder (where shipyard.json is), or pass --config path/to/shipyard.json")
          : `check the path given to --config (${path})`,
      );
    case "directory":
      throw new InputError(
        `The configuration ${where} is a directory, not a file (EISDIR).`,
        [],
        `pass the file inside it: --config ${path ?? DEFAULT_CONFIG}/shipyard.json`,
      );
    case "unreadable":
      throw new InputError(
        `The configuration ${where} cannot be read: ${read.why}.`,
        [],
        "fix the file or the path",
      );
  }
}

function environmentContext(
  base: CommandContext,
  config: Config,
  environmentName: string,
  configPath: string | undefined,
  gateways: Ecs[],
): EnvironmentContext {
  const { runtime } = base;
  const environment = selectEnvironment(config, environmentName);
  const service = { cluster: environment.cluster, service: environment.service };
  base.report.locate({ environment: environmentName, ...service });
  const endpoint = ecsEndpoint(runtime.env);
  const clients = new Map<string, Promise<Ecs>>();
  const ecsFor = (region: string): Promise<Ecs> => {
    let ecs = clients.get(region);
    if (ecs === undefined) {
      ecs = buildEcs(runtime, region, endpoint).then((built) => {
        gateways.push(built);
        return built;
      });
      clients.set(region, ecs);
    }
    return ecs;
  };
  // Same credentials, region and endpoint rules as ECS; the EventBridge SDKs load on the first call.
  let schedules: Promise<Schedules> | undefined;
  const openSchedulesOnce = (): Promise<Schedules> => {
    schedules ??= (async () => {
      const credentials = runtime.awsCredentials ? await runtime.awsCredentials() : undefined;
      return openSchedules({
        region: environment.region,
        ...schedulesEndpoints(runtime.env),
        ...(credentials ? { credentials } : {}),
        now: () => runtime.clock.now(),
      });
    })();
    return schedules;
  };
  const templates = new Map<string | undefined, Promise<{ text: string; source: string }>>();
  const template = (named: string | undefined) => {
    let read = templates.get(named);
    if (read === undefined) {
      read = readTemplate(runtime.files, named, configPath);
      templates.set(named, read);
    }
    return read;
  };
  return {
    ...base,
    config,
    environmentName,
    environment,
    appRoot: appRootOf(runtime.files, configPath),
    service,
    endpoint,
    ecs: () => ecsFor(environment.region),
    ecsFor,
    schedules: openSchedulesOnce,
    async renderTaskDefinition(image, release, unit) {
      const { text, source } = await template(unit?.taskDefinition ?? config.taskDefinition);
      return renderTaskDefinition({
        templateText: text,
        source,
        environmentName,
        environment: unit
          ? { ...environment, service: unit.service ?? environment.service, container: unit.container }
          : environment,
        repository: config.image,
        image,
        release,
        planCommand: base.command("plan", { image }),
        command: unit?.command,
      });
    },
  };
}

/**
 * The app's template: the file shipyard.json names (it must exist), else task-def.json when the app
 * has one, else Shipyard's bundled template.
 */
export async function readTemplate(
  files: SourceFiles,
  named: string | undefined,
  configPath: string | undefined,
): Promise<{ text: string; source: string }> {
  const beside = (file: string) => (configPath ? `${dirname(configPath)}/${file}` : file);
  const path = beside(named ?? DEFAULT_TEMPLATE);
  const read = await files.read(path);
  if (read.kind === "file") return { text: read.text, source: files.describe(path) };
  if (read.kind === "missing" && named === undefined) {
    return { text: await readBundledTemplate(), source: BUNDLED_SOURCE };
  }
  const why =
    read.kind === "missing"
      ? "does not exist (ENOENT)"
      : read.kind === "directory"
        ? "is a directory (EISDIR)"
        : `cannot be read: ${read.why}`;
  throw new InputError(
    `The task definition template ${files.describe(path)} named by "taskDefinition" in shipyard.json ${why}.`,
    [],
    "fix the path in shipyard.json (it is relative to shipyard.json), or remove the key to use task-def.json or Shipyard's bundled template",
  );
}

/** What escaped a command, as its report. */
function failure(
  error: unknown,
  ctx: CommandContext,
  environment: EnvironmentContext | null,
  changed: boolean,
) {
  const statusCommand = ctx.command("status");
  if (ctx.runtime.signal.aborted) {
    // Ctrl-C, SIGTERM or SIGHUP stopped a wait: say so, not "an unexpected error".
    return ctx.report.finish("failed", ExitCode.NeedsAttention, {
      reason: `interrupted (${messageOf(ctx.runtime.signal.reason ?? error)}); ${changed ? `the service may have changed; check it with ${statusCommand}` : "nothing had been changed"}`,
      nextSteps: [statusCommand],
    });
  }
  if (error instanceof ShipyardError) {
    return ctx.report.finish("failed", error.exitCode, {
      reason: error.message,
      ...(error.hint ? { nextSteps: [error.hint] } : {}),
    });
  }
  const explained = explainAwsError(error, {
    command: ctx.report.command,
    region: environment?.environment.region ?? "(unknown)",
    endpoint: environment?.endpoint,
    changed,
    statusCommand,
  });
  if (explained) {
    return ctx.report.finish("failed", explained.exitCode, {
      reason: explained.message,
      nextSteps: [explained.hint ?? statusCommand],
    });
  }
  if (!changed && isAwsAnswer(error)) {
    // AWS (ECS, ELBv2, CloudWatch Logs) answered with an error before anything changed: refused.
    return ctx.report.finish("failed", ExitCode.BadInput, {
      reason: `AWS refused ${ctx.report.command} (${error.name}: ${error.message}); nothing was changed.`,
      nextSteps: [
        `check environments.${environment?.environmentName ?? "NAME"} in shipyard.json against the message`,
      ],
    });
  }
  return ctx.report.finish("failed", ExitCode.NeedsAttention, {
    reason: `Shipyard stopped on an unexpected error (${messageOf(error)})${changed ? "" : "; nothing had been changed"}`,
    nextSteps: [statusCommand],
  });
}

/** An error answer of an AWS service (the SDK marks it with its fault side), not a failure of ours. */
function isAwsAnswer(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { $fault?: unknown }).$fault === "string";
}
