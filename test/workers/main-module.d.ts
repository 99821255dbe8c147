// Tells the runtime types what the Worker's main module exports, so `exports.default.fetch(...)`
// from "cloudflare:workers" is typed in tests. (`wrangler types` can generate this declaration.)
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../../coordinator/index.ts");
  }
}
