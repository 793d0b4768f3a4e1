/**
 * The one source of truth for `shipyard.json`: the TypeScript types, the validation errors and the
 * JSON Schema for editors (`schema/shipyard.schema.json`, regenerated with `npm run schema`) all come
 * from the zod schemas below. Every object is strict: an unknown key is an error, because a typo in a
 * deploy setting silently falling back to a default is exactly how a bad release reaches production.
 */
import { z } from "zod";

const seconds = (what: string) => z.number().int().positive().describe(what);

/** ECS names: letters, digits, "_" and "-" — no spaces, line breaks or anything a shell would split. */
const ECS_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
const ecsName = (what: string) => z.string().regex(ECS_NAME, `${what}: 1-255 letters, digits, "_" or "-"`);
const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" }).describe(what);

/** Names we put on the command line and into AWS tags: keep them boring. */
const environmentName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, "use lowercase letters, digits and dashes, starting with a letter");

export const CircuitBreakerSchema = z
  .strictObject({
    enable: z.boolean().default(true).describe("Let ECS stop a rollout whose tasks keep failing."),
    rollback: z
      .boolean()
      .default(true)
      .describe("Let ECS roll back to the previous deployment when the circuit breaker trips."),
  })
  .describe("ECS deployment circuit breaker (rolling strategy).");

export const AlarmsSchema = z
  .strictObject({
    names: z.array(z.string().min(1)).min(1).describe("CloudWatch alarm names that fail the deployment."),
    rollback: z.boolean().default(true).describe("Roll back when one of the alarms fires."),
  })
  .describe("CloudWatch alarms watched by ECS during the deployment.");

export const StrategySchema = z
  .enum(["rolling", "blue-green", "canary", "linear"])
  .describe("The native ECS deployment strategy.");

export const DeploymentSchema = z
  .strictObject({
    strategy: StrategySchema.default("rolling"),
    maximumPercent: z
      .number()
      .int()
      .min(100)
      .max(400)
      .default(200)
      .describe(
        "Upper limit of running tasks during a rollout, in percent of desired (200 = start new first).",
      ),
    minimumHealthyPercent: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(100)
      .describe(
        "Lower limit of healthy tasks during a rollout, in percent of desired (100 = no capacity loss).",
      ),
    circuitBreaker: CircuitBreakerSchema.default({ enable: true, rollback: true }),
    alarms: AlarmsSchema.optional(),
    bakeTimeMinutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .optional()
      .describe("blue-green/canary/linear: minutes both revisions stay up before the old one is removed."),
    canaryPercent: z
      .number()
      .min(0.1)
      .max(100)
      .default(10)
      .describe("canary: share of traffic sent to the new revision first."),
    canaryBakeTimeMinutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .default(5)
      .describe("canary: minutes at the canary share."),
    linearStepPercent: z
      .number()
      .min(3)
      .max(100)
      .default(25)
      .describe("linear: traffic share added per step."),
    linearStepBakeTimeMinutes: z
      .number()
      .int()
      .min(0)
      .max(1440)
      .default(2)
      .describe("linear: minutes between steps."),
    pollSeconds: seconds("How often to poll ECS while waiting; capped, never backed off.").max(60).default(5),
    timeoutSeconds: seconds("Give up on a rollout after this long and roll back.").default(900),
    rollbackTimeoutSeconds: seconds("Give up waiting for a rollback after this long (exit 3).").default(600),
  })
  .describe("How ECS replaces tasks.");

export const HealthCheckSchema = z
  .strictObject({
    url: httpUrl("URL that must answer after the rollout, e.g. https://staging.example.com/health."),
    expectStatus: z
      .number()
      .int()
      .min(100)
      .max(599)
      .default(200)
      .describe("HTTP status that counts as healthy."),
    consecutiveSuccesses: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .describe("Healthy answers needed in a row."),
    intervalSeconds: seconds("Pause between two checks (backed off with jitter after failures).").default(2),
    requestTimeoutSeconds: seconds("Connect + response time allowed for one check.").default(5),
    budgetSeconds: seconds("Total time the smoke test may take before it fails.").default(120),
    releaseUrl: httpUrl(
      "Optional URL (e.g. /version) whose JSON `release` must equal the deployed release.",
    ).optional(),
  })
  .describe("Smoke test run after the rollout.");

