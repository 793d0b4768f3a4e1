/**
 * Contract tests for build and publish: Dockerfile choice, build args, OCI labels, registry auth by
 * Secret id (the plaintext never travels in a query) and the digest reference publish returns.
 */
import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";
import type { Chain, FakeEngine } from "../support/fake-engine.js";
import { REPOSITORY_ROOT, runOn, SHA } from "./harness.js";

const TOKEN = "ghp_plaintextRegistryToken1234567890";
const SECRETS = { secrets: { "env://REGISTRY_TOKEN": TOKEN } };

/** The image chain: the longest recorded chain containing a dockerBuild. */
function imageChain(engine: FakeEngine): Chain {
  const chains = engine.queries
    .map((q) => q.chain)
    .filter((chain) => chain.some((c) => c.field === "dockerBuild"));
  const longest = chains.sort((a, b) => b.length - a.length)[0];
  if (!longest) throw new Error("no dockerBuild recorded");
  return longest;
}

function labels(chain: Chain): Record<string, string> {
  return Object.fromEntries(
    chain
      .filter((c) => c.field === "withLabel")
      .map((c) => [String(c.args["name"]), String(c.args["value"])]),
  );
}

describe("build", () => {
  it("uses the module's default Dockerfile when the app has none, with release build args and OCI labels", async () => {
    const { engine, error } = await runOn(
      { commit: SHA, sourceUrl: "https://github.com/acme/api", nodeVersion: "22" },
      async (shipyard) => (await shipyard.build()).id(),
    );
    expect(error).toBeUndefined();
    const image = imageChain(engine);
    const build = image.find((c) => c.field === "dockerBuild")!;
    expect(build.args).toEqual({
      dockerfile: ".shipyard.Dockerfile",
      buildArgs: [
        { name: "NODE_IMAGE", value: "node:22-alpine" },
        { name: "SENTRY_RELEASE", value: SHA },
        { name: "REVISION", value: SHA },
        { name: "SOURCE_URL", value: "https://github.com/acme/api" },
      ],
    });
    const withFile = image.find((c) => c.field === "withFile")!;
    expect(withFile.args["path"]).toBe(".shipyard.Dockerfile");
    expect(engine.render(engine.chainOf(String(withFile.args["source"])))).toBe(
      'currentModule.source.file(path: "Dockerfile")',
    );
    expect(labels(image)).toEqual({
      "org.opencontainers.image.version": SHA,
      "org.opencontainers.image.revision": SHA,
      "org.opencontainers.image.source": "https://github.com/acme/api",
    });
  });

  it("uses the app's own Dockerfile when it has one, and an explicit release name", async () => {
    const { engine } = await runOn(
      { fixture: "monorepo", app: "services/api", commit: SHA },
      async (shipyard) => (await shipyard.build("v1.4.0")).id(),
    );
    const image = imageChain(engine);
    expect(image.some((c) => c.field === "withFile")).toBe(false);
    expect(engine.render(image.slice(0, 4))).toMatch(
      /monorepo"\)\.directory\(path: "services\/api"\)\.dockerBuild/,
    );
    expect(image.find((c) => c.field === "dockerBuild")!.args["dockerfile"]).toBe("Dockerfile");
    expect(labels(image)["org.opencontainers.image.version"]).toBe("v1.4.0");
    expect(labels(image)["org.opencontainers.image.revision"]).toBe(SHA);
  });

  it("marks a build without a known commit as dev and leaves the unknown labels out", async () => {
    const { engine } = await runOn({}, async (shipyard) => (await shipyard.build()).id());
    const image = imageChain(engine);
    expect(image.find((c) => c.field === "dockerBuild")!.args["buildArgs"]).toContainEqual({
      name: "SENTRY_RELEASE",
      value: "dev",
    });
    expect(labels(image)).toEqual({ "org.opencontainers.image.version": "dev" });
    expect(image.find((c) => c.field === "dockerBuild")!.args["buildArgs"]).toEqual([
      { name: "NODE_IMAGE", value: "node:24-alpine" },
      { name: "SENTRY_RELEASE", value: "dev" },
    ]);
  });
});

describe("build on examples/app, as shipped", () => {
  it("uses Shipyard's default Dockerfile (the example app has none)", async () => {
    const { engine, error } = await runOn(
      { sourceDir: REPOSITORY_ROOT, app: "examples/app", commit: SHA },
      async (shipyard) => (await shipyard.build()).id(),
    );
    expect(error).toBeUndefined();
    expect(imageChain(engine).find((c) => c.field === "dockerBuild")!.args["dockerfile"]).toBe(
      ".shipyard.Dockerfile",
    );
  });
});

