import type { StartUpload } from "../../shared/schemas.ts";
import { pathId, type ConnectionOptions, type Rpc } from "./connection.ts";
import type { DatasetAnswer, DatasetListAnswer, DeletedAnswer, UploadAnswer } from "./responses.ts";
import { readJson, transportSend } from "./transport.ts";
import { bodyLength, uploadInit, type UploadOptions, type UploadSource } from "./upload-body.ts";

/**
 * Calls about datasets for a submitter's {@link Rpc} client; part of `createClient`. JSON calls go
 * through Hono RPC; the two raw-body uploads use its URLs with the transport's fetch, so a body can
 * be streamed (and counted) rather than held.
 */
export function datasetCalls(api: Rpc, options: ConnectionOptions, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const uploads = api.v1.datasets.uploads;
  const upload = uploads[":uploadId"];
  const uploadParam = (id: string) => ({ param: { uploadId: pathId(id, "upload id") } });
  const datasetParam = (id: string) => ({ param: { id: pathId(id, "dataset id") } });

  /** Sends a raw body; a body made by a function is made afresh for each attempt (so `429`s are retried). */
  function sendRaw(method: "POST" | "PUT", url: URL, source: UploadSource, opts: UploadOptions): Promise<Response> {
    const send = transportSend(typeof source === "function" ? options : { ...options, retries: 0 });
    return send(url, () => {
      const body = typeof source === "function" ? source() : source;
      return uploadInit(method, body, bodyLength(body, opts.bytes), auth, opts);
    });
  }

  return {
    /**
     * `POST /v1/datasets?name=...`: uploads a dataset in one body (up to `LIMITS.datasetBodyBytes`,
     * 95 MiB); answers `{id, name, bytes, sha256, createdAt}`. Larger files go up in parts
     * ({@link startUpload}). A stream needs `{ bytes }`; `onProgress` sees the bytes as they are sent.
     * @example
     * const ds = await colmeia.uploadDataset("orders.jsonl", () => Readable.toWeb(createReadStream(path)), { bytes: size });
     * await colmeia.submit({ kernel: "records.aggregate", dataset: { id: ds.id }, params: { format: "jsonl" } });
     */
    uploadDataset: async (name: string, body: UploadSource, opts: UploadOptions = {}) => {
      const url = new URL(api.v1.datasets.$url());
      url.searchParams.set("name", name);
      return readJson<DatasetAnswer>(await sendRaw("POST", url, body, opts));
    },
    /**
     * `POST /v1/datasets/uploads`: starts a multipart upload of `bytes` in parts of `partBytes`
     * (5 to 95 MiB; every part but the last exactly that long). Answers the upload, `received: 0`.
     */
    startUpload: async (spec: StartUpload) => readJson<UploadAnswer>(await uploads.$post({ json: spec })),
    /**
     * `PUT /v1/datasets/uploads/:uploadId/parts/:part`: sends part `part` (1-based). Parts go in
     * order (the coordinator hashes the dataset as it arrives): anything but `received + 1` is a
     * `409 part_out_of_order`. Answers the upload with `received` now `part`.
     */
    uploadPart: async (uploadId: string, part: number, body: UploadSource, opts: UploadOptions = {}) => {
      if (!Number.isSafeInteger(part) || part < 1) throw new Error(`part numbers start at 1, got ${part}`);
      const url = upload.parts[":part"].$url({ param: { uploadId: pathId(uploadId, "upload id"), part: String(part) } });
      return readJson<UploadAnswer>(await sendRaw("PUT", url, body, opts));
    },
    /** `GET /v1/datasets/uploads/:uploadId`: where an upload stands; resume with part `received + 1`. */
    uploadStatus: async (uploadId: string) => readJson<UploadAnswer>(await upload.$get(uploadParam(uploadId))),
    /** `POST /v1/datasets/uploads/:uploadId/complete`: once every part is in; answers the dataset. */
    completeUpload: async (uploadId: string) => readJson<DatasetAnswer>(await upload.complete.$post(uploadParam(uploadId))),
    /** `DELETE /v1/datasets/uploads/:uploadId`: drops an unfinished upload and its parts. */
    abortUpload: async (uploadId: string) => readJson<unknown>(await upload.$delete(uploadParam(uploadId)), "any"),
    /** `GET /v1/datasets`: this token's datasets. */
    datasets: async () => readJson<DatasetListAnswer>(await api.v1.datasets.$get()),
    /** `GET /v1/datasets/:id`: one dataset. */
    dataset: async (id: string) => readJson<DatasetAnswer>(await api.v1.datasets[":id"].$get(datasetParam(id))),
    /** `DELETE /v1/datasets/:id`: answers `{deleted: true}`; a `409 dataset_in_use` while a running job reads it. */
    deleteDataset: async (id: string) => readJson<DeletedAnswer>(await api.v1.datasets[":id"].$delete(datasetParam(id))),
  };
}
