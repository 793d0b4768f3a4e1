/**
 * migrate-lint against the real squawk binary, over a corpus of migrations written for these tests:
 * every unsafe kind is reported with the right rule, every safe rewrite passes, the post-deploy
 * marker allows contract changes (and nothing else), exclusions work, and a base ref limits the
 * check to migrations this change adds or edits.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode, InputError, ShipyardError } from "../../src/errors.js";
import {
  formatLintResult,
  isPostDeploy,
  type LintResult,
  lintMigrations,
  runsInTransaction,
} from "../../src/migrations/lint.js";

const corpus = join(import.meta.dirname, "corpus");
const exampleApp = join(import.meta.dirname, "..", "..", "examples", "app");

/** Each unsafe corpus file and the rule(s) that must flag it as an error. */
const expectedRules: Record<string, string[]> = {
  "index_without_concurrently.sql": ["require-concurrent-index-creation"],
  "set_not_null.sql": ["adding-not-nullable-field"],
  "add_required_column.sql": ["adding-required-field"],
  "volatile_default.sql": ["adding-field-with-default"],
  "type_change.sql": ["changing-column-type"],
  "rename_column.sql": ["renaming-column"],
  "rename_table.sql": ["renaming-table"],
  "drop_column.sql": ["ban-drop-column"],
  "drop_table.sql": ["ban-drop-table"],
  "check_without_not_valid.sql": ["constraint-missing-not-valid"],
  "foreign_key.sql": ["adding-foreign-key-constraint", "constraint-missing-not-valid"],
  "unique_constraint.sql": ["disallowed-unique-constraint"],
  "missing_lock_timeout.sql": ["require-lock-timeout"],
  "drop_index.sql": ["require-concurrent-index-deletion"],
  "concurrently_in_transaction.sql": ["ban-concurrent-index-creation-in-transaction"],
  "validate_in_same_transaction.sql": ["constraint-missing-not-valid"],
  "post_deploy_still_needs_concurrently.sql": ["require-concurrent-index-creation"],
  "marker_after_first_statement.sql": ["ban-drop-column"],
};

const errorRulesOf = (result: LintResult, file: string) =>
  result.findings.filter((f) => f.file === file && f.level === "error").map((f) => f.rule);

