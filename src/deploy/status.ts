import { ExitCode, ShipyardError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandDeps, StatusInput } from "./commands.js";

/** Placeholder while the controller lands (same signature). */
export async function status(_input: StatusInput, _deps: CommandDeps): Promise<Report> {
  throw new ShipyardError("shipyard status is not implemented yet", { exitCode: ExitCode.NeedsAttention });
}
