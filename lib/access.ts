import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { FUNCTIONS, type FunctionName, networkOf } from "../functions/topology";
import type { Database } from "./database";
import type { EmbeddingModel } from "./embedding-model";
import type { SearchDomain } from "./search-domain";
import type { TrisearchFunction } from "./trisearch-function";

/** The vector store the stack deployed (ChromaService, or the search domain's k-NN index). */
export interface VectorStoreAccess {
  /** Which store it is: the functions are bundled with its adapter only. */
  readonly vectorStore: "chroma" | "opensearch";
  /** Network access, permissions and the environment the functions' vector adapter needs. */
  grantVectors(fn: TrisearchFunction): void;
}

/** The constructs that hand out access; the Slack secret only where a function needs it. */
export interface AccessProviders {
  readonly database: Database;
  readonly searchDomain: SearchDomain;
  readonly vectors: VectorStoreAccess;
  readonly embeddingModel: EmbeddingModel;
  readonly jobs: {
    grantPublishJobs(fn: TrisearchFunction): void;
    grantEnqueueIngest(fn: TrisearchFunction): void;
    grantImportExports(fn: TrisearchFunction): void;
    grantEnqueueCommands(fn: TrisearchFunction): void;
    grantEnqueueReplies(fn: TrisearchFunction): void;
  };
  readonly slackSigningSecret?: secretsmanager.ISecret;
  /** The Slack app's bot token (Web API calls): read by functions outside the VPC only. */
  readonly slackBotToken?: secretsmanager.ISecret;
  readonly cursorSecret?: secretsmanager.ISecret;
}

/**
 * Grants a function exactly the `access` its topology entry declares (functions/topology.ts),
 * in the declared order: IAM statements, security-group rules and the environment that goes with them.
 */
export function grantAccess(fn: TrisearchFunction, p: AccessProviders): void {
  for (const access of FUNCTIONS[fn.handlerName as FunctionName].access) {
    switch (access) {
      case "database-read":
        p.database.bind(fn, "read");
        break;
      case "database-write":
        p.database.bind(fn, "write");
        break;
      case "database-owner":
        p.database.bind(fn, "owner");
        break;
      case "keyword-read":
        p.searchDomain.grantIndexRead(fn);
        break;
      case "keyword-write":
        p.searchDomain.grantIndexWrite(fn);
        break;
      case "vectors":
        p.vectors.grantVectors(fn);
        break;
      case "embed":
        p.embeddingModel.grantInvoke(fn);
        break;
      case "embedding-settings":
        p.embeddingModel.bindSettings(fn);
        break;
      case "publish-jobs":
        p.jobs.grantPublishJobs(fn);
        break;
      case "enqueue-ingest":
        p.jobs.grantEnqueueIngest(fn);
        break;
      case "import-exports":
        p.jobs.grantImportExports(fn);
        break;
      case "enqueue-commands":
        p.jobs.grantEnqueueCommands(fn);
        break;
      case "enqueue-replies":
        p.jobs.grantEnqueueReplies(fn);
        break;
      case "slack-secret": {
        const secret = p.slackSigningSecret;
        if (!secret)
          throw new Error(`${fn.handlerName} needs the Slack signing secret, which was not passed`);
        secret.grantRead(fn);
        fn.addEnvironment("SLACK_SIGNING_SECRET_ARN", secret.secretArn);
        break;
      }
      case "slack-bot-token": {
        const secret = p.slackBotToken;
        if (!secret) throw new Error(`${fn.handlerName} needs the Slack bot token, which was not passed`);
        // Inside the VPC a Web API call could only time out (no route to slack.com): refused here.
        if (networkOf(fn.handlerName as FunctionName) !== "internet")
          throw new Error(`${fn.handlerName} runs in the VPC, which has no route to Slack: no bot token`);
        secret.grantRead(fn);
        fn.addEnvironment("SLACK_BOT_TOKEN_ARN", secret.secretArn);
        break;
      }
      case "cursor-secret": {
        const secret = p.cursorSecret;
        if (!secret) throw new Error(`${fn.handlerName} needs the cursor secret, which was not passed`);
        secret.grantRead(fn);
        fn.addEnvironment("CURSOR_SECRET_ARN", secret.secretArn);
        break;
      }
    }
  }
}

/** "slack-events" -> "SlackEvents": construct ids stay what they were before the topology (same logical ids). */
export const constructId = (name: string): string =>
  name.replace(/(^|[-_])([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase());
