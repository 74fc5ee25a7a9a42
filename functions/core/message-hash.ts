import { createHash } from "node:crypto";
import type { MessageInput } from "./model";
import { canonicalJson } from "./storable";

/** sha256 over every indexed field, so "identical re-send" means identical to the indexes too. */
export function messageHash(m: MessageInput): string {
  const fields = JSON.stringify([
    m.content,
    m.author,
    m.channel,
    m.timestamp.toISOString(),
    m.threadId ?? null,
  ]);
  // The same bytes as JSON.stringify([...fields, metadata with sorted keys]), so stored hashes stay valid;
  // canonicalJson is iterative, so no metadata nesting can overflow the stack.
  return createHash("sha256")
    .update(`${fields.slice(0, -1)},${canonicalJson(m.metadata ?? {})}]`)
    .digest("hex");
}
