import type { core } from "zod";
import type { ErrorDetail } from "./errors";

/** Zod issues -> details that name each bad field by its path, e.g. `messages.3.content`. */
export function zodDetails(issues: readonly core.$ZodIssue[]): ErrorDetail[] {
  return issues.map((i) => ({ path: i.path.map(String).join(".") || "(body)", message: i.message }));
}
