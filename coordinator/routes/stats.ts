import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { gridStub } from "../stubs.ts";

const EVERY_MS = 2000;
/** A stream lasts this long, then closes; EventSource reconnects by itself. */
const STREAM_MS = 5 * 60_000;

/** Grid-wide figures (public, aggregates only) and their live stream for the dashboard. */
export const statsRoutes = new Hono<AppEnv>()
  .get("/", async (c) => c.json(await gridStub(c.env).stats()))
  .get("/events", (c) => {
    const encoder = new TextEncoder();
    const grid = gridStub(c.env);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = Date.now();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("retry: 2000\n\n"));
        const tick = async () => {
          try {
            const stats = await grid.stats();
            controller.enqueue(encoder.encode(`id: ${stats.at}\nevent: stats\ndata: ${JSON.stringify(stats)}\n\n`));
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
