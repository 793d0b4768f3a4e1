/**
 * Shipyard: build, test, ship and safely deploy a Node.js (pnpm) + PostgreSQL service to AWS ECS.
 */
// The block above is the module's description: the TypeScript SDK registers the leading /** */ block
// of the file that holds the main object, whole, so it says only what users should read. Notes for
// developers go here, in line comments.
// This file is the module's public surface and nothing more: every function documents itself for
// `dagger call <fn> --help` and is a few lines over the container graphs in ./dagger and the
// commands in ./commands (the same ones the `shipyard` CLI runs).
import {
  argument,
  type Container,
  check,
  type Directory,
  dag,
  func,
  object,
  type Secret,
} from "@dagger.io/dagger";
import type { ImagePublisher } from "./commands/context.js";
import { loadApp, runSteps, skipCheck } from "./dagger/app.js";
import { cliResult, runCliContainer, shipyardCli } from "./dagger/cli-container.js";
import {
  APP_HOST,
  APP_URL_ENV,
  appService,
  appUrl,
  builtAndMigrated,
  installedApp,
  type NodeToolchain,
  postgresService,
  runScript,
  withDatabase,
  withMigrations,
} from "./dagger/containers.js";
import { surfaced } from "./dagger/failure.js";
import { validateGitHubSettings } from "./dagger/github.js";
import { buildImage, publishImage, publishReferences } from "./dagger/image.js";
import { hasScript, requireScripts } from "./dagger/manifest.js";
import { isEcrRepository, publishAuth, withLoginScrubbed } from "./dagger/registry-auth.js";
import { daggerCommand, type ModuleSecrets } from "./dagger/runtime.js";
import { nodeImage, releaseName, validateSettings } from "./dagger/settings.js";
import { InputError } from "./errors.js";

/** Database names per check: distinct, so parallel checks never share one (identical services are deduped). */
const TEST_DATABASE = "app_test";
const E2E_DATABASE = "app_e2e";
const DEV_DATABASE = "app_dev";

/**
 * Build, test, ship and safely deploy a Node.js (pnpm) + PostgreSQL service to AWS ECS.
 * Checks run the app's own scripts (lint, typecheck, test, test:e2e) against a real PostgreSQL.
 */
@object()
export class Shipyard {
  /** The repository (or app) source. */
  source: Directory;
  /** Path of the app inside the source. */
  app: string;
  /** Node.js version of every container and of the production image. */
  nodeVersion: string;
  /** Exact pnpm version, or "" to follow the app's packageManager field. */
  pnpmVersion: string;
  /** PostgreSQL image the tests run against. */
  postgresImage: string;
  /** Commit being built, or "" when unknown. */
  commit: string;
  /** URL of the source repository, for the image label. */
  sourceUrl: string;
  /** AWS access key id (read only when an AWS client is built). */
  awsAccessKeyId?: Secret;
  /** AWS secret access key. */
  awsSecretAccessKey?: Secret;
  /** Session token of temporary credentials. */
  awsSessionToken?: Secret;
  /** Sentry token for release bookkeeping and the error-rate gate. */
  sentryAuthToken?: Secret;
  /** The job's GitHub token, for GitHub Deployments (read only by deploy and rollback). */
  githubToken?: Secret;
  /** owner/name of the repository the deployments are recorded in. */
  githubRepository: string;
  /** The Actions run that deploys, for the deployment's log link. */
  githubRunId: string;
  /** GitHub's web address (GitHub Enterprise Server), or "" for github.com. */
  githubServerUrl: string;
  /** GitHub's REST API address (GitHub Enterprise Server), or "" for api.github.com. */
  githubApiUrl: string;

