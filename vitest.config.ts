import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects: coordinator tests inside workerd with the real Durable Objects, and tests that
// need Node (real Chromium, the real CLI, a real `npm start` server) in the node environment.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                SUBMIT_TOKENS: "tok-alice,tok-bob",
                COLMEIA_SECRET: "test-secret",
                REGISTRATIONS_PER_MINUTE: "100000",
                SUBMIT_RATE_PER_MINUTE: "100000",
                LOG_LEVEL: "warn",
              },
            },
          }),
        ],
        test: {
          name: "workerd",
          include: ["test/workers/**/*.test.ts"],
          // Some cases upload 15 MiB or wait out real lease deadlines; on a loaded 2-core CI machine
          // they have run past the 5 s default. A time limit is a hang guard here, never a speed check.
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          // Fails the run when a server a test started (wrangler, workerd) outlives the tests.
          globalSetup: ["test/support/leak-check.ts"],
          include: ["test/node/**/*.test.ts", "shared/**/*.test.ts", "client/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
