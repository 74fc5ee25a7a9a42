import type { EnrichedMessage, MessageReader } from "../ports";

/**
 * A reader whose rows, from either read, pass through `view` (the scope's visibility, mentions shown
 * with names): a page's threads keep only the hits the view kept.
 */
export function readerView(
  inner: MessageReader,
  view: (
    rows: Map<number, EnrichedMessage>,
  ) => Map<number, EnrichedMessage> | Promise<Map<number, EnrichedMessage>>,
): MessageReader {
  return {
    liveMessages: async (ids) => view(await inner.liveMessages(ids)),
    liveMessagesWithThreads: async (ids) => {
      const page = await inner.liveMessagesWithThreads(ids);
      const rows = await view(page.rows);
      return { rows, threads: new Map([...page.threads].filter(([id]) => rows.has(id))) };
    },
  };
}
