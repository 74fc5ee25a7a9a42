import type { ScheduledEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import {
  createLambdaContext,
  invokeHandler,
  LambdaTimeoutError,
  quietLogger,
} from "../../local/runtime/lambda-context";
import { type Schedule, startSchedule } from "../../local/runtime/scheduler";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schedules: Schedule[] = [];
afterEach(async () => {
  await Promise.all(schedules.splice(0).map((s) => s.stop()));
});

describe("lambda context", () => {
  it("looks like the real one and counts down to the timeout", async () => {
    const ctx = createLambdaContext("reconcile", 1_000, { region: "eu-west-1", accountId: "123456789012" });
    expect(ctx.functionName).toBe("reconcile");
    expect(ctx.functionVersion).toBe("$LATEST");
    expect(ctx.invokedFunctionArn).toBe("arn:aws:lambda:eu-west-1:123456789012:function:reconcile");
    expect(ctx.logGroupName).toBe("/aws/lambda/reconcile");
    expect(ctx.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(ctx.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ctx.memoryLimitInMB).toMatch(/^\d+$/);
    const first = ctx.getRemainingTimeInMillis();
    expect(first).toBeLessThanOrEqual(1_000);
    expect(first).toBeGreaterThan(900);
    await sleep(60);
    expect(ctx.getRemainingTimeInMillis()).toBeLessThanOrEqual(first - 50);
    expect(createLambdaContext("x", 1).awsRequestId).not.toBe(ctx.awsRequestId);
  });

  it("rejects an invocation that outlives its timeout, and turns sync throws into rejections", async () => {
    await expect(invokeHandler(() => sleep(500), {}, "slow", 50)).rejects.toBeInstanceOf(LambdaTimeoutError);
    await expect(
      invokeHandler(
        () => {
          throw new Error("sync");
        },
        {},
        "f",
        1_000,
      ),
    ).rejects.toThrow("sync");
    await expect(invokeHandler(async (e: { n: number }) => e.n + 1, { n: 1 }, "f", 1_000)).resolves.toBe(2);
  });
});

describe("scheduler", () => {
  it("sends a realistic EventBridge scheduled event", async () => {
    const events: ScheduledEvent[] = [];
    const s = startSchedule({
      functionName: "reconcile",
      everyMs: 60_000,
      logger: quietLogger,
      handler: async (event) => {
        events.push(event);
        return "done";
      },
    });
    schedules.push(s);
    await expect(s.runOnce()).resolves.toBe("done");
    const e = events[0];
    expect(e).toMatchObject({
      version: "0",
      "detail-type": "Scheduled Event",
      source: "aws.events",
      region: "us-east-1",
      detail: {},
    });
    expect(e?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(e?.account).toMatch(/^\d{12}$/);
    expect(e?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(e?.resources).toEqual([`arn:aws:events:us-east-1:${e?.account}:rule/reconcile-schedule`]);
  });

  it("runs on the interval without ever overlapping, and stop() waits for the run in progress", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const s = startSchedule({
      functionName: "tick",
      everyMs: 10,
      runNow: true,
      logger: quietLogger,
      handler: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(40);
        active--;
        runs++;
      },
    });
    schedules.push(s);
    // A manual run while timed runs go on is queued, not overlapped.
    await Promise.all([s.runOnce(), s.runOnce()]);
    await sleep(150);
    await s.stop();
    const after = runs;
    expect(maxActive).toBe(1);
    expect(active).toBe(0);
    expect(runs).toBeGreaterThanOrEqual(4);
    await sleep(60);
    expect(runs).toBe(after);
  });

  it("reports a failed timed run and keeps going; runOnce() rejects", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const s = startSchedule({
      functionName: "flaky",
      everyMs: 10,
      runNow: true,
      logger: quietLogger,
      onError: (err) => errors.push(err),
      handler: async () => {
        calls++;
        throw new Error(`fail ${calls}`);
      },
    });
    schedules.push(s);
    await sleep(100);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    await expect(s.runOnce()).rejects.toThrow(/fail/);
  });
});
