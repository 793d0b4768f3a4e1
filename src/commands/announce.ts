/**
 * Tells the outside world about a deploy or a rollback: GitHub Deployments (in GitHub Actions, with a
 * token) and the environment's `notify` channels (Slack, a webhook). `deploy` announces its start
 * and its end, `rollback` its end. Nothing here can fail a command or change its exit code: a channel
 * that refuses, breaks or hangs becomes a warning in the report. Every body sent is scrubbed first,
 * and the GitHub token and the webhook URLs are secrets of the run before the command does anything.
 */
import { shortArn } from "../aws/ecs.js";
import { NOTIFY_EVENTS, type NotifyEvent } from "../config/schema.js";
import { releaseOf } from "../config/taskdef.js";
import { TAG } from "../deploy/revisions.js";
import { ExitCode, messageOf } from "../errors.js";
import { DELIVERY_TIMEOUT_MS, type Delivery, postJson } from "../report/delivery.js";
import { type DeploymentStatus, GitHubDeployments, type GitHubRepository } from "../report/github.js";
import { type Announcement, headline, slackMessage, webhookBody } from "../report/notify.js";
import { type Report, verifiedBy } from "../report/report.js";
import type { EnvironmentContext } from "./context.js";

/** What a deploy knows when it starts. */
export interface DeployStart {
  image: string;
  release: string;
  commit: string | undefined;
}

/** Where the token for GitHub Deployments is read, first match wins. */
export const GITHUB_TOKEN_VARIABLES = ["SHIPYARD_GITHUB_TOKEN", "GITHUB_TOKEN"] as const;

interface Channel {
  name: string;
  url: string;
  body(announcement: Announcement): unknown;
}

/**
 * Runs a command's story with an Announcer: whatever it returns is announced (with the warnings of
 * announcing added); whatever it throws is announced as a failure, then thrown on.
 */
export async function announced(
  ctx: EnvironmentContext,
  work: (announcer: Announcer) => Promise<Report>,
): Promise<Report> {
  const announcer = new Announcer(ctx);
  let report: Report;
  try {
    report = await work(announcer);
  } catch (error) {
    await announcer.thrown(error);
    throw error;
  }
  return announcer.finished(report);
}

export class Announcer {
  private readonly channels: Channel[] = [];
  /** Channels configured but not usable in this run (their variable is unset): said once. */
  private readonly unusable: string[] = [];
  private readonly on: readonly NotifyEvent[];
  private readonly github: GitHubRepository | null;
  private readonly delivery: Delivery;
  private readonly runUrl: string | null;
  private client: Promise<GitHubDeployments> | null = null;
  private start: DeployStart | null = null;
  private deploymentId: number | null = null;
  /** After one GitHub call failed, the rest of the run leaves GitHub alone (no second wait). */
  private githubFailed = false;

  constructor(private readonly ctx: EnvironmentContext) {
    const { env } = ctx.runtime;
    const notify = ctx.environment.notify;
    const key = `environments.${ctx.environmentName}.notify`;
    this.on = notify?.on ?? NOTIFY_EVENTS;
    if (notify?.slack) this.addChannel("Slack", notify.slack.webhookUrlEnv, `${key}.slack`, slackMessage);
    if (notify?.webhook) this.addChannel("the webhook", notify.webhook.urlEnv, `${key}.webhook`, webhookBody);
    this.github = githubRepository(env);
    if (this.github) ctx.output.scrubber.add(this.github.token);
    this.runUrl = runUrlOf(env);
    this.delivery = {
      fetch: ctx.runtime.fetch ?? ((input, init) => fetch(input, init)),
      requestSignal: ctx.runtime.requestSignal ?? ((ms) => AbortSignal.timeout(ms)),
      timeoutMs: DELIVERY_TIMEOUT_MS,
    };
  }

