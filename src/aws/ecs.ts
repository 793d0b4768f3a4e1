/**
 * Every ECS call Shipyard makes, in one place. Callers get plain answers (a service or "not found",
 * a task definition with its tags); the gateway also remembers whether anything that changes a
 * service was sent, which decides whether a failure is "nothing changed" (exit 2) or "look" (exit 3).
 *
 * Reads made while waiting pass `{ poll: true }`: they go through the client that does not retry
 * and are bounded by the poll interval, so a wait keeps its cadence under throttling.
 */
import type {
  CreateServiceCommandInput,
  DeploymentConfiguration,
  ECSClient,
  RegisterTaskDefinitionCommandInput,
  RunTaskCommandInput,
  RunTaskCommandOutput,
  Service,
  ServiceDeployment,
  Tag,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { ExitCode, ShipyardError } from "../errors.js";

export interface ServiceRef {
  cluster: string;
  service: string;
}

export type ServiceLookup =
  | { found: true; service: Service; tags: Record<string, string> }
  | { found: false; reason: string; clusterMissing?: true };

export interface ReadOptions {
  /** A read inside a wait: no SDK retries, bounded by `timeoutMs`. */
  poll?: { timeoutMs: number };
  signal?: AbortSignal;
}

export interface EcsClients {
  mutations: ECSClient;
  polls: ECSClient;
  /** Builds the per-read time bound of a poll (real time by default). */
  requestSignal?: (ms: number) => AbortSignal;
}

const sdk = () => import("@aws-sdk/client-ecs");

export class Ecs {
  /** Set once a call that changes a service was sent (UpdateService, StopServiceDeployment, RunTask). */
  serviceChanged = false;
  /** Operation names sent, in order (for reports and tests; never their inputs). */
  readonly sent: string[] = [];

  constructor(private readonly clients: EcsClients) {}

  private async send<T>(operation: string, command: unknown, options: ReadOptions = {}): Promise<T> {
    this.sent.push(operation);
    const client = options.poll ? this.clients.polls : this.clients.mutations;
    const signals: AbortSignal[] = [];
    if (options.signal) signals.push(options.signal);
    if (options.poll) {
      const bound = this.clients.requestSignal ?? ((ms: number) => AbortSignal.timeout(ms));
      signals.push(bound(options.poll.timeoutMs));
    }
    const abortSignal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    // The SDK's send is overloaded per command; the gateway is the one place that erases the type.
    const send = client.send.bind(client) as (c: unknown, o?: { abortSignal?: AbortSignal }) => Promise<T>;
    return send(command, abortSignal ? { abortSignal } : undefined);
  }

  /** One DescribeServices call (with tags). */
  async describeService(ref: ServiceRef, options: ReadOptions = {}): Promise<ServiceLookup> {
    const { DescribeServicesCommand } = await sdk();
    let answer: { services?: Service[]; failures?: Array<{ reason?: string }> };
    try {
      answer = await this.send(
        "DescribeServices",
        new DescribeServicesCommand({ cluster: ref.cluster, services: [ref.service], include: ["TAGS"] }),
        options,
      );
    } catch (error) {
      if (awsErrorName(error) === "ClusterNotFoundException") {
        return { found: false, reason: `cluster "${ref.cluster}" does not exist in this account/region` };
      }
      throw error;
    }
    const service = answer.services?.[0];
    if (service === undefined) {
      const why = answer.failures?.[0]?.reason ?? "MISSING";
      return {
        found: false,
        reason: `service "${ref.service}" in cluster "${ref.cluster}" was not found (${why})`,
      };
    }
    return { found: true, service, tags: tagMap(service.tags) };
  }

  /**
   * Several services of one cluster by name: one DescribeServices (with tags) per ten names (the
   * API's limit), sent together, so a wait's poll costs ceil(N/10) calls. Answers every name given;
   * one failed call fails the read (a wait takes it as no news about all of them).
   */
  async describeServicesByName(
    cluster: string,
    names: string[],
    options: ReadOptions = {},
  ): Promise<Map<string, ServiceLookup>> {
    const unique = [...new Set(names)];
    const batches: string[][] = [];
    for (let i = 0; i < unique.length; i += 10) batches.push(unique.slice(i, i + 10));
    const lookups = new Map<string, ServiceLookup>();
    try {
      const answers = await Promise.all(batches.map((batch) => this.describeBatch(cluster, batch, options)));
      for (const answer of answers) for (const [name, lookup] of answer) lookups.set(name, lookup);
    } catch (error) {
      if (awsErrorName(error) !== "ClusterNotFoundException") throw error;
      const reason = `cluster "${cluster}" does not exist in this account/region`;
      for (const name of unique) lookups.set(name, { found: false, reason, clusterMissing: true });
    }
    return lookups;
  }

  /** One DescribeServices for up to ten names; each name's answer, matched by name or ARN. */
  private async describeBatch(
    cluster: string,
    names: string[],
    options: ReadOptions,
  ): Promise<Map<string, ServiceLookup>> {
    const { DescribeServicesCommand } = await sdk();
    const answer = await this.send<{
      services?: Service[];
      failures?: Array<{ arn?: string; reason?: string }>;
    }>(
      "DescribeServices",
      new DescribeServicesCommand({ cluster, services: names, include: ["TAGS"] }),
      options,
    );
    const lastPart = (nameOrArn: string | undefined) => nameOrArn?.split("/").at(-1);
    const lookups = new Map<string, ServiceLookup>();
    for (const name of names) {
      const service = (answer.services ?? []).find(
        (s) => s.serviceArn === name || s.serviceName === lastPart(name),
      );
      if (service) {
        lookups.set(name, { found: true, service, tags: tagMap(service.tags) });
        continue;
      }
      const why = answer.failures?.find((f) => lastPart(f.arn) === lastPart(name))?.reason ?? "MISSING";
      lookups.set(name, {
        found: false,
        reason: `service "${name}" in cluster "${cluster}" was not found (${why})`,
      });
    }
    return lookups;
  }

  async describeTaskDefinition(
    identifier: string,
  ): Promise<{ taskDefinition: TaskDefinition; tags: Record<string, string> }> {
    const { DescribeTaskDefinitionCommand } = await sdk();
    const answer = await this.send<{ taskDefinition?: TaskDefinition; tags?: Tag[] }>(
      "DescribeTaskDefinition",
      new DescribeTaskDefinitionCommand({ taskDefinition: identifier, include: ["TAGS"] }),
    );
    if (!answer.taskDefinition) {
      throw new ShipyardError(`ECS returned no task definition for ${identifier}.`, {
        exitCode: ExitCode.NeedsAttention,
      });
    }
    return { taskDefinition: answer.taskDefinition, tags: tagMap(answer.tags) };
  }

  /**
   * One page of ListTaskDefinitions (ACTIVE revisions), newest first. ECS matches `familyPrefix` as
   * a prefix and sorts by family, then revision: callers keep only their own family.
   */
  async listTaskDefinitions(
    familyPrefix: string,
    page: { maxResults: number; nextToken?: string },
  ): Promise<{ arns: string[]; nextToken: string | undefined }> {
    const { ListTaskDefinitionsCommand } = await sdk();
    const answer = await this.send<{ taskDefinitionArns?: string[]; nextToken?: string }>(
      "ListTaskDefinitions",
      new ListTaskDefinitionsCommand({
        familyPrefix,
        sort: "DESC",
        maxResults: page.maxResults,
        ...(page.nextToken ? { nextToken: page.nextToken } : {}),
      }),
    );
    return { arns: answer.taskDefinitionArns ?? [], nextToken: answer.nextToken || undefined };
  }

  async registerTaskDefinition(input: RegisterTaskDefinitionCommandInput): Promise<TaskDefinition> {
    const { RegisterTaskDefinitionCommand } = await sdk();
    const answer = await this.send<{ taskDefinition?: TaskDefinition }>(
      "RegisterTaskDefinition",
      new RegisterTaskDefinitionCommand(input),
    );
    if (!answer.taskDefinition?.taskDefinitionArn) {
      throw new ShipyardError("RegisterTaskDefinition answered without a task definition ARN.", {
        exitCode: ExitCode.NeedsAttention,
      });
    }
    return answer.taskDefinition;
  }

  /** Points the service at a revision; returns the service as ECS answered. */
  async updateService(
    ref: ServiceRef,
    taskDefinition: string,
    deploymentConfiguration: DeploymentConfiguration,
  ): Promise<Service | undefined> {
    const { UpdateServiceCommand } = await sdk();
    this.serviceChanged = true;
    const answer = await this.send<{ service?: Service }>(
      "UpdateService",
      new UpdateServiceCommand({
        cluster: ref.cluster,
        service: ref.service,
        taskDefinition,
        deploymentConfiguration,
      }),
    );
    return answer.service;
  }

  async tagResource(resourceArn: string, tags: Record<string, string>): Promise<void> {
    const { TagResourceCommand } = await sdk();
    await this.send(
      "TagResource",
      new TagResourceCommand({
        resourceArn,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      }),
    );
  }

  async untagResource(resourceArn: string, tagKeys: string[]): Promise<void> {
    if (tagKeys.length === 0) return;
    const { UntagResourceCommand } = await sdk();
    await this.send("UntagResource", new UntagResourceCommand({ resourceArn, tagKeys }));
  }

  /** CreateService (a preview's): ECS starts its first deployment at once. */
  async createService(input: CreateServiceCommandInput): Promise<Service> {
    const { CreateServiceCommand } = await sdk();
    this.serviceChanged = true;
    const answer = await this.send<{ service?: Service }>("CreateService", new CreateServiceCommand(input));
    if (!answer.service?.serviceArn) {
      throw new ShipyardError("CreateService answered without a service ARN.", {
        exitCode: ExitCode.NeedsAttention,
      });
    }
    return answer.service;
  }

  /** UpdateService with only a desired count (scaling a preview to zero before it is deleted). */
  async scaleService(ref: ServiceRef, desiredCount: number): Promise<void> {
    const { UpdateServiceCommand } = await sdk();
    this.serviceChanged = true;
    await this.send(
      "UpdateService",
      new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, desiredCount }),
    );
  }

  /** DeleteService: the service drains and becomes INACTIVE. */
  async deleteService(ref: ServiceRef): Promise<void> {
    const { DeleteServiceCommand } = await sdk();
    this.serviceChanged = true;
    await this.send(
      "DeleteService",
      new DeleteServiceCommand({ cluster: ref.cluster, service: ref.service, force: true }),
    );
  }

  /** Every service ARN of a cluster (all pages). */
  async listServices(cluster: string): Promise<string[]> {
    const { ListServicesCommand } = await sdk();
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const answer = await this.send<{ serviceArns?: string[]; nextToken?: string }>(
        "ListServices",
        new ListServicesCommand({ cluster, maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
      );
      arns.push(...(answer.serviceArns ?? []));
      nextToken = answer.nextToken || undefined;
    } while (nextToken);
    return arns;
  }

  /** DescribeServices with their tags, ten at a time (the API's limit). */
  async describeServices(cluster: string, services: string[]): Promise<Service[]> {
    const { DescribeServicesCommand } = await sdk();
    const found: Service[] = [];
    for (let i = 0; i < services.length; i += 10) {
      const answer = await this.send<{ services?: Service[] }>(
        "DescribeServices",
        new DescribeServicesCommand({ cluster, services: services.slice(i, i + 10), include: ["TAGS"] }),
      );
      found.push(...(answer.services ?? []));
    }
    return found;
  }

  /**
   * The service deployment ECS created for our UpdateService (null when the endpoint has no such
   * API). Matched by creation time; the lock and the preflight made sure no other one started.
   */
  async findServiceDeployment(ref: ServiceRef, createdAfterMs: number): Promise<string | null> {
    const { ListServiceDeploymentsCommand } = await sdk();
    try {
      const answer = await this.send<{
        serviceDeployments?: Array<{ createdAt?: Date; serviceDeploymentArn?: string }>;
      }>(
        "ListServiceDeployments",
        new ListServiceDeploymentsCommand({
          cluster: ref.cluster,
          service: ref.service,
          // Allow for clock skew between this runner and AWS.
          createdAt: { after: new Date(createdAfterMs - 60_000) },
        }),
      );
      const newest = [...(answer.serviceDeployments ?? [])].sort(
        (a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0),
      )[0];
      return newest?.serviceDeploymentArn ?? null;
    } catch (error) {
      if (isUnsupportedOperation(error)) return null;
      throw error;
    }
  }

  async describeServiceDeployment(arn: string, options: ReadOptions = {}): Promise<ServiceDeployment | null> {
    const { DescribeServiceDeploymentsCommand } = await sdk();
    try {
      const answer = await this.send<{ serviceDeployments?: ServiceDeployment[] }>(
        "DescribeServiceDeployments",
        new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }),
        options,
      );
      return answer.serviceDeployments?.[0] ?? null;
    } catch (error) {
      if (isUnsupportedOperation(error)) return null;
      throw error;
    }
  }

  async stopServiceDeployment(arn: string): Promise<void> {
    const { StopServiceDeploymentCommand } = await sdk();
    this.serviceChanged = true;
    await this.send(
      "StopServiceDeployment",
      new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" }),
    );
  }

  async runTask(input: RunTaskCommandInput, signal?: AbortSignal): Promise<RunTaskCommandOutput> {
    const { RunTaskCommand } = await sdk();
    this.serviceChanged = true;
    return this.send("RunTask", new RunTaskCommand(input), signal ? { signal } : {});
  }

  async describeTask(cluster: string, taskArn: string, options: ReadOptions = {}): Promise<Task | undefined> {
    const { DescribeTasksCommand } = await sdk();
    const answer = await this.send<{ tasks?: Task[] }>(
      "DescribeTasks",
      new DescribeTasksCommand({ cluster, tasks: [taskArn] }),
      options,
    );
    return answer.tasks?.[0];
  }

  /**
   * One page of ListTasks: the tasks a deployment started (`startedBy` is the deployment id for a
   * service's tasks), RUNNING or STOPPED (ECS keeps stopped tasks visible for about an hour).
   */
  async listTasks(
    cluster: string,
    filter: {
      startedBy?: string;
      serviceName?: string;
      family?: string;
      desiredStatus: "RUNNING" | "STOPPED";
      maxResults?: number;
    },
    options: ReadOptions = {},
  ): Promise<string[]> {
    const { ListTasksCommand } = await sdk();
    const answer = await this.send<{ taskArns?: string[] }>(
      "ListTasks",
      new ListTasksCommand({
        cluster,
        desiredStatus: filter.desiredStatus,
        ...(filter.startedBy ? { startedBy: filter.startedBy } : {}),
        ...(filter.serviceName ? { serviceName: filter.serviceName } : {}),
        ...(filter.family ? { family: filter.family } : {}),
        maxResults: filter.maxResults ?? 100,
      }),
      options,
    );
    return answer.taskArns ?? [];
  }

  /** DescribeTasks for up to 100 tasks at once. */
  async describeTasks(cluster: string, taskArns: string[], options: ReadOptions = {}): Promise<Task[]> {
    if (taskArns.length === 0) return [];
    const { DescribeTasksCommand } = await sdk();
    const answer = await this.send<{ tasks?: Task[] }>(
      "DescribeTasks",
      new DescribeTasksCommand({ cluster, tasks: taskArns.slice(0, 100) }),
      options,
    );
    return answer.tasks ?? [];
  }

  /** Deliberately not tied to an abort signal: a cancelled run must still stop its task. */
  async stopTask(cluster: string, taskArn: string, reason: string): Promise<void> {
    const { StopTaskCommand } = await sdk();
    await this.send("StopTask", new StopTaskCommand({ cluster, task: taskArn, reason }));
  }
}

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));
}

/** The error's AWS type name (ThrottlingException, ClusterNotFoundException...) or "Error". */
export function awsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}

/** Endpoints without the service-deployment APIs (moto, older ECS-compatible servers). */
export function isUnsupportedOperation(error: unknown): boolean {
  const name = awsErrorName(error);
  return (
    name === "UnknownOperationException" ||
    name === "UnsupportedOperation" ||
    name === "NotImplemented" ||
    name === "InvalidAction" ||
    /not (yet )?(implemented|supported)/i.test(error instanceof Error ? error.message : "")
  );
}

/** "arn:...:task-definition/web:12" → "web:12", for messages. */
export function shortArn(arn: string | undefined | null): string {
  if (!arn) return "(none)";
  return arn.split("/").at(-1) ?? arn;
}

/** "41" means revision 41 of the family the service runs; anything else is passed as given. */
export function revisionIdentifier(input: string, currentArn: string): string {
  const family = shortArn(currentArn).split(":")[0] ?? "";
  return /^\d+$/.test(input) ? `${family}:${input}` : input;
}
