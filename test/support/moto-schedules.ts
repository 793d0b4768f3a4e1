/**
 * moto for the tests of scheduled tasks: one server per test file with EventBridge and Scheduler
 * clients on it, emptied before each test.
 */
import { ECSClient } from "@aws-sdk/client-ecs";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { type Moto, startMoto } from "./moto.js";

/** moto with SDK clients for ECS, EventBridge and Scheduler on it, for the tests of scheduled tasks. */
export interface MotoSchedules {
  moto: Moto;
  ecs: ECSClient;
  events: EventBridgeClient;
  scheduler: SchedulerClient;
}

/**
 * Starts moto once for the test file (and stops it after), with ECS, EventBridge and Scheduler clients
 * signed with `credentials`; `reset` (default on) empties it before each test. Read the returned
 * object's fields inside tests: they are set when the file's tests start.
 */
export function motoForScheduledTasks(
  credentials: { accessKeyId: string; secretAccessKey: string },
  options: { reset?: boolean } = {},
): MotoSchedules {
  const started = {} as MotoSchedules;
  beforeAll(async () => {
    started.moto = await startMoto();
    const config = { region: "eu-west-1", credentials, endpoint: started.moto.endpoint };
    started.ecs = new ECSClient(config);
    started.events = new EventBridgeClient(config);
    started.scheduler = new SchedulerClient(config);
  }, 40_000);
  afterAll(() => {
    for (const client of [started.ecs, started.events, started.scheduler]) client?.destroy();
    started.moto?.stop();
  });
  if (options.reset ?? true) {
    beforeEach(async () => {
      await fetch(`${started.moto.endpoint}/moto-api/reset`, { method: "POST" });
    });
  }
  return started;
}
