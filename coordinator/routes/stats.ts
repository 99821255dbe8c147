import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import type { Stats } from "../../shared/schemas.ts";
import { gridStub } from "../stubs.ts";

const EVERY_MS = 2000;
/** Every stream and poll in this isolate shares one read of the grid's figures per second. */
let cached: { at: number; stats: Promise<Stats> } | undefined;
function stats(env: Env): Promise<Stats> {
  const now = Date.now();
  if (!cached || now - cached.at > 1000) {
    const read = gridStub(env).stats();
    cached = { at: now, stats: read };
    read.catch(() => (cached = undefined));
  }
  return cached.stats;
}
/** A stream lasts this long, then closes; EventSource reconnects by itself. */
const STREAM_MS = 5 * 60_000;

/** Grid-wide figures (public, aggregates only) and their live stream for the dashboard. */
export const statsRoutes = new Hono<AppEnv>()
  .get("/", async (c) => c.json(await stats(c.env)))
  .get("/events", (c) => {
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = Date.now();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        const tick = async () => {
          try {
            const figures = await stats(c.env);
            controller.enqueue(encoder.encode(`id: ${figures.at}\nevent: stats\ndata: ${JSON.stringify(figures)}\n\n`));
          } catch {
            controller.enqueue(encoder.encode(": grid unavailable, retrying\n\n"));
          }
          if (Date.now() - started > STREAM_MS) return controller.close();
          timer = setTimeout(tick, EVERY_MS);
        };
        await tick();
      },
      cancel() {
        clearTimeout(timer);
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
    });
  });
