/**
 * One deploy (or rollback) of a service at a time. ECS has no lock and no conditional write, so
 * Shipyard runs Lamport's bakery algorithm on the service's own tags, with ECS itself as the ticket
 * dispenser:
 *
 *   1. announce: write this run's claim `shipyard:lock:<run>` = "choosing" (each run writes only its
 *      own tag key, so no write ever overwrites another's);
 *   2. take a ticket: register the new task definition revision — ECS numbers a family's revisions
 *      atomically and in order, so the revision number is a ticket no two runs share;
 *   3. write the ticket into the claim (state "deciding");
 *   4. read every claim; wait while another run is still "choosing" (it may be about to take a
 *      smaller ticket); then the smallest ticket holds the service and every other run gives up
 *      (exit 2, nothing changed) naming the holder. The holder marks its claim "held" before it
 *      changes anything.
 *
 * Why it is safe: if two runs both went on, the one with the larger ticket read the claims after it
 * took its ticket; the smaller ticket was taken earlier, so its "choosing" claim was written earlier
 * still, and the reader saw it (and waited) or saw the ticket itself.
 *
 * A rollback takes no ticket ("exclusive") and goes first: a deploy that sees a rollback's claim
 * gives way. The rollback gives up when another rollback is there or a run already holds the
 * service; while deploys are still choosing or deciding it waits for them to give way or to hold.
 * That wait is what makes it safe: a deploy that decided before the rollback's claim was written
 * marks its claim "held" before changing anything, and a deploy that decides later sees the
 * rollback. Without it, a rollback and a deploy started together would each see the other and both
 * give up.
 *
 * Claims expire (a crashed run blocks only until its lease ends), and `--force` removes the claims
 * of runs a person knows are dead. The argument assumes a read of the service's tags returns the
 * tags written before it, which is how ECS answers; each decision reads twice, `settleSeconds`
 * apart, to leave room for propagation.
 */
import { type Ecs, type ServiceRef, shortArn } from "../aws/ecs.js";
import type { Clock, Random } from "../clock.js";
import type { Progress } from "../report/progress.js";

const PREFIX = "shipyard:lock:";
/** How long a "choosing" claim stays valid: registering a revision takes seconds, not minutes. */
const CHOOSING_SECONDS = 120;
/** How long a run waits for others to choose or decide before it gives up on them. */
const WAIT_SECONDS = 2 * CHOOSING_SECONDS;

export type Ticket = { kind: "revision"; family: string; revision: number } | { kind: "exclusive" };

/** "deciding" until the run knows it holds the service; "held" from then on. */
export type ClaimState = "deciding" | "held";

export interface Claim {
  run: string;
  /** "choosing" until the ticket is known. */
  ticket: Ticket | "choosing";
  state: ClaimState;
  command: string;
  commit: string | null;
  by: string;
  startedAt: string;
  expiresAt: string;
}

export interface LockOptions {
  ecs: Ecs;
  ref: ServiceRef;
  serviceArn: string;
  clock: Clock;
  random: Random;
  progress: Progress;
  signal: AbortSignal;
  /** What this run is: "deploy" or "rollback". */
  command: string;
  commit: string | null;
  /** Who started it: the CI actor or the OS user. */
  by: string;
  /** How long this run may hold the service before its claim counts as abandoned. */
  leaseSeconds: number;
  /** Pause between the two reads of a decision. */
  settleSeconds?: number;
  /** Remove other runs' claims (a person knows they are dead). */
  force?: boolean;
}

export type LockDecision = { held: true; broken: Claim[] } | { held: false; holder: Claim; why: string };

export class ServiceLock {
  readonly run: string;
  private readonly startedAt: string;
  private written = false;

  constructor(private readonly options: LockOptions) {
    this.run = `r${Math.floor(options.random() * 2 ** 48)
      .toString(36)
      .padStart(10, "0")}`;
    this.startedAt = new Date(options.clock.now()).toISOString();
  }

  /** Step 1: this run is about to take a ticket. */
  async announce(): Promise<void> {
    await this.write("choosing", "deciding", CHOOSING_SECONDS);
  }

