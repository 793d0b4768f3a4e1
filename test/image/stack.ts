/**
 * The pieces an ECS service has, as containers on one Docker network: the stand-in PostgreSQL (alias
 * `db`), the one-off migration task, and app tasks started from the image under test.
 */
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from "@testcontainers/postgresql";
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { migrateCommand, postgresImage } from "./app-image.js";
import { type CommandResult, docker } from "./docker.js";

export interface Stack {
  network: StartedNetwork;
  database: StartedPostgreSqlContainer;
  /** DATABASE_URL as seen from containers on the network. */
  databaseUrlInNetwork: string;
  stop(): Promise<void>;
}

export async function startStack(): Promise<Stack> {
  const network = await new Network().start();
  const database = await new PostgreSqlContainer(postgresImage)
    .withNetwork(network)
    .withNetworkAliases("db")
    .withDatabase("app")
    .withUsername("app")
    .withPassword("app-password")
    .start();
  return {
    network,
    database,
    databaseUrlInNetwork: "postgres://app:app-password@db:5432/app",
    async stop() {
      await database.stop();
      await network.stop();
    },
  };
}

/** Runs the migration command in a throwaway container of the image, as ECS RunTask with a command override. */
export function runMigrations(image: string, stack: Stack): Promise<CommandResult> {
  return docker(
    [
      "run",
      "--rm",
      "--network",
      stack.network.getName(),
      "--env",
      `DATABASE_URL=${stack.databaseUrlInNetwork}`,
      image,
      ...migrateCommand(),
    ],
    { allowFailure: true },
  );
}

export interface AppTaskOptions {
  port: number;
  env?: Record<string, string>;
}

/** Starts an app task and waits until the image's own HEALTHCHECK reports healthy. */
export function startAppTask(
  image: string,
  stack: Stack,
  options: AppTaskOptions,
): Promise<StartedTestContainer> {
  return new GenericContainer(image)
    .withNetwork(stack.network)
    .withEnvironment({ DATABASE_URL: stack.databaseUrlInNetwork, ...options.env })
    .withExposedPorts(options.port)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
}