export const MigrationsSchema = z
  .strictObject({
    command: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        'Command run as a one-off ECS task from the NEW task definition, e.g. ["node","dist/migrate.js"].',
      ),
    directory: z
      .string()
      .default("migrations")
      .describe("Folder of .sql migrations, relative to the app source."),
    timeoutSeconds: seconds("Give up on the migration task after this long.").default(900),
    lint: z.boolean().default(true).describe("Lint new migrations with squawk before running them."),
    excludeRules: z.array(z.string()).default([]).describe("squawk rules to ignore, e.g. prefer-text-field."),
  })
  .describe("Database migrations run before the service changes.");

export const SentrySchema = z
  .strictObject({
    org: z.string().min(1).describe("Sentry organization slug."),
    project: z.string().min(1).describe("Sentry project slug."),
    environment: z
      .string()
      .min(1)
      .optional()
      .describe("Sentry environment name (default: the Shipyard environment)."),
    releases: z
      .boolean()
      .default(true)
      .describe("Create the release, set commits, finalize and record the deploy."),
  })
  .describe("Sentry project used for release bookkeeping and the error-rate gate.");

export const VerifySchema = z
  .strictObject({
    windowSeconds: seconds(
      "How long to watch the new release after the rollout (the gate's time budget).",
    ).default(300),
    intervalSeconds: seconds("How often to read release health during the window.").default(5),
    minWatchSeconds: z
      .number()
      .int()
      .min(0)
      .default(60)
      .describe(
        "Watch at least this long before a healthy release may pass early (errors that start late); at or above windowSeconds, healthy releases pass only at the window's end.",
      ),
    baselineSeconds: seconds(
      "How far back before the deploy the previous release's health is read (the baseline).",
    ).default(3600),
    minRequests: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("Requests the new release (and the baseline) must serve before a regression is judged."),
    catastrophicMinRequests: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe("Requests needed before the catastrophic fast path may fail a release."),
    tolerance: z
      .number()
      .min(0)
      .default(0.5)
      .describe("Allowed relative increase of the error rate over the baseline (0.5 = 50% worse)."),
    minErrorRateDelta: z
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe(
        "Absolute error-rate increase always tolerated (noise floor), e.g. 0.01 = one percentage point.",
      ),
    noBaselineErrorRate: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe("Error rate allowed when the previous release has too little data to compare against."),
    consecutiveBreaches: z.number().int().min(1).default(2).describe("Breaches in a row needed to fail."),
    catastrophicErrorRate: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe(
        "Fail at once, without waiting for minRequests or consecutive breaches, when the error rate's lower bound reaches this (and exceeds what the baseline allows).",
      ),
    confidence: z
      .number()
      .min(0.5)
      .max(0.9999)
      .default(0.99)
      .describe("Confidence of the statistical bounds (Wilson score intervals)."),
    onInconclusive: z
      .enum(["rollback", "fail", "accept"])
      .default("rollback")
      .describe(
        "What an unverifiable release does: roll back (default), stay but exit 3, or be accepted with a warning.",
      ),
  })
  .describe("The post-deploy error-rate gate.");

/** An environment variable's name: where a secret URL is read from at run time. */
const variableName = (what: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      "the NAME of an environment variable that holds the URL (e.g. SLACK_WEBHOOK_URL), not the URL: webhook URLs are secrets and stay out of shipyard.json",
    )
    .describe(what);

export const NOTIFY_EVENTS = ["start", "success", "rollback", "failure"] as const;

export const NotifySchema = z
  .strictObject({
    slack: z
      .strictObject({
        webhookUrlEnv: variableName(
          "Environment variable holding the Slack incoming-webhook URL, e.g. SLACK_WEBHOOK_URL.",
        ),
      })
      .optional()
      .describe("A Slack message per event (incoming webhook)."),
    webhook: z
      .strictObject({
        urlEnv: variableName(
          "Environment variable holding the URL the JSON is POSTed to, e.g. DEPLOY_WEBHOOK_URL.",
        ),
      })
      .optional()
      .describe("A JSON POST per event: `event` and, at the end, the scrubbed report."),
    on: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1)
      .default([...NOTIFY_EVENTS])
      .describe("Events that notify: start, success, rollback, failure (default: all)."),
  })
  .describe(
    "Who hears about deploys and rollbacks of this environment. A notification that fails is a warning, never a failed deploy.",
  );

