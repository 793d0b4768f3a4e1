import { ExitCode, ShipyardError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandDeps, RollbackInput } from "./commands.js";

/** Placeholder while the controller lands (same signature). */
export async function rollback(_input: RollbackInput, _deps: CommandDeps): Promise<Report> {
  throw new ShipyardError("shipyard rollback is not implemented yet", { exitCode: ExitCode.NeedsAttention });
}
