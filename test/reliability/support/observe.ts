/**
 * What the ECS simulator saw, read the way the reliability cases state their outcomes: who changed
 * the service, which lock run id a caller wrote, which claims are left behind.
 */
import type { EcsSimulator, RecordedCall } from "../../../src/emulator/ecs/simulator.js";

/** Calls that change a service or start work on it (the gateway's `serviceChanged` set). */
export const CHANGING = ["UpdateService", "StopServiceDeployment", "RunTask"] as const;

export function changesBy(calls: readonly RecordedCall[], caller?: string): RecordedCall[] {
  return calls.filter(
    (call) =>
      (CHANGING as readonly string[]).includes(call.operation) &&
      (caller === undefined || call.caller === caller),
  );
}

/** The lock run id a caller's claims were written under. */
export function lockRunOf(sim: EcsSimulator, caller: string): string {
  for (const call of sim.callsTo("TagResource")) {
    if (call.caller !== caller) continue;
    const tags = (call.input.tags as Array<{ key: string }> | undefined) ?? [];
    const claim = tags.find((tag) => tag.key.startsWith("shipyard:lock:"));
    if (claim) return claim.key.slice("shipyard:lock:".length);
  }
  throw new Error(`${caller} wrote no lock claim`);
}

/** Lock claims still on the service. */
export function claimsLeft(sim: EcsSimulator, cluster = "main", service = "web"): string[] {
  return Object.keys(sim.serviceTags(cluster, service)).filter((key) => key.startsWith("shipyard:lock:"));
}
