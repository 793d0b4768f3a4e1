/**
 * Shipyard's local ECS emulator: an ECS-compatible endpoint that the real @aws-sdk/client-ecs talks
 * to over HTTP (JSON 1.1). Rollouts move with an injected clock: `shipyard try` runs it on a clock
 * that runs faster than real time, Shipyard's tests and benchmarks on a fake clock that jumps, so a
 * 15-minute rollout takes milliseconds. It models what a deploy depends on, not all of ECS.
 *
 * ## Scenario API
 *
 *     const clock = new FakeClock();
 *     const sim = await EcsSimulator.start(clock);          // sim.endpoint = "http://127.0.0.1:PORT"
 *     const v1 = sim.registerTaskDefinition({ family: "web", containerDefinitions: [{ name: "app", image }] });
 *     sim.createService({ cluster: "main", service: "web", taskDefinition: v1, desiredCount: 2 });
 *     // client: new ECSClient({ region: "eu-west-1", endpoint: sim.endpoint, credentials: {...fake} })
 *     ...
 *     await sim.stop();
 *
 * Rollouts (per deployment; chosen when UpdateService creates it):
 *   sim.behaviours.set(image, "healthy" | "failing" | "stuck")   by the image of the first container
 *   sim.serviceBehaviours.set(service, behaviour)                by service name, checked first (services
 *                                                                that run one image, one of them failing)
 *   sim.defaultBehaviour = "healthy"
 *   sim.rollbackBehaviour = "healthy" | "failing" | "stuck"      rollbacks started by the circuit
 *                                                                breaker or StopServiceDeployment
 *   sim.timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 }
 *   healthy: tasks run after startSeconds, COMPLETED after healthySeconds (+ bake time for
 *            blue-green/canary/linear), the old deployment disappears.
 *   failing: tasks fail health checks; with the circuit breaker on, FAILED after failAfterSeconds and,
 *            with rollback on, ECS starts a rollback deployment to the previous task definition.
 *   stuck:   tasks stay PENDING forever (a timeout test).
 * Faults: sim.injectFault("DescribeServices" | "*", "ThrottlingException", 400, times)
 *         sim.injectFault("UpdateService", "ServerException", 500, 1)
 *         sim.faultWindow("DescribeServices", "ThrottlingException", 400, fromMs, untilMs)  every call in a time window
 * Services: sim.createService({..., status: "DRAINING" | "INACTIVE", controller: "CODE_DEPLOY",
 *   deploymentConfiguration: {...}}); a missing service is simply
 *   not created (DescribeServices answers failures: MISSING).
 *   sim.startDeployment(cluster, service, taskDefinitionArn, behaviour) = someone else's deploy in flight.
 * moto-like endpoints: sim.omitRolloutState = true drops rolloutState and makes the service-deployment
 *   APIs answer UnknownOperationException.
 * One-off tasks (RunTask/DescribeTasks/StopTask): sim.tasks.outcomes.push(
 *     { kind: "exit", code: 1, afterSeconds: 30, logs?: [lines] } | { kind: "neverStarts" } | { kind: "hang" });
 *   sim.tasks.runTaskFailures.push([{ reason: "RESOURCE:MEMORY" }]); default outcome: exit 0 after 10 s.
 * Revisions: ListTaskDefinitions honours familyPrefix (a prefix), status, sort and maxResults/nextToken;
 *   TagResource works on task definition ARNs too (sim.taskDefinitionTags(arn) reads them).
 * Service tasks (ListTasks by startedBy = deployment id / serviceName / family / desiredStatus, DescribeTasks):
 *   every deployment runs its tasks; a failing deployment's tasks stop for a reason chosen per image:
 *   sim.failures.set(image, TASK_FAILURES.outOfMemory | .crash | .imageNotFound | .registryUnreachable |
 *     .secretsDenied | .elbHealthCheck | .containerHealthCheck | {...your own TaskFailure})
 *   (default: .containerHealthCheck); sim.serviceTasks(cluster, service) lists them for a test.
 * Load balancers (ELBv2, query protocol on the same endpoint): const tg = sim.createTargetGroup({ name: "web" });
 *   sim.createService({..., loadBalancers: [{ targetGroupArn: tg, containerName: "app", containerPort: 3000 }]});
 *   DescribeTargetHealth shows the running tasks as healthy targets and a failing deployment's tasks
 *   as its failure's `target` says; DescribeTargetGroups answers the groups.
 *   Health check and draining settings: sim.createTargetGroup({ name, healthCheckIntervalSeconds: 30,
 *   healthyThresholdCount: 5, deregistrationDelaySeconds: 300 }) (AWS's defaults when absent),
 *   sim.modifyTargetGroup(arn, {...}); DescribeTargetGroupAttributes answers the delay.
 * Rollout pace from the settings (off by default: sim.timing decides): sim.settingsTiming =
 *   { taskStartSeconds: 30, appReadySeconds?: 0 } makes a healthy deployment follow ECS's scheduler
 *   (rollout-schedule.ts): batches bounded by maximumPercent/minimumHealthyPercent; a new task is
 *   healthy after its container health check (first passing check, every `interval` s), the service's
 *   healthCheckGracePeriodSeconds (sim.createService({..., healthCheckGracePeriodSeconds })) and the
 *   target group's healthyThresholdCount passes `healthCheckIntervalSeconds` apart; old tasks drain
 *   for the deregistration delay, then stop.
 * CloudWatch Logs (same endpoint): a failed task's `logs` go to its awslogs stream (prefix/container/taskId)
 *   when its task definition logs with awslogs; sim.logs.put(group, stream, lines, atMs) writes more.
 *   GetLogEvents, FilterLogEvents.
 * Point every client at it: AWS_ENDPOINT_URL=sim.endpoint (or the per-service variables).
 * Calls: sim.calls (operation, input, atMs, fault, caller), sim.operations(), sim.callsTo("UpdateService");
 *   `caller` is the access key id the call was signed with (give concurrent runs their own keys).
 *   sim.onCall = (call) => ... runs on every call before it is answered (e.g. to abort mid-wait).
 * Slow and stuck calls (answered later; the operation takes effect when the answer is sent):
 *   sim.delay("RegisterTaskDefinition", 2000, times?)  waits on the simulator's clock (its sleep();
 *                                                      real time when it has none)
 *   sim.hang("DescribeServices", times?)               never answers (the client gives up)
 *   sim.beforeAnswer = async (call) => ...             any wait of the test's own before the call takes
 *                                                      effect (a scheduler that orders concurrent calls)
 *   sim.afterAnswer = async (call) => ...              ... after it took effect, before the answer is sent
 * Clocks: anything with now() and onAdvance(listener) (and optionally sleep(ms)): the FakeClock, or
 *   the real clock for tests with real processes ({ now: Date.now, onAdvance: () => {} }).
 */
