# llm-gateway container image. Build: docker build -t llm-gateway:0.1.0 .
# Run:   docker run --rm -p 8080:8080 -v $PWD/my-config.yaml:/etc/llm-gateway/config.yaml:ro \
#          -e OPENAI_API_KEY llm-gateway:0.1.0
# The config must bind 0.0.0.0 (server.host) to be reachable from outside the container.

# --- build: compile TypeScript to dist/ --------------------------------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY console ./console
# `npm ci` runs the prepare script, which compiles src/ into dist/ and the console into dist/console/.
RUN npm ci --no-audit --no-fund

# --- runtime: production dependencies and dist/ only ------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: prepare would try to compile again, and TypeScript is a dev dependency.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY examples ./examples
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 8080
# For plain Docker; Kubernetes uses its own probes (deploy/kubernetes/deployment.yaml).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, node directly (no npm, no shell): SIGTERM and SIGHUP reach the gateway, which
# drains and reloads itself.
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve", "--config", "/etc/llm-gateway/config.yaml"]
