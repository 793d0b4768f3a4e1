/**
 * The GitHub Actions workflows `shipyard init` writes: deploy.yml (build and push the image once, by
 * digest, then `shipyard deploy` to each environment in the order given) and rollback.yml (one click
 * back to the last good revision, or to a chosen one). AWS access is GitHub's OIDC token assuming a
 * role per environment (no stored keys); every action is pinned by commit.
 *
 * Both share one concurrency group that never cancels a run in progress: a deploy cut off mid-rollout
 * leaves ECS with nobody watching, and a rollback must not run beside a deploy.
 */

/** Pinned as in this repository's own workflows (bump them together). */
const ACTIONS = {
  checkout: "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0",
  setupNode: "actions/setup-node@a0853c24544627f65ddf259abe73b1d18a591444 # v5.0.0",
  awsCredentials: "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3",
  uploadArtifact: "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2",
} as const;

export interface WorkflowEnvironment {
  name: string;
  region: string;
}

export interface WorkflowInput {
  /** In promotion order: each deploy job waits for the one before it. */
  environments: readonly WorkflowEnvironment[];
  /** The image repository (shipyard.json `image`). */
  repository: string;
  /** The task definition runs on ARM64: build on an ARM64 runner. */
  arm64: boolean;
}

/** A GitHub Actions expression: expr("github.run_id") → ${{ github.run_id }}. */
function expr(expression: string): string {
  return `\${{ ${expression} }}`;
}

/** Repository variable holding an environment's role ARN: production → AWS_DEPLOY_ROLE_PRODUCTION. */
export function roleVariable(environment: string): string {
  return `AWS_DEPLOY_ROLE_${environment.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** The repository variable of the role that may push to Amazon ECR. */
export const PUBLISH_ROLE_VARIABLE = "AWS_PUBLISH_ROLE";

export type Registry =
  | { kind: "ecr"; host: string; region: string }
  | { kind: "ghcr"; host: string }
  | { kind: "other"; host: string };

export function registryOf(repository: string): Registry {
  const first = repository.split("/")[0] ?? "";
  const host = /[.:]/.test(first) || first === "localhost" ? first : "docker.io";
  const ecr = /^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host);
  if (ecr) return { kind: "ecr", host, region: ecr[1]! };
  if (host === "ghcr.io") return { kind: "ghcr", host };
  return { kind: "other", host };
}

const jobId = (environment: string) => `deploy-${environment}`;

export function deployWorkflow(input: WorkflowInput): string {
  const registry = registryOf(input.repository);
  const roles = input.environments.map((env) => roleVariable(env.name)).join(", ");
  const lines = [
    `# Every push to main: build and push the image once (by digest), then deploy it to ${input.environments.map((e) => e.name).join(" → ")}`,
    "# with Shipyard, which waits for ECS, verifies the release and rolls a failed one back by itself.",
    "# Written by `shipyard init`; add required reviewers to a GitHub environment (Settings → Environments)",
    "# to turn its job into an approval gate.",
    "#",
    "# AWS access comes from GitHub's OIDC token (no stored keys). Repository variables (Settings → Secrets",
    `# and variables → Actions → Variables): ${roles}${registry.kind === "ecr" ? `, ${PUBLISH_ROLE_VARIABLE}` : ""} —`,
    "# ARNs of roles that trust token.actions.githubusercontent.com for this repository and allow the",
    "# actions in Shipyard's docs/iam-policy.json (the publish role: pushing to the ECR repository).",
    "# Repository secret SENTRY_AUTH_TOKEN: only when shipyard.json configures sentry.",
    "name: deploy",
    "",
    "on:",
    "  push:",
    "    branches: [main]",
    "",
    "permissions:",
    "  contents: read",
    "",
    "concurrency:",
    "  # One deploy pipeline at a time, and NEVER cancel one in flight: a cancelled deploy can leave ECS",
    "  # mid-rollout with nobody watching. Newer pushes wait their turn (rollback.yml shares the group).",
    "  group: deploy-" + expr("github.repository"),
    "  cancel-in-progress: false",
    "",
    "jobs:",
    ...publishJob(input, registry),
    ...input.environments.flatMap((env, i) => deployJob(env, input.environments[i - 1])),
  ];
  return `${lines.join("\n")}\n`;
}

