import type { Node } from "constructs";
import { z } from "zod";

/** Context values arrive as strings from `-c key=value` and as JSON types from cdk.json. */
const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const csv = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : v),
  z.array(z.string()),
);

const settingsSchema = z
  .object({
    authMode: z.enum(["iam", "jwt"]).default("iam"),
    jwtIssuer: z.string().url().optional(),
    jwtAudience: csv.optional(),
    /** authMode=jwt: the claim that names the viewer a search runs as (README "Permissions"). */
    jwtViewerClaim: z.string().min(1).default("sub"),
    /** A search without a viewer reads every conversation (an admin tool): off unless turned on here. */
    allowUnscopedSearch: bool.default(false),
    /** What `cdk destroy` does with stored data: `retain` (production) or `destroy` (a dev stack). */
    removalPolicy: z.enum(["retain", "destroy"]).default("retain"),
    /** RDS deletion protection; unset = on with removalPolicy=retain, off with destroy. */
    deletionProtection: bool.optional(),
    /** Create the OpenSearch service-linked role (a VPC domain needs it; off if the account has it). */
    createOpenSearchServiceLinkedRole: bool.default(true),
    multiAz: bool.default(false),
    vpcEndpointAzs: z.coerce.number().int().min(1).max(2).default(1),
    dbInstanceType: z.string().default("t4g.micro"),
    openSearchInstanceType: z.string().default("t3.small.search"),
    openSearchDataNodes: z.coerce.number().int().min(1).default(1),
    /**
     * Where vectors live (README "Vector store"): `chroma` (a Fargate task on EFS behind an internal
     * ALB) or `opensearch` (a k-NN index in the search domain: no ECS service, EFS or ALB is created).
     */
    vectorStore: z.enum(["chroma", "opensearch"]).default("chroma"),
    /** A mirror repository in ECR holding the Chroma image; unset: the stack builds docker/chroma. */
    chromaImageRepository: z.string().min(1).optional(),
    /** The tag in chromaImageRepository; unset: CHROMA_VERSION (lib/chroma-service.ts). */
    chromaImageTag: z.string().min(1).optional(),
    bedrockModelId: z.string().default("amazon.titan-embed-text-v2:0"),
    bedrockDimensions: z.coerce
      .number()
      .refine((n): n is 256 | 512 | 1024 => n === 256 || n === 512 || n === 1024, "must be 256, 512 or 1024")
      .default(1024),
    /** Event-source concurrency of the keyword, vector and ingest queues; unset = functions/topology.ts. */
    keywordMaxConcurrency: z.coerce.number().int().min(2).max(1000).optional(),
    embedderMaxConcurrency: z.coerce.number().int().min(2).max(1000).optional(),
    ingestMaxConcurrency: z.coerce.number().int().min(2).max(1000).optional(),
    apiRateLimit: z.coerce.number().positive().default(50),
    apiBurstLimit: z.coerce.number().int().positive().default(100),
    alarmEmail: z.string().email().optional(),
    /** Where the search page is hosted: the slash command's "More results" button opens it. */
    searchPageUrl: z.string().url().optional(),
    /** A Slack channel id: the hourly gap computation posts the new gaps there (GAPS_DIGEST_CHANNEL). */
    gapsDigestChannel: z
      .string()
      .regex(/^[CGD][A-Z0-9]{6,}$/, "must be a Slack conversation id (C…, G… or D…)")
      .optional(),
  })
  .refine((s) => s.authMode !== "jwt" || (s.jwtIssuer && s.jwtAudience?.length), {
    message: "authMode=jwt needs jwtIssuer and jwtAudience",
  });

export type TrisearchSettings = z.infer<typeof settingsSchema>;

/** RDS deletion protection: explicit, else on exactly when data is retained. */
export const deletionProtectionOf = (s: TrisearchSettings): boolean =>
  s.deletionProtection ?? s.removalPolicy === "retain";

/** Every setting the stack reads; missing keys take the defaults above. */
export function parseSettings(raw: Record<string, unknown> = {}): TrisearchSettings {
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "settings"}: ${i.message}`)
      .join("; ");
    throw new Error(`Invalid Trisearch context: ${problems}`);
  }
  return parsed.data;
}

/** Reads the settings from CDK context (`cdk.json` "context" or `-c key=value`). */
export function settingsFromContext(node: Node): TrisearchSettings {
  const keys = Object.keys(settingsSchema.shape);
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const v = node.tryGetContext(key);
    if (v !== undefined && v !== "") raw[key] = v;
  }
  return parseSettings(raw);
}
