import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type ReadAccess, resolveReadAccess } from "../core/access/access";
import type { Config } from "./config";

/** Claims API Gateway's JWT authorizer verified; undefined on a route without one (IAM, local). */
function jwtClaims(event: APIGatewayProxyEventV2): Readonly<Record<string, unknown>> | undefined {
  const context = event.requestContext as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
  return context.authorizer?.jwt?.claims;
}

/** Whom a read request runs for, given its (validated) `viewer` parameter (access.ts). */
export function accessFor(
  event: APIGatewayProxyEventV2,
  cfg: Pick<Config, "SEARCH_VIEWER_CLAIM" | "SEARCH_ALLOW_UNSCOPED">,
): (viewerParam: string | undefined) => ReadAccess {
  const claims = jwtClaims(event);
  return (param) =>
    resolveReadAccess({
      claims,
      claimName: cfg.SEARCH_VIEWER_CLAIM,
      param,
      allowUnscoped: cfg.SEARCH_ALLOW_UNSCOPED,
    });
}