  /** The deploy starts: notify `start`, create the GitHub deployment and mark it in progress. */
  async started(start: DeployStart): Promise<void> {
    this.start = start;
    const warnings = await this.safely(() =>
      this.tell(this.announcement("start", { release: start.release, image: start.image }), () =>
        this.createDeployment(start),
      ),
    );
    for (const warning of warnings) {
      this.ctx.output.warn(`${warning}.`);
      this.ctx.report.warn(warning);
    }
  }

  /** The command returned its report: announce how it ended; the report gains the warnings. */
  async finished(report: Report): Promise<Report> {
    const warnings = await this.safely(() =>
      report.command === "rollback" ? this.rollbackEnded(report) : this.deployEnded(report),
    );
    if (warnings.length === 0) return report;
    return { ...report, warnings: [...new Set([...(report.warnings ?? []), ...warnings])] };
  }

  /** The command threw (its report is made by the runner): a started deploy is announced as failed. */
  async thrown(error: unknown): Promise<void> {
    if (this.start === null) return;
    const reason = messageOf(error);
    const warnings = await this.safely(() =>
      this.tell(this.announcement("failure", { ...this.start, reason }), () =>
        this.closeDeployment(null, reason),
      ),
    );
    for (const warning of warnings) this.ctx.report.warn(warning);
  }

  private deployEnded(report: Report): Promise<string[]> {
    if (this.start === null) return Promise.resolve([]);
    const event: NotifyEvent =
      report.outcome === "succeeded" ? "success" : report.outcome === "rolled_back" ? "rollback" : "failure";
    const announcement = this.announcement(event, { ...this.start, reason: report.reason ?? null, report });
    return this.tell(announcement, () => this.closeDeployment(report, report.reason ?? "the deploy failed"));
  }

  private rollbackEnded(report: Report): Promise<string[]> {
    const changed = report.outcome === "succeeded" && report.previousTaskDefinition !== null;
    // A refused rollback (exit 2) changed nothing: the person who ran it has the answer already.
    const broke = report.outcome === "failed" && report.exitCode !== ExitCode.BadInput;
    if (!changed && !broke) return Promise.resolve([]);
    const announcement = this.announcement(changed ? "rollback" : "failure", {
      release: report.release,
      image: report.image,
      reason: report.reason ?? null,
      report,
    });
    const target = report.taskDefinition;
    return this.tell(announcement, async () =>
      changed && target
        ? this.reactivate(target, `rolled back from ${shortArn(report.previousTaskDefinition)}`)
        : [],
    );
  }

  /** Sends one announcement to every channel that wants it and runs the GitHub part, side by side. */
  private async tell(announcement: Announcement, github: () => Promise<string[]>): Promise<string[]> {
    const warnings = this.unusable.splice(0);
    const wanted = this.on.includes(announcement.event) ? this.channels : [];
    // Scrubbed once, before any channel sees it: the report may quote what others sent us.
    const clean = this.ctx.output.scrubber.scrubValue(announcement);
    const [sent, githubWarnings] = await Promise.all([
      Promise.all(wanted.map((channel) => this.send(channel, clean))),
      this.github ? github() : Promise.resolve([]),
    ]);
    const delivered = wanted.filter((_, index) => sent[index] === null).map((channel) => channel.name);
    if (delivered.length > 0) {
      this.ctx.output.info(`Notified ${delivered.join(" and ")}: ${headline(clean)}.`);
    }
    return [...warnings, ...sent.filter((warning): warning is string => warning !== null), ...githubWarnings];
  }

  /** Null when delivered, else the warning. */
  private async send(channel: Channel, announcement: Announcement): Promise<string | null> {
    const sent = await postJson(this.delivery, channel.url, channel.body(announcement));
    return sent.ok
      ? null
      : `${channel.name} was not notified of ${announcement.event} (${sent.problem}); the ${announcement.command} itself is unaffected`;
  }

