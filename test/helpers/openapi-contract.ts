import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/**
 * Contract checks against the served /openapi.json: the document itself is checked with a real
 * OpenAPI 3.1 validator, then every response is checked against the operation it answers (JSON
 * Schema 2020-12, as OpenAPI 3.1 uses it, through Ajv). A request whose method and path no
 * operation documents, a status the operation does not list, or a body that does not match, fails.
 */

interface OpenApiDocument {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>
  >;
}

export interface ContractResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: unknown;
}

export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
}

/** Checks a document with the OpenAPI 3.1 JSON Schema (@seriousme/openapi-schema-validator). */
export async function validateOpenApiDocument(doc: unknown): Promise<{ valid: boolean; errors: unknown }> {
  const validator = new Validator();
  const result = await validator.validate(doc as Parameters<Validator["validate"]>[0]);
  return { valid: result.valid, errors: result.errors };
}

const escapePointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly routes: { method: string; template: string; pattern: RegExp; literal: number }[];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDocument) {
    // strict: false ignores the OpenAPI keywords around the schemas (paths, responses, ...).
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats.default(this.ajv);
    this.ajv.addSchema(doc as object, "openapi");
    this.routes = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.keys(ops).map((method) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+").replace(/\./g, "\\.")}$`),
        // Literal paths win over templated ones, as API Gateway matches them.
        literal: template.split("/").filter((seg) => !seg.startsWith("{")).length,
      })),
    );
  }

  /** The documented route for a request, or undefined. */
  operationFor(method: string, path: string): { template: string; method: string } | undefined {
    const pathname = path.split("?")[0] ?? path;
    return this.routes
      .filter((r) => r.method === method.toUpperCase() && r.pattern.test(pathname))
      .sort((a, b) => b.literal - a.literal)[0];
  }

  /** Throws a ContractViolation if `response` is not what the contract promises for the request. */
  check(method: string, path: string, response: ContractResponse): void {
    const where = `${method.toUpperCase()} ${path} -> ${response.status}`;
    const op = this.operationFor(method, path);
    if (!op) throw new ContractViolation(`${where}: no operation in /openapi.json documents this route`);
    const responses = this.doc.paths[op.template]?.[op.method.toLowerCase()]?.responses ?? {};
    const status = String(response.status);
    const documented = responses[status] ?? responses.default;
    if (!documented) {
      throw new ContractViolation(
        `${where}: status not documented for ${op.method} ${op.template} (has ${Object.keys(responses).join(", ")})`,
      );
    }
    const mime = (response.contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    const content = documented.content ?? {};
    if (Object.keys(content).length === 0) return;
    if (!(mime in content)) {
      throw new ContractViolation(
        `${where}: content type "${mime}" not documented (has ${Object.keys(content).join(", ")})`,
      );
    }
    if (mime !== "application/json") return;
    const key = [op.template, op.method.toLowerCase(), documented === responses[status] ? status : "default"];
    const validate = this.validatorFor(key, mime);
    if (!validate(response.body)) {
      throw new ContractViolation(
        `${where}: body does not match the contract: ${this.ajv.errorsText(validate.errors, { dataVar: "body" })}\n${JSON.stringify(response.body).slice(0, 500)}`,
      );
    }
  }

  private validatorFor([template, method, status]: string[], mime: string): ValidateFunction {
    const pointer = `openapi#/paths/${escapePointer(template!)}/${method}/responses/${status}/content/${escapePointer(mime)}/schema`;
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: pointer });
      this.validators.set(pointer, validate);
    }
    return validate;
  }
}