  /**
   * Point Shipyard at an app.
   *
   * @param source The repository to work on. Defaults to the root of the git repository the module is called from; node_modules, .git, dist and Dagger's own files are never uploaded.
   * @param app Path of the app inside the source, where its package.json and pnpm-lock.yaml are, e.g. "services/api". "." when the source is the app.
   * @param nodeVersion Node.js version for checks and the production image: 24 (LTS, default) or 22, optionally a full version such as 24.11.1.
   * @param pnpmVersion Exact pnpm version to install, e.g. 10.18.3. Empty (default): corepack uses the app's packageManager field.
   * @param postgresImage PostgreSQL image the test and e2e checks run against; match production's major version.
   * @param commit The git commit being built (e.g. $GITHUB_SHA): tags the image, labels it and is the default release name.
   * @param sourceUrl URL of the source repository, e.g. https://github.com/acme/api, recorded as the image's org.opencontainers.image.source label.
   * @param awsAccessKeyId AWS access key id for plan, deploy, rollback, status, migrate and verify, e.g. env://AWS_ACCESS_KEY_ID. Read only when an AWS client is built; never printed.
   * @param awsSecretAccessKey AWS secret access key, e.g. env://AWS_SECRET_ACCESS_KEY.
   * @param awsSessionToken Session token of temporary credentials (OIDC role, assumed role), e.g. env://AWS_SESSION_TOKEN.
   * @param sentryAuthToken Sentry token with org:read, project:read and project:releases (the error-rate gate and release bookkeeping), e.g. env://SENTRY_AUTH_TOKEN.
   * @param githubToken GitHub token with deployments: write, to record deploys and rollbacks as GitHub Deployments (needs --github-repository), e.g. env://GITHUB_TOKEN with GITHUB_TOKEN set from the job's github.token. Read only by deploy and rollback; never printed.
   * @param githubRepository Repository the GitHub Deployments are recorded in, as owner/name, e.g. acme/api (in a workflow: ${{ github.repository }}). Without --github-token nothing is recorded.
   * @param githubRunId The Actions run that deploys (${{ github.run_id }}): each deployment status links to its log.
   * @param githubServerUrl GitHub's address for that link on GitHub Enterprise Server (${{ github.server_url }}). Empty (default): https://github.com.
   * @param githubApiUrl GitHub's REST API on GitHub Enterprise Server (${{ github.api_url }}). Empty (default): https://api.github.com.
   */
  constructor(
    @argument({
      defaultPath: "/",
      ignore: [
        "**/node_modules",
        "**/.git",
        "**/dist",
        "**/coverage",
        ".dagger",
        "sdk",
        "**/.env",
        "**/*.log",
      ],
    })
    source: Directory,
    app = ".",
    nodeVersion = "24",
    pnpmVersion = "",
    postgresImage = "postgres:16",
    commit = "",
    sourceUrl = "",
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    sentryAuthToken?: Secret,
    githubToken?: Secret,
    githubRepository = "",
    githubRunId = "",
    githubServerUrl = "",
    githubApiUrl = "",
  ) {
    const settings = validateSettings({ app, nodeVersion, pnpmVersion, postgresImage, commit, sourceUrl });
    const github = validateGitHubSettings(
      {
        repository: githubRepository,
        runId: githubRunId,
        serverUrl: githubServerUrl,
        apiUrl: githubApiUrl,
      },
      githubToken !== undefined,
    );
    this.source = source;
    this.app = settings.app;
    this.nodeVersion = settings.nodeVersion;
    this.pnpmVersion = settings.pnpmVersion;
    this.postgresImage = settings.postgresImage;
    this.commit = settings.commit;
    this.sourceUrl = settings.sourceUrl;
    this.awsAccessKeyId = awsAccessKeyId;
    this.awsSecretAccessKey = awsSecretAccessKey;
    this.awsSessionToken = awsSessionToken;
    this.sentryAuthToken = sentryAuthToken;
    this.githubToken = githubToken;
    this.githubRepository = github.repository;
    this.githubRunId = github.runId;
    this.githubServerUrl = github.serverUrl;
    this.githubApiUrl = github.apiUrl;
  }

  /**
   * Run the app's `lint` and `typecheck` scripts (whichever exist), in parallel; every failure is reported. Passes with a note when the app has neither.
   */
  @func()
  @check()
  async lint(): Promise<void> {
    return surfaced(async () => {
      const app = await loadApp(this.source, this.app);
      const scripts = ["lint", "typecheck"].filter((script) => hasScript(app.manifest, script));
      if (scripts.length === 0) return skipCheck(app, "lint", ["lint", "typecheck"]);
      const installed = installedApp(this.toolchain(), app.dir);
      await runSteps(
        scripts.map((script) => ({
          fn: "lint",
          step: `The ${script} script`,
          container: runScript(installed, script),
        })),
      );
    });
  }

  /**
   * Run the app's `test` script against a fresh PostgreSQL bound as `db` (DATABASE_URL is set), after its `migrate` script (built first when the app has a `build` script). Passes with a note when the app has no `test` script.
   */
  @func()
  @check()
  async test(): Promise<void> {
    return surfaced(async () => {
      const app = await loadApp(this.source, this.app);
      if (!hasScript(app.manifest, "test")) return skipCheck(app, "test", ["test"]);
      const database = postgresService(this.postgresImage, TEST_DATABASE);
      const ready = withMigrations(
        withDatabase(installedApp(this.toolchain(), app.dir), database, TEST_DATABASE),
        {
          build: hasScript(app.manifest, "build"),
          migrate: hasScript(app.manifest, "migrate"),
        },
      );
      await runSteps([{ fn: "test", step: "The test check", container: runScript(ready, "test") }]);
    });
  }

