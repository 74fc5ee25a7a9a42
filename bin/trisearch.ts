import { trisearchApp } from "../lib/app";

// cdk-nag runs on every synth (lib/app.ts): an unsuppressed AwsSolutions finding fails it.
trisearchApp().app.synth();
