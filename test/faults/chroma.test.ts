import { describe } from "vitest";
import { privateChroma } from "./helpers";
import { indexOutageCase } from "./index-outage";

describe("fault: Chroma killed", () => {
  indexOutageCase({ label: "chroma", start: privateChroma, urlSetting: "CHROMA_URL", leg: "semantic" });
});