  /**
   * Build the app, migrate its own PostgreSQL, start it with its `start` script as a service bound as `app`, then run its `test:e2e` script against it over HTTP (APP_URL=http://app:3000; DATABASE_URL points at the same database). Passes with a note when the app has no `test:e2e` script; with one, `build` and `start` are required.
   */
  @func()
  @check()
  async e2e(): Promise<void> {
    return surfaced(async () => {
      const app = await loadApp(this.source, this.app);
      if (!hasScript(app.manifest, "test:e2e")) return skipCheck(app, "e2e", ["test:e2e"]);
      requireScripts(app.manifest, ["build", "start"], "e2e", app.manifestPath);
      const installed = installedApp(this.toolchain(), app.dir);
      const database = postgresService(this.postgresImage, E2E_DATABASE);
      const ready = builtAndMigrated(installed, database, E2E_DATABASE, hasScript(app.manifest, "migrate"));
      const tests = ready
        .withServiceBinding(APP_HOST, appService(ready))
        .withEnvVariable(APP_URL_ENV, appUrl());
      await runSteps([{ fn: "e2e", step: "The e2e check", container: runScript(tests, "test:e2e") }]);
    });
  }

  /**
   * Build the production image: the app's own Dockerfile if it has one, else Shipyard's default multi-stage Dockerfile. Labelled with the OCI revision, source and version.
   *
   * @param release Release name baked into the image (SENTRY_RELEASE build arg, version label). Default: the commit, else "dev".
   */
  @func()
  async build(release = ""): Promise<Container> {
    return surfaced(async () => {
      const app = await loadApp(this.source, this.app);
      return buildImage({
        appDir: app.dir,
        appHasDockerfile: await app.dir.exists("Dockerfile"),
        defaultDockerfile: dag.currentModule().source().file("Dockerfile"),
        nodeImage: nodeImage(this.nodeVersion),
        release: releaseName(release, this.commit),
        commit: this.commit,
        sourceUrl: this.sourceUrl,
      });
    });
  }

  /**
   * Build and push the image, tagged with the commit (and any extra tags). Returns the pushed reference WITH its digest: deploy that, never a tag. To Amazon ECR it logs in by itself with the module's AWS credentials (no --username or --password).
   *
   * @param repository Image repository without tag, e.g. ghcr.io/acme/api or 123456789012.dkr.ecr.eu-central-1.amazonaws.com/api.
   * @param username Registry user name, e.g. the GitHub actor for ghcr.io. Not needed for Amazon ECR.
   * @param password Registry password or token, e.g. env://GITHUB_TOKEN. Never printed. Not needed for Amazon ECR: Shipyard asks ECR for a login token (GetAuthorizationToken) with the module's AWS credentials.
   * @param tags Extra tags besides the commit, e.g. latest or staging (an ECR repository with immutable tags refuses a tag that moves).
   * @param release Release name baked into the image. Default: the commit.
   * @param createRepository Amazon ECR only: create the repository when it does not exist, with scan on push and immutable tags. Default: a missing repository is an error naming the command that creates it.
   */
  @func({ cache: "never" })
  async publish(
    repository: string,
    username = "",
    password?: Secret,
    tags: string[] = [],
    release = "",
    createRepository = false,
  ): Promise<string> {
    return surfaced(async () => {
      const references = publishReferences({ repository, commit: this.commit, extraTags: tags });
      const auth = await publishAuth({
        repository,
        username,
        password,
        createRepository,
        secrets: this.secrets(),
        env: process.env,
      });
      const image = await this.build(release);
      return withLoginScrubbed(auth, () => publishImage(image, references, auth));
    });
  }

  /**
   * A container with the app's source, its dependencies installed and a PostgreSQL bound as `db` (DATABASE_URL set): the same setup as the test check. Use `dagger call dev terminal`, then e.g. `pnpm run migrate && pnpm test`.
   */
  @func()
  async dev(): Promise<Container> {
    return surfaced(async () => {
      const app = await loadApp(this.source, this.app);
      const database = postgresService(this.postgresImage, DEV_DATABASE);
      return withDatabase(
        installedApp(this.toolchain(), app.dir),
        database,
        DEV_DATABASE,
      ).withDefaultTerminalCmd(["sh"]);
    });
  }

