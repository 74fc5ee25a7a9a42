import middy from "@middy/core";
import * as z from "zod";
import { ValidationError } from "../core/errors";
import { container } from "../shared/container";
import { reconcileMetrics } from "../shared/metrics";
import { invocationMetrics, lambdaLogContext } from "../shared/middleware";
import { runReconcile } from "../shared/reconcile-runner";

/**
 * Scheduled (EventBridge rule) or on demand: one bounded reconcile run. A ScheduledEvent carries
 * no options; a direct invoke may pass `{ dryRun, maxPages, restart }`.
 */
const onDemandSchema = z
  .object({
    dryRun: z.boolean().optional(),
    maxPages: z.number().int().positive().optional(),
    restart: z.boolean().optional(),
  })
  .passthrough();

export const handler = middy(async (event: unknown) => {
  const parsed = onDemandSchema.safeParse(event ?? {});
  if (!parsed.success) {
    throw new ValidationError(
      "invalid reconcile event",
      parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  const { dryRun, maxPages, restart } = parsed.data;
  return runReconcile(container(), {
    ...(dryRun !== undefined ? { dryRun } : {}),
    ...(maxPages !== undefined ? { maxPages } : {}),
    ...(restart !== undefined ? { restart } : {}),
  });
})
  .use(lambdaLogContext())
  .use(invocationMetrics())
  .use(reconcileMetrics());