import { AwsError, type RunningServer, serve } from "./http.js";
import { LogBook } from "./logs.js";
import { playRollout, type Schedule } from "./rollout-schedule.js";
import {
  type ServiceTask,
  type SimTargetGroup,
  serviceTaskView,
  TASK_FAILURES,
  type TaskFailure,
} from "./service-tasks.js";
import { TaskBook } from "./tasks.js";

export { TASK_FAILURES, type TaskFailure } from "./service-tasks.js";

export type Behaviour = "healthy" | "failing" | "stuck";

/** The simulator's time: it moves rollouts when the clock advances, and on every call. */
export interface SimClock {
  now(): number;
  onAdvance(listener: (now: number) => void): void;
  /** How a delayed answer waits; real time (setTimeout) when absent. */
  sleep?(ms: number): Promise<void>;
}
type Tag = { key: string; value: string };
type Json = Record<string, unknown>;

export interface RecordedCall {
  operation: string;
  input: Json;
  atMs: number;
  /** Set when the call was answered with an injected fault. */
  fault?: string;
  /** The access key id the call was signed with. */
  caller?: string;
}

interface SimTaskDefinition {
  arn: string;
  family: string;
  revision: number;
  status: "ACTIVE" | "INACTIVE";
  body: Json;
  tags: Tag[];
  registeredAtMs: number;
}

interface SimDeployment {
  id: string;
  status: "PRIMARY" | "ACTIVE";
  taskDefinition: string;
  desiredCount: number;
  pendingCount: number;
  runningCount: number;
  failedTasks: number;
  createdAtMs: number;
  updatedAtMs: number;
  rolloutState: "IN_PROGRESS" | "COMPLETED" | "FAILED";
  rolloutStateReason: string;
  behaviour: Behaviour;
  isRollback: boolean;
  serviceDeploymentArn: string;
  /** The scheduler's plan, when the pace follows the settings (null: it can never finish). */
  schedule?: Schedule | null;
}

interface SimServiceDeployment {
  arn: string;
  status: string;
  statusReason?: string;
  createdAtMs: number;
  finishedAtMs?: number;
  sourceTaskDefinition: string | null;
  targetTaskDefinition: string;
  deploymentId: string;
}

interface SimService {
  name: string;
  arn: string;
  cluster: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  taskDefinition: string;
  deployments: SimDeployment[];
  serviceDeployments: SimServiceDeployment[];
  deploymentConfiguration: Json;
  controller: "ECS" | "CODE_DEPLOY" | "EXTERNAL";
  events: Array<{ id: string; createdAt: Date; message: string }>;
  tags: Tag[];
  loadBalancers: Json[];
  healthCheckGracePeriodSeconds?: number;
}

const ACCOUNT = "123456789012";
const ROLLING_STRATEGIES = new Set([undefined, "ROLLING"]);

export class EcsSimulator {
  readonly calls: RecordedCall[] = [];
  readonly behaviours = new Map<string, Behaviour>();
  /** By service name, before `behaviours`: services running the same image can differ. */
  readonly serviceBehaviours = new Map<string, Behaviour>();
  defaultBehaviour: Behaviour = "healthy";
  rollbackBehaviour: Behaviour = "healthy";
  timing = { startSeconds: 5, healthySeconds: 20, failAfterSeconds: 30 };
  /** When set, a healthy deployment's pace follows the service's settings (see the header). */
  settingsTiming: { taskStartSeconds: number; appReadySeconds?: number } | null = null;
  omitRolloutState = false;
  onCall: ((call: RecordedCall) => void) | undefined;
  /** Awaited before a call takes effect (after onCall): a slow request. */
  beforeAnswer: ((call: RecordedCall) => Promise<void> | void) | undefined;
  /** Awaited after a call took effect, before its answer is sent: a slow response. */
  afterAnswer: ((call: RecordedCall) => Promise<void> | void) | undefined;
  readonly tasks: TaskBook;
  /** Why a failing deployment's tasks stop, by the image of their first container. */
  readonly failures = new Map<string, TaskFailure>();
  /** CloudWatch Logs: groups, streams, lines. */
  readonly logs = new LogBook();
  readonly region: string;
  private readonly serviceTaskList: ServiceTask[] = [];
  private readonly targetGroups = new Map<string, SimTargetGroup>();
  private readonly taskDefinitions: SimTaskDefinition[] = [];
  private readonly services = new Map<string, SimService>();
  private readonly clusters = new Set<string>();
  private readonly faults: Array<{
    operation: string;
    type: string;
    status: number;
    remaining: number;
    window?: { from: number; until: number };
  }> = [];
  private readonly slow: Array<{ operation: string; ms: number; remaining: number }> = [];
  private counter = 0;
  private server: RunningServer | undefined;

  constructor(
    readonly clock: SimClock,
    region = "eu-west-1",
  ) {
    this.region = region;
    this.tasks = new TaskBook(ACCOUNT, region);
    clock.onAdvance((now) => this.tick(now));
  }

  static async start(clock: SimClock, region?: string): Promise<EcsSimulator> {
    const sim = new EcsSimulator(clock, region);
    sim.server = await serve((operation, input, caller) => sim.handle(operation, input, caller));
    return sim;
  }