const commandOverride = z
  .array(z.string().min(1))
  .min(1)
  .describe(
    'Command for its container instead of the image\'s own, e.g. ["node","dist/worker.js"] for a queue worker.',
  );
const templatePath = z
  .string()
  .min(1)
  .describe(
    "Its own task definition template, relative to shipyard.json (default: the one of the whole file, `taskDefinition`).",
  );
const containerName = ecsName("a container name").describe(
  "Container that receives the image (default: the environment's `container`).",
);

export const ServiceSchema = z
  .strictObject({
    name: ecsName("an ECS service name").describe("ECS service name, e.g. web or worker."),
    container: containerName.optional(),
    command: commandOverride.optional(),
    taskDefinition: templatePath.optional(),
    traffic: z
      .boolean()
      .default(false)
      .describe(
        "It serves the environment's traffic: the smoke test (`healthCheck`) runs once such a service changed, and the first one is where the migrations run.",
      ),
  })
  .describe("One ECS service of the environment, run from the release's image.");

/** EventBridge names: rules, buses, schedules and schedule groups. */
const EVENTS_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
const eventsName = (what: string) =>
  z.string().regex(EVENTS_NAME, `${what}: 1-64 letters, digits, ".", "_" or "-"`);

export const ScheduledTaskSchema = z
  .strictObject({
    rule: eventsName("an EventBridge rule name")
      .optional()
      .describe("EventBridge rule whose ECS target runs the task (give `rule` or `schedule`)."),
    eventBus: eventsName("an event bus name").default("default").describe("Event bus of the rule."),
    targetId: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe("Id of the rule's ECS target, when the rule has more than one."),
    schedule: eventsName("an EventBridge Scheduler schedule name")
      .optional()
      .describe("EventBridge Scheduler schedule that runs the task (give `rule` or `schedule`)."),
    group: eventsName("a schedule group name").default("default").describe("Schedule group of the schedule."),
    container: containerName.optional(),
    command: commandOverride.optional(),
    taskDefinition: templatePath.optional(),
  })
  .meta({ oneOf: [{ required: ["rule"] }, { required: ["schedule"] }] })
  .refine((task) => (task.rule === undefined) !== (task.schedule === undefined), {
    message:
      "give exactly one of `rule` (an EventBridge rule) or `schedule` (an EventBridge Scheduler schedule)",
  })
  .describe(
    "A scheduled task that runs the app's image: its target is moved to the release's revision by a deploy, and back by a restore or rollback.",
  );

export const EnvironmentSchema = z
  .strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as eu-west-1")
      .describe("AWS region of the cluster, e.g. eu-west-1."),
    cluster: z
      .string()
      .refine(
        (v) => ECS_NAME.test(v) || CLUSTER_ARN.test(v),
        'an ECS cluster name (letters, digits, "_", "-") or ARN',
      )
      .describe("ECS cluster name or ARN."),
    service: ecsName("an ECS service name")
      .optional()
      .describe("ECS service name, for an environment of one service (else list them in `services`)."),
    services: z
      .array(ServiceSchema)
      .min(1)
      .max(50)
      .optional()
      .describe(
        "The environment's services when it has several (web, workers): deployed together from one image and one migration run, verified together, and restored together when any of them fails.",
      ),
    scheduledTasks: z
      .array(ScheduledTaskSchema)
      .max(50)
      .default([])
      .describe("Scheduled tasks (EventBridge rules or Scheduler schedules) that run the app's image."),
    container: ecsName("a container name")
      .default("app")
      .describe("Container in the task definition that receives the image."),
    healthCheck: HealthCheckSchema.optional(),
    deployment: DeploymentSchema.default(DeploymentSchema.parse({})),
    migrations: MigrationsSchema.optional(),
    sentry: SentrySchema.optional(),
    verify: VerifySchema.default(VerifySchema.parse({})),
    variables: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .default({})
      .describe("Values for {{NAME}} placeholders in the task definition template."),
    plaintextAllowed: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/))
      .default([])
      .describe(
        "Environment variables of the task definition that may hold a literal that looks like a secret (deliberately). Everything else that does must come from `secrets` (valueFrom).",
      ),
    requires: environmentName
      .optional()
      .describe("Environment that must run this same image, verified, before this one may deploy it."),
    notify: NotifySchema.optional(),
  })
  // Editors learn the either-or that the refinement below enforces.
  .meta({ oneOf: [{ required: ["service"] }, { required: ["services"] }] })
  .superRefine((env, ctx) => {
    if ((env.service === undefined) === (env.services === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["service"],
        message:
          'give either `service` (one ECS service) or `services` (a list, e.g. [{"name":"web","traffic":true},{"name":"worker","command":["node","dist/worker.js"]}])',
      });
    }
    const names = new Set<string>();
    for (const [index, service] of (env.services ?? []).entries()) {
      if (names.has(service.name))
        ctx.addIssue({
          code: "custom",
          path: ["services", index, "name"],
          message: `"${service.name}" is listed twice`,
        });
      names.add(service.name);
    }
    if (env.services && env.healthCheck && !env.services.some((s) => s.traffic)) {
      ctx.addIssue({
        code: "custom",
        path: ["healthCheck"],
        message:
          "no service has `traffic: true`, so nothing would be smoke-tested: mark the service that serves it",
      });
    }
    const targets = new Set<string>();
    for (const [index, task] of env.scheduledTasks.entries()) {
      const key = scheduledTaskName(task);
      if (targets.has(key))
        ctx.addIssue({ code: "custom", path: ["scheduledTasks", index], message: `${key} is listed twice` });
      targets.add(key);
    }
  })
  .transform((env) => {
    const services = (env.services ?? [{ name: env.service!, traffic: true }]).map(
      (service): ServiceSettings => ({ ...service, container: service.container ?? env.container }),
    );
    const primary = primaryOf(services);
    const scheduledTasks = env.scheduledTasks.map(
      (task): ScheduledTaskSettings => ({ ...task, container: task.container ?? env.container }),
    );
    // `service` and `container` name the primary service: where migrations run, the lock is held,
    // and what the one-service commands (logs, previews, init) work on.
    return { ...env, service: primary.name, container: primary.container, services, scheduledTasks };
  })
  .describe("One deployment target.");

