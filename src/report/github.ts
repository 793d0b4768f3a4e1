/**
 * GitHub Deployments, so a repository's Environments view shows what runs where: a deploy creates a
 * deployment of its commit for the environment and moves it through `in_progress` to `success` or
 * `failure`; a rollback posts a fresh `success` on the deployment of the release it went back to, so
 * that one is the environment's active deployment again.
 *
 * Through the official client (@octokit/rest, loaded on first use) with the runtime's HTTP function,
 * its base URL from GITHUB_API_URL (GitHub Enterprise Server, tests). Every call goes through
 * `deliver`: bounded, retried once at most, and a failure is a value for a warning.
 * https://docs.github.com/en/rest/deployments/deployments
 */
import { cut, type Delivered, type Delivery, deliver } from "./delivery.js";

export interface GitHubRepository {
  /** e.g. https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server. */
  apiUrl: string;
  token: string;
  owner: string;
  repo: string;
}

export type DeploymentState = "in_progress" | "success" | "failure";

export interface DeploymentStatus {
  state: DeploymentState;
  /** Cut to GitHub's 140 characters here. */
  description: string;
  /** Where the environment answers (the origin of its health check URL). */
  environmentUrl?: string;
  /** The CI run that did it. */
  logUrl?: string;
}

export interface NewDeployment {
  /** The commit deployed. */
  ref: string;
  environment: string;
  description: string;
  payload: Record<string, string>;
}

/** GitHub's limit on a status description. */
const DESCRIPTION_LIMIT = 140;
/** How many earlier deployments of a commit are looked at for a successful one. */
const CANDIDATES = 3;

type Octokit = InstanceType<typeof import("@octokit/rest").Octokit>;

export class GitHubDeployments {
  private constructor(
    private readonly octokit: Octokit,
    private readonly repository: GitHubRepository,
    private readonly delivery: Delivery,
  ) {}

  static async open(repository: GitHubRepository, delivery: Delivery): Promise<GitHubDeployments> {
    const { Octokit } = await import("@octokit/rest");
    const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const octokit = new Octokit({
      auth: repository.token,
      baseUrl: repository.apiUrl,
      userAgent: "shipyard",
      // The client's own console logging would bypass the scrubber.
      log: quiet,
      request: { fetch: delivery.fetch },
    });
    return new GitHubDeployments(octokit, repository, delivery);
  }

  private get where() {
    return { owner: this.repository.owner, repo: this.repository.repo };
  }

  /** Creates the deployment; its id. */
  create(deployment: NewDeployment): Promise<Delivered<number>> {
    return deliver(this.delivery, async (signal) => {
      const answer = await this.octokit.rest.repos.createDeployment({
        ...this.where,
        ref: deployment.ref,
        environment: deployment.environment,
        description: cut(deployment.description, DESCRIPTION_LIMIT),
        payload: deployment.payload,
        auto_merge: false,
        required_contexts: [],
        request: { signal },
      });
      const id = (answer.data as { id?: unknown }).id;
      if (typeof id !== "number") throw new Error(`GitHub created no deployment (${answer.status})`);
      return id;
    });
  }

  /** When a commit was made (its committer date, ms), for lead time when git does not have it. */
  commitTime(sha: string): Promise<Delivered<number | null>> {
    return deliver(this.delivery, async (signal) => {
      const answer = await this.octokit.rest.repos
        .getCommit({ ...this.where, ref: sha, request: { signal } })
        .catch((error: { status?: number }) => {
          // Not in the repository (another repository's commit, a force-pushed one): unknown, not a fault.
          if (error.status === 404 || error.status === 422) return null;
          throw error;
        });
      if (answer === null) return null;
      const date = answer.data.commit.committer?.date ?? answer.data.commit.author?.date;
      const ms = date ? Date.parse(date) : Number.NaN;
      return Number.isFinite(ms) ? ms : null;
    });
  }

  status(deploymentId: number, status: DeploymentStatus): Promise<Delivered<void>> {
    return deliver(this.delivery, async (signal) => {
      await this.octokit.rest.repos.createDeploymentStatus({
        ...this.where,
        deployment_id: deploymentId,
        state: status.state,
        description: cut(status.description, DESCRIPTION_LIMIT),
        ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
        ...(status.logUrl ? { log_url: status.logUrl } : {}),
        request: { signal },
      });
    });
  }

  /**
   * The newest deployment to `environment` of `sha` (when known) carrying `release` (when it has a
   * Shipyard payload) that once reached `success`; null when there is none.
   */
  async lastSuccessful(query: {
    environment: string;
    sha: string | null;
    release: string | null;
  }): Promise<Delivered<number | null>> {
    const listed = await deliver(this.delivery, async (signal) => {
      const answer = await this.octokit.rest.repos.listDeployments({
        ...this.where,
        environment: query.environment,
        ...(query.sha ? { sha: query.sha } : {}),
        per_page: 30,
        request: { signal },
      });
      return answer.data;
    });
    if (!listed.ok) return listed;
    const candidates = listed.value
      .filter((deployment) => releaseMatches(deployment.payload, query.release, query.sha !== null))
      .slice(0, CANDIDATES);
    for (const candidate of candidates) {
      const statuses = await deliver(this.delivery, async (signal) => {
        const answer = await this.octokit.rest.repos.listDeploymentStatuses({
          ...this.where,
          deployment_id: candidate.id,
          per_page: 30,
          request: { signal },
        });
        return answer.data;
      });
      if (!statuses.ok) return statuses;
      if (statuses.value.some((status) => status.state === "success"))
        return { ok: true, value: candidate.id };
    }
    return { ok: true, value: null };
  }
}

/**
 * Whether a listed deployment is one of `release`: by the payload Shipyard wrote; a deployment made
 * by another tool (no release in its payload) counts only when the commit already matched.
 */
function releaseMatches(payload: unknown, release: string | null, commitMatched: boolean): boolean {
  const recorded = payloadRelease(payload);
  if (recorded === null || release === null) return commitMatched;
  return recorded === release;
}

function payloadRelease(payload: unknown): string | null {
  let value = payload;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  const release = (value as { release?: unknown } | null)?.release;
  return typeof release === "string" ? release : null;
}
