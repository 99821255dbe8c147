/** Bounds the coordinator enforces; published in `/openapi.json` under `x-colmeia-limits`. */
export const LIMITS = {
  /** Largest request body, in bytes, for job creation (explicit shards travel here). */
  jobBodyBytes: 8 * 1024 * 1024,
  /** Largest request body, in bytes, for every other call. */
  bodyBytes: 1024 * 1024,
  /**
   * Most shards a range (or dataset) job may have. The arithmetic: a job's object may hold 10 GB
   * and fails cleanly at 8 GiB (JOB_STORAGE_MAX_BYTES). A finished shard keeps one shard row and
   * its accepted replica (the output, needed to rebuild the result after a backtrack); measured
   * in workerd: 450 bytes per `primes.count` shard at quorum 1, 486 with adaptive replication.
   * 12,000,000 shards x ~500 bytes = 6 GB, leaving 2.6 GB for larger outputs and replicas that
   * lost a vote (hash only). Kernels with big outputs on every shard meet the ceiling sooner and
   * fail cleanly with a message saying so.
   */
  rangeShards: 12_000_000,
  /** Most shards a job given explicit `shards` may have. */
  explicitShards: 100_000,
  /** Largest single shard input, in bytes of JSON. */
  shardInputBytes: 512 * 1024,
  /** Largest kernel output of one shard, in bytes of JSON. */
  outputBytes: 512 * 1024,
  /**
   * Largest merged result, in characters of JSON: a job whose result grows past it fails, saying
   * so (a `collect` of many large outputs: page through them with `GET /v1/jobs/:id/shards`).
   */
  resultChars: 8 * 1024 * 1024,
  /** Largest job `params`, in characters of JSON: a copy travels with every lease. */
  paramsChars: 64 * 1024,
  /** Largest `output` schema of a published kernel, in characters of JSON (kept with its manifest). */
  outputSchemaChars: 64 * 1024,
  maxReplicas: 16,
  leaseTtlMs: { min: 1_000, max: 24 * 60 * 60 * 1000, default: 60_000 },
  leasesPerCall: 64,
  /** Most leases of one job a volunteer may hold at once (two full batches: one computing, one queued). */
  leasesPerVolunteerPerJob: 128,
  /**
   * Most leases a volunteer may hold across the grid. Counted by the isolate that hands them out,
   * from what each job reports the volunteer holds there; a volunteer spread over isolates is
   * still bounded by the per-job cap and the hard deadline.
   */
  leasesPerVolunteer: 256,
  /** A lease ends this many TTLs after it was issued, however often it is heartbeaten. */
  leaseHardTtls: 4,
  resultsPerCall: 64,
  labelChars: 200,
  /** Largest published kernel module (JS source in UTF-8 bytes, or the .wasm file). */
  kernelModuleBytes: 4 * 1024 * 1024,
  /** Largest `POST /v1/kernels` body (a 4 MiB module is 5.4 MiB in base64). */
  kernelBodyBytes: 6 * 1024 * 1024,
  /** Most jobs one submitter token may have running at once (429 beyond: wait for one to end). */
  runningJobsPerSubmitter: 1000,
  /** Most shards one submitter token's running jobs may hold in all (429 beyond). */
  runningShardsPerSubmitter: 100_000_000,
  /** Most kernels one submitter token may publish. */
  kernelsPerSubmitter: 1000,
  /** Largest WebAssembly memory maximum a wasm/1 kernel may declare: 1 GiB in 64 KiB pages. */
  wasmMaxPages: 16_384,
  /** Longest kernel error message a volunteer may report (longer ones are cut by volunteers). */
  kernelErrorChars: 1000,
  /** Volunteer registrations allowed per client address per minute. */
  registrationsPerMinute: 30,

  // Datasets (`/v1/datasets`): stored in R2, cut into line-aligned byte ranges by jobs.
  /** Largest single-body dataset upload (`POST /v1/datasets`); larger files go up in parts. */
  datasetBodyBytes: 95 * 1024 * 1024,
  /** Largest dataset, in bytes (multipart). */
  datasetBytes: 1024 * 1024 * 1024 * 1024,
  /** Part sizes of a multipart upload: every part but the last has exactly `partBytes`. */
  partBytes: { min: 5 * 1024 * 1024, max: 95 * 1024 * 1024 },
  /** Most parts one upload may have (R2's bound). */
  uploadParts: 10_000,
  /** Most datasets one submitter token may keep, and most uploads it may have in progress. */
  datasetsPerSubmitter: 1000,
  uploadsPerSubmitter: 16,
  /** Bytes one submitter token may keep in datasets (uploads in progress count in full). */
  datasetBytesPerSubmitter: 1024 * 1024 * 1024 * 1024,
  /** An unfinished upload is dropped this long after it started. */
  uploadTtlMs: 24 * 60 * 60 * 1000,
  /** Shard size of a dataset job, in bytes (`dataset.chunkBytes`). */
  chunkBytes: { min: 4 * 1024, max: 256 * 1024 * 1024, default: 1024 * 1024 },
  /** Largest dataset shard the coordinator reads and computes itself to check volunteers. */
  checkableShardBytes: 4 * 1024 * 1024,

  // Event streams (`GET /v1/jobs/:id/events`, `GET /v1/stats/events`): bounded in number,
  // duration and queue. Every event carries the whole status, so a stream that ends or is
  // dropped loses nothing: EventSource reconnects with Last-Event-ID.
  /** Most event streams one job serves at once; one more is answered 429 with retry-after. */
  streamsPerJob: 16,
  /** Most grid statistics streams one Worker isolate serves at once (429 beyond). */
  gridStreamsPerIsolate: 100,
  /** Of those, most one client address may hold (a dashboard needs one; 429 beyond). */
  gridStreamsPerAddress: 4,
  /** A stream ends cleanly this long after it opened; the client reconnects. */
  streamMaxMs: 5 * 60_000,
  /** A reader this many events behind is dropped rather than buffered without limit. */
  streamQueueEvents: 32,

  // Rate limits: token buckets refilled continuously over a minute, so a client may burst up to a
  // minute's allowance at once. Beyond it: 429 `rate_limited` with `retry-after` (seconds), and the
  // refused call changes nothing. An operator may change them (bindings named below).
  /** Calls per minute per submitter token on `/v1/jobs*`, `/v1/kernels*`, `/v1/datasets*` (SUBMIT_RATE_PER_MINUTE). */
  submitterCallsPerMinute: 600,
  /**
   * Calls per minute per client address on volunteer and anonymous calls (ADDRESS_RATE_PER_MINUTE):
   * an IPv4 address, or an IPv6 /64 (one site's prefix). A volunteer makes a few calls a second.
   */
  addressCallsPerMinute: 1200,
  /** `GET /v1/stats` may be this many seconds old: it is served from the edge cache. */
  statsMaxAgeSeconds: 2,
} as const;