export interface ServiceSettings {
  name: string;
  container: string;
  command?: string[] | undefined;
  taskDefinition?: string | undefined;
  traffic: boolean;
}

export interface ScheduledTaskSettings {
  rule?: string | undefined;
  eventBus: string;
  targetId?: string | undefined;
  schedule?: string | undefined;
  group: string;
  container: string;
  command?: string[] | undefined;
  taskDefinition?: string | undefined;
}

/** The service the environment is known by: the first that serves traffic, else the first listed. */
export function primaryOf<T extends { traffic: boolean }>(services: readonly T[]): T {
  return services.find((s) => s.traffic) ?? services[0]!;
}

/** How messages name a scheduled task: "rule nightly-report" or "schedule cleanup (group jobs)". */
export function scheduledTaskName(task: {
  rule?: string | undefined;
  eventBus?: string | undefined;
  schedule?: string | undefined;
  group?: string | undefined;
}): string {
  if (task.rule !== undefined)
    return `rule ${task.rule}${task.eventBus && task.eventBus !== "default" ? ` (bus ${task.eventBus})` : ""}`;
  return `schedule ${task.schedule}${task.group && task.group !== "default" ? ` (group ${task.group})` : ""}`;
}

/** A preview's host name: DNS labels, with {{PR}} where the pull request's number goes. */
const PREVIEW_HOST =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[a-z0-9-]*\{\{PR\}\}[a-z0-9-]*)(\.([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|[a-z0-9-]*\{\{PR\}\}[a-z0-9-]*))+$/;
/** PostgreSQL identifiers Shipyard generates SQL for: lowercase, unquoted-safe, at most 63 bytes. */
const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export const PreviewDatabaseSchema = z
  .strictObject({
    command: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        "Command run as a one-off ECS task of the app's image, connecting to the database server as a role that may create databases; Shipyard appends the SQL statements, one argument each, to run in order, each on its own (see the README for a psql one-liner).",
      ),
    namePrefix: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,40}$/, "lowercase letters, digits and _, starting with a letter or _")
      .default("preview_pr_")
      .describe("The database is this prefix followed by the pull request's number, e.g. preview_pr_42."),
    owner: z
      .string()
      .regex(SQL_IDENTIFIER, "a PostgreSQL role name: lowercase letters, digits and _")
      .optional()
      .describe("Role that owns the preview's database (default: the role the command connects as)."),
    timeoutSeconds: seconds("Give up on the database task after this long.").default(600),
  })
  .describe(
    "A database per preview on the copied environment's PostgreSQL server, created by a one-off task before the first rollout and dropped by `preview-down`. {{PREVIEW_DATABASE}} in `variables` is its name.",
  );