describe("publish", () => {
  const publish = (tags: string[] = ["latest"]) =>
    runOn(
      { commit: SHA },
      (shipyard) =>
        shipyard.publish("ghcr.io/acme/api", "acme-bot", dag.secret("env://REGISTRY_TOKEN"), tags),
      SECRETS,
    );

  it("authenticates with the Secret by id, pushes the commit tag and extra tags, and returns the digest reference", async () => {
    const { engine, result, error } = await publish();
    expect(error).toBeUndefined();
    const pushes = engine.chainsEndingWith("publish");
    expect(pushes.map((chain) => chain.at(-1)!.args["address"])).toEqual([
      `ghcr.io/acme/api:${SHA}`,
      "ghcr.io/acme/api:latest",
    ]);
    for (const push of pushes) {
      const auth = push.find((c) => c.field === "withRegistryAuth")!;
      expect(auth.args["address"]).toBe("ghcr.io");
      expect(auth.args["username"]).toBe("acme-bot");
      expect(engine.render(engine.chainOf(String(auth.args["secret"])))).toBe(
        'secret(uri: "env://REGISTRY_TOKEN")',
      );
      expect(push.some((c) => c.field === "dockerBuild")).toBe(true);
    }
    expect(result).toMatch(new RegExp(`^ghcr\\.io/acme/api:${SHA}@sha256:[0-9a-f]{64}$`));
    for (const query of engine.queries) expect(query.text).not.toContain(TOKEN);
  });

  it("refuses to publish without a commit, before building or pushing anything", async () => {
    const { engine, error } = await runOn(
      {},
      (shipyard) => shipyard.publish("ghcr.io/acme/api", "acme-bot", dag.secret("env://REGISTRY_TOKEN")),
      SECRETS,
    );
    expect(error?.message).toContain("Cannot publish; nothing was pushed.");
    expect(error?.message).toContain("pass --commit=$(git rev-parse HEAD)");
    expect(engine.chainsEndingWith("publish")).toEqual([]);
  });

  it("rejects a repository that carries a tag, and bad extra tags", async () => {
    const { engine, error } = await runOn(
      { commit: SHA },
      (shipyard) =>
        shipyard.publish("ghcr.io/acme/api:latest", "acme-bot", dag.secret("env://REGISTRY_TOKEN"), [
          "no spaces",
        ]),
      SECRETS,
    );
    expect(error?.message).toContain('--repository "ghcr.io/acme/api:latest" must be an image repository');
    expect(error?.message).toContain('--tags "no spaces" is not a valid image tag');
    expect(engine.queries).toEqual([]);
  });

  it("uses Docker Hub when the repository names no registry host", async () => {
    const { engine } = await runOn(
      { commit: SHA },
      (shipyard) => shipyard.publish("acme/api", "acme", dag.secret("env://REGISTRY_TOKEN"), []),
      SECRETS,
    );
    const [push] = engine.chainsEndingWith("publish");
    expect(push!.find((c) => c.field === "withRegistryAuth")!.args["address"]).toBe("docker.io");
  });

  it("refuses a registry answer without a digest", async () => {
    const { error } = await runOn(
      { commit: SHA },
      (shipyard) => shipyard.publish("ghcr.io/acme/api", "acme-bot", dag.secret("env://REGISTRY_TOKEN"), []),
      {
        ...SECRETS,
        responders: [
          (chain) =>
            chain.at(-1)?.field === "publish" ? { value: String(chain.at(-1)!.args["address"]) } : undefined,
        ],
      },
    );
    expect(error?.message).toContain(`The registry answered "ghcr.io/acme/api:${SHA}"`);
    expect(error?.message).toContain("refusing to hand a mutable tag to a deploy");
  });

  it("passes a registry failure through with the registry's words", async () => {
    const { error } = await runOn(
      { commit: SHA },
      (shipyard) => shipyard.publish("ghcr.io/acme/api", "acme-bot", dag.secret("env://REGISTRY_TOKEN"), []),
      {
        ...SECRETS,
        responders: [
          (chain) =>
            chain.at(-1)?.field === "publish" ? { error: "failed to push: 401 Unauthorized" } : undefined,
        ],
      },
    );
    expect(error?.message).toContain("401 Unauthorized");
    expect(error?.message).not.toContain(TOKEN);
  });
});