  /**
   * Lint the app's SQL migrations with squawk for what breaks a rolling deploy (locks, drops, renames, NOT NULL...): fails when one is unsafe. Runs in a Debian Node image (squawk needs glibc). Passes when the app has neither shipyard.json nor a migrations/ folder.
   */
  @func()
  @check()
  async migrateLint(): Promise<void> {
    return surfaced(async () => {
      const dir = this.appDirectory();
      const [hasConfig, hasMigrations] = await Promise.all([
        dir.exists("shipyard.json"),
        dir.exists("migrations"),
      ]);
      if (!hasConfig && !hasMigrations) {
        // Nothing says where migrations live: an app without SQL migrations must still pass `dagger check`.
        process.stderr.write("No shipyard.json and no migrations/ folder: no migrations to lint.\n");
        return;
      }
      const run = await runCliContainer(shipyardCli(this.nodeVersion, dir), ["migrate-lint", "--json"]);
      cliResult(run, "Migration lint");
      process.stderr.write(run.stderr);
    });
  }

  /**
   * Show what a deploy would change (rendered task definition, deployment settings, image) without changing anything. Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. staging or production.
   * @param image Image to plan with, by digest (repo@sha256:...). Default: the image the service runs now.
   * @param release Release name to render. Default: the commit, else the digest.
   */
  @func({ cache: "never" })
  async plan(env: string, image = "", release = ""): Promise<string> {
    return this.command("plan", { env, image, release });
  }

  /**
   * Deploy to an environment: lint and run migrations, register the task definition, roll out, wait on THIS deployment, verify, and roll back by itself when anything fails. Returns the JSON report; fails (with the report) unless the release is live and verified.
   *
   * @param env Environment in shipyard.json, e.g. staging or production.
   * @param image Image to deploy, by digest (repo@sha256:...), as `publish` printed it. Empty: build and publish this source first (needs --commit, and --registry-password unless the repository is in Amazon ECR).
   * @param release Release name (Sentry, /version). Default: the commit, else the digest.
   * @param registryUsername Registry user, only used without --image.
   * @param registryPassword Registry password or token, only used without --image, e.g. env://GITHUB_TOKEN. Not needed for Amazon ECR.
   * @param skipRequires Deploy even when the environment named by `requires` cannot be confirmed to run this image verified (e.g. another AWS account); reported as a warning.
   */
  @func({ cache: "never" })
  async deploy(
    env: string,
    image = "",
    release = "",
    registryUsername = "",
    registryPassword?: Secret,
    skipRequires = false,
  ): Promise<string> {
    const publish = async (repository: string, name: string) => {
      // Amazon ECR logs in with the module's AWS credentials; any other registry needs a password.
      if (!registryPassword && !isEcrRepository(repository)) {
        throw new InputError(
          "Without --image, deploy builds and publishes first, and that needs registry credentials.",
          [],
          "pass --image=<the reference publish printed>, or --registry-username=USER --registry-password=env://TOKEN",
        );
      }
      return this.publish(repository, registryUsername, registryPassword, [], name);
    };
    return this.command("deploy", { env, image, release, commit: this.commit, skipRequires }, publish);
  }

  /**
   * Put an environment back on its last good task definition (or --to a given revision) and wait until it is stable. Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. production.
   * @param to Revision to return to: an ARN, family:revision or a revision number. Default: the last good one Shipyard recorded.
   * @param service Roll back only this service of the environment (default: every service and scheduled task).
   */
  @func({ cache: "never" })
  async rollback(env: string, to = "", service = ""): Promise<string> {
    return this.command("rollback", { env, to, service });
  }

  /**
   * What an environment runs now: task definition, image, release, deployments in flight, last good revision. Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. production.
   */
  @func({ cache: "never" })
  async status(env: string): Promise<string> {
    return this.command("status", { env });
  }

  /**
   * The last deploys and rollbacks of an environment (when, release, commit, outcome, duration, where a rollback went, who ran it), read from the tags every deploy leaves on its revision. Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. production.
   * @param limit How many of the newest revisions to read (1-100; default 20); one AWS call each.
   */
  @func({ cache: "never" })
  async history(env: string, limit = ""): Promise<string> {
    return this.command("history", { env, limit });
  }

  /**
   * Delivery metrics of an environment over a window: deploy frequency, lead time for changes (commit time from git when the app source is a checkout), change failure rate and time to restore. Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. production.
   * @param days The window: the last N days up to now (1-366; default 30).
   */
  @func({ cache: "never" })
  async metrics(env: string, days = ""): Promise<string> {
    return this.command("metrics", { env, days });
  }

