// A tiny webhook receiver for jobs submitted with `--notify http://127.0.0.1:9000/hooks/colmeia`:
// checks each delivery's signature, and when a job is done fetches its result and prints the groups.
//   COLMEIA_TOKEN=cs_... node examples/ecommerce/webhook-receiver.ts [--port 9000]
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "9000" } } });
const coordinator = process.env.COLMEIA_URL ?? "http://127.0.0.1:8787";
const auth = { authorization: `Bearer ${process.env.COLMEIA_TOKEN ?? ""}` };

// Each submitter token has its own signing secret; the token fetches it.
const answer = await fetch(`${coordinator}/v1/webhook-secret`, { headers: auth });
if (!answer.ok) throw new Error(`GET /v1/webhook-secret → ${answer.status}: is COLMEIA_TOKEN set to the token npm start printed?`);
const { secret } = (await answer.json()) as { secret: string };

/** Whether `signature` is `sha256=<hex HMAC-SHA256 of the raw body>` under our secret. */
function signed(raw: Buffer, signature: string | string[] | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
  const given = Buffer.from(String(signature ?? ""));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Prints a records.aggregate result: its groups by revenue, largest first. */
async function printResult(id: string): Promise<void> {
  const res = await fetch(`${coordinator}/v1/jobs/${id}/result`, { headers: auth });
  const { result } = (await res.json()) as { result: { groups: Record<string, Record<string, number>>; records: number; skipped: number } };
  const rows = Object.entries(result.groups).map(([group, metrics]): Record<string, string | number> => ({ group, ...metrics }));
  rows.sort((a, b) => Number(b.revenue ?? 0) - Number(a.revenue ?? 0));
  console.log(`${result.records.toLocaleString("en-US")} records read, ${result.skipped} skipped`);
  console.table(rows);
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const raw = Buffer.concat(chunks); // verify the bytes as received, before parsing them
    if (!signed(raw, req.headers["x-colmeia-signature"])) return void res.writeHead(401).end();
    res.writeHead(204).end();
    const job = JSON.parse(raw.toString("utf8")) as { id: string; kernel: string; state: string; shards: { done: number; total: number } };
    console.log(`${req.headers["x-colmeia-event"]} ${job.id}: ${job.shards.done}/${job.shards.total} shards`);
    if (job.state === "done" && job.kernel === "records.aggregate") printResult(job.id).catch((e: Error) => console.error(e.message));
  });
}).listen(Number(values.port), "127.0.0.1", () => console.log(`Waiting for webhooks on http://127.0.0.1:${values.port}/hooks/colmeia`));