export const PreviewsSchema = z
  .strictObject({
    from: environmentName.describe(
      "Environment whose cluster, service settings (network, capacity provider), container, task definition template and variables each preview copies, e.g. staging.",
    ),
    listenerArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/app\/[A-Za-z0-9-]+\/[0-9a-f]+\/[0-9a-f]+$/,
        "an Application Load Balancer listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID)",
      )
      .describe("The HTTPS listener each preview gets a host-header rule on."),
    vpcId: z
      .string()
      .regex(/^vpc-[0-9a-f]{8,17}$/, "a VPC id such as vpc-0abc12345def67890")
      .describe("VPC of the load balancer: each preview's target group (type ip) is created in it."),
    host: z
      .string()
      .regex(PREVIEW_HOST, "a host name with {{PR}} in one label, e.g. pr-{{PR}}.preview.example.com")
      .refine(
        (value) => value.includes("{{PR}}"),
        "must contain {{PR}}: every preview needs a host of its own",
      )
      .describe("Host name of a preview, with {{PR}} for the pull request's number."),
    containerPort: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(3000)
      .describe("Port of the app container the load balancer sends traffic to."),
    healthCheckPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, "a path starting with /")
      .default("/health")
      .describe("Path the target group checks, and the smoke test calls on the preview's host."),
    desiredCount: z.number().int().min(1).max(10).default(1).describe("Tasks each preview runs."),
    timeToLiveHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(72)
      .describe(
        "A preview expires this long after its last `preview-up`; `preview-gc` removes expired ones.",
      ),
    maxPreviews: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe("How many previews may exist at once; `preview-up` for a new one beyond it exits 2."),
    database: PreviewDatabaseSchema.optional(),
    variables: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())
      .default({})
      .describe(
        "Values for {{NAME}} placeholders that differ in a preview (over the copied environment's), e.g. DATABASE_NAME = {{PREVIEW_DATABASE}}; {{PR}}, {{PREVIEW_HOST}} and {{PREVIEW_DATABASE}} are filled in them.",
      ),
  })
  .describe("Preview environments: one short-lived copy of an environment per pull request.");

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    image: z
      .string()
      .regex(
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
        "an image repository without tag",
      )
      .describe("Image repository, e.g. ghcr.io/acme/app (no tag: Shipyard deploys by digest)."),
    taskDefinition: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Task definition template, relative to shipyard.json. Default: task-def.json when the app has one, else Shipyard's bundled template. A file named here must exist.",
      ),
    environments: z
      .record(environmentName, EnvironmentSchema)
      .refine((envs) => Object.keys(envs).length > 0, "define at least one environment")
      .describe("Deployment targets by name."),
    previews: PreviewsSchema.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.previews && !Object.hasOwn(config.environments, config.previews.from)) {
      ctx.addIssue({
        code: "custom",
        path: ["previews", "from"],
        message: `names "${config.previews.from}", which is not an environment in this file`,
      });
    }
    for (const [name, env] of Object.entries(config.environments)) {
      if (env.requires === undefined) continue;
      if (env.requires === name) {
        ctx.addIssue({
          code: "custom",
          path: ["environments", name, "requires"],
          message: "cannot require itself",
        });
      } else if (!(env.requires in config.environments)) {
        ctx.addIssue({
          code: "custom",
          path: ["environments", name, "requires"],
          message: `names "${env.requires}", which is not an environment in this file`,
        });
      }
    }
  })
  .describe("Shipyard configuration (shipyard.json).");

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type Environment = z.infer<typeof EnvironmentSchema>;
export type DeploymentSettings = z.infer<typeof DeploymentSchema>;
export type Strategy = z.infer<typeof StrategySchema>;
export type HealthCheckSettings = z.infer<typeof HealthCheckSchema>;
export type MigrationSettings = z.infer<typeof MigrationsSchema>;
export type SentrySettings = z.infer<typeof SentrySchema>;
export type VerifySettings = z.infer<typeof VerifySchema>;
export type NotifySettings = z.infer<typeof NotifySchema>;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
export type PreviewSettings = z.infer<typeof PreviewsSchema>;
export type PreviewDatabaseSettings = z.infer<typeof PreviewDatabaseSchema>;
