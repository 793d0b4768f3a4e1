import { ExitCode, ShipyardError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandDeps, DeployInput } from "./commands.js";

/** Placeholder while the controller lands (same signature). */
export async function deploy(_input: DeployInput, _deps: CommandDeps): Promise<Report> {
  throw new ShipyardError("shipyard deploy is not implemented yet", { exitCode: ExitCode.NeedsAttention });
}
