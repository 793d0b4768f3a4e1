#!/usr/bin/env node
/**
 * The `shipyard` executable (compiled to dist/bin/shipyard.js). SIGINT, SIGTERM and SIGHUP (a closed
 * terminal, a CI runner losing its agent) all stop a wait the same way: print where things stand and
 * the commands to run, then exit 3.
 */
import module from "node:module";

const MINIMUM_NODE = 22;
const major = Number(process.versions.node.split(".")[0]);
if (major < MINIMUM_NODE) {
  process.stderr.write(
    `shipyard needs Node.js ${MINIMUM_NODE} or newer (the AWS SDK it uses does); this is ${process.version}. Install Node.js 24 (LTS) or 22.\n`,
  );
  process.exit(2);
}

// Node keeps the compiled code of Shipyard's modules between runs (in the OS temp folder): a CLI
// started by every CI step should not recompile the same files each time.
module.enableCompileCache?.();
const { runCli } = await import("./cli.js");

const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => controller.abort(new Error(`received ${signal}`)));
}
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
  script: process.argv[1] ?? "shipyard",
});
