/**
 * `requires`: an environment may only receive an image that another environment (say staging) runs
 * verified. The evidence is the other service's `shipyard:last-good` tag, which a deploy writes only
 * after its rollout and verification passed; the image of that revision must be ours, by digest.
 */
import { awsErrorName, type Ecs, shortArn } from "../aws/ecs.js";
import type { Config } from "../config/schema.js";
import { imageOf } from "../config/taskdef.js";
import { TAG } from "./revisions.js";

export type RequirementCheck =
  | { ok: true; evidence: string }
  | { ok: false; problem: string; nextSteps: string[] };

const digestOf = (image: string | null) => /@(sha256:[a-f0-9]{64})$/.exec(image ?? "")?.[1] ?? null;

export async function checkRequirement(options: {
  config: Config;
  environmentName: string;
  image: string;
  /** ECS in the required environment's region. */
  ecsFor: (region: string) => Promise<Ecs>;
  /** The deploy command for the required environment, as the user would type it. */
  deployCommand: (environmentName: string) => string;
}): Promise<RequirementCheck | null> {
  const required = options.config.environments[options.environmentName]?.requires;
  if (required === undefined) return null;
  const other = options.config.environments[required]!;
  const deployFirst = options.deployCommand(required);
  const skip = `or, if ${required} cannot be read with these credentials and you have checked it: --skip-requires`;
  try {
    const ecs = await options.ecsFor(other.region);
    const lookup = await ecs.describeService({ cluster: other.cluster, service: other.service });
    if (!lookup.found) {
      return {
        ok: false,
        problem: `${required} cannot be checked: ${lookup.reason}`,
        nextSteps: [deployFirst],
      };
    }
    const lastGood = lookup.tags[TAG.lastGood];
    if (!lastGood) {
      return {
        ok: false,
        problem: `${options.environmentName} requires ${required} to run this image verified first, and ${required} has no verified deploy recorded`,
        nextSteps: [deployFirst],
      };
    }
    const { taskDefinition } = await ecs.describeTaskDefinition(lastGood);
    const verifiedImage = imageOf(taskDefinition, other.container);
    if (digestOf(verifiedImage) !== digestOf(options.image)) {
      return {
        ok: false,
        problem: `${options.environmentName} requires ${required} to run this image verified first; ${required}'s last verified revision ${shortArn(lastGood)} runs ${verifiedImage ?? "no image"}`,
        nextSteps: [deployFirst],
      };
    }
    return { ok: true, evidence: `${required} runs this image verified (${shortArn(lastGood)})` };
  } catch (error) {
    return {
      ok: false,
      problem: `${required} could not be read to confirm it runs this image (${awsErrorName(error)}: ${(error as Error).message})`,
      nextSteps: [
        `check the credentials can read ${required}'s service (${other.region}/${other.cluster}/${other.service}), ${skip}`,
      ],
    };
  }
}
