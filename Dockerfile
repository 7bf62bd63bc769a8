# One image for every Tollgate process: api (default), worker, migrate and the offline Stripe emulator.
# The app runs its TypeScript through tsx (a production dependency), so the build stage only typechecks.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

# Pruned from the build stage, so the runtime image depends on (and BuildKit runs) the typecheck.
FROM build AS prod-deps
RUN npm prune --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node workers ./workers
COPY --chown=node:node scripts ./scripts
COPY --chown=node:node emulator ./emulator
COPY --chown=node:node drizzle ./drizzle
USER node
EXPOSE 3000
# node runs directly (not through npm) so SIGTERM from `docker stop` reaches the process and it
# shuts down gracefully. The api's young generation is twice V8's default (32 MB semi-spaces, 32 MB
# more memory): every young collection copies the objects of all requests in flight, so its cost is
# set by how often it runs. Under the ingest benchmark that went from ~13 to ~5 µs per webhook (the
# api's CPU per webhook and per read fell by ~15%; docs/BENCHMARKS.md).
CMD ["node", "--max-semi-space-size=32", "--import", "tsx", "src/server.ts"]
