import { ExitCode, ShipyardError } from "../errors.js";
import type { Report } from "../report/report.js";
import type { CommandDeps, PlanInput } from "./commands.js";

/** Placeholder while the controller lands (same signature). */
export async function plan(_input: PlanInput, _deps: CommandDeps): Promise<Report> {
  throw new ShipyardError("shipyard plan is not implemented yet", { exitCode: ExitCode.NeedsAttention });
}
