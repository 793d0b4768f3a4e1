/**
 * shipyard.json is read, and validated, exactly once per command run: the runner builds the context
 * once and every part of the command (preflight, steps, `requires`, next steps) uses it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { configText, NEW_IMAGE, startWorld, type World } from "../support/world.js";

vi.mock("../../src/config/load.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/config/load.js")>();
  return { ...original, parseConfig: vi.fn(original.parseConfig) };
});

let h: World;
afterEach(async () => {
  await h?.stop();
});

interface Case {
  argv: string[];
  /** shipyard.json for this command (default: configText()). */
  config?: string;
  sentry?: boolean;
  /** What runs before the measured command (not counted). */
  arrange?: (h: World) => Promise<unknown>;
  code: number;
  /** The command must not call AWS at all. */
  noAws?: true;
}

const cases: Array<[string, Case]> = [
  ["deploy", { argv: ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--release", "v2"], code: 0 }],
  [
    "deploy with the Sentry and migration steps configured",
    {
      argv: ["deploy", "--env", "staging", "--image", NEW_IMAGE, "--release", "v2"],
      config: configText(
        {},
        {
          sentry: { org: "acme", project: "app" },
          migrations: { command: ["node", "dist/migrate.js"], lint: false },
        },
      ),
      sentry: true,
      // No traffic reaches Sentry, so the gate is inconclusive and the deploy rolls back: every step runs.
      code: 1,
    },
  ],
  ["plan", { argv: ["plan", "--env", "staging", "--image", NEW_IMAGE], code: 0 }],
  ["status", { argv: ["status", "--env", "staging"], code: 0 }],
  ["rollback", { argv: ["rollback", "--env", "staging"], arrange: (h) => h.deploy(), code: 0 }],
  [
    "verify",
    {
      argv: ["verify", "--env", "staging", "--release", "v2", "--previous-release", "v1", "--json"],
      config: configText({}, { sentry: { org: "acme", project: "app" } }),
      sentry: true,
      // No traffic: the gate is inconclusive (exit 3). With both releases given, AWS is not called.
      code: 3,
      noAws: true,
    },
  ],
  [
    "migrate",
    {
      argv: ["migrate", "--env", "staging"],
      config: configText({}, { migrations: { command: ["node", "dist/migrate.js"] } }),
      code: 0,
    },
  ],
];

describe("one command run reads shipyard.json once", () => {
  it.each(cases)("%s through the CLI face", async (_name, c) => {
    h = await startWorld({ sentry: c.sentry ?? false, ...(c.config ? { config: c.config } : {}) });
    await c.arrange?.(h);
    h.files.reads.clear();
    vi.mocked(parseConfig).mockClear();

    const { code, stderr } = await h.cli(c.argv);

    expect(code, stderr).toBe(c.code);
    expect(h.files.reads.get("shipyard.json")).toBe(1);
    expect(vi.mocked(parseConfig)).toHaveBeenCalledTimes(1);
    if (c.noAws) expect(h.sim.calls).toEqual([]);
  });
});
