import { describe, expect, it } from "vitest";
import { outputValidator, schemaProblem } from "./output-schema.ts";

const COUNTS = {
  type: "object",
  properties: { counts: { type: "object", additionalProperties: { type: "integer", minimum: 0 } }, peak: { type: "number" } },
  required: ["counts"],
};

describe("schemaProblem", () => {
  it("accepts object and boolean schemas", () => {
    expect(schemaProblem(COUNTS)).toBeUndefined();
    expect(schemaProblem({})).toBeUndefined();
    expect(schemaProblem(true)).toBeUndefined();
    expect(schemaProblem(false)).toBeUndefined();
  });

  it("refuses values that are not schemas at all", () => {
    for (const v of [null, 3, "object", [{ type: "object" }]]) expect(schemaProblem(v)).toBe("a JSON Schema must be an object or a boolean");
  });

  it("refuses keywords of the wrong type, naming where", () => {
    expect(schemaProblem({ type: "float" })).toMatch(/^not a valid JSON Schema: type: /);
    expect(schemaProblem({ properties: { a: { minimum: "3" } } })).toMatch(/^not a valid JSON Schema: properties\.a\.minimum: /);
    expect(schemaProblem({ required: "a" })).toMatch(/required/);
    expect(schemaProblem({ anyOf: [] })).toMatch(/anyOf/);
    expect(schemaProblem({ items: { maxItems: -1 } })).toMatch(/items\.maxItems/);
  });

  it("refuses patterns that are not regular expressions", () => {
    expect(schemaProblem({ pattern: "([a-z" })).toMatch(/pattern/);
    expect(schemaProblem({ patternProperties: { "(": {} } })).toMatch(/patternProperties/);
    expect(schemaProblem({ pattern: "^[a-z]+$" })).toBeUndefined();
  });

  it("accepts $ref inside the schema and refuses remote or dangling ones", () => {
    expect(schemaProblem({ $defs: { n: { type: "number" } }, properties: { a: { $ref: "#/$defs/n" } } })).toBeUndefined();
    expect(schemaProblem({ $ref: "https://example.com/schema.json" })).toMatch(/\$ref "https:\/\/example.com\/schema.json" does not resolve within the schema/);
    expect(schemaProblem({ properties: { a: { $ref: "#/$defs/missing" } } })).toMatch(/does not resolve/);
    expect(schemaProblem({ $id: "https://example.com/s", $defs: { n: { type: "number" } }, $ref: "https://example.com/s#/$defs/n" })).toBeUndefined();
  });

  it("refuses $dynamicRef, which the validator would ignore", () => {
    expect(schemaProblem({ $dynamicAnchor: "x", properties: { a: { $dynamicRef: "#x" } } })).toMatch(/\$dynamicRef is not supported/);
  });

  it("follows $schema to older drafts and refuses unknown ones", () => {
    expect(schemaProblem({ $schema: "http://json-schema.org/draft-07/schema#", items: [{ type: "number" }] })).toBeUndefined();
    expect(schemaProblem({ $schema: "https://json-schema.org/draft/2020-12/schema", type: "object" })).toBeUndefined();
    expect(schemaProblem({ $schema: "https://example.com/my-draft" })).toMatch(/^unsupported \$schema/);
  });

  it("does not modify the schema it checks", () => {
    const schema = { $defs: { n: { type: "number" } }, $ref: "#/$defs/n" };
    schemaProblem(schema);
    expect(Object.getOwnPropertyNames(schema).sort()).toEqual(["$defs", "$ref"]);
  });

  it("treats __proto__ as an ordinary property name", () => {
    const schema = JSON.parse('{"type": "object", "properties": {"__proto__": {"type": "number"}}}');
    expect(schemaProblem(schema)).toBeUndefined();
    expect(outputValidator(schema)(JSON.parse('{"__proto__": "x"}'))).toMatch(/^__proto__: /);
    expect(outputValidator(schema)(JSON.parse('{"__proto__": 1}'))).toBeUndefined();
  });
});

describe("outputValidator", () => {
  const check = outputValidator(COUNTS);

  it("accepts outputs that satisfy the schema", () => {
    expect(check({ counts: { a: 1, b: 0 }, peak: 2.5 })).toBeUndefined();
  });

  it("reports the innermost error with its path", () => {
    expect(check({ counts: { a: 1.5 } })).toBe('counts.a: Instance type "number" is invalid. Expected "integer".');
    expect(check({ counts: { "a/b": -1 } })).toBe("counts.a/b: -1 is less than 0.");
    expect(check({ peak: 1 })).toBe('output: Instance does not have required property "counts".');
    expect(check([1])).toBe('output: Instance type "array" is invalid. Expected "object".');
  });

  it("says which property is not allowed when additionalProperties is false", () => {
    const strict = outputValidator({ type: "object", properties: { a: {} }, additionalProperties: false });
    expect(strict({ a: 1, b: 2 })).toBe('output: Property "b" does not match additional properties schema.');
  });

  it("reports array items by index", () => {
    expect(outputValidator({ type: "array", items: { type: "string" } })(["x", 3])).toBe('1: Instance type "number" is invalid. Expected "string".');
  });

  it("applies the schema's own draft", () => {
    const tuple = outputValidator({ $schema: "http://json-schema.org/draft-07/schema#", items: [{ type: "number" }, { type: "string" }] });
    expect(tuple([1, "a"])).toBeUndefined();
    expect(tuple([1, 2])).toMatch(/^1: /);
  });

  it("refuses everything under the false schema and nothing under true", () => {
    expect(outputValidator(false)(1)).toBe("output: False boolean schema.");
    expect(outputValidator(true)({ anything: [1] })).toBeUndefined();
  });

  it("gives independent validators for different schemas", () => {
    const numbers = outputValidator({ type: "number" });
    const strings = outputValidator({ type: "string" });
    expect(numbers(1)).toBeUndefined();
    expect(strings(1)).toMatch(/Expected "string"/);
    expect(numbers(1)).toBeUndefined();
  });
});