  get endpoint(): string {
    if (!this.server) throw new Error("simulator not started");
    return this.server.endpoint;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  // ---- scenario setup (not recorded as calls) ----

  registerTaskDefinition(body: Json, tags: Tag[] = []): string {
    const family = String(body.family);
    const revision = this.taskDefinitions.filter((t) => t.family === family).length + 1;
    const arn = `arn:aws:ecs:${this.region}:${ACCOUNT}:task-definition/${family}:${revision}`;
    this.taskDefinitions.push({
      arn,
      family,
      revision,
      status: "ACTIVE",
      body: structuredClone(body),
      tags,
      registeredAtMs: this.clock.now(),
    });
    return arn;
  }

  createService(options: {
    cluster?: string;
    service?: string;
    taskDefinition: string;
    desiredCount?: number;
    status?: SimService["status"];
    controller?: "ECS" | "CODE_DEPLOY" | "EXTERNAL";
    /** As DescribeServices reports it (default: 200%/100%, nothing else). */
    deploymentConfiguration?: Json;
    /** Target groups the service registers its tasks in (see createTargetGroup). */
    loadBalancers?: Array<{ targetGroupArn: string; containerName: string; containerPort: number }>;
    healthCheckGracePeriodSeconds?: number;
  }): string {
    const cluster = options.cluster ?? "main";
    const name = options.service ?? "web";
    this.clusters.add(cluster);
    const desired = options.desiredCount ?? 2;
    const service: SimService = {
      name,
      arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:service/${cluster}/${name}`,
      cluster,
      status: options.status ?? "ACTIVE",
      desiredCount: desired,
      taskDefinition: this.resolve(options.taskDefinition).arn,
      deployments: [],
      serviceDeployments: [],
      deploymentConfiguration: options.deploymentConfiguration ?? {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
      },
      controller: options.controller ?? "ECS",
      events: [],
      tags: [],
      loadBalancers: options.loadBalancers ?? [],
      ...(options.healthCheckGracePeriodSeconds !== undefined
        ? { healthCheckGracePeriodSeconds: options.healthCheckGracePeriodSeconds }
        : {}),
    };
    const replaced = this.services.get(`${cluster}/${name}`);
    if (replaced) this.stopReplacedTasks(replaced, null, this.clock.now());
    this.services.set(`${cluster}/${name}`, service);
    const deployment = this.newDeployment(service, service.taskDefinition, "healthy", false, null);
    Object.assign(deployment, { runningCount: desired, pendingCount: 0, rolloutState: "COMPLETED" });
    this.startTasks(service, deployment, this.clock.now());
    const sd = service.serviceDeployments.at(-1)!;
    sd.status = "SUCCESSFUL";
    return service.arn;
  }

  /** A target group for services to register their tasks in; returns its ARN. */
  createTargetGroup(options: {
    name: string;
    port?: number;
    healthCheckPath?: string;
    healthCheckIntervalSeconds?: number;
    healthyThresholdCount?: number;
    deregistrationDelaySeconds?: number;
  }): string {
    const arn = `arn:aws:elasticloadbalancing:${this.region}:${ACCOUNT}:targetgroup/${options.name}/${(this.targetGroups.size + 1).toString(16).padStart(16, "0")}`;
    this.targetGroups.set(arn, {
      arn,
      name: options.name,
      port: options.port ?? 80,
      healthCheckPath: options.healthCheckPath ?? "/health",
      healthCheckIntervalSeconds: options.healthCheckIntervalSeconds ?? 30,
      healthyThresholdCount: options.healthyThresholdCount ?? 5,
      deregistrationDelaySeconds: options.deregistrationDelaySeconds ?? 300,
    });
    return arn;
  }

  /** What ModifyTargetGroup / ModifyTargetGroupAttributes would do (Shipyard never sends them). */
  modifyTargetGroup(
    arn: string,
    changes: Partial<
      Pick<
        SimTargetGroup,
        "healthCheckIntervalSeconds" | "healthyThresholdCount" | "deregistrationDelaySeconds"
      >
    >,
  ): void {
    Object.assign(this.targetGroup(arn), changes);
  }

  /** A service's tasks, running and stopped, oldest first (a test reads their ids and log streams). */
  serviceTasks(cluster = "main", name = "web"): ServiceTask[] {
    return this.serviceTaskList.filter((t) => t.cluster === cluster && t.service === name);
  }

  /** What a cleanup job elsewhere might do (Shipyard never deregisters): the revision becomes INACTIVE. */
  deregisterTaskDefinition(arn: string): void {
    this.resolve(arn).status = "INACTIVE";
  }

  /** Someone else's deployment, already in flight. */
  startDeployment(cluster: string, serviceName: string, taskDefinition: string, behaviour: Behaviour): void {
    const service = this.service(cluster, serviceName);
    this.beginRollout(service, this.resolve(taskDefinition).arn, behaviour);
  }

  /** Answers every `operation` call between `fromMs` and `untilMs` (clock time) with the fault. */
  faultWindow(operation: string, type: string, status: number, fromMs: number, untilMs: number): void {
    this.faults.push({
      operation,
      type,
      status,
      remaining: Infinity,
      window: { from: fromMs, until: untilMs },
    });
  }

  injectFault(operation: string, type: string, status: number, times: number): void {
    this.faults.push({ operation, type, status, remaining: times });
  }

  /** Answers the next `times` calls of `operation` ("*": any) `ms` later on the simulator's clock. */
  delay(operation: string, ms: number, times = Infinity): void {
    this.slow.push({ operation, ms, remaining: times });
  }

  /** Never answers the next `times` calls of `operation`: a read that hangs until the client gives up. */
  hang(operation: string, times = Infinity): void {
    this.slow.push({ operation, ms: Infinity, remaining: times });
  }

  operations(): string[] {
    return this.calls.map((c) => c.operation);
  }

  callsTo(operation: string): RecordedCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  /** The current state of a service, as DescribeServices would show it. */
  describe(cluster = "main", name = "web"): Json {
    return this.view(this.service(cluster, name), []);
  }

  serviceTags(cluster = "main", name = "web"): Record<string, string> {
    return Object.fromEntries(this.service(cluster, name).tags.map((t) => [t.key, t.value]));
  }

  taskDefinitionTags(arn: string): Record<string, string> {
    return Object.fromEntries(this.resolve(arn).tags.map((t) => [t.key, t.value]));
  }

  taskDefinitionBody(arn: string): Json {
    return this.resolve(arn).body;
  }

  // ---- the protocol ----

  private handle(operation: string, input: Json, caller?: string): unknown {
    const call: RecordedCall = { operation, input, atMs: this.clock.now(), ...(caller ? { caller } : {}) };
    this.calls.push(call);
    this.onCall?.(call);
    const slow = this.slow.find((s) => s.remaining > 0 && (s.operation === operation || s.operation === "*"));
    if (slow) slow.remaining -= 1;
    // Without a wait the call is answered synchronously, exactly as before waits existed.
    if (this.beforeAnswer === undefined && this.afterAnswer === undefined && slow === undefined)
      return this.answer(call);
    return (async () => {
      await this.beforeAnswer?.(call);
      if (slow) await this.wait(slow.ms);
      try {
        return this.answer(call);
      } finally {
        await this.afterAnswer?.(call);
      }
    })();
  }

  private async wait(ms: number): Promise<void> {
    if (ms === Infinity) return new Promise<void>(() => {});
    if (this.clock.sleep) return this.clock.sleep(ms);
    return new Promise<void>((resolve) => setTimeout(resolve, ms));
  }

  private answer(call: RecordedCall): unknown {
    const { operation, input } = call;
    const now = this.clock.now();
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.operation === operation || f.operation === "*") &&
        (f.window === undefined || (now >= f.window.from && now < f.window.until)),
    );
    if (fault) {
      fault.remaining -= 1;
      call.fault = fault.type;
      throw new AwsError(fault.type, `injected ${fault.type}`, fault.status);
    }
    this.tick(this.clock.now());
    const op = this.operationsTable[operation];
    if (!op) throw new AwsError("UnknownOperationException", `${operation} is not simulated`);
    return op(input);
  }

  private readonly operationsTable: Record<string, (input: Json) => unknown> = {
    DescribeServices: (input) => this.describeServices(input),
    DescribeTaskDefinition: (input) => {
      const td = this.resolve(String(input.taskDefinition));
      const withTags = Array.isArray(input.include) && input.include.includes("TAGS");
      return { taskDefinition: this.taskDefinitionView(td), ...(withTags ? { tags: td.tags } : {}) };
    },
    ListTaskDefinitions: (input) => this.listTaskDefinitions(input),
    RegisterTaskDefinition: (input) => {
      const { tags, ...body } = input;
      const arn = this.registerTaskDefinition(body, (tags as Tag[] | undefined) ?? []);
      const td = this.resolve(arn);
      return { taskDefinition: this.taskDefinitionView(td), tags: td.tags };
    },
    UpdateService: (input) => this.updateService(input),
    ListServiceDeployments: (input) => this.listServiceDeployments(input),
    DescribeServiceDeployments: (input) => this.describeServiceDeployments(input),
    StopServiceDeployment: (input) => this.stopServiceDeployment(input),
    TagResource: (input) => {
      const holder = this.tagHolder(String(input.resourceArn));
      for (const tag of (input.tags as Tag[]) ?? []) {
        holder.tags = holder.tags.filter((t) => t.key !== tag.key).concat(tag);
      }
      return {};
    },
    UntagResource: (input) => {
      const holder = this.tagHolder(String(input.resourceArn));
      const keys = (input.tagKeys as string[]) ?? [];
      holder.tags = holder.tags.filter((t) => !keys.includes(t.key));
      return {};
    },
    ListTagsForResource: (input) => ({ tags: this.tagHolder(String(input.resourceArn)).tags }),
    RunTask: (input) => {
      const cluster = this.clusterName(input.cluster);
      const td = this.resolve(String(input.taskDefinition));
      const answer = this.tasks.run(input, this.clock.now(), cluster, td.arn);
      for (const task of answer.tasks as Array<{ taskArn: string }>) this.logOneOff(task.taskArn, td);
      return answer;
    },
    DescribeTasks: (input) => this.describeTasks(input),
    ListTasks: (input) => this.listTasks(input),
    GetLogEvents: (input) => this.logs.getLogEvents(input),
    FilterLogEvents: (input) => this.logs.filterLogEvents(input),
    DescribeTargetHealth: (input) => this.describeTargetHealth(input),
    DescribeTargetGroups: (input) => this.describeTargetGroups(input),
    DescribeTargetGroupAttributes: (input) => {
      const group = this.targetGroup(String(input.TargetGroupArn));
      return {
        Attributes: [
          { Key: "deregistration_delay.timeout_seconds", Value: String(group.deregistrationDelaySeconds) },
          { Key: "stickiness.enabled", Value: "false" },
          { Key: "load_balancing.algorithm.type", Value: "round_robin" },
        ],
      };
    },
    StopTask: (input) => {
      this.clusterName(input.cluster);
      return this.tasks.stop(String(input.task), this.clock.now());
    },
  };

  private clusterName(value: unknown): string {
    const name = String(value ?? "default")
      .split("/")
      .at(-1)!;
    if (!this.clusters.has(name)) throw new AwsError("ClusterNotFoundException", "Cluster not found.");
    return name;
  }

  private service(cluster: unknown, name: unknown): SimService {
    const clusterName = this.clusterName(cluster);
    const serviceName = String(name).split("/").at(-1)!;
    const service = this.services.get(`${clusterName}/${serviceName}`);
    if (!service) throw new AwsError("ServiceNotFoundException", "Service not found.");
    return service;
  }

  private resolve(identifier: string): SimTaskDefinition {
    const short = identifier.split("/").at(-1)!;
    const [family, revision] = short.split(":");
    const candidates = this.taskDefinitions.filter((t) => t.family === family);
    const found =
      revision === undefined
        ? candidates.filter((t) => t.status === "ACTIVE").at(-1)
        : candidates.find((t) => t.revision === Number(revision));
    if (!found) throw new AwsError("ClientException", "Unable to describe task definition.");
    return found;
  }

  /**
   * As ECS does: `familyPrefix` is a prefix, sorted by family then revision (ASC by default), ACTIVE
   * unless `status` says otherwise, at most `maxResults` (default and cap 100) per page.
   */
  private listTaskDefinitions(input: Json): Json {
    const prefix = typeof input.familyPrefix === "string" ? input.familyPrefix : "";
    const status = typeof input.status === "string" ? input.status : "ACTIVE";
    const pageSize = Math.min(typeof input.maxResults === "number" ? input.maxResults : 100, 100);
    const offset = typeof input.nextToken === "string" ? Number(input.nextToken) : 0;
    const order = input.sort === "DESC" ? -1 : 1;
    const matching = this.taskDefinitions
      .filter((t) => t.family.startsWith(prefix) && t.status === status)
      .sort((a, b) => order * (a.family.localeCompare(b.family) || a.revision - b.revision));
    const page = matching.slice(offset, offset + pageSize);
    const next = offset + pageSize < matching.length ? String(offset + pageSize) : undefined;
    return { taskDefinitionArns: page.map((t) => t.arn), ...(next ? { nextToken: next } : {}) };
  }

  private tagHolder(arn: string): { tags: Tag[] } {
    const service = [...this.services.values()].find((s) => s.arn === arn);
    if (service) return service;
    const td = this.taskDefinitions.find((t) => t.arn === arn);
    if (td) return td;
    throw new AwsError("InvalidParameterException", `The specified resource is not found: ${arn}`);
  }

  private describeServices(input: Json): Json {
    const cluster = this.clusterName(input.cluster);
    const withTags = Array.isArray(input.include) && input.include.includes("TAGS");
    const services: Json[] = [];
    const failures: Json[] = [];
    for (const name of (input.services as string[]) ?? []) {
      const service = this.services.get(`${cluster}/${name.split("/").at(-1)}`);
      if (service) services.push(this.view(service, withTags ? service.tags : undefined));
      else
        failures.push({
          arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:service/${cluster}/${name}`,
          reason: "MISSING",
        });
    }
    return { services, failures };
  }

  private updateService(input: Json): Json {
    const service = this.service(input.cluster, input.service);
    if (service.status !== "ACTIVE")
      throw new AwsError("ServiceNotActiveException", "Service was not ACTIVE.");
    if (input.deploymentConfiguration) {
      service.deploymentConfiguration = {
        ...service.deploymentConfiguration,
        ...(input.deploymentConfiguration as Json),
      };
    }
    if (typeof input.desiredCount === "number") service.desiredCount = input.desiredCount;
    let target = service.taskDefinition;
    if (input.taskDefinition !== undefined) {
      const td = this.resolve(String(input.taskDefinition));
      if (td.status !== "ACTIVE") throw new AwsError("ClientException", "TaskDefinition is inactive");
      target = td.arn;
    }
    if (target !== service.taskDefinition || input.forceNewDeployment === true) {
      this.beginRollout(service, target, this.behaviourOf(service, target));
    }
    return { service: this.view(service, undefined) };
  }

  private behaviourOf(service: SimService, taskDefinition: string): Behaviour {
    const chosen = this.serviceBehaviours.get(service.name);
    if (chosen !== undefined) return chosen;
    const containers = (this.resolve(taskDefinition).body.containerDefinitions as Json[] | undefined) ?? [];
    const image = String(containers[0]?.image ?? "");
    return this.behaviours.get(image) ?? this.defaultBehaviour;
  }

  private beginRollout(service: SimService, taskDefinition: string, behaviour: Behaviour): SimDeployment {
    const source = service.taskDefinition;
    for (const sd of service.serviceDeployments) {
      if (sd.status === "IN_PROGRESS" || sd.status === "PENDING") {
        sd.status = "STOPPED";
        sd.statusReason = "a newer deployment replaced it";
        sd.finishedAtMs = this.clock.now();
      }
    }
    const deployment = this.newDeployment(service, taskDefinition, behaviour, false, source);
    service.taskDefinition = taskDefinition;
    return deployment;
  }

  private newDeployment(
    service: SimService,
    taskDefinition: string,
    behaviour: Behaviour,
    isRollback: boolean,
    source: string | null,
    serviceDeploymentArn?: string,
  ): SimDeployment {
    this.counter += 1;
    const now = this.clock.now();
    const digits = String(1_000_000_000_000_000_000n + BigInt(this.counter));
    const id = `ecs-svc/${digits}`;
    let sdArn = serviceDeploymentArn;
    if (sdArn === undefined) {
      sdArn = `arn:aws:ecs:${this.region}:${ACCOUNT}:service-deployment/${service.cluster}/${service.name}/${digits}`;
      service.serviceDeployments.push({
        arn: sdArn,
        status: "IN_PROGRESS",
        createdAtMs: now,
        sourceTaskDefinition: source,
        targetTaskDefinition: taskDefinition,
        deploymentId: id,
      });
    }
    for (const d of service.deployments) d.status = "ACTIVE";
    const deployment: SimDeployment = {
      id,
      status: "PRIMARY",
      taskDefinition,
      desiredCount: service.desiredCount,
      pendingCount: service.desiredCount,
      runningCount: 0,
      failedTasks: 0,
      createdAtMs: now,
      updatedAtMs: now,
      rolloutState: "IN_PROGRESS",
      rolloutStateReason: "ECS deployment in progress.",
      behaviour,
      isRollback,
      serviceDeploymentArn: sdArn,
    };
    service.deployments.unshift(deployment);
    return deployment;
  }

  private event(service: SimService, message: string): void {
    this.counter += 1;
    service.events.unshift({
      id: `ev-${this.counter}`,
      createdAt: new Date(this.clock.now()),
      message: `(service ${service.name}) ${message}`,
    });
    service.events.splice(100);
  }

  // ---- time ----

  private tick(now: number): void {
    for (const service of this.services.values()) this.advance(service, now);
  }

  private advance(service: SimService, now: number): void {
    const primary = service.deployments.find((d) => d.status === "PRIMARY");
    if (primary?.rolloutState !== "IN_PROGRESS") return;
    const elapsed = (now - primary.createdAtMs) / 1000;
    const { startSeconds, healthySeconds, failAfterSeconds } = this.timing;
    if (primary.behaviour === "healthy" && this.settingsTiming) {
      this.advanceBySettings(service, primary, now);
    } else if (primary.behaviour === "healthy") {
      if (elapsed >= startSeconds && primary.runningCount === 0) {
        Object.assign(primary, { runningCount: primary.desiredCount, pendingCount: 0, updatedAtMs: now });
        this.startTasks(service, primary, now);
        this.event(service, `has started ${primary.desiredCount} tasks: (deployment ${primary.id}).`);
      }
      if (elapsed >= healthySeconds + this.bakeSeconds(service)) this.complete(service, primary, now);
    } else if (primary.behaviour === "failing") {
      const batches = Math.floor(elapsed / startSeconds);
      if (batches > 0 && primary.failedTasks < batches * primary.desiredCount) {
        this.failTasks(service, primary, batches * primary.desiredCount - primary.failedTasks, now);
        primary.failedTasks = batches * primary.desiredCount;
        this.event(service, `(task ${primary.id.slice(-6)}) failed container health checks.`);
      }
      const breaker = service.deploymentConfiguration.deploymentCircuitBreaker as Json | undefined;
      if (breaker?.enable === true && elapsed >= failAfterSeconds) this.fail(service, primary, breaker, now);
    }
  }

  /**
   * A healthy deployment paced by the settings: tasks launch and old ones stop as the scheduler's
   * plan says, each at its planned instant (not the instant the clock was read).
   */
  private advanceBySettings(service: SimService, primary: SimDeployment, now: number): void {
    const timing = this.settingsTiming!;
    if (primary.schedule === undefined) primary.schedule = this.planRollout(service, primary);
    const schedule = primary.schedule;
    if (schedule === null) return;
    const at = (seconds: number) => primary.createdAtMs + seconds * 1000;
    const ours = this.serviceTasks(service.cluster, service.name).filter((t) => t.startedBy === primary.id);
    const launched = schedule.launches.filter((s) => at(s) <= now);
    const running = launched.filter((s) => at(s + timing.taskStartSeconds) <= now);
    for (const launch of running.slice(ours.length)) {
      const task = this.newServiceTask(service, primary, at(launch));
      task.startedAtMs = at(launch + timing.taskStartSeconds);
    }
    const old = this.serviceTasks(service.cluster, service.name).filter(
      (t) => t.startedBy !== primary.id && t.stoppedAtMs === undefined,
    );
    const stopping = schedule.oldStops.filter((s) => at(s) <= now);
    const alreadyStopped = schedule.oldStops.length - old.length;
    for (const [i, task] of old.slice(0, Math.max(0, stopping.length - alreadyStopped)).entries()) {
      Object.assign(task, {
        stoppedAtMs: at(stopping[alreadyStopped + i]!),
        stopCode: "ServiceSchedulerInitiated",
        stoppedReason: `Scaling activity initiated by (deployment ${primary.id})`,
      });
    }
    Object.assign(primary, {
      runningCount: running.length,
      pendingCount: primary.desiredCount - running.length,
      updatedAtMs: now,
    });
    const finish = at(schedule.completeSeconds) + this.bakeSeconds(service) * 1000;
    if (finish <= now) this.complete(service, primary, finish);
  }

  /** The scheduler's plan for a deployment, from the service's percents, target group, task definition. */
  private planRollout(service: SimService, deployment: SimDeployment): Schedule | null {
    const timing = this.settingsTiming!;
    const ready = timing.appReadySeconds ?? 0;
    const group = service.loadBalancers
      .map((lb) => this.targetGroups.get(String(lb.targetGroupArn)))
      .find((g) => g !== undefined);
    const check = this.firstContainer(deployment.taskDefinition).healthCheck as Json | undefined;
    // A check passes once the app is ready: the first one at or after that instant.
    const firstPass = (interval: number) => Math.max(1, Math.ceil(ready / interval)) * interval;
    const containerHealthy = check ? firstPass(Number(check.interval ?? 30)) : 0;
    const targetHealthy = group
      ? firstPass(group.healthCheckIntervalSeconds) +
        (group.healthyThresholdCount - 1) * group.healthCheckIntervalSeconds
      : 0;
    const config = service.deploymentConfiguration;
    const rolling = ROLLING_STRATEGIES.has(config.strategy as string | undefined);
    const oldCount = this.serviceTasks(service.cluster, service.name).filter(
      (t) => t.startedBy !== deployment.id && t.stoppedAtMs === undefined,
    ).length;
    return playRollout({
      desiredCount: deployment.desiredCount,
      oldCount,
      // Blue-green, canary and linear start the whole new revision at once.
      maximumPercent: rolling ? Number(config.maximumPercent ?? 200) : 200,
      minimumHealthyPercent: rolling ? Number(config.minimumHealthyPercent ?? 100) : 100,
      taskStartSeconds: timing.taskStartSeconds,
      healthySeconds: Math.max(containerHealthy, service.healthCheckGracePeriodSeconds ?? 0, targetHealthy),
      drainSeconds: group?.deregistrationDelaySeconds ?? 0,
    });
  }

  private bakeSeconds(service: SimService): number {
    const config = service.deploymentConfiguration;
    if (ROLLING_STRATEGIES.has(config.strategy as string | undefined)) return 0;
    return Number(config.bakeTimeInMinutes ?? 0) * 60;
  }

  private serviceDeployment(service: SimService, arn: string): SimServiceDeployment {
    return service.serviceDeployments.find((s) => s.arn === arn)!;
  }

  private complete(service: SimService, deployment: SimDeployment, now: number): void {
    Object.assign(deployment, {
      rolloutState: "COMPLETED",
      rolloutStateReason: "ECS deployment completed.",
      runningCount: deployment.desiredCount,
      pendingCount: 0,
      updatedAtMs: now,
    });
    this.stopReplacedTasks(service, deployment, now);
    service.deployments = [deployment];
    service.taskDefinition = deployment.taskDefinition;
    const sd = this.serviceDeployment(service, deployment.serviceDeploymentArn);
    sd.status = deployment.isRollback ? "ROLLBACK_SUCCESSFUL" : "SUCCESSFUL";
    sd.finishedAtMs = now;
    this.event(service, `(deployment ${deployment.id}) deployment completed.`);
    this.event(service, "has reached a steady state.");
  }

  private fail(service: SimService, deployment: SimDeployment, breaker: Json, now: number): void {
    Object.assign(deployment, {
      rolloutState: "FAILED",
      rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
      updatedAtMs: now,
    });
    this.event(service, `(deployment ${deployment.id}) deployment failed: tasks failed to start.`);
    const sd = this.serviceDeployment(service, deployment.serviceDeploymentArn);
    if (deployment.isRollback) {
      sd.status = "ROLLBACK_FAILED";
      sd.statusReason = "the rollback's tasks failed to start";
      sd.finishedAtMs = now;
    } else if (breaker.rollback === true && sd.sourceTaskDefinition) {
      this.startRollback(service, deployment, sd);
    } else {
      sd.status = "STOPPED";
      sd.statusReason = "circuit breaker stopped the deployment";
      sd.finishedAtMs = now;
    }
  }

  private startRollback(service: SimService, deployment: SimDeployment, sd: SimServiceDeployment): void {
    sd.status = "ROLLBACK_IN_PROGRESS";
    const target = sd.sourceTaskDefinition!;
    const rollback = this.newDeployment(service, target, this.rollbackBehaviour, true, null, sd.arn);
    service.taskDefinition = target;
    this.event(service, `(deployment ${deployment.id}) rolling back to deployment ${rollback.id}.`);
  }

  // ---- service deployments ----

  private requireServiceDeploymentApis(): void {
    if (this.omitRolloutState) {
      throw new AwsError("UnknownOperationException", "The action is not supported by this endpoint.");
    }
  }

  private listServiceDeployments(input: Json): Json {
    this.requireServiceDeploymentApis();
    const service = this.service(input.cluster, input.service);
    const statuses = input.status as string[] | undefined;
    const after = (input.createdAt as Json | undefined)?.after as number | undefined;
    const list = service.serviceDeployments
      .filter((sd) => !statuses || statuses.includes(sd.status))
      .filter((sd) => after === undefined || sd.createdAtMs >= after * 1000)
      .slice()
      .reverse()
      .map((sd) => ({
        serviceDeploymentArn: sd.arn,
        serviceArn: service.arn,
        clusterArn: `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${service.cluster}`,
        createdAt: new Date(sd.createdAtMs),
        startedAt: new Date(sd.createdAtMs),
        ...(sd.finishedAtMs ? { finishedAt: new Date(sd.finishedAtMs) } : {}),
        targetServiceRevisionArn: `${service.arn}:revision/${sd.deploymentId.slice(-6)}`,
        status: sd.status,
        statusReason: sd.statusReason,
      }));
    return { serviceDeployments: list };
  }

  private findServiceDeployment(arn: string): { service: SimService; sd: SimServiceDeployment } | undefined {
    for (const service of this.services.values()) {
      const sd = service.serviceDeployments.find((s) => s.arn === arn);
      if (sd) return { service, sd };
    }
    return undefined;
  }

  private describeServiceDeployments(input: Json): Json {
    this.requireServiceDeploymentApis();
    const serviceDeployments: Json[] = [];
    const failures: Json[] = [];
    for (const arn of (input.serviceDeploymentArns as string[]) ?? []) {
      const found = this.findServiceDeployment(arn);
      if (!found) {
        failures.push({ arn, reason: "MISSING" });
        continue;
      }
      const { service, sd } = found;
      serviceDeployments.push({
        serviceDeploymentArn: sd.arn,
        serviceArn: service.arn,
        createdAt: new Date(sd.createdAtMs),
        ...(sd.finishedAtMs ? { finishedAt: new Date(sd.finishedAtMs) } : {}),
        status: sd.status,
        statusReason: sd.statusReason,
        deploymentConfiguration: service.deploymentConfiguration,
      });
    }
    return { serviceDeployments, failures };
  }

  private stopServiceDeployment(input: Json): Json {
    this.requireServiceDeploymentApis();
    const found = this.findServiceDeployment(String(input.serviceDeploymentArn));
    if (!found)
      throw new AwsError("ServiceDeploymentNotFoundException", "The service deployment does not exist.");
    const { service, sd } = found;
    if (sd.status !== "IN_PROGRESS" && sd.status !== "PENDING") {
      throw new AwsError(
        "ConflictException",
        `The service deployment is ${sd.status} and cannot be stopped.`,
      );
    }
    const deployment = service.deployments.find((d) => d.id === sd.deploymentId);
    if (input.stopType === "ROLLBACK" && deployment && sd.sourceTaskDefinition) {
      Object.assign(deployment, {
        rolloutState: "FAILED",
        rolloutStateReason: "Stopped by user (rollback).",
      });
      this.event(service, `(deployment ${deployment.id}) stop requested: rolling back.`);
      this.startRollback(service, deployment, sd);
    } else {
      sd.status = "STOPPED";
      sd.statusReason = "stopped by user";
      sd.finishedAtMs = this.clock.now();
    }
    return { serviceDeploymentArn: sd.arn };
  }

  // ---- service tasks, target health ----

  private firstContainer(taskDefinition: string): Json {
    const containers = (this.resolve(taskDefinition).body.containerDefinitions as Json[] | undefined) ?? [];
    return containers[0] ?? {};
  }

  private newServiceTask(service: SimService, deployment: SimDeployment, createdAtMs: number): ServiceTask {
    this.counter += 1;
    const id = `${this.counter.toString(16).padStart(8, "0")}5e7f1ce0aa11bb22cc33dd44`;
    const task: ServiceTask = {
      arn: `arn:aws:ecs:${this.region}:${ACCOUNT}:task/${service.cluster}/${id}`,
      id,
      cluster: service.cluster,
      service: service.name,
      taskDefinitionArn: deployment.taskDefinition,
      startedBy: deployment.id,
      container: String(this.firstContainer(deployment.taskDefinition).name ?? "app"),
      ip: `10.0.${(this.counter >> 8) & 255}.${this.counter & 255}`,
      createdAtMs,
    };
    this.serviceTaskList.push(task);
    return task;
  }

  private startTasks(service: SimService, deployment: SimDeployment, now: number): void {
    for (let i = 0; i < deployment.desiredCount; i++) {
      this.newServiceTask(service, deployment, now).startedAtMs = now;
    }
  }

  /** A batch of a failing deployment's tasks stops, for the failure its image was given. */
  private failTasks(service: SimService, deployment: SimDeployment, count: number, now: number): void {
    const container = this.firstContainer(deployment.taskDefinition);
    const failure = this.failures.get(String(container.image ?? "")) ?? TASK_FAILURES.containerHealthCheck;
    const created = now - this.timing.startSeconds * 1000;
    for (let i = 0; i < count; i++) {
      const task = this.newServiceTask(service, deployment, created);
      Object.assign(task, { startedAtMs: created, stoppedAtMs: now, failure });
      const stream = this.awslogsStream(container, task.id);
      if (stream && failure.logs) this.logs.put(stream.group, stream.stream, failure.logs, created + 1000);
    }
  }

  private awslogsStream(container: Json, taskId: string): { group: string; stream: string } | null {
    const config = container.logConfiguration as
      | { logDriver?: string; options?: Record<string, string> }
      | undefined;
    const group = config?.options?.["awslogs-group"];
    const prefix = config?.options?.["awslogs-stream-prefix"];
    if (config?.logDriver !== "awslogs" || !group || !prefix) return null;
    return { group, stream: `${prefix}/${String(container.name)}/${taskId}` };
  }

  /** A one-off task that will exit writes its scripted lines to its awslogs stream. */
  private logOneOff(taskArn: string, td: SimTaskDefinition): void {
    const task = this.tasks.tasks.get(taskArn);
    if (task?.outcome.kind !== "exit" || !task.outcome.logs) return;
    const container = ((td.body.containerDefinitions as Json[] | undefined) ?? [])[0] ?? {};
    const stream = this.awslogsStream(container, taskArn.split("/").at(-1)!);
    if (stream) this.logs.put(stream.group, stream.stream, task.outcome.logs, task.createdAtMs + 2_000);
  }

  /** A completed deployment replaced the others (null: the service was re-created): their running tasks stop. */
  private stopReplacedTasks(service: SimService, kept: SimDeployment | null, now: number): void {
    const replaced = new Set(service.deployments.filter((d) => d !== kept).map((d) => d.id));
    for (const task of this.serviceTasks(service.cluster, service.name)) {
      if (!replaced.has(task.startedBy) || task.stoppedAtMs !== undefined) continue;
      Object.assign(task, {
        stoppedAtMs: now,
        stopCode: "ServiceSchedulerInitiated",
        stoppedReason: kept
          ? `Scaling activity initiated by (deployment ${kept.id})`
          : "Service was re-created",
      });
    }
  }

  private listTasks(input: Json): Json {
    const cluster = this.clusterName(input.cluster);
    const desired = input.desiredStatus === "STOPPED" ? "STOPPED" : "RUNNING";
    const family = typeof input.family === "string" ? input.family : undefined;
    const service = typeof input.serviceName === "string" ? input.serviceName.split("/").at(-1) : undefined;
    const startedBy = typeof input.startedBy === "string" ? input.startedBy : undefined;
    const ofFamily = (arn: string) => family === undefined || arn.split("/").at(-1)?.split(":")[0] === family;
    const fromServices = this.serviceTaskList
      .filter(
        (t) => t.cluster === cluster && (t.stoppedAtMs !== undefined ? "STOPPED" : "RUNNING") === desired,
      )
      .filter(
        (t) =>
          (service === undefined || t.service === service) &&
          (startedBy === undefined || t.startedBy === startedBy),
      )
      .filter((t) => ofFamily(t.taskDefinitionArn))
      .map((t) => t.arn);
    const oneOff =
      service === undefined
        ? this.tasks
            .list(cluster, desired, this.clock.now())
            .filter(
              (t) => (startedBy === undefined || t.startedBy === startedBy) && ofFamily(t.taskDefinitionArn),
            )
            .map((t) => t.taskArn)
        : [];
    const max = typeof input.maxResults === "number" ? input.maxResults : 100;
    return { taskArns: [...fromServices, ...oneOff].slice(0, max) };
  }

  private describeTasks(input: Json): Json {
    this.clusterName(input.cluster);
    const wanted = (input.tasks as string[]) ?? [];
    const ours = (arn: string) =>
      this.serviceTaskList.find((t) => t.arn === arn || t.arn.endsWith(`/${arn}`));
    const oneOff = this.tasks.describe(
      wanted.filter((arn) => !ours(arn)),
      this.clock.now(),
    );
    const service = wanted.map(ours).filter((t): t is ServiceTask => t !== undefined);
    return {
      tasks: [...service.map((t) => serviceTaskView(t, this.region, ACCOUNT)), ...oneOff.tasks],
      failures: oneOff.failures,
    };
  }

  private describeTargetGroups(input: Json): Json {
    const arns = (input.TargetGroupArns as string[] | undefined) ?? [...this.targetGroups.keys()];
    return {
      TargetGroups: arns.map((arn) => {
        const group = this.targetGroup(arn);
        return {
          TargetGroupArn: group.arn,
          TargetGroupName: group.name,
          Protocol: "HTTP",
          Port: group.port,
          TargetType: "ip",
          HealthCheckProtocol: "HTTP",
          HealthCheckPath: group.healthCheckPath,
          HealthCheckIntervalSeconds: group.healthCheckIntervalSeconds,
          HealthyThresholdCount: group.healthyThresholdCount,
          Matcher: { HttpCode: "200" },
        };
      }),
    };
  }

  private targetGroup(arn: string): SimTargetGroup {
    const group = this.targetGroups.get(arn);
    if (!group) throw new AwsError("TargetGroupNotFound", `Target groups '${arn}' not found`);
    return group;
  }

  /** Running tasks are healthy targets; a failing deployment's latest batch is as its failure says. */
  private describeTargetHealth(input: Json): Json {
    const group = this.targetGroup(String(input.TargetGroupArn));
    const descriptions: Json[] = [];
    for (const service of this.services.values()) {
      if (!service.loadBalancers.some((lb) => lb.targetGroupArn === group.arn)) continue;
      for (const deployment of service.deployments) {
        const tasks = this.serviceTasks(service.cluster, service.name).filter(
          (t) => t.startedBy === deployment.id,
        );
        for (const task of tasks.filter((t) => t.stoppedAtMs === undefined)) {
          descriptions.push({
            Target: { Id: task.ip, Port: group.port },
            HealthCheckPort: String(group.port),
            TargetHealth: { State: "healthy" },
          });
        }
        const failing = tasks.filter((t) => t.failure?.target).slice(-deployment.desiredCount);
        for (const task of failing) {
          const target = task.failure!.target!;
          descriptions.push({
            Target: { Id: task.ip, Port: group.port },
            HealthCheckPort: String(group.port),
            TargetHealth: { State: target.state, Reason: target.reason, Description: target.description },
          });
        }
      }
    }
    return { TargetHealthDescriptions: descriptions };
  }

  // ---- views ----

  private view(service: SimService, tags: Tag[] | undefined): Json {
    const deployments = service.deployments.map((d) => ({
      id: d.id,
      status: d.status,
      taskDefinition: d.taskDefinition,
      desiredCount: d.desiredCount,
      pendingCount: d.pendingCount,
      runningCount: d.runningCount,
      failedTasks: d.failedTasks,
      createdAt: new Date(d.createdAtMs),
      updatedAt: new Date(d.updatedAtMs),
      launchType: "FARGATE",
      ...(this.omitRolloutState
        ? {}
        : { rolloutState: d.rolloutState, rolloutStateReason: d.rolloutStateReason }),
    }));
    const sum = (key: "runningCount" | "pendingCount") =>
      service.deployments.reduce((total, d) => total + d[key], 0);
    return {
      serviceArn: service.arn,
      serviceName: service.name,
      clusterArn: `arn:aws:ecs:${this.region}:${ACCOUNT}:cluster/${service.cluster}`,
      status: service.status,
      desiredCount: service.desiredCount,
      runningCount: sum("runningCount"),
      pendingCount: sum("pendingCount"),
      launchType: "FARGATE",
      taskDefinition: service.taskDefinition,
      deploymentConfiguration: service.deploymentConfiguration,
      deploymentController: { type: service.controller },
      ...(service.loadBalancers.length > 0 ? { loadBalancers: service.loadBalancers } : {}),
      ...(service.healthCheckGracePeriodSeconds !== undefined
        ? { healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds }
        : {}),
      deployments,
      events: service.events,
      ...(tags ? { tags } : {}),
    };
  }

  private taskDefinitionView(td: SimTaskDefinition): Json {
    return {
      ...td.body,
      taskDefinitionArn: td.arn,
      family: td.family,
      revision: td.revision,
      status: td.status,
      requiresAttributes: [],
      compatibilities: ["EC2", "FARGATE"],
      registeredAt: new Date(td.registeredAtMs),
      registeredBy: `arn:aws:iam::${ACCOUNT}:user/simulator`,
    };
  }
}
