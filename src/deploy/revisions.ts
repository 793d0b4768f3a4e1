/**
 * Task definition revisions as Shipyard keeps track of them. CI runners are ephemeral, so what
 * "last good" means lives in ECS itself, as tags: the service carries `shipyard:last-good` (the
 * revision the last verified deploy left running) and `shipyard:previous` (the one before it); every
 * revision Shipyard registers carries `shipyard:previous` too, so repeated rollbacks walk further
 * back instead of rolling forward.
 */
import type { Tag, TaskDefinition } from "@aws-sdk/client-ecs";
import { awsErrorName, type Ecs, revisionIdentifier, shortArn } from "../aws/ecs.js";
import { imageOf, type RenderedTaskDefinition, repositoryOf } from "../config/taskdef.js";
import type { Progress } from "../report/progress.js";

export const TAG = {
  lastGood: "shipyard:last-good",
  previous: "shipyard:previous",
  release: "shipyard:release",
  commit: "shipyard:commit",
  environment: "shipyard:environment",
} as const;

/** Default release name: the commit when known, else the image digest's first 12 hex digits. */
export function defaultRelease(image: string, commit?: string): string {
  if (commit) return commit;
  return /@sha256:([a-f0-9]{12})/.exec(image)?.[1] ?? image;
}

/** Tag values allow letters, digits, spaces and + - = . _ : / @ (max 256). */
export function tagValue(value: string): string {
  return value.replace(/[^\p{L}\p{N}\s+\-=._:/@]/gu, "_").slice(0, 256);
}

export interface NewRevision {
  definition: RenderedTaskDefinition;
  environmentName: string;
  release: string;
  commit?: string;
  /** The revision the service runs now: a rollback from the new one returns here. */
  previousArn: string;
}

/** Registers the new revision, tagged with where it came from; returns its ARN. */
export async function registerRevision(ecs: Ecs, revision: NewRevision): Promise<TaskDefinition> {
  const tags: Tag[] = [
    ...(revision.definition.tags ?? []).filter((t) => !t.key?.startsWith("shipyard:")),
    { key: TAG.release, value: tagValue(revision.release) },
    { key: TAG.environment, value: revision.environmentName },
    { key: TAG.previous, value: revision.previousArn },
    ...(revision.commit ? [{ key: TAG.commit, value: tagValue(revision.commit) }] : []),
  ];
  return ecs.registerTaskDefinition({ ...revision.definition, tags });
}

/**
 * Records `lastGood` as the revision a rollback returns to, and `previous` as the one before it.
 * Returns a warning when the tags could not be written (the deploy itself stands).
 */
export async function recordLastGood(
  ecs: Ecs,
  serviceArn: string | undefined,
  lastGood: string,
  previous: string | null | undefined,
  progress: Progress,
): Promise<string | null> {
  if (!serviceArn) return "the service has no ARN to tag; `rollback` will need --to";
  try {
    await ecs.tagResource(serviceArn, {
      [TAG.lastGood]: lastGood,
      ...(previous ? { [TAG.previous]: previous } : {}),
    });
    if (!previous) await ecs.untagResource(serviceArn, [TAG.previous]);
    return null;
  } catch (error) {
    const why = `${awsErrorName(error)}: ${(error as Error).message}`;
    progress.warn(
      `could not record the last good revision on the service (${why}); \`rollback\` will need --to.`,
    );
    return `last good revision not recorded (${why})`;
  }
}

export interface RollbackTarget {
  arn: string;
  taskDefinition: TaskDefinition;
  tags: Record<string, string>;
  /** Why this revision was chosen, for the report. */
  why: string;
}

export type TargetChoice = RollbackTarget | { problem: string; nextSteps: string[] };

/** What makes a revision ours: the service's family, the configured container, the configured repository. */
export interface Identity {
  family: string;
  container: string;
  repository: string;
}

/**
 * Why a revision is not one this service may be put on, or null. A last-good tag or a hand-typed
 * --to can name anything ECS knows; only our own family, container and image repository are safe.
 */
