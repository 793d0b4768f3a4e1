/**
 * Notifications of a deploy or a rollback: a Slack message (incoming webhook, Block Kit) and a JSON
 * POST to any webhook. What is said is built here from an `Announcement` the caller has already
 * scrubbed; sending goes through `postJson` (bounded, retried once at most, never thrown).
 * Slack's format: https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/block-kit/blocks
 */
import { cut } from "./delivery.js";
import type { Report } from "./report.js";

export type AnnouncedEvent = "start" | "success" | "rollback" | "failure";

/** One event of a deploy or a rollback, as every channel tells it. */
export interface Announcement {
  event: AnnouncedEvent;
  command: "deploy" | "rollback";
  environment: string;
  /** cluster/service */
  service: string;
  release: string | null;
  image: string | null;
  commit: string | null;
  /** Why it did not succeed (or why a rollback ran). */
  reason: string | null;
  /** The CI run, when there is one. */
  runUrl: string | null;
  /** The final report, at the end of a command. */
  report: Report | null;
}

const ICON: Record<AnnouncedEvent, string> = {
  start: "🚀",
  success: "✅",
  rollback: "↩️",
  failure: "❌",
};

/** One line a person reads first: what happened where. */
export function headline(a: Announcement): string {
  const release = a.release ?? "(unknown release)";
  switch (a.event) {
    case "start":
      return `Deploying ${release} to ${a.environment}`;
    case "success":
      return a.command === "rollback"
        ? `${a.environment} is back on ${release}`
        : `${release} is live on ${a.environment}`;
    case "rollback":
      return a.command === "rollback"
        ? `${a.environment} was rolled back to ${release}`
        : `${release} was rolled back on ${a.environment}`;
    case "failure":
      return a.command === "rollback"
        ? `The rollback of ${a.environment} failed`
        : `The deploy of ${release} to ${a.environment} failed`;
  }
}

/** Slack's limits: a header's text is at most 150 characters, a section's 3000. */
const HEADER_LIMIT = 150;
const SECTION_LIMIT = 3000;

export function slackMessage(a: Announcement): Record<string, unknown> {
  const title = `${ICON[a.event]} ${headline(a)}`;
  const fields = [
    field("Environment", a.environment),
    field("Service", a.service),
    ...(a.release ? [field("Release", a.release)] : []),
    ...(a.report ? [field("Exit code", String(a.report.exitCode))] : []),
  ];
  const blocks: Array<Record<string, unknown>> = [
    { type: "header", text: { type: "plain_text", text: cut(title, HEADER_LIMIT), emoji: true } },
    { type: "section", fields },
  ];
  if (a.reason) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: cut(`*Why:* ${escapeMrkdwn(a.reason)}`, SECTION_LIMIT) },
    });
  }
  const context = [a.image ? `\`${escapeMrkdwn(a.image)}\`` : null, a.runUrl ? `<${a.runUrl}|CI run>` : null];
  const elements = context.filter((text): text is string => text !== null);
  if (elements.length > 0) {
    blocks.push({ type: "context", elements: elements.map((text) => ({ type: "mrkdwn", text })) });
  }
  // `text` is what notifications and screen readers show.
  return { text: a.reason ? `${title}: ${a.reason}` : title, blocks };
}

/** The generic webhook's body: the event, where, and at the end the whole (scrubbed) report. */
export function webhookBody(a: Announcement): Record<string, unknown> {
  return {
    event: a.event,
    command: a.command,
    environment: a.environment,
    service: a.service,
    release: a.release,
    image: a.image,
    commit: a.commit,
    reason: a.reason,
    runUrl: a.runUrl,
    report: a.report,
  };
}

function field(name: string, value: string): Record<string, string> {
  return { type: "mrkdwn", text: `*${name}*\n${escapeMrkdwn(value)}` };
}

/** Slack's mrkdwn needs &, < and > escaped; everything else is shown as written. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
