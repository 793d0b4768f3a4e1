/** The fake engine's own contract: what the SDK must send for the recordings to mean anything. */
import { connection, dag, ExistsType } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";
import { FakeEngine, withFakeEngine } from "../support/fake-engine.js";
import { existsOfType, fixture } from "./harness.js";

describe("fake engine", () => {
  it("sees the SDK authenticate with the session token as HTTP Basic user", async () => {
    const engine = await withFakeEngine({}, async () => {
      expect(await dag.container().from("alpine:3.22").withExec(["true"]).exitCode()).toBe(0);
    });
    expect(engine.unauthorized).toEqual([]);
    expect(engine.queries.map((q) => q.text.replace(/\s+/g, " ").trim())).toEqual([
      '{ container { from (address: "alpine:3.22") { withExec (args: ["true"]) { exitCode } } } }',
    ]);
  });

  it("refuses a wrong token, and the SDK surfaces the failure", async () => {
    const engine = new FakeEngine();
    await engine.start();
    process.env["DAGGER_SESSION_PORT"] = String(engine.port);
    process.env["DAGGER_SESSION_TOKEN"] = "not-the-token";
    try {
      await expect(
        connection(async () => void (await dag.container().from("alpine").id())),
      ).rejects.toThrow();
      expect(engine.unauthorized).toEqual([`Basic ${Buffer.from("not-the-token:").toString("base64")}`]);
      expect(engine.queries).toEqual([]);
    } finally {
      delete process.env["DAGGER_SESSION_PORT"];
      delete process.env["DAGGER_SESSION_TOKEN"];
      await engine.close();
    }
  });

  it("expands node(id:) queries into the chain that minted the id", async () => {
    const engine = await withFakeEngine({}, async () => {
      const synced = await dag.container().from("alpine").withExec(["echo", "hi"]).sync();
      await synced.withExec(["echo", "again"]).stdout();
    });
    const last = engine.queries.at(-1)!;
    expect(last.text).toContain("node (id:");
    expect(engine.render(last.chain)).toBe(
      'container.from(address: "alpine").withExec(args: ["echo", "hi"]).withExec(args: ["echo", "again"]).stdout',
    );
  });

  it("answers exists(expectedType:) on host directories by type, as the engine does (with the harness responder)", async () => {
    const seen: boolean[] = [];
    await withFakeEngine({ responders: [existsOfType] }, async () => {
      const dir = dag.host().directory(fixture("deployable"));
      const directory = { expectedType: ExistsType.DirectoryType };
      const file = { expectedType: ExistsType.RegularType };
      seen.push(
        await dir.exists("shipyard.json", directory),
        await dir.exists("shipyard.json", file),
        await dir.exists("migrations", directory),
        await dir.exists("migrations", file),
        await dir.exists("missing.json", file),
        await dir.exists("shipyard.json"),
      );
    });
    expect(seen).toEqual([false, true, true, false, false, true]);
  });
});