export function foreignRevision(taskDefinition: TaskDefinition, identity: Identity): string | null {
  const name = shortArn(taskDefinition.taskDefinitionArn);
  if (taskDefinition.family !== identity.family) {
    return `${name} is of family ${taskDefinition.family}, not ${identity.family} (the family the service runs)`;
  }
  const image = imageOf(taskDefinition, identity.container);
  if (image === null) {
    const names = (taskDefinition.containerDefinitions ?? []).map((c) => c.name).join(", ");
    return `${name} has no container "${identity.container}" (it has: ${names || "none"})`;
  }
  if (repositoryOf(image) !== identity.repository) {
    return `${name} runs ${image}, which is not from the configured repository ${identity.repository}`;
  }
  return null;
}

/**
 * Where `rollback` goes: `--to` when given, else the last good revision recorded on the service,
 * else the one before it, else the revision the current one replaced.
 */
export async function chooseRollbackTarget(
  ecs: Ecs,
  options: {
    to: string | undefined;
    currentArn: string;
    serviceTags: Record<string, string>;
    /** The command to pick a revision by hand, as the user would type it. */
    pickByHand: string;
    /** Container and repository that make a revision ours; the family is the current one's. */
    identity: Omit<Identity, "family">;
    /** Accept a revision that is not ours (a person checked it). */
    allowForeign: boolean;
  },
): Promise<TargetChoice> {
  const { to, currentArn, serviceTags } = options;
  const identity = { ...options.identity, family: shortArn(currentArn).split(":")[0] ?? "" };
  const load = async (identifier: string, why: string): Promise<TargetChoice> => {
    const target = await loadTarget(ecs, identifier, why);
    if ("problem" in target || options.allowForeign) return target;
    const foreign = foreignRevision(target.taskDefinition, identity);
    if (foreign === null) return target;
    return {
      problem: `${foreign}; Shipyard puts a service back only on its own revisions`,
      nextSteps: [
        `${options.pickByHand}   # a revision of ${identity.family}`,
        "or, if you checked that revision and mean it: add --allow-foreign-revision",
      ],
    };
  };
  const candidates: Array<[string | undefined, string]> = to
    ? [[revisionIdentifier(to, currentArn), "--to"]]
    : [
        [serviceTags[TAG.lastGood], "the last good revision recorded by the last deploy"],
        [serviceTags[TAG.previous], "the revision before the last good one"],
      ];
  for (const [identifier, why] of candidates) {
    if (!identifier || (identifier === currentArn && !to)) continue;
    return load(identifier, why);
  }
  if (!to) {
    const { tags } = await ecs.describeTaskDefinition(currentArn);
    const previous = tags[TAG.previous];
    if (previous && previous !== currentArn)
      return load(previous, `the revision ${shortArn(currentArn)} replaced`);
  }
  const family = shortArn(currentArn).split(":")[0] ?? "";
  return {
    problem: "no earlier good revision is recorded on the service (it was not deployed by Shipyard yet)",
    nextSteps: [
      `${options.pickByHand}   # pick one from: aws ecs list-task-definitions --family-prefix ${family} --sort DESC`,
    ],
  };
}

async function loadTarget(ecs: Ecs, identifier: string, why: string): Promise<TargetChoice> {
  try {
    const { taskDefinition, tags } = await ecs.describeTaskDefinition(identifier);
    if (taskDefinition.status !== "ACTIVE") {
      return {
        problem: `${shortArn(taskDefinition.taskDefinitionArn)} is ${taskDefinition.status}: ECS cannot run it again`,
        nextSteps: ["pick an ACTIVE revision with --to"],
      };
    }
    return { arn: taskDefinition.taskDefinitionArn!, taskDefinition, tags, why };
  } catch (error) {
    return {
      problem: `task definition ${identifier} could not be read (${awsErrorName(error)}: ${(error as Error).message})`,
      nextSteps: ["check the revision with aws ecs describe-task-definition, or pass another one with --to"],
    };
  }
}
