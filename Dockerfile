# One image for every Tollgate process: api (default), worker, migrate and the offline Stripe emulator.
# It runs the JavaScript that `npm run build` compiles into dist/ (with the SQL migrations, the plan
# catalogue and the emulator's templates copied beside it); no TypeScript loader, compiler or other
# dev dependency is in the runtime image.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# --omit=optional too: with dev alone npm keeps TypeScript and @types/node (23 MB), which valibot and
# stripe name as optional peers. The only optional package that drops besides is msgpackr's native
# string unpacker, and BullMQ only packs.
RUN npm run build && npm prune --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json package-lock.json ./
USER node
EXPOSE 3000
# node runs directly (not through npm) so SIGTERM from `docker stop` reaches the process and it
# shuts down gracefully, and each service is one process. Node 24 lets the young generation grow to
# 128 MB while the modules load and never gives it back while idle: small semi-spaces bound it (4 MB
# for the api, which idles at ~115 MB with them and ~123 with 8, for 5-25 % more CPU per request
# under load; 8 MB for the workers, whose `npm run worker` has the same flags). V8
# lets the old generation grow by a factor it derives from its limit: with the default limit (4 GB)
# garbage builds up to several times the live heap before a full collection, with 192 MB it is
# collected close to the live heap, which stays under 64 MB at the benchmark's load. Each process is
# 15–25 MB smaller idle and lower at its peaks, for more frequent collections under load
# (docs/BENCHMARKS.md, "Memory and runtime").
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=192", "dist/src/server.js"]