  /**
   * Create or update the preview of a pull request: a copy of the environment named by `previews` in shipyard.json, with its own service, host name, target group, listener rule and database; a second call is a normal deploy of that service (with rollback). Returns the JSON report with the URL.
   *
   * @param pr The pull request's number: the preview's names, host and database come from it, and from nothing else.
   * @param image Image by digest (repo@sha256:...).
   * @param release Release name for Sentry and the revision's tags. Default: the commit or the image digest.
   */
  @func({ cache: "never" })
  async previewUp(pr: string, image: string, release = ""): Promise<string> {
    return this.command("preview-up", { pr, image, release, commit: this.commit });
  }

  /**
   * Remove the preview of a pull request: its service (scaled to 0 first), listener rule, target group and database. Safe to run twice. Returns the JSON report of what it removed.
   *
   * @param pr The pull request's number.
   */
  @func({ cache: "never" })
  async previewDown(pr: string): Promise<string> {
    return this.command("preview-down", { pr });
  }

  /**
   * List the previews that exist (found by their tags only), with their URL, commit and expiry. Returns the JSON report.
   */
  @func({ cache: "never" })
  async previewList(): Promise<string> {
    return this.command("preview-list", {});
  }

  /**
   * Remove expired and orphaned previews (only resources tagged as Shipyard previews). Returns the JSON report of what it removed.
   *
   * @param olderThan Also remove previews not updated for this long (7d, 48h). Default: only expired and orphaned ones.
   * @param dryRun List what would be removed, remove nothing.
   */
  @func({ cache: "never" })
  async previewGc(olderThan = "", dryRun = false): Promise<string> {
    return this.command("preview-gc", { olderThan, dryRun });
  }

  /**
   * Run the app's migrations now, as a one-off ECS task from a task definition revision, without changing the service (e.g. after fixing the database by hand). Returns the JSON report.
   *
   * @param env Environment in shipyard.json, e.g. staging.
   * @param taskDefinition Revision whose image runs the migrations: a number (same family), family:revision or an ARN. Default: the one the service runs now.
   */
  @func({ cache: "never" })
  async migrate(env: string, taskDefinition = ""): Promise<string> {
    return this.command("migrate", { env, taskDefinition });
  }

  /**
   * Check the release an environment runs NOW, changing nothing: the health smoke test, then the Sentry error-rate gate against the previous release. Returns the JSON report; fails unless the release is healthy. AWS credentials are needed only to find the releases.
   *
   * @param env Environment in shipyard.json, e.g. production.
   * @param release Release to judge. Default: SENTRY_RELEASE of the running task definition.
   * @param previousRelease Baseline release. Default: SENTRY_RELEASE of the revision before it.
   * @param noBaseline Judge against the configured absolute error rate instead of a previous release.
   * @param since How far back to read the release, e.g. 600, 10m or 2h. Default: the environment's verify.baselineSeconds.
   * @param watch Watch the full verification window, as a deploy would, instead of judging what is already there.
   */
  @func({ cache: "never" })
  async verify(
    env: string,
    release = "",
    previousRelease = "",
    noBaseline = false,
    since = "",
    watch = false,
  ): Promise<string> {
    return this.command("verify", { env, release, previousRelease, noBaseline, since, watch });
  }

  private appDirectory(): Directory {
    return this.app === "." ? this.source : this.source.directory(this.app);
  }

  /** Runs one of src/commands with this module's app and credentials. */
  private command(name: string, raw: Record<string, unknown>, publish?: ImagePublisher): Promise<string> {
    return surfaced(() =>
      daggerCommand(
        name,
        {
          dir: this.appDirectory(),
          path: this.app,
          nodeVersion: this.nodeVersion,
          secrets: { ...this.secrets(), githubToken: this.githubToken },
          github: {
            repository: this.githubRepository,
            runId: this.githubRunId,
            serverUrl: this.githubServerUrl,
            apiUrl: this.githubApiUrl,
          },
          ...(publish ? { publish } : {}),
        },
        raw,
      ),
    );
  }

  private secrets(): ModuleSecrets {
    return {
      awsAccessKeyId: this.awsAccessKeyId,
      awsSecretAccessKey: this.awsSecretAccessKey,
      awsSessionToken: this.awsSessionToken,
      sentryAuthToken: this.sentryAuthToken,
    };
  }

  private toolchain(): NodeToolchain {
    return { nodeVersion: this.nodeVersion, pnpmVersion: this.pnpmVersion };
  }
}
