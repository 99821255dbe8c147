import type { ErrorBody } from "../../shared/schemas.ts";
import type { DeepHealthAnswer, JobStatusAnswer, LeaseAnswer } from "./responses.ts";

/*
 * Small hand-written checks for data the client reads where a coordinator of another version (or
 * something else entirely) may send a shape the types do not promise: stream events, error bodies.
 * The zod schemas in shared/ stay on the coordinator, so the client bundles carry no zod.
 */

/** A JSON object (not null, not an array). */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Whether every one of `keys` of `value` is a number. */
export const hasNumbers = (value: Record<string, unknown>, ...keys: string[]): boolean => keys.every((key) => typeof value[key] === "number");

/** An array whose every element passes `check`. */
export const isArrayOf = <T>(value: unknown, check: (item: unknown) => item is T): value is T[] => Array.isArray(value) && value.every(check);

const isString = (value: unknown): value is string => typeof value === "string";
const isNumber = (value: unknown): value is number => typeof value === "number";
const absentOr = (value: unknown, check: (value: unknown) => boolean) => value === undefined || check(value);

/** The contract's error body, `{"error": {code, message}}`. */
export function isErrorBody(value: unknown): value is ErrorBody {
  return isObject(value) && isObject(value.error) && isString(value.error.code) && isString(value.error.message);
}

const JOB_STATES = new Set<unknown>(["running", "done", "failed", "cancelled"]);
const NOTIFY_STATES = new Set<unknown>(["pending", "delivered", "gave_up"]);

/** A job status (`GET /v1/jobs/:id`, and each event of its stream) with every field the types promise. */
export function isJobStatus(value: unknown): value is JobStatusAnswer {
  if (!isObject(value) || !isString(value.id) || !isString(value.kernel) || !JOB_STATES.has(value.state)) return false;
  if (!hasNumbers(value, "createdAt", "updatedAt") || !isObject(value.shards) || !hasNumbers(value.shards, "total", "done", "failed")) return false;
  const { shards, notify, work } = value;
  return (
    absentOr(shards.awaitingConfirmation, isNumber) &&
    absentOr(value.label, isString) &&
    absentOr(value.error, isString) &&
    absentOr(value.priority, isNumber) &&
    absentOr(value.rate, isNumber) &&
    absentOr(notify, (n) => isObject(n) && isString(n.url) && NOTIFY_STATES.has(n.state) && hasNumbers(n, "attempts")) &&
    absentOr(work, (w) => isObject(w) && hasNumbers(w, "results", "checks"))
  );
}

/** Whether `value` has what a volunteer reads of a lease (coordinators of other versions may differ). */
export function isLease(value: unknown): value is LeaseAnswer {
  return isObject(value) && isString(value.id) && isString(value.kernel) && isNumber(value.expiresAt);
}

const VERDICTS = new Set<unknown>(["ok", "degraded", "failing"]);

/** A deep health answer: a verdict and a list of named checks. */
export function isDeepHealth(value: unknown): value is DeepHealthAnswer {
  const isCheck = (c: unknown) => isObject(c) && isString(c.name) && typeof c.ok === "boolean" && absentOr(c.ms, isNumber) && absentOr(c.detail, isString);
  return isObject(value) && VERDICTS.has(value.verdict) && Array.isArray(value.checks) && value.checks.every(isCheck);
}

/** A guard for a JSON object whose `key` is an array (`{leases: [...]}`, `{results: [...]}`). */
export const hasList =
  (key: string) =>
  (value: unknown): boolean =>
    isObject(value) && Array.isArray(value[key]);

/** A registration's answer: the new volunteer's `id` and `token`. */
export const isVolunteerAnswer = (value: unknown): boolean => isObject(value) && isString(value.id) && isString(value.token);
