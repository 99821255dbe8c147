import { describe, expect, it } from "vitest";
import { readSse } from "./sse.ts";

function stream(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function all(body: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readSse(body)) events.push(event);
  return events;
}

describe("readSse", () => {
  it("yields one event per blank-line-terminated block, with its id and data", async () => {
    const events = await all(stream('id: 1\ndata: {"a":1}\n\n', 'id: 2\ndata: {"a":2}\n\n'));
    expect(events).toEqual([
      { id: "1", event: "message", data: '{"a":1}' },
      { id: "2", event: "message", data: '{"a":2}' },
    ]);
  });

  it("reassembles fields and CRLF line ends split across network chunks", async () => {
    const events = await all(stream("id: 7\r", "\ndata: hel", "lo\r\n\r", "\n"));
    expect(events).toEqual([{ id: "7", event: "message", data: "hello" }]);
  });

  it("joins multi-line data, skips comments and keeps the last id for events without one", async () => {
    const events = await all(stream(": keep-alive\n\nid: 9\nevent: status\ndata: a\ndata: b\n\ndata: c\n\n"));
    expect(events).toEqual([
      { id: "9", event: "status", data: "a\nb" },
      { id: "9", event: "message", data: "c" },
    ]);
  });

  it("drops an unterminated event when the stream ends", async () => {
    expect(await all(stream("data: complete\n\ndata: cut off"))).toEqual([{ id: undefined, event: "message", data: "complete" }]);
  });

  it("decodes multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode("data: coração\n\n");
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 10));
        c.enqueue(bytes.slice(10));
        c.close();
      },
    });
    expect((await all(body))[0]?.data).toBe("coração");
  });
});
