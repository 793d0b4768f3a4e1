/**
 * What `shipyard try` deploys: the example app's staging environment (examples/app/shipyard.json in
 * Shipyard's repository; a test keeps the two equal) and two releases of it, one healthy and one
 * whose error rate spikes. The migrations run as the one-off ECS task they are; linting them needs
 * the app's folder, which an installed package does not carry, so it is off here.
 */
export interface Scenario {
  title: string;
  release: string;
  image: string;
  commit: string;
  /** Share of the release's sessions that end in an error. */
  errorRate: number;
  /** How the deploy must end for the demonstration to be right. */
  expect: "succeeded" | "rolled_back";
}

const REPOSITORY = "ghcr.io/acme/shipyard-example";
const digestOf = (fill: string) => `${REPOSITORY}@sha256:${fill.repeat(64)}`;

export const EXAMPLE = {
  environmentName: "staging",
  cluster: "acme-staging",
  service: "shipyard-example",
  org: "acme",
  project: "shipyard-example",
  /** Sessions per second every release serves. */
  trafficPerSecond: 20,
  running: { release: "v1.4.0", image: digestOf("1"), errorRate: 0.004 },
  config: {
    image: REPOSITORY,
    environments: {
      staging: {
        region: "eu-west-1",
        cluster: "acme-staging",
        service: "shipyard-example",
        healthCheck: {
          url: "https://notes.staging.acme.example/health",
          releaseUrl: "https://notes.staging.acme.example/version",
          consecutiveSuccesses: 3,
          budgetSeconds: 120,
        },
        deployment: {
          strategy: "rolling",
          maximumPercent: 200,
          minimumHealthyPercent: 100,
          circuitBreaker: { enable: true, rollback: true },
          pollSeconds: 5,
          timeoutSeconds: 600,
        },
        migrations: {
          command: ["node", "dist/migrate.js"],
          directory: "migrations",
          timeoutSeconds: 600,
          lint: false,
        },
        sentry: { org: "acme", project: "shipyard-example" },
        verify: { windowSeconds: 180, intervalSeconds: 30, minRequests: 50, onInconclusive: "accept" },
        variables: {
          FAMILY: "shipyard-example-staging",
          EXECUTION_ROLE_ARN: "arn:aws:iam::111122223333:role/shipyard-example-staging-execution",
          TASK_ROLE_ARN: "arn:aws:iam::111122223333:role/shipyard-example-staging-task",
          DATABASE_SECRET_ARN:
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:shipyard-example/staging/database-url-AbCdEf",
          LOG_GROUP: "/ecs/shipyard-example-staging",
        },
      },
    },
  },
} as const;

export const SCENARIOS: readonly Scenario[] = [
  {
    title: "A healthy release (v1.5.0): rolled out, smoke-tested, watched in Sentry, verified",
    release: "v1.5.0",
    image: digestOf("2"),
    commit: "5e1f2a9",
    errorRate: 0.004,
    expect: "succeeded",
  },
  {
    title: "A release whose error rate spikes (v1.6.0: 1 session in 4 fails): caught and rolled back",
    release: "v1.6.0",
    image: digestOf("3"),
    commit: "9c0d7b4",
    errorRate: 0.25,
    expect: "rolled_back",
  },
];
