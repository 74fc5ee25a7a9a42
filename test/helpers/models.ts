import type { OnnxModelName } from "../../functions/shared/config";

/** The ONNX models the tests load (the default and the previous one); globalSetup fetches each. */
export const MODELS_UNDER_TEST: readonly OnnxModelName[] = ["bge-small-en-v15-q", "all-minilm-l6-v2-q"];
