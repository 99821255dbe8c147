import { createServer, type Server } from "node:http";

/** A local HTTP server that only records who reached it: any hit means a sandbox leaked. */
export interface Canary {
  url: string;
  /** Every TCP connection and request seen, as "connection" or "METHOD /path". */
  hits: string[];
  close(): Promise<void>;
}

/**
 * Starts a canary on 127.0.0.1 (a port of its own): it counts raw TCP connections as well as
 * requests, so fetches, imports, WebSockets, EventSources and beacons all show up.
 * @example const canary = await startCanary(); ...; expect(canary.hits).toEqual([]);
 */
export async function startCanary(): Promise<Canary> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "text/javascript", "access-control-allow-origin": "*" });
    res.end("export const leaked = true;");
  });
  server.on("connection", () => hits.push("connection"));
  server.on("upgrade", (req, socket) => (hits.push(`UPGRADE ${req.url}`), socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
