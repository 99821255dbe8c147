import { dereference, Validator, type OutputUnit, type Schema, type SchemaDraft } from "@cfworker/json-schema";

/**
 * JSON Schemas that published kernels' outputs must satisfy, checked with `@cfworker/json-schema`
 * (an interpreter: no code generation, so it runs in Workers). Nothing is cached between calls.
 */

const DRAFTS: Record<string, SchemaDraft> = {
  "https://json-schema.org/draft/2020-12/schema": "2020-12",
  "https://json-schema.org/draft/2019-09/schema": "2019-09",
  "http://json-schema.org/draft-07/schema": "7",
  "http://json-schema.org/draft-04/schema": "4",
};

const TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"];
const SUBSCHEMA = [
  "additionalItems",
  "unevaluatedItems",
  "contains",
  "additionalProperties",
  "unevaluatedProperties",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
];
const SUBSCHEMA_LISTS = ["prefixItems", "allOf", "anyOf", "oneOf"];
const SUBSCHEMA_MAPS = ["$defs", "definitions", "properties", "dependentSchemas"];
const COUNTS = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains"];

/**
 * A compact meta-schema: the keywords the validator acts on must have the types the drafts give
 * them (the library ships no meta-schemas, and the drafts' own need `$dynamicRef`, which it lacks).
 */
function metaSchema(draft: SchemaDraft): Schema {
  const sub = () => ({ $ref: "#" });
  const strings = { type: "array", items: { type: "string" } };
  const typeName = { enum: TYPES };
  const properties: Record<string, unknown> = {
    $schema: { type: "string" },
    $id: { type: "string" },
    $ref: { type: "string" },
    $anchor: { type: "string" },
    type: { anyOf: [typeName, { type: "array", items: typeName, uniqueItems: true }] },
    enum: { type: "array" },
    required: strings,
    dependentRequired: { type: "object", additionalProperties: strings },
    // Only drafts before 2020-12 give `items` a list of schemas (2020-12 has `prefixItems`).
    items: draft === "2020-12" ? sub() : { anyOf: [sub(), { type: "array", items: sub() }] },
    patternProperties: { type: "object", propertyNames: { format: "regex" }, additionalProperties: sub() },
    pattern: { type: "string", format: "regex" },
    format: { type: "string" },
    uniqueItems: { type: "boolean" },
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    minimum: { type: "number" },
    maximum: { type: "number" },
    exclusiveMinimum: { type: ["number", "boolean"] },
    exclusiveMaximum: { type: ["number", "boolean"] },
  };
  for (const k of SUBSCHEMA) properties[k] = sub();
  for (const k of SUBSCHEMA_LISTS) properties[k] = { type: "array", minItems: 1, items: sub() };
  for (const k of SUBSCHEMA_MAPS) properties[k] = { type: "object", additionalProperties: sub() };
  for (const k of COUNTS) properties[k] = { type: "integer", minimum: 0 };
  return { type: ["object", "boolean"], properties: properties as Record<string, Schema> };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function draftOf(schema: unknown): SchemaDraft | undefined {
  const declared = isObj(schema) && Object.hasOwn(schema, "$schema") ? schema.$schema : undefined;
  if (declared === undefined) return "2020-12";
  return typeof declared === "string" ? DRAFTS[declared.replace(/#$/, "")] : undefined;
}

/** An instance location such as `#/counts/a~1b` as a readable path (`counts.a/b`), `root` for the root. */
function readablePath(location: string, root: string): string {
  const parts = location
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "");
  const decoded = parts.map((p) => {
    let text = p;
    try {
      text = decodeURIComponent(p);
    } catch {
      // Not percent-encoded after all: keep it as written.
    }
    return text.replace(/~1/g, "/").replace(/~0/g, "~");
  });
  return decoded.length ? decoded.join(".") : root;
}

// Errors that only say "a subschema failed": the next error says how, unless it is a bare `false`.
const WRAPPERS = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "$ref",
  "$recursiveRef",
  "allOf",
  "if",
  "dependentSchemas",
  "propertyNames",
]);

function firstError(errors: OutputUnit[], root: string): string {
  let i = 0;
  while (i + 1 < errors.length && WRAPPERS.has(errors[i]!.keyword) && errors[i + 1]!.keyword !== "false") i++;
  const e = errors[i];
  return e ? `${readablePath(e.instanceLocation, root)}: ${e.error}` : `${root}: does not match the schema`;
}

/** A `$ref` that the schema itself does not hold, or a keyword the library would silently ignore. */
function referenceProblem(lookup: Record<string, Schema | boolean>): string | undefined {
  for (const sub of Object.values(lookup)) {
    if (typeof sub !== "object") continue;
    if (Object.hasOwn(sub, "$dynamicRef")) return "$dynamicRef is not supported; use $ref";
    for (const [ref, absolute] of [
      [sub.$ref, sub.__absolute_ref__],
      [sub.$recursiveRef, sub.__absolute_recursive_ref__],
    ]) {
      if (absolute !== undefined && lookup[absolute] === undefined) {
        return `$ref ${JSON.stringify(ref)} does not resolve within the schema (remote schemas are never fetched)`;
      }
    }
  }
  return undefined;
}

/**
 * Why a submitted JSON Schema cannot be used to check outputs, or undefined when it can: it must be
 * an object or a boolean, well-formed, of a supported draft (2020-12 unless `$schema` says otherwise),
 * with every `$ref` resolving inside it.
 */
export function schemaProblem(schema: unknown): string | undefined {
  if (typeof schema === "boolean") return undefined;
  if (!isObj(schema)) return "a JSON Schema must be an object or a boolean";
  const draft = draftOf(schema);
  if (!draft) return `unsupported $schema ${JSON.stringify(schema.$schema)}; use ${Object.keys(DRAFTS).join(", ")}`;
  try {
    const meta = new Validator(metaSchema(draft), "2020-12").validate(schema);
    if (!meta.valid) return `not a valid JSON Schema: ${firstError(meta.errors, "schema")}`;
    return referenceProblem(dereference(structuredClone(schema) as Schema));
  } catch (err) {
    return `not a usable JSON Schema: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
  }
}

/**
 * A check of outputs against `schema` (one `schemaProblem` accepts): the first error as
 * `path: message`, or undefined when the value satisfies it.
 * @example outputValidator({ type: "object", properties: { n: { type: "integer" } } })({ n: 1.5 }) // "n: Instance type ..."
 */
export function outputValidator(schema: unknown): (value: unknown) => string | undefined {
  const validator = new Validator(structuredClone(schema) as Schema | boolean, draftOf(schema) ?? "2020-12");
  return (value) => {
    try {
      const result = validator.validate(value);
      return result.valid ? undefined : firstError(result.errors, "output");
    } catch (err) {
      return `output: cannot be checked: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
    }
  };
}
