import { describe } from "vitest";
import { privateOpenSearch } from "./helpers";
import { indexOutageCase } from "./index-outage";

describe("fault: OpenSearch killed", () => {
  indexOutageCase({
    label: "opensearch",
    start: privateOpenSearch,
    urlSetting: "OPENSEARCH_URL",
    leg: "bm25",
  });
});