  /** Steps 3 and 4: publish the ticket and find out who holds the service. */
  async claim(ticket: Ticket): Promise<LockDecision> {
    await this.write(ticket, "deciding", this.options.leaseSeconds);
    const broken: Claim[] = [];
    const settle = (this.options.settleSeconds ?? 2) * 1000;
    const waitUntil = this.options.clock.now() + WAIT_SECONDS * 1000;
    let waitedFor: string | null = null;
    let clearReads = 0;
    for (;;) {
      await this.options.clock.sleep(settle, this.options.signal);
      const others = (await this.readClaims()).filter((claim) => claim.run !== this.run);
      if (this.options.force && others.length > 0) {
        await this.remove(others);
        broken.push(...others);
        this.options.progress.warn(
          `--force: removed the claim(s) of ${others.map(describeClaim).join("; ")} on ${this.options.ref.service}`,
        );
        clearReads = 0;
        continue;
      }
      const verdict = judge(ticket, others);
      if (verdict.kind === "wait" && this.options.clock.now() < waitUntil) {
        if (waitedFor !== verdict.claim.run) {
          waitedFor = verdict.claim.run;
          this.options.progress.info(`Waiting for ${describeClaim(verdict.claim)}: ${verdict.why}.`);
        }
        clearReads = 0;
        continue;
      }
      if (verdict.kind !== "go") {
        await this.release();
        const why =
          verdict.kind === "wait" ? `${verdict.why} and did not finish within ${WAIT_SECONDS}s` : verdict.why;
        return { held: false, holder: verdict.claim, why };
      }
      // Two reads in a row that let this run go: decide on the second.
      clearReads += 1;
      if (clearReads < 2) continue;
      await this.write(ticket, "held", this.options.leaseSeconds);
      return { held: true, broken };
    }
  }

  /** Removes this run's claim; safe to call more than once, never throws. */
  async release(): Promise<void> {
    if (!this.written) return;
    try {
      await this.options.ecs.untagResource(this.options.serviceArn, [PREFIX + this.run]);
      this.written = false;
    } catch (error) {
      this.options.progress.warn(
        `could not remove this run's lock claim ${PREFIX}${this.run} from ${this.options.ref.service} (${(error as Error).message}); it expires by itself, or remove it with --force`,
      );
    }
  }

  private async write(ticket: Ticket | "choosing", state: ClaimState, seconds: number): Promise<void> {
    const claim: Claim = {
      run: this.run,
      ticket,
      state,
      command: this.options.command,
      commit: this.options.commit,
      by: this.options.by,
      startedAt: this.startedAt,
      expiresAt: new Date(this.options.clock.now() + seconds * 1000).toISOString(),
    };
    this.written = true;
    await this.options.ecs.tagResource(this.options.serviceArn, { [PREFIX + this.run]: formatClaim(claim) });
  }

  private async readClaims(): Promise<Claim[]> {
    const lookup = await this.options.ecs.describeService(this.options.ref);
    if (!lookup.found) return [];
    const now = this.options.clock.now();
    return claimsOf(lookup.tags).filter((claim) => Date.parse(claim.expiresAt) > now);
  }

  private async remove(claims: Claim[]): Promise<void> {
    await this.options.ecs.untagResource(
      this.options.serviceArn,
      claims.map((claim) => PREFIX + claim.run),
    );
  }
}

type Verdict = { kind: "go" } | { kind: "wait" | "yield"; claim: Claim; why: string };

/** What this run does about the other runs' claims: go on, wait for one, or give way to one. */
function judge(ticket: Ticket, others: Claim[]): Verdict {
  return ticket.kind === "exclusive" ? judgeExclusive(others) : judgeRevision(ticket, others);
}

