import { app } from "./app.ts";

// `npm start`'s front door (not routed when deployed): see local-front.ts.
export { LocalFront } from "./local-front.ts";
export { GatewayObject } from "./objects/gateway-object.ts";
export { GridObject } from "./objects/grid-object.ts";
export { JobObject } from "./objects/job-object.ts";
export { MetricsObject } from "./objects/metrics-object.ts";
export { RateLimiterObject } from "./objects/rate-limiter-object.ts";
export { SubmitterObject } from "./objects/submitter-object.ts";
export { VolunteerObject } from "./objects/volunteer-object.ts";

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
