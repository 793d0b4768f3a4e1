/**
 * Process entry point: `node dist/server.js`. Exit codes: 0 after a clean drain, 1 when the settings
 * are wrong, the port cannot be opened, or the drain had to cut requests off.
 */
import { errorFields, jsonLog } from "./log.js";
import { startService } from "./service.js";
import { readSettings } from "./settings.js";

const log = jsonLog();

async function main(): Promise<void> {
  const service = await startService(readSettings(process.env), log);
  const onSignal = (signal: NodeJS.Signals) => {
    log("info", "stopping", { signal });
    service.stop().then(
      ({ drained }) => {
        log("info", "stopped", { drained });
        process.exit(drained ? 0 : 1);
      },
      (error: unknown) => {
        log("error", "stop failed", errorFields(error));
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

main().catch((error: unknown) => {
  log("error", "the service could not start", errorFields(error));
  process.exit(1);
});