function publishJob(input: WorkflowInput, registry: Registry): string[] {
  const runner = input.arm64 ? "ubuntu-24.04-arm" : "ubuntu-24.04";
  const permissions =
    registry.kind === "ecr"
      ? ["      id-token: write"]
      : registry.kind === "ghcr"
        ? ["      packages: write"]
        : [];
  return [
    "  publish:",
    ...(input.arm64
      ? ["    # The task definition runs on ARM64 (runtimePlatform): build the image on ARM64 too."]
      : []),
    `    runs-on: ${runner}`,
    "    timeout-minutes: 30",
    "    permissions:",
    "      contents: read",
    ...permissions,
    "    outputs:",
    "      image: " + expr("steps.push.outputs.image"),
    "    steps:",
    `      - uses: ${ACTIONS.checkout}`,
    ...login(registry),
    "      - name: Build and push; keep the reference WITH digest",
    "        id: push",
    "        env:",
    `          REPOSITORY: ${input.repository}`,
    "        run: |",
    '          docker build --tag "$REPOSITORY:$GITHUB_SHA" .',
    '          docker push "$REPOSITORY:$GITHUB_SHA"',
    '          image="$(docker inspect --format \'{{index .RepoDigests 0}}\' "$REPOSITORY:$GITHUB_SHA")"',
    '          [[ "$image" =~ @sha256:[0-9a-f]{64}$ ]] || { echo "no digest for $REPOSITORY:$GITHUB_SHA: $image"; exit 1; }',
    '          echo "image=$image" >> "$GITHUB_OUTPUT"',
    '          echo "Published \\`$image\\`" >> "$GITHUB_STEP_SUMMARY"',
    "",
  ];
}

function login(registry: Registry): string[] {
  switch (registry.kind) {
    case "ecr":
      return [
        `      - uses: ${ACTIONS.awsCredentials}`,
        "        with:",
        `          role-to-assume: ${expr(`vars.${PUBLISH_ROLE_VARIABLE}`)}`,
        "          role-session-name: shipyard-publish-" + expr("github.run_id"),
        `          aws-region: ${registry.region}`,
        "      - name: Log in to Amazon ECR",
        `        run: aws ecr get-login-password --region ${registry.region} | docker login --username AWS --password-stdin ${registry.host}`,
      ];
    case "ghcr":
      return [
        "      - name: Log in to GitHub Container Registry",
        "        env:",
        "          GITHUB_TOKEN: " + expr("secrets.GITHUB_TOKEN"),
        '        run: printf \'%s\' "$GITHUB_TOKEN" | docker login ghcr.io --username "$GITHUB_ACTOR" --password-stdin',
      ];
    case "other":
      return [
        `      - name: Log in to ${registry.host}`,
        "        env:",
        "          REGISTRY_USERNAME: " + expr("secrets.REGISTRY_USERNAME"),
        "          REGISTRY_PASSWORD: " + expr("secrets.REGISTRY_PASSWORD"),
        `        run: printf '%s' "$REGISTRY_PASSWORD" | docker login ${registry.host} --username "$REGISTRY_USERNAME" --password-stdin`,
      ];
  }
}

function setupSteps(): string[] {
  return [
    `      - uses: ${ACTIONS.checkout}`,
    `      - uses: ${ACTIONS.setupNode}`,
    "        with:",
    "          node-version: 24",
    "          cache: npm",
  ];
}

