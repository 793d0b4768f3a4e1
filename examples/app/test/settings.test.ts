import { describe, expect, it } from "vitest";
import { readSettings } from "../src/settings.js";

const DATABASE_URL = "postgres://app:secret@db:5432/app";

describe("readSettings", () => {
  it("uses the production defaults", () => {
    expect(readSettings({ DATABASE_URL })).toEqual({
      port: 3000,
      host: "0.0.0.0",
      databaseUrl: DATABASE_URL,
      release: "dev",
      shutdownTimeoutMs: 25_000,
      poolSize: 10,
    });
  });

  it("reads every variable", () => {
    const env = {
      DATABASE_URL,
      PORT: "0",
      HOST: "127.0.0.1",
      SENTRY_RELEASE: "abc123",
      SHUTDOWN_TIMEOUT_MS: "1000",
      PG_POOL_SIZE: "3",
    };
    expect(readSettings(env)).toEqual({
      port: 0,
      host: "127.0.0.1",
      databaseUrl: DATABASE_URL,
      release: "abc123",
      shutdownTimeoutMs: 1000,
      poolSize: 3,
    });
  });

  it("says how to set DATABASE_URL when it is missing", () => {
    expect(() => readSettings({})).toThrow(/DATABASE_URL is not set: set it to the service's PostgreSQL URL/);
    expect(() => readSettings({ DATABASE_URL: "" })).toThrow(/DATABASE_URL is not set/);
  });

  it.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["SHUTDOWN_TIMEOUT_MS", "-1"],
    ["PG_POOL_SIZE", "0"],
    ["PG_POOL_SIZE", "2.5"],
  ])("rejects %s=%s and gives the valid range", (name, value) => {
    expect(() => readSettings({ DATABASE_URL, [name]: value })).toThrow(
      new RegExp(`^${name}=${value.replace(".", "\\.")} is not valid: use a whole number from \\d+ to \\d+$`),
    );
  });
});
