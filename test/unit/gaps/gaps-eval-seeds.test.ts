import { describe, expect, it } from "vitest";
import { seedList } from "../../../cli/commands/gaps-eval";

describe("gaps-eval --seeds", () => {
  it("reads seeds and ranges, in order, each once", () => {
    expect(seedList("18-24")).toEqual([18, 19, 20, 21, 22, 23, 24]);
    expect(seedList("18, 20,25-27,20")).toEqual([18, 20, 25, 26, 27]);
    expect(seedList("7")).toEqual([7]);
    expect(seedList(undefined)).toBeUndefined();
  });

  it("refuses what is not a list of seeds, naming the flag", () => {
    for (const bad of ["", "a", "5-3", "1-", "-2", "1.5", "0-60", true])
      expect(() => seedList(bad), String(bad)).toThrow(/--seeds/);
    expect(() => seedList("0-30,100-130")).toThrow(/at most 50 loads/);
  });
});