  private async createDeployment(start: DeployStart): Promise<string[]> {
    const environment = this.ctx.environmentName;
    if (!start.commit) {
      return [
        "GitHub Deployments: no commit to record (pass --commit or set GITHUB_SHA); no deployment created",
      ];
    }
    const github = await this.githubClient();
    const created = await github.create({
      ref: start.commit,
      environment,
      description: `Shipyard: ${start.release} to ${environment}`,
      payload: this.scrubbed({
        release: start.release,
        image: start.image,
        cluster: this.ctx.service.cluster,
        service: this.ctx.service.service,
      }),
    });
    if (!created.ok) return [this.githubProblem("creating the deployment", created.problem)];
    this.deploymentId = created.value;
    this.ctx.report.section("details", { githubDeployment: created.value });
    const marked = await this.postStatus(created.value, {
      state: "in_progress",
      description: `Deploying ${start.release}`,
    });
    if (marked) return [marked];
    this.ctx.output.info(
      `GitHub deployment ${created.value} of ${start.commit} to ${environment}: in progress.`,
    );
    return [];
  }

  /** success or failure on our deployment; after a rollback, the previous one is active again. */
  private async closeDeployment(report: Report | null, reason: string): Promise<string[]> {
    if (this.deploymentId === null || this.githubFailed) return [];
    const succeeded = report?.outcome === "succeeded";
    const failed = await this.postStatus(
      this.deploymentId,
      succeeded
        ? {
            state: "success",
            description: `${this.start?.release} live on ${this.ctx.environmentName}, verified by ${verifiedBy(report.checks)}`,
          }
        : { state: "failure", description: reason },
    );
    if (failed) return [failed];
    if (report?.outcome !== "rolled_back" || !report.previousTaskDefinition) return [];
    return this.reactivate(report.previousTaskDefinition, `${this.start?.release} was rolled back`);
  }

  /** Posts a fresh `success` on the newest successful deployment of the revision's release. */
  private async reactivate(taskDefinitionArn: string, why: string): Promise<string[]> {
    if (this.githubFailed) return [];
    const { release, commit } = await this.revisionFacts(taskDefinitionArn);
    const named = release ?? shortArn(taskDefinitionArn);
    if (release === null && commit === null) {
      this.ctx.output.info(`GitHub: ${named} has no release or commit to find its deployment by.`);
      return [];
    }
    const github = await this.githubClient();
    const environment = this.ctx.environmentName;
    const found = await github.lastSuccessful({ environment, sha: commit, release });
    if (!found.ok) return [this.githubProblem(`finding the deployment of ${named}`, found.problem)];
    if (found.value === null) {
      this.ctx.output.info(
        `GitHub: no successful deployment of ${named} to ${environment} to mark active again.`,
      );
      return [];
    }
    const failed = await this.postStatus(found.value, {
      state: "success",
      description: `Active again: ${why}`,
    });
    if (failed) return [failed];
    this.ctx.output.info(`GitHub deployment ${found.value} (${named}) is active on ${environment} again.`);
    return [];
  }

  /** Null when posted, else the warning. */
  private async postStatus(
    deploymentId: number,
    status: Pick<DeploymentStatus, "state" | "description">,
  ): Promise<string | null> {
    const github = await this.githubClient();
    const healthUrl = this.ctx.environment.healthCheck?.url;
    const posted = await github.status(deploymentId, {
      ...status,
      description: this.ctx.output.scrubber.scrub(status.description),
      ...(healthUrl && status.state === "success" ? { environmentUrl: new URL(healthUrl).origin } : {}),
      ...(this.runUrl ? { logUrl: this.runUrl } : {}),
    });
    return posted.ok
      ? null
      : this.githubProblem(`marking deployment ${deploymentId} ${status.state}`, posted.problem);
  }

  /** The release and commit a revision was registered with (its tags, else its SENTRY_RELEASE). */
  private async revisionFacts(arn: string): Promise<{ release: string | null; commit: string | null }> {
    try {
      const { taskDefinition, tags } = await (await this.ctx.ecs()).describeTaskDefinition(arn);
      return {
        release: releaseOf(taskDefinition, this.ctx.environment.container) ?? tags[TAG.release] ?? null,
        commit: tags[TAG.commit] ?? null,
      };
    } catch {
      // Only GitHub's view suffers; ECS problems are the command's own to report.
      return { release: null, commit: null };
    }
  }

