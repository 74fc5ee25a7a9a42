import { Logger } from "@aws-lambda-powertools/logger";
import { config } from "./config";

/** Structured JSON logs (CloudWatch-friendly); one logger per container. */
export const logger = new Logger({ serviceName: "trisearch", logLevel: config().LOG_LEVEL });
