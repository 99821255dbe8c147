/** Hono environment: the Worker's bindings plus what auth middleware resolved. */
export interface AppEnv {
  Bindings: Env;
  Variables: { submitter: string; volunteer: string };
}
