// One ONNX InferenceSession on its own thread (see onnx-embedder.ts, WorkerSession).
// onnxruntime-node's run() computes on the calling thread, so in the one-process local runtime a
// document batch would stall every HTTP request and poller behind it. Plain JavaScript because
// the file is loaded by whatever runs the embedder (tsx, vitest, a bundle), none of which
// transforms TypeScript inside a worker.
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

const { modelPath, threads } = workerData;

try {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  parentPort.on("message", async ({ id, feeds, output }) => {
    try {
      const tensors = {};
      for (const { name, data, dims } of feeds) tensors[name] = new ort.Tensor("int64", data, dims);
      const result = await session.run(tensors, [output]);
      const tensor = result[output];
      // A copy the main thread can own: the tensor's buffer belongs to the session.
      const data = Float32Array.from(tensor.data);
      parentPort.postMessage({ id, data, dims: tensor.dims }, [data.buffer]);
    } catch (err) {
      parentPort.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  parentPort.postMessage({ ready: true, inputNames: session.inputNames, outputNames: session.outputNames });
} catch (err) {
  parentPort.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) });
}
