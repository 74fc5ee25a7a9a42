#!/usr/bin/env node
// `npx trisearch ...`: runs the TypeScript CLI through tsx so no build step is needed locally.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