  private githubProblem(what: string, problem: string): string {
    this.githubFailed = true;
    const denied = /^HTTP (401|403|404)\b/.test(problem)
      ? "; the token needs the deployments: write permission on the repository"
      : "";
    return `GitHub Deployments: ${what} failed (${problem})${denied}`;
  }

  private githubClient(): Promise<GitHubDeployments> {
    this.client ??= GitHubDeployments.open(this.github!, this.delivery);
    return this.client;
  }

  private announcement(
    event: NotifyEvent,
    facts: { release?: string | null; image?: string | null; reason?: string | null; report?: Report },
  ): Announcement {
    return {
      event,
      command: this.ctx.report.command === "rollback" ? "rollback" : "deploy",
      environment: this.ctx.environmentName,
      service: `${this.ctx.service.cluster}/${this.ctx.service.service}`,
      release: facts.release ?? null,
      image: facts.image ?? null,
      commit: this.start?.commit ?? null,
      reason: facts.reason ?? null,
      runUrl: this.runUrl,
      report: facts.report ?? null,
    };
  }

  private scrubbed(values: Record<string, string>): Record<string, string> {
    return this.ctx.output.scrubber.scrubValue(values);
  }

  private addChannel(name: string, variable: string, key: string, body: Channel["body"]): void {
    const url = this.ctx.runtime.env[variable]?.trim();
    if (!url) {
      this.unusable.push(`${key} names ${variable}, which is not set: ${name} is not notified`);
      return;
    }
    registerUrlSecret(this.ctx.output.scrubber, url);
    if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
      this.unusable.push(`${variable} (named by ${key}) is not an http(s) URL: ${name} is not notified`);
      return;
    }
    this.channels.push({ name, url, body });
  }

  /** Announcing never throws: what went wrong in it is a warning. */
  private async safely(work: () => Promise<string[]>): Promise<string[]> {
    try {
      return await work();
    } catch (error) {
      return [`notifications stopped on an unexpected error (${messageOf(error)})`];
    }
  }
}

/**
 * A webhook URL's secret is its path and query (Slack: /services/T…/B…/…) and any user:password;
 * the host stays readable, so messages about it still make sense.
 */
function registerUrlSecret(scrubber: EnvironmentContext["output"]["scrubber"], url: string): void {
  scrubber.addUrlCredentials(url);
  if (!URL.canParse(url)) {
    scrubber.add(url);
    return;
  }
  const { pathname, search } = new URL(url);
  if (`${pathname}${search}`.length > 1) scrubber.add(`${pathname}${search}`);
}

/** GitHub Actions with a token and a repository: deployments are recorded; anywhere else: not. */
function githubRepository(env: NodeJS.ProcessEnv): GitHubRepository | null {
  return env.GITHUB_ACTIONS === "true" ? githubAccess(env) : null;
}

/** A token and a repository, wherever the command runs (reads such as commit times need no Actions). */
export function githubAccess(env: NodeJS.ProcessEnv): GitHubRepository | null {
  const token = GITHUB_TOKEN_VARIABLES.map((name) => env[name]?.trim()).find(Boolean);
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? "").split("/");
  if (!token || !owner || !repo || rest.length > 0) return null;
  const apiUrl = (env.GITHUB_API_URL?.trim() || "https://api.github.com").replace(/\/+$/, "");
  return { apiUrl, token, owner, repo };
}

/** The Actions run's page, for people (Slack's link, the deployment's log). */
function runUrlOf(env: NodeJS.ProcessEnv): string | null {
  if (!env.GITHUB_RUN_ID || !env.GITHUB_REPOSITORY) return null;
  const server = (env.GITHUB_SERVER_URL?.trim() || "https://github.com").replace(/\/+$/, "");
  return `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
}
