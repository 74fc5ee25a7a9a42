import * as z from "zod";

/**
 * The part of Slack's Block Kit that Trisearch sends, as a schema with Slack's documented limits
 * (api.slack.com/reference/block-kit): a message Slack would reject (`invalid_blocks`) fails here
 * first, in the tests and before a reply is posted. Strict objects: an unknown field is an error.
 */

const plainText = (max: number) =>
  z.strictObject({
    type: z.literal("plain_text"),
    text: z.string().min(1).max(max),
    emoji: z.boolean().optional(),
  });
const mrkdwn = (max: number) =>
  z.strictObject({
    type: z.literal("mrkdwn"),
    text: z.string().min(1).max(max),
    verbatim: z.boolean().optional(),
  });
const textObject = (max: number) => z.discriminatedUnion("type", [plainText(max), mrkdwn(max)]);

const blockId = z.string().min(1).max(255).optional();

const buttonSchema = z.strictObject({
  type: z.literal("button"),
  text: plainText(75),
  action_id: z.string().min(1).max(255).optional(),
  url: z
    .url({ protocol: /^https?$/ })
    .max(3000)
    .optional(),
  value: z.string().max(2000).optional(),
  style: z.enum(["primary", "danger"]).optional(),
  accessibility_label: z.string().max(75).optional(),
});

const sectionSchema = z
  .strictObject({
    type: z.literal("section"),
    block_id: blockId,
    text: textObject(3000).optional(),
    fields: z.array(textObject(2000)).min(1).max(10).optional(),
    accessory: buttonSchema.optional(),
  })
  .refine((s) => s.text !== undefined || s.fields !== undefined, "a section needs text or fields");

const contextSchema = z.strictObject({
  type: z.literal("context"),
  block_id: blockId,
  elements: z.array(textObject(3000)).min(1).max(10),
});

const dividerSchema = z.strictObject({ type: z.literal("divider"), block_id: blockId });

const actionsSchema = z.strictObject({
  type: z.literal("actions"),
  block_id: blockId,
  elements: z.array(buttonSchema).min(1).max(25),
});

const blockSchema = z.union([sectionSchema, contextSchema, dividerSchema, actionsSchema]);

/** A message for `response_url` (slash commands): ephemeral by default, `text` is the notification fallback. */
export const slackResponseMessageSchema = z.strictObject({
  response_type: z.enum(["ephemeral", "in_channel"]),
  replace_original: z.boolean().optional(),
  text: z.string().min(1).max(40_000),
  blocks: z.array(blockSchema).max(50).optional(),
});

/** A message for a channel (chat.postMessage): `text` is the notification and screen-reader fallback. */
export const slackChannelMessageSchema = z.strictObject({
  text: z.string().min(1).max(40_000),
  blocks: z.array(blockSchema).max(50).optional(),
});

export type SlackBlock = z.infer<typeof blockSchema>;
export type SlackButton = z.infer<typeof buttonSchema>;
export type SlackResponseMessage = z.infer<typeof slackResponseMessageSchema>;
export type SlackChannelMessage = z.infer<typeof slackChannelMessageSchema>;

/** Slack's mrkdwn control characters; user text is escaped so it never becomes a link or a mention. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
