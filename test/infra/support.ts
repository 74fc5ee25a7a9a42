import { readFileSync } from "node:fs";
import path from "node:path";
import { App, Aspects, type IAspect } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { parseSettings } from "../../lib/settings";
import { REPO_ROOT, type TrisearchFunction } from "../../lib/trisearch-function";
import { TrisearchStack } from "../../lib/trisearch-stack";

export interface Synth {
  readonly app: App;
  readonly stack: TrisearchStack;
  readonly template: Template;
  /** handler name -> the function's logical id. */
  readonly fnIds: Record<string, string>;
  /** handler name -> the logical id of the function's role. */
  readonly roleIds: Record<string, string>;
  /** handler name -> the logical id of the function's security group. */
  readonly sgIds: Record<string, string>;
}

/**
 * cdk.json's context: its feature flags change the template (CDK-managed provider log groups, the
 * default security group's rules, secret policies), so the tests synthesize what `cdk deploy` does.
 */
const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "cdk.json"), "utf8")) as { context: Record<string, unknown> }
).context;

/**
 * Synthesizes the whole stack with cdk.json's context. Without `bundle`, asset bundling is skipped
 * (CDK's own `aws:cdk:bundling-stacks` context) so assertion tests do not pay for esbuild; the
 * bundle test does the real thing.
 */
export function synthStack(
  opts: { settings?: Record<string, unknown>; bundle?: boolean; outdir?: string; aspects?: IAspect[] } = {},
): Synth {
  const app = new App({
    outdir: opts.outdir,
    context: { ...CDK_JSON_CONTEXT, ...(opts.bundle ? {} : { "aws:cdk:bundling-stacks": [] }) },
    // The built-in CloudFormation validation costs seconds per synth; `npm run synth` keeps it.
    builtinCloudFormationValidation: false,
  });
  const stack = new TrisearchStack(app, "Trisearch", {
    env: { account: "123456789012", region: "eu-west-1" },
    settings: parseSettings(opts.settings ?? {}),
  });
  for (const aspect of opts.aspects ?? []) Aspects.of(app).add(aspect);
  const template = Template.fromStack(stack);
  const id = (c: { node: { defaultChild?: unknown } } | undefined) =>
    stack.getLogicalId(c!.node.defaultChild as Parameters<TrisearchStack["getLogicalId"]>[0]);
  const fnIds: Record<string, string> = {};
  const roleIds: Record<string, string> = {};
  const sgIds: Record<string, string> = {};
  for (const fn of stack.functions as TrisearchFunction[]) {
    fnIds[fn.handlerName] = id(fn);
    roleIds[fn.handlerName] = id(fn.role);
    // A function outside the VPC (slack-reply) has no security group.
    if (fn.isBoundToVpc) sgIds[fn.handlerName] = id(fn.connections.securityGroups[0]);
  }
  return { app, stack, template, fnIds, roleIds, sgIds };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Every IAM statement attached (inline policies) to a role. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy");
  const out: Statement[] = [];
  for (const p of Object.values(policies)) {
    const roles = asArray(p.Properties.Roles as unknown[]);
    if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }))) continue;
    out.push(...(p.Properties.PolicyDocument.Statement as Statement[]));
  }
  return out;
}

export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => asArray(s.Action));

/** JSON of the resources (one flat list) of the statements that allow `action`. */
export function resourcesFor(statements: Statement[], action: string): string {
  return JSON.stringify(
    statements.filter((s) => asArray(s.Action).includes(action)).flatMap((s) => asArray(s.Resource)),
  );
}