/** A deploy: a rollback goes first, then the smallest ticket; wait while someone takes a ticket. */
function judgeRevision(ticket: Extract<Ticket, { kind: "revision" }>, others: Claim[]): Verdict {
  const rollback = others.find((other) => other.ticket !== "choosing" && other.ticket.kind === "exclusive");
  if (rollback) return { kind: "yield", claim: rollback, why: "a rollback goes first" };
  for (const other of others) {
    if (other.ticket === "choosing" || other.ticket.kind !== "revision") continue;
    if (other.ticket.family !== ticket.family) {
      return { kind: "yield", claim: other, why: `it deploys task definition family ${other.ticket.family}` };
    }
    if (other.ticket.revision < ticket.revision)
      return { kind: "yield", claim: other, why: "it registered its revision first" };
  }
  const choosing = others.find((other) => other.ticket === "choosing");
  if (choosing) return { kind: "wait", claim: choosing, why: "it is taking its ticket" };
  return { kind: "go" };
}

/** A rollback: give up to a run that holds the service or to another rollback; wait for deciders. */
function judgeExclusive(others: Claim[]): Verdict {
  const holder = others.find((other) => other.state === "held");
  if (holder) return { kind: "yield", claim: holder, why: "it holds the service" };
  const rollback = others.find((other) => other.ticket !== "choosing" && other.ticket.kind === "exclusive");
  if (rollback) return { kind: "yield", claim: rollback, why: "another rollback is under way" };
  const deciding = others[0];
  if (deciding) return { kind: "wait", claim: deciding, why: "it is deciding whether to give way" };
  return { kind: "go" };
}

/** Tag values allow letters, digits, spaces and + - = . _ : / @. */
export function formatClaim(claim: Claim): string {
  const ticket =
    claim.ticket === "choosing"
      ? "choosing"
      : claim.ticket.kind === "exclusive"
        ? "exclusive"
        : `${claim.ticket.family}:${claim.ticket.revision}`;
  const safe = (value: string) => value.replace(/[^\p{L}\p{N}+\-=._:/@]/gu, "_").slice(0, 40);
  return [
    `ticket=${ticket}`,
    `state=${claim.state}`,
    `command=${safe(claim.command)}`,
    `commit=${safe(claim.commit ?? "-")}`,
    `by=${safe(claim.by)}`,
    `started=${claim.startedAt}`,
    `expires=${claim.expiresAt}`,
  ].join(" ");
}

export function parseClaim(run: string, value: string): Claim | null {
  const fields = Object.fromEntries(
    value.split(" ").map((part) => {
      const at = part.indexOf("=");
      return [part.slice(0, at), part.slice(at + 1)];
    }),
  );
  const ticketText = fields.ticket;
  if (!ticketText || !fields.started || !fields.expires) return null;
  let ticket: Claim["ticket"];
  if (ticketText === "choosing") ticket = "choosing";
  else if (ticketText === "exclusive") ticket = { kind: "exclusive" };
  else {
    const match = /^(.+):(\d+)$/.exec(ticketText);
    if (!match) return null;
    ticket = { kind: "revision", family: match[1]!, revision: Number(match[2]) };
  }
  return {
    run,
    ticket,
    // A claim without a state (an older Shipyard) may hold the service: assume it does.
    state: fields.state === "deciding" ? "deciding" : "held",
    command: fields.command ?? "deploy",
    commit: fields.commit && fields.commit !== "-" ? fields.commit : null,
    by: fields.by ?? "unknown",
    startedAt: fields.started,
    expiresAt: fields.expires,
  };
}

export function claimsOf(tags: Record<string, string>): Claim[] {
  return Object.entries(tags)
    .filter(([key]) => key.startsWith(PREFIX))
    .map(([key, value]) => parseClaim(key.slice(PREFIX.length), value))
    .filter((claim): claim is Claim => claim !== null);
}

export function describeClaim(claim: Claim): string {
  return `${claim.command} run ${claim.run} (commit ${claim.commit ?? "unknown"}, by ${claim.by}, started ${claim.startedAt}, lease until ${claim.expiresAt})`;
}

export function ticketOf(taskDefinitionArn: string): Ticket {
  const [family, revision] = shortArn(taskDefinitionArn).split(":");
  return { kind: "revision", family: family ?? "", revision: Number(revision) };
}
