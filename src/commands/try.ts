/**
 * `try`: a deploy without an AWS account. Starts Shipyard's local emulators in this process (an
 * ECS-compatible endpoint and a Sentry-compatible one, on a clock that runs `--speed` times faster
 * than real time) and runs the real `deploy` against them twice with the example app's staging
 * environment: a healthy release that is verified, then a release whose error rate spikes and is
 * rolled back. Every line the deploys print is what they print against AWS; only the endpoints are
 * local, and the run says so.
 */
import { type EmulatedEstate, startEstate } from "../emulator/estate.js";
import { EXAMPLE, SCENARIOS, type Scenario } from "../emulator/example.js";
import { ExitCode } from "../errors.js";
import { humanSummary } from "../report/output.js";
import type { Report } from "../report/report.js";
import type { CommandContext, Runtime } from "./context.js";
import { command as deployCommand } from "./deploy.js";
import { runCommand } from "./run.js";
import { defineCommand, type OptionValues } from "./spec.js";

const options = {
  speed: {
    type: "string",
    value: "N",
    help: "how many times faster than real time the emulators run (1 to 1000; default 20)",
    pattern: /^([1-9]\d{0,2}|1000)$/,
  },
  json: {
    type: "boolean",
    help: "print the report as one JSON object on stdout (progress stays on stderr)",
    cli: "only",
  },
} as const;

type Options = OptionValues<typeof options>;

const DEFAULT_SPEED = 20;

export const command = defineCommand({
  name: "try",
  description:
    "Runs two real deploys of the example app against local emulators of ECS and Sentry (no AWS account, no network): a healthy release that is verified, then one whose error rate spikes and is rolled back. Time runs --speed times faster; the output is what a real deploy prints.",
  config: "none",
  options,
  examples: ["shipyard try", "shipyard try --speed 5"],
  exitCodes: "0 both deploys ended as expected · 2 bad --speed · 3 a deploy did not end as expected",
  run: tryIt,
});

async function tryIt(ctx: CommandContext, options: Options): Promise<Report> {
  const speed = options.speed === undefined ? DEFAULT_SPEED : Number(options.speed);
  const estate = await startEstate(ctx.runtime.clock, speed);
  try {
    introduce(ctx, estate, speed);
    const results: Array<{ scenario: Scenario; report: Report }> = [];
    for (const [index, scenario] of SCENARIOS.entries()) {
      if (ctx.runtime.signal.aborted) break;
      ctx.output.info(`\n${index + 1}/${SCENARIOS.length} ${scenario.title}`);
      const report = await runCommand(deployCommand, innerRuntime(ctx.runtime, estate), {
        env: EXAMPLE.environmentName,
        image: scenario.image,
        release: scenario.release,
        commit: scenario.commit,
      });
      for (const line of humanSummary(report)) ctx.output.info(line);
      results.push({ scenario, report });
    }
    return conclude(ctx, estate, results, speed);
  } finally {
    await estate.stop();
  }
}

function introduce(ctx: CommandContext, estate: EmulatedEstate, speed: number): void {
  const { output } = ctx;
  output.info("shipyard try: LOCAL EMULATORS, not AWS and not Sentry. Nothing leaves this machine.");
  output.info(`  ECS endpoint:    ${estate.ecsEndpoint}`);
  output.info(`  Sentry endpoint: ${estate.sentryEndpoint}`);
  output.info(`  time runs ${speed}x faster: every duration printed below is emulated time`);
  output.info(
    `  app: the example app's ${EXAMPLE.environmentName} environment (${EXAMPLE.cluster}/${EXAMPLE.service}), running release ${EXAMPLE.running.release}`,
  );
}

/** The deploys run with the caller's clock, signal and output, and the emulators for everything remote. */
function innerRuntime(outer: Runtime, estate: EmulatedEstate): Runtime {
  return {
    clock: estate.clock,
    random: outer.random,
    signal: outer.signal,
    output: outer.output,
    env: estate.env(outer.env),
    files: estate.files,
    invocation: {
      command: (name, flags) => outer.invocation.command(name, { env: EXAMPLE.environmentName, ...flags }),
    },
    awsCredentials: async () => estate.credentials,
    fetch: estate.fetch,
    ...(outer.requestSignal ? { requestSignal: outer.requestSignal } : {}),
  };
}

function conclude(
  ctx: CommandContext,
  estate: EmulatedEstate,
  results: Array<{ scenario: Scenario; report: Report }>,
  speed: number,
): Report {
  const deploys = results.map(({ scenario, report }) => ({
    release: scenario.release,
    expected: scenario.expect,
    outcome: report.outcome,
    exitCode: report.exitCode,
    taskDefinition: report.taskDefinition,
    checks: report.checks,
    seconds: report.timings.totalSeconds,
  }));
  const running = estate.runningRelease();
  ctx.report.section("details", { emulated: true, speed, deploys, runningRelease: running });
  const surprises = results.filter(({ scenario, report }) => report.outcome !== scenario.expect);
  if (ctx.runtime.signal.aborted) {
    return ctx.report.finish("failed", ExitCode.NeedsAttention, {
      reason: "interrupted; the emulators were stopped",
    });
  }
  if (surprises.length > 0 || running !== SCENARIOS[0]!.release) {
    return ctx.report.finish("failed", ExitCode.NeedsAttention, {
      reason: `the local deploys did not end as they should (${deploys.map((d) => `${d.release}: ${d.outcome}, expected ${d.expected}`).join("; ")}; the service runs ${running}); please report this with the output above`,
    });
  }
  ctx.output.info(
    `\nThe service runs ${running}: ${SCENARIOS[0]!.release} was verified, ${SCENARIOS[1]!.release} was caught and rolled back.`,
  );
  ctx.output.info(
    "The emulators stopped with this command: the commands under next: are the ones you would run against AWS, where a deploy is `shipyard deploy --env NAME --image REPO@sha256:… --release VERSION`.",
  );
  return ctx.report.succeeded();
}