function deployJob(env: WorkflowEnvironment, previous: WorkflowEnvironment | undefined): string[] {
  const report = `deploy-${env.name}.json`;
  return [
    `  ${jobId(env.name)}:`,
    `    needs: ${previous ? `[publish, ${jobId(previous.name)}]` : "publish"}`,
    "    runs-on: ubuntu-24.04",
    "    timeout-minutes: 60",
    `    environment: ${env.name}`,
    "    permissions:",
    "      contents: read",
    "      id-token: write",
    "    steps:",
    ...setupSteps(),
    `      - uses: ${ACTIONS.awsCredentials}`,
    "        with:",
    `          role-to-assume: ${expr(`vars.${roleVariable(env.name)}`)}`,
    `          role-session-name: shipyard-${env.name}-${expr("github.run_id")}`,
    `          aws-region: ${env.region}`,
    "      - run: npm ci --no-audit --no-fund",
    `      - name: Deploy to ${env.name} (rolls back by itself on failure)`,
    "        env:",
    "          IMAGE: " + expr("needs.publish.outputs.image"),
    "          SENTRY_AUTH_TOKEN: " + expr("secrets.SENTRY_AUTH_TOKEN"),
    `        run: npx shipyard deploy --env ${env.name} --image "$IMAGE" --json > ${report}`,
    `      - uses: ${ACTIONS.uploadArtifact}`,
    "        if: always()",
    "        with:",
    `          name: deploy-${env.name}-report`,
    `          path: ${report}`,
    "",
  ];
}

export function rollbackWorkflow(input: WorkflowInput): string {
  const names = input.environments.map((env) => env.name);
  const lines = [
    "# One-click rollback: Actions → rollback → Run workflow, pick the environment (and, optionally, a",
    "# revision). It runs the same `shipyard rollback` as a terminal would: back to the last good revision",
    "# recorded on the ECS service, waited on until ECS confirms it, with the report in the job summary.",
    "# A GitHub environment's required reviewers approve it like a deploy. Written by `shipyard init`.",
    "name: rollback",
    "",
    "on:",
    "  workflow_dispatch:",
    "    inputs:",
    "      environment:",
    "        description: Environment to roll back",
    "        type: choice",
    `        options: [${names.join(", ")}]`,
    "        required: true",
    "      to:",
    '        description: "Revision to return to (a number, family:revision or an ARN); empty: the last good one"',
    "        type: string",
    "        required: false",
    "",
    "permissions:",
    "  contents: read",
    "  id-token: write",
    "",
    "concurrency:",
    "  # Shares the deploy pipeline's group: a rollback never runs beside a deploy, and neither is cancelled.",
    "  group: deploy-" + expr("github.repository"),
    "  cancel-in-progress: false",
    "",
    "jobs:",
    "  rollback:",
    "    runs-on: ubuntu-24.04",
    "    timeout-minutes: 30",
    "    environment: " + expr("inputs.environment"),
    "    steps:",
    ...setupSteps(),
    `      - uses: ${ACTIONS.awsCredentials}`,
    "        with:",
    `          role-to-assume: ${byEnvironment(input.environments, (env) => `vars.${roleVariable(env.name)}`)}`,
    "          role-session-name: shipyard-rollback-" + expr("github.run_id"),
    `          aws-region: ${regionOf(input.environments)}`,
    "      - run: npm ci --no-audit --no-fund",
    "      - name: Roll back",
    "        env:",
    "          ENVIRONMENT: " + expr("inputs.environment"),
    "          TO: " + expr("inputs.to"),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JavaScript.
    '        run: npx shipyard rollback --env "$ENVIRONMENT" ${TO:+--to "$TO"} --json > rollback-report.json',
    `      - uses: ${ACTIONS.uploadArtifact}`,
    "        if: always()",
    "        with:",
    "          name: rollback-report",
    "          path: rollback-report.json",
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * A value per chosen environment, as one expression. Each branch tests its own environment, so an
 * unset variable yields '' (the step fails) rather than falling through to another environment's role.
 */
function byEnvironment(
  environments: readonly WorkflowEnvironment[],
  value: (env: WorkflowEnvironment) => string,
): string {
  const branches = environments.map((env) => `(inputs.environment == '${env.name}' && ${value(env)})`);
  return expr([...branches, "''"].join(" || "));
}

function regionOf(environments: readonly WorkflowEnvironment[]): string {
  const regions = new Set(environments.map((env) => env.region));
  if (regions.size === 1) return [...regions][0]!;
  return byEnvironment(environments, (env) => `'${env.region}'`);
}
