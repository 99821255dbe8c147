import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonClient } from "../../bench/lib/http.ts";

// The benchmarks' client keeps connections alive; the server may close one just as it is reused
// (workerd closes a connection idle for 15 s, the length of a measuring window).
describe("the benchmarks' HTTP client", () => {
  let server: Server;
  let url: string;
  const connections = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const socket = req.socket;
      // The second request on a connection finds it closed under it, with a reset.
      if (connections.has(socket)) return void socket.resetAndDestroy();
      connections.add(socket);
      // Each connection's first request is answered with the connection's number.
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ n: connections.size - 1 }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends a request again on a fresh connection when a reused one is reset, once", async () => {
    const http = new JsonClient(url);
    try {
      expect((await http.call("GET", "/")).body).toEqual({ n: 0 });
      // The kept-alive connection is reset as this request goes out on it: it goes again on a new one.
      const second = await http.call("GET", "/");
      expect({ status: second.status, body: second.body, error: second.error }).toEqual({ status: 200, body: { n: 1 }, error: undefined });
      expect(connections.size).toBe(2);
    } finally {
      http.close();
    }
  });
});
