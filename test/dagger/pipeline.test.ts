/** Unit tests of the pure parts of the pipeline: settings, package.json reading, failure messages. */
import { describe, expect, it } from "vitest";
import { explainFailure, surfaced, tail } from "../../src/dagger/failure.js";
import { publishReferences, registryHost } from "../../src/dagger/image.js";
import { parseManifest, requireScripts } from "../../src/dagger/manifest.js";
import { normalizeAppPath, releaseName, validateSettings } from "../../src/dagger/settings.js";
import { InputError, type ShipyardError } from "../../src/errors.js";
import { shellQuote } from "../../src/report/shell.js";

const valid = {
  app: ".",
  nodeVersion: "24",
  pnpmVersion: "",
  postgresImage: "postgres:16",
  commit: "",
  sourceUrl: "",
};

describe("settings", () => {
  it("accepts the supported Node majors and full versions", () => {
    for (const nodeVersion of ["24", "22", "24.11.1", "22.20"]) {
      expect(validateSettings({ ...valid, nodeVersion }).nodeVersion).toBe(nodeVersion);
    }
  });

  it("lists every bad flag at once", () => {
    const attempt = () =>
      validateSettings({
        app: "../elsewhere",
        nodeVersion: "20",
        pnpmVersion: "latest",
        postgresImage: "",
        commit: "HEAD",
        sourceUrl: "github.com/acme/api",
      });
    expect(attempt).toThrow(InputError);
    try {
      attempt();
    } catch (error) {
      expect((error as InputError).problems).toHaveLength(6);
      expect((error as InputError).exitCode).toBe(2);
    }
  });

  it("normalizes the app path and refuses paths outside the source", () => {
    expect(normalizeAppPath("./services/api/")).toBe("services/api");
    expect(normalizeAppPath("")).toBe(".");
    expect(normalizeAppPath("/abs")).toBeUndefined();
    expect(normalizeAppPath("a/../../b")).toBeUndefined();
  });

  it("names the release: explicit, else the commit, else dev", () => {
    expect(releaseName("v2", "abc1234")).toBe("v2");
    expect(releaseName("", "abc1234")).toBe("abc1234");
    expect(releaseName("", "")).toBe("dev");
  });
});

describe("package.json", () => {
  it("reads scripts and refuses a non-pnpm package manager", () => {
    expect(parseManifest('{"scripts":{"test":"vitest"}}', "package.json").scripts).toEqual({
      test: "vitest",
    });
    expect(() => parseManifest('{"packageManager":"yarn@4.0.0"}', "package.json")).toThrow(/uses pnpm/);
    expect(() => parseManifest("{", "api/package.json")).toThrow(/api\/package.json is not valid JSON/);
    expect(() => parseManifest("[]", "package.json")).toThrow(/JSON object/);
  });

  it("names every missing script", () => {
    const manifest = parseManifest('{"scripts":{"build":"tsc"}}', "package.json");
    expect(() => requireScripts(manifest, ["build", "start", "test:e2e"], "e2e", "package.json")).toThrow(
      '`dagger call e2e` needs the scripts "start", "test:e2e" in package.json.',
    );
  });
});

describe("failures", () => {
  it("keeps the last lines of the output", () => {
    const text = Array.from({ length: 40 }, (_, i) => `l${i + 1}`).join("\n");
    expect(tail(`${text}\n\n`, 3)).toBe("l38\nl39\nl40");
  });

  it("quotes commands as a shell would need them", () => {
    expect(shellQuote(["node", "-e", "console.log('hi')"])).toBe(`node -e 'console.log('\\''hi'\\'')'`);
  });

  it("leaves errors that are not exec failures untouched", () => {
    const original = new Error("registry unreachable");
    expect(explainFailure(original, { fn: "build", step: "Build" })).toBe(original);
  });

  it("says when a failed command printed nothing", () => {
    const explained = explainFailure(
      { cmd: ["pnpm", "run", "lint"], exitCode: 137, stdout: "", stderr: "" },
      { fn: "lint", step: "The lint script" },
    ) as ShipyardError;
    expect(explained.message).toContain("`pnpm run lint` exited with code 137.\nIt printed nothing.");
    expect(explained.exitCode).toBe(3);
  });

  it("folds a hint into the message, because the engine shows only the message", async () => {
    await expect(
      surfaced(async () => {
        throw new InputError("bad config", ["environments.prod.cluster: required"], "fix shipyard.json");
      }),
    ).rejects.toThrow("bad config\n  - environments.prod.cluster: required\nNext: fix shipyard.json");
  });
});

describe("image references", () => {
  it("tags by commit first, without duplicates", () => {
    expect(
      publishReferences({
        repository: "ghcr.io/acme/api",
        commit: "abc1234",
        extraTags: ["abc1234", "latest"],
      }),
    ).toEqual(["ghcr.io/acme/api:abc1234", "ghcr.io/acme/api:latest"]);
  });

  it("finds the registry host", () => {
    expect(registryHost("ghcr.io/acme/api")).toBe("ghcr.io");
    expect(registryHost("localhost:5000/api")).toBe("localhost:5000");
    expect(registryHost("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api")).toBe(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    );
    expect(registryHost("acme/api")).toBe("docker.io");
  });
});
