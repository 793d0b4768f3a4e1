/**
 * The pure half of the diagnosis: what a stopped task, as DescribeTasks answers it, says in plain
 * words. The reasons are worded as ECS words them ("Amazon ECS stopped task error messages", Amazon
 * ECS Developer Guide).
 */
import type { Task } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { awslogsStream, classifyTask } from "../../src/deploy/diagnosis.js";

const stopped = (task: Partial<Task>): Task => ({ lastStatus: "STOPPED", ...task });

describe("classifyTask", () => {
  it("tells a missing image, a refused login and an unreachable registry apart", () => {
    const pull = (reason: string) =>
      classifyTask(
        stopped({ stopCode: "TaskFailedToStart", stoppedReason: `CannotPullContainerError: ${reason}` }),
        "ghcr.io/acme/app@sha256:abc",
      );
    expect(pull("failed to resolve ref ghcr.io/acme/app: not found").explanation).toMatch(/no such image/);
    expect(
      pull(
        "Error response from daemon: pull access denied for app, repository does not exist or may require 'docker login'",
      ).fix,
    ).toMatch(/task execution role/);
    expect(
      pull("failed to do request: Head https://ghcr.io/v2/: dial tcp 140.82.1.1:443: i/o timeout").fix,
    ).toMatch(/NAT gateway/);
    expect(pull("something new").title).toBe(
      "the image ghcr.io/acme/app@sha256:abc could not be pulled (CannotPullContainerError)",
    );
  });

  it("names where the secrets come from and whether it was permission or network", () => {
    const ssm = classifyTask(
      stopped({
        stoppedReason:
          'ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secrets from ssm: service call has been retried 5 time(s): RequestError: send request failed caused by: Post "https://ssm.eu-west-1.amazonaws.com/": dial tcp 10.0.0.1:443: i/o timeout',
      }),
    );
    expect(ssm.kind).toBe("resource-initialization");
    expect(ssm.title).toBe(
      "the task could not fetch its secrets from SSM Parameter Store (ResourceInitializationError)",
    );
    expect(ssm.explanation).toBe("the task could not reach the service that holds them");
    const registry = classifyTask(
      stopped({
        stoppedReason:
          "ResourceInitializationError: failed to get registry auth from ECR: AccessDeniedException",
      }),
    );
    expect(registry.title).toBe(
      "the task could not fetch the registry credentials (ResourceInitializationError)",
    );
  });

  it("reads exit codes: 137 with OutOfMemoryError, 137 alone, 127, 0", () => {
    const exited = (exitCode: number, reason?: string) =>
      classifyTask(
        stopped({
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [{ name: "app", exitCode, ...(reason ? { reason } : {}) }],
        }),
      );
    expect(exited(137, "OutOfMemoryError: Container killed due to memory usage").kind).toBe("out-of-memory");
    expect(exited(137).kind).toBe("out-of-memory");
    expect(exited(127).explanation).toMatch(/command was not found/);
    expect(exited(0).explanation).toMatch(/must keep running/);
    expect(exited(3).title).toBe("the essential container app exited with code 3");
  });

  it("a task stopped for failed health checks is not an out-of-memory kill, though its container got SIGKILL", () => {
    const elb = classifyTask(
      stopped({
        stopCode: "ServiceSchedulerInitiated",
        stoppedReason:
          "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1)",
        containers: [{ name: "app", exitCode: 137 }],
      }),
    );
    expect(elb.kind).toBe("elb-health-check");
    const own = classifyTask(
      stopped({ healthStatus: "UNHEALTHY", containers: [{ name: "app", healthStatus: "UNHEALTHY" }] }),
    );
    expect(own.kind).toBe("container-health-check");
  });

  it("anything else is quoted as ECS said it", () => {
    const other = classifyTask(
      stopped({ stopCode: "SpotInterruption", stoppedReason: "Your Spot Task was interrupted." }),
    );
    expect(other.kind).toBe("unknown");
    expect(other.title).toBe("the task stopped: SpotInterruption: Your Spot Task was interrupted.");
  });
});

describe("awslogsStream", () => {
  const logged = (options: Record<string, string>) => ({
    name: "app",
    logConfiguration: { logDriver: "awslogs" as const, options },
  });

  it("is prefix/container/taskId in the group's region, falling back to the environment's", () => {
    expect(
      awslogsStream(
        logged({ "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web" }),
        "abc",
        "eu-west-1",
      ),
    ).toEqual({
      group: "/ecs/web",
      region: "eu-west-1",
      stream: "web/app/abc",
    });
    expect(
      awslogsStream(
        logged({ "awslogs-group": "g", "awslogs-stream-prefix": "p", "awslogs-region": "us-east-1" }),
        "t",
        "eu-west-1",
      )?.region,
    ).toBe("us-east-1");
  });

  it("is unknown without a stream prefix or with another driver", () => {
    expect(awslogsStream(logged({ "awslogs-group": "/ecs/web" }), "abc", "eu-west-1")).toBeNull();
    expect(
      awslogsStream({ name: "app", logConfiguration: { logDriver: "json-file" } }, "abc", "eu-west-1"),
    ).toBeNull();
  });
});