describe("the corpus", () => {
  let safe: LintResult;
  let unsafe: LintResult;
  let postDeploy: LintResult;

  beforeAll(async () => {
    [safe, unsafe, postDeploy] = await Promise.all([
      lintMigrations({ appRoot: corpus, directory: "safe" }),
      lintMigrations({ appRoot: corpus, directory: "unsafe" }),
      lintMigrations({ appRoot: corpus, directory: "post-deploy" }),
    ]);
  });

  it("passes every safe rewrite, with no advice either", () => {
    expect(safe.files).toHaveLength(16);
    expect(safe.findings).toEqual([]);
    expect(safe.outcome).toBe("passed");
    expect(safe.exitCode).toBe(ExitCode.Success);
    expect(safe.squawkVersion).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("honours the no-transaction header for CONCURRENTLY migrations", () => {
    const concurrent = safe.files.filter((f) => !f.transaction).map((f) => f.path);
    expect(concurrent).toEqual([
      "safe/0010_index_concurrently.sql",
      "safe/0100_unique_index_concurrently.sql",
      "safe/0110_drop_index_concurrently.sql",
    ]);
  });

  it.each(Object.entries(expectedRules))("flags unsafe/%s with %j", (file, rules) => {
    const errors = errorRulesOf(unsafe, `unsafe/${file}`);
    for (const rule of rules) expect(errors).toContain(rule);
  });

  it("covers every unsafe file and fails with exit 1, a reason and next steps", () => {
    expect(unsafe.files.map((f) => f.path.replace("unsafe/", "")).sort()).toEqual(
      Object.keys(expectedRules).sort(),
    );
    expect(unsafe.outcome).toBe("failed");
    expect(unsafe.exitCode).toBe(ExitCode.RolledBack);
    expect(unsafe.reason).toMatch(/unsafe statements in 18 migrations/);
    expect(unsafe.nextSteps?.join("\n")).toMatch(/shipyard:post-deploy/);
  });

  it("points at the line of the statement, with squawk's message and our why and fix", async () => {
    const finding = unsafe.findings.find((f) => f.file === "unsafe/index_without_concurrently.sql");
    if (finding === undefined) throw new Error("no finding for index_without_concurrently.sql");
    const lines = (await readFile(join(corpus, finding.file), "utf8")).split("\n");
    expect(lines[finding.line - 1]).toMatch(/^CREATE INDEX users_email_idx/);
    expect(finding.why).toMatch(/SHARE lock/);
    expect(finding.fix).toMatch(/CONCURRENTLY/);
    const text = formatLintResult(unsafe).join("\n");
    expect(text).toContain(
      `unsafe/index_without_concurrently.sql:${finding.line}:1  unsafe  require-concurrent-index-creation`,
    );
    expect(text).toContain("why: CREATE INDEX holds a SHARE lock");
    expect(text).toMatch(/FAILED: 20 unsafe/);
  });

  it("allows drops in migrations marked post-deploy", () => {
    expect(postDeploy.outcome).toBe("passed");
    expect(postDeploy.files.every((f) => f.postDeploy)).toBe(true);
    expect(postDeploy.findings.map((f) => [f.file, f.rule, f.level])).toEqual([
      ["post-deploy/0200_drop_legacy_column.sql", "ban-drop-column", "allowed"],
      ["post-deploy/0210_drop_old_audit.sql", "ban-drop-table", "allowed"],
      ["post-deploy/0220_drop_renamed_column.sql", "ban-drop-column", "allowed"],
    ]);
    expect(postDeploy.counts).toEqual({ errors: 0, warnings: 0, allowed: 3 });
  });

  it("lints the example app's own migrations clean", async () => {
    const result = await lintMigrations({ appRoot: exampleApp, directory: "migrations" });
    expect(result.files.length).toBeGreaterThan(0);
    expect(result.findings.filter((f) => f.level === "error")).toEqual([]);
  });
});

describe("markers", () => {
  it("reads post-deploy from the header comment block only", () => {
    expect(isPostDeploy("-- shipyard:post-deploy\nDROP TABLE t;")).toBe(true);
    expect(isPostDeploy("-- why\n\n--   Shipyard:Post-Deploy\nDROP TABLE t;")).toBe(true);
    expect(isPostDeploy("SELECT 1;\n-- shipyard:post-deploy\nDROP TABLE t;")).toBe(false);
    expect(isPostDeploy("-- shipyard:post-deployment\n")).toBe(false);
  });

  it("reads no-transaction from the first line only, exactly as the example app's runner does", () => {
    expect(runsInTransaction("-- shipyard:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);")).toBe(
      false,
    );
    expect(runsInTransaction("\n-- shipyard:no-transaction\n")).toBe(false);
    expect(runsInTransaction("-- why\n-- shipyard:no-transaction\n")).toBe(true);
    expect(runsInTransaction("SET x = 1;\n-- shipyard:no-transaction")).toBe(true);
  });
});

describe("exclusions and errors", () => {
  let app: string;
  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), "shipyard-lint-"));
    execFileSync("mkdir", ["-p", join(app, "db")]);
    await writeFile(join(app, "db", "001.sql"), await readFile(join(corpus, "unsafe", "drop_column.sql")));
  });
  afterAll(() => rm(app, { recursive: true, force: true }));

  it("ignores excluded rules", async () => {
    const flagged = await lintMigrations({ appRoot: app, directory: "db" });
    expect(errorRulesOf(flagged, "db/001.sql")).toEqual(["ban-drop-column"]);
    const excluded = await lintMigrations({
      appRoot: app,
      directory: "db",
      excludeRules: ["ban-drop-column"],
    });
    expect(excluded.outcome).toBe("passed");
    expect(excluded.findings).toEqual([]);
    expect(excluded.excludedRules).toEqual(["ban-drop-column"]);
  });

  it("rejects an unknown rule name with exit 2, naming the config field", async () => {
    const error = await lintMigrations({
      appRoot: app,
      directory: "db",
      excludeRules: ["no-such-rule"],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(/"no-such-rule".*migrations\.excludeRules/);
  });

  it("rejects a missing migrations folder with exit 2", async () => {
    const error = await lintMigrations({ appRoot: app, directory: "nope" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(ExitCode.BadInput);
    expect((error as InputError).hint).toMatch(/migrations\.directory/);
  });

  it("reports a squawk that cannot start as exit 3 with what to install", async () => {
    const error = await lintMigrations({
      appRoot: app,
      directory: "db",
      squawkPath: join(app, "no-squawk"),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShipyardError);
    expect((error as ShipyardError).exitCode).toBe(ExitCode.NeedsAttention);
    expect((error as ShipyardError).hint).toMatch(/glibc/);
  });

  it("judges transactions by the runner's marker even when a .squawk.toml says otherwise", async () => {
    const own = await mkdtemp(join(tmpdir(), "shipyard-lint-toml-"));
    try {
      await writeFile(join(own, ".squawk.toml"), "assume_in_transaction = true\n");
      execFileSync("mkdir", ["-p", join(own, "migrations")]);
      await writeFile(
        join(own, "migrations", "0001_index.sql"),
        await readFile(join(corpus, "safe", "0010_index_concurrently.sql")),
      );
      const result = await lintMigrations({ appRoot: own });
      expect(result.findings).toEqual([]);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it("reports SQL that does not parse as a blocking finding", async () => {
    await writeFile(join(app, "db", "002.sql"), "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN;\n");
    const result = await lintMigrations({ appRoot: app, directory: "db", excludeRules: ["ban-drop-column"] });
    expect(errorRulesOf(result, "db/002.sql")).toContain("syntax-error");
    expect(result.exitCode).toBe(ExitCode.RolledBack);
    await rm(join(app, "db", "002.sql"));
  });
});

describe("only migrations new since a base ref", () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: repo,
      encoding: "utf8",
    });

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), "shipyard-lint-git-"));
    git("init", "-q", "-b", "main");
    execFileSync("mkdir", ["-p", join(repo, "app", "migrations")]);
    // Already applied in production: unsafe by today's rules, but it ran long ago.
    await writeFile(join(repo, "app", "migrations", "001_old.sql"), "CREATE INDEX i ON users (email);\n");
    await writeFile(join(repo, "app", "migrations", "002_old.sql"), "SET lock_timeout = '5s';\nSELECT 1;\n");
    git("add", ".");
    git("commit", "-q", "-m", "base");
    git("checkout", "-q", "-b", "feature");
    await writeFile(
      join(repo, "app", "migrations", "003_new.sql"),
      await readFile(join(corpus, "unsafe", "rename_column.sql")),
    );
    git("add", ".");
    git("commit", "-q", "-m", "feature");
  });
  afterAll(() => rm(repo, { recursive: true, force: true }));

  it("lints only the files added since the merge base", async () => {
    const result = await lintMigrations({ appRoot: join(repo, "app"), baseRef: "main" });
    expect(result.selection).toBe("changed");
    expect(result.mergeBase).toBe(git("rev-parse", "main").trim());
    expect(result.files.map((f) => f.path)).toEqual(["migrations/003_new.sql"]);
    expect(errorRulesOf(result, "migrations/003_new.sql")).toEqual(["renaming-column"]);
  });

  it("still lints everything without a base ref", async () => {
    const result = await lintMigrations({ appRoot: join(repo, "app") });
    expect(result.files.map((f) => f.path)).toEqual([
      "migrations/001_old.sql",
      "migrations/002_old.sql",
      "migrations/003_new.sql",
    ]);
    expect(errorRulesOf(result, "migrations/001_old.sql")).toContain("require-concurrent-index-creation");
  });

  it("includes uncommitted new files, and warns about edited old ones", async () => {
    await writeFile(join(repo, "app", "migrations", "004_wip.sql"), "SET lock_timeout = '5s';\nSELECT 2;\n");
    await writeFile(join(repo, "app", "migrations", "002_old.sql"), "SET lock_timeout = '5s';\nSELECT 3;\n");
    const result = await lintMigrations({ appRoot: join(repo, "app"), baseRef: "main" });
    expect(result.files.map((f) => [f.path, f.edited])).toEqual([
      ["migrations/002_old.sql", true],
      ["migrations/003_new.sql", false],
      ["migrations/004_wip.sql", false],
    ]);
    const edited = result.findings.find((f) => f.rule === "shipyard-edited-migration");
    expect(edited).toMatchObject({ file: "migrations/002_old.sql", level: "warning" });
    await rm(join(repo, "app", "migrations", "004_wip.sql"));
    git("checkout", "-q", "--", "app/migrations/002_old.sql");
  });

  it("rejects a base ref git does not know, saying how to fetch it", async () => {
    const error = await lintMigrations({ appRoot: join(repo, "app"), baseRef: "origin/nope" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).hint).toMatch(/fetch-depth: 0/);
  });
});
