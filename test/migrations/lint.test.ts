/**
 * migrate-lint against the real squawk binary, over a corpus of migrations written for these tests:
 * every unsafe kind is reported with the right rule, every safe rewrite passes, the post-deploy
 * marker allows contract changes (and nothing else), exclusions work, and a base ref limits the
 * check to migrations this change adds or edits.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
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
import { postDeployCorpus, unsafeCorpus, unsafeStatementCount } from "./corpus-expectations.js";

const corpus = join(import.meta.dirname, "corpus");
const exampleApp = join(import.meta.dirname, "..", "..", "examples", "app");

const errorRulesOf = (result: LintResult, file: string) =>
  result.findings.filter((f) => f.file === file && f.level === "error").map((f) => f.rule);

describe("the corpus", () => {
  let safe: LintResult;
  let unsafe: LintResult;
  let history: LintResult;
  let historyApp: string;

  beforeAll(async () => {
    // The post-deploy contracts follow the safe migrations in one folder, as in an app's history.
    historyApp = await mkdtemp(join(tmpdir(), "shipyard-lint-history-"));
    await mkdir(join(historyApp, "migrations"));
    for (const folder of ["safe", "post-deploy"]) {
      for (const file of await readdir(join(corpus, folder))) {
        await copyFile(join(corpus, folder, file), join(historyApp, "migrations", file));
      }
    }
    [safe, unsafe, history] = await Promise.all([
      lintMigrations({ appRoot: corpus, directory: "safe" }),
      lintMigrations({ appRoot: corpus, directory: "unsafe" }),
      lintMigrations({ appRoot: historyApp }),
    ]);
  });
  afterAll(() => rm(historyApp, { recursive: true, force: true }));

  it("passes every safe rewrite, with no advice either", async () => {
    expect(safe.files).toHaveLength((await readdir(join(corpus, "safe"))).length);
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

  it.each(Object.entries(unsafeCorpus))("flags unsafe/%s with exactly %j", (file, rules) => {
    expect(errorRulesOf(unsafe, `unsafe/${file}`).sort()).toEqual([...rules].sort());
  });

  it("covers every unsafe file and fails with exit 1, a reason and next steps", async () => {
    const files = await readdir(join(corpus, "unsafe"));
    expect(unsafe.files.map((f) => f.path.replace("unsafe/", "")).sort()).toEqual(files.sort());
    expect(Object.keys(unsafeCorpus).sort()).toEqual(files.sort());
    expect(unsafe.outcome).toBe("failed");
    expect(unsafe.exitCode).toBe(ExitCode.RolledBack);
    expect(unsafe.counts).toEqual({ errors: unsafeStatementCount, warnings: 0, allowed: 0 });
    expect(unsafe.reason).toBe(
      `${unsafeStatementCount} unsafe statements in ${files.length} migrations: they would break the running release or lock tables during the deploy.`,
    );
    expect(unsafe.nextSteps?.join("\n")).toMatch(/shipyard:post-deploy/);
  });

  it("points every finding at its statement, with squawk's message and our why and fix", async () => {
    for (const finding of unsafe.findings) {
      const lines = (await readFile(join(corpus, finding.file), "utf8")).split("\n");
      const at = lines[finding.line - 1]?.slice(finding.column - 1) ?? "";
      // The statement itself: not a comment, not the SET lines every file starts with.
      expect(at, `${finding.file}:${finding.line}`).toMatch(/^[A-Za-z(]/);
      expect(at, `${finding.file}:${finding.line}`).not.toMatch(/^SET (lock|statement)_timeout/);
      expect(finding.why).toMatch(/\S/);
      expect(finding.fix).toMatch(/\S/);
    }
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
    expect(text).toContain(`FAILED: ${unsafeStatementCount} unsafe, 0 advice, 0 allowed post-deploy`);
  });

  it("allows the contract changes of migrations marked post-deploy, after the safe history", () => {
    expect(history.outcome).toBe("passed");
    const contracts = history.files.filter((f) => f.postDeploy).map((f) => f.path);
    expect(contracts).toEqual(Object.keys(postDeployCorpus).map((file) => `migrations/${file}`));
    expect(history.findings.map((f) => [f.file, f.rule, f.level])).toEqual(
      Object.entries(postDeployCorpus).map(([file, rule]) => [`migrations/${file}`, rule, "allowed"]),
    );
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

describe("Shipyard's own rules: exclusions, ignore comments, the schema behind --base", () => {
  let app: string;
  const lockThenUpdate =
    "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE;\nUPDATE users SET email = lower(email);\n";
  const timeouts = "SET lock_timeout = '5s';\nSET statement_timeout = '60s';\n";
  const lintFile = async (sql: string, excludeRules: string[] = []) => {
    await rm(join(app, "db"), { recursive: true, force: true });
    await mkdir(join(app, "db"));
    await writeFile(join(app, "db", "001.sql"), sql);
    return lintMigrations({ appRoot: app, directory: "db", excludeRules });
  };
  const rulesOf = (result: LintResult) => result.findings.map((f) => `${f.line} ${f.rule} ${f.level}`);

  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), "shipyard-lint-own-"));
  });
  afterAll(() => rm(app, { recursive: true, force: true }));

  it("flags both, and excludes one by its name in excludeRules", async () => {
    expect(rulesOf(await lintFile(timeouts + lockThenUpdate))).toEqual([
      "3 shipyard-lock-table error",
      "4 shipyard-backfill-in-ddl-transaction error",
    ]);
    const excluded = await lintFile(timeouts + lockThenUpdate, ["shipyard-lock-table"]);
    expect(rulesOf(excluded)).toEqual(["4 shipyard-backfill-in-ddl-transaction error"]);
    expect(excluded.excludedRules).toEqual(["shipyard-lock-table"]);
  });

  it("honours squawk-ignore comments naming them, without squawk calling the name unknown", async () => {
    const ignored = await lintFile(
      `${timeouts}-- squawk-ignore shipyard-lock-table -- the table is new and empty\n${lockThenUpdate}`,
    );
    expect(rulesOf(ignored)).toEqual(["5 shipyard-backfill-in-ddl-transaction error"]);
    const wholeFile = await lintFile(
      `-- squawk-ignore-file shipyard-backfill-in-ddl-transaction, shipyard-lock-table\n${timeouts}${lockThenUpdate}`,
    );
    expect(rulesOf(wholeFile)).toEqual([]);
  });

  it("still reports a squawk-ignore with a misspelt name, unless unused-ignore is excluded", async () => {
    const sql = `${timeouts}-- squawk-ignore shipyard-lock-tabel\nSELECT 1;\n`;
    expect(rulesOf(await lintFile(sql))).toEqual(["3 unused-ignore warning"]);
    expect(rulesOf(await lintFile(sql, ["unused-ignore"]))).toEqual([]);
  });

  it("rejects an unknown shipyard-* name in excludeRules with exit 2, listing Shipyard's rules", async () => {
    const error = await lintFile(timeouts, ["shipyard-lock-tabel"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).exitCode).toBe(ExitCode.BadInput);
    expect((error as InputError).message).toMatch(/"shipyard-lock-tabel".*migrations\.excludeRules/);
    expect((error as InputError).hint).toMatch(/shipyard-lock-table/);
  });

  it("knows a column's type from migrations --base leaves out: a widening new file passes", async () => {
    const repo = await mkdtemp(join(tmpdir(), "shipyard-lint-base-schema-"));
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: repo });
    try {
      await mkdir(join(repo, "migrations"));
      await writeFile(
        join(repo, "migrations", "001_users.sql"),
        `${timeouts}CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, email varchar(100));\n`,
      );
      git("init", "-q", "-b", "main");
      git("add", ".");
      git("commit", "-q", "-m", "applied long ago");
      await writeFile(
        join(repo, "migrations", "002_widen.sql"),
        `${timeouts}ALTER TABLE users ALTER COLUMN email TYPE varchar(320);\n`,
      );
      await writeFile(
        join(repo, "migrations", "003_narrow.sql"),
        `${timeouts}ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\n`,
      );
      const result = await lintMigrations({ appRoot: repo, baseRef: "main" });
      expect(result.files.map((f) => f.path)).toEqual([
        "migrations/002_widen.sql",
        "migrations/003_narrow.sql",
      ]);
      // 320 → 200 is narrower than what 002 made it: a rewrite.
      expect(result.findings.filter((f) => f.level === "error").map((f) => [f.file, f.rule])).toEqual([
        ["migrations/003_narrow.sql", "changing-column-type"],
      ]);
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});
