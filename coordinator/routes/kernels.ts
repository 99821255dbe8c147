import { Hono } from "hono";
import { kernels as builtIns } from "../../shared/kernels/registry.ts";
import { LIMITS } from "../../shared/limits.ts";
import { PublishKernel } from "../../shared/schemas.ts";
import { submitterAuth } from "../auth.ts";
import { jsonBody } from "../body.ts";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../errors.ts";
import { moduleKey, prepareKernel } from "../kernels/publish.ts";
import { submitterStub } from "../stubs.ts";
import { volunteerAuth } from "./volunteers.ts";

/** Published kernel ids: `k_` and 32 hex digits of the content hash. */
export const KERNEL_ID = /^k_[0-9a-f]{32}$/;

const quotaError = () => new ApiError(409, "kernel_quota", `this token has published ${LIMITS.kernelsPerSubmitter} kernels, the most it may`);
const notFound = () => new ApiError(404, "kernel_not_found", "no such kernel");

/** The built-ins as `GET /v1/kernels` lists them beside the submitter's own. */
const builtInList = () =>
  [...builtIns.values()].map((k) => ({ id: k.name, name: k.name, builtin: true, description: k.description, acceptsRange: k.acceptsRange }));

/** Volunteers fetch a published kernel's code here: immutable, so caches keep it for good. */
export const kernelModuleRoutes = new Hono<AppEnv>().get("/:id/module", volunteerAuth, async (c) => {
  const id = c.req.param("id");
  if (!KERNEL_ID.test(id)) throw notFound();
  const object = await c.env.BLOBS.get(moduleKey(id));
  if (!object) throw notFound();
  const etag = `"${object.customMetadata?.sha256 ?? object.etag}"`;
  const headers = {
    "content-type": object.httpMetadata?.contentType ?? "application/octet-stream",
    "cache-control": "private, max-age=31536000, immutable",
    etag,
    "x-content-type-options": "nosniff",
  };
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
  return c.body(object.body, 200, headers);
});

/** Publishing and reading kernels: private to the submitter token that published them, like jobs. */
export const kernelRoutes = new Hono<AppEnv>()
  .use(submitterAuth)
  .post("/", ...jsonBody(PublishKernel, LIMITS.kernelBodyBytes, `a kernel's module may be at most ${LIMITS.kernelModuleBytes} bytes`), async (c) => {
    const { manifest, module } = await prepareKernel(c.req.valid("json"), Date.now());
    const submitter = submitterStub(c.env, c.get("submitter"));
    const existing = await submitter.kernel(manifest.id);
    if (existing) return c.json(existing, 200);
    // Refused before anything is stored, so a token at its quota cannot fill the blob store either.
    if ((await submitter.kernelCount()) >= LIMITS.kernelsPerSubmitter) throw quotaError();
    // The module is stored before the kernel is listed, so a listed kernel always has its code.
    await c.env.BLOBS.put(moduleKey(manifest.id), module, {
      httpMetadata: { contentType: manifest.language === "js" ? "text/javascript; charset=utf-8" : "application/wasm" },
      customMetadata: { sha256: manifest.sha256, language: manifest.language },
    });
    const added = await submitter.addKernel(manifest, LIMITS.kernelsPerSubmitter);
    if (added === "quota") throw quotaError();
    return c.json(added === "added" ? manifest : (await submitter.kernel(manifest.id))!, added === "added" ? 201 : 200);
  })
  .get("/", async (c) => c.json({ kernels: [...builtInList(), ...(await submitterStub(c.env, c.get("submitter")).kernels())] }))
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    const builtIn = builtInList().find((k) => k.id === id);
    if (builtIn) return c.json(builtIn);
    const manifest = KERNEL_ID.test(id) ? await submitterStub(c.env, c.get("submitter")).kernel(id) : undefined;
    if (!manifest) throw notFound();
    return c.json(manifest);
  });
