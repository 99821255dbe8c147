import { parse, type ExportNamedDeclaration, type Pattern, type Program, type Statement, type ModuleDeclaration } from "acorn";
import { LIMITS } from "../../shared/limits.ts";

const ONE_MODULE = "a js/1 kernel is one module with no imports";

/** The names a binding pattern declares (`const { a, b: [c] } = ...` declares a and c). */
function boundNames(p: Pattern | null): string[] {
  if (!p) return [];
  switch (p.type) {
    case "Identifier":
      return [p.name];
    case "ObjectPattern":
      return p.properties.flatMap((prop) => boundNames(prop.type === "RestElement" ? prop : prop.value));
    case "ArrayPattern":
      return p.elements.flatMap((e) => boundNames(e));
    case "RestElement":
      return boundNames(p.argument);
    case "AssignmentPattern":
      return boundNames(p.left);
    default:
      return [];
  }
}

/** The names an `export` declaration (without `from`) makes public. */
function exportedNames(node: ExportNamedDeclaration): string[] {
  const d = node.declaration;
  if (d?.type === "FunctionDeclaration") return [d.id.name];
  if (d?.type === "VariableDeclaration") return d.declarations.flatMap((v) => boundNames(v.id));
  return node.specifiers.map((s) => (s.exported.type === "Identifier" ? s.exported.name : String(s.exported.value)));
}

const line = (node: Statement | ModuleDeclaration) => `line ${node.loc?.start.line ?? "?"}`;

function syntaxProblem(err: unknown): string {
  const loc = (err as { loc?: { line: number; column: number } }).loc;
  const message = (err instanceof Error ? err.message : String(err)).replace(/ \(\d+:\d+\)$/, "");
  return loc ? `syntax error at ${loc.line}:${loc.column + 1}: ${message}` : `syntax error: ${message}`;
}

/**
 * Why a `js/1` source cannot be published, or undefined when it can: it must parse as one ES module
 * with no import declarations (nor `export ... from`) and export `compute`. Dynamic `import()` is
 * left to the volunteers' sandbox, which refuses it at run time. Nothing is executed.
 */
export function inspectJs(source: string): string | undefined {
  const bytes = new TextEncoder().encode(source).byteLength;
  if (bytes > LIMITS.kernelModuleBytes) return `source is ${bytes} bytes of UTF-8; at most ${LIMITS.kernelModuleBytes}`;
  let program: Program;
  try {
    program = parse(source, { ecmaVersion: "latest", sourceType: "module", locations: true });
  } catch (err) {
    return syntaxProblem(err);
  }
  const exported = new Set<string>();
  for (const node of program.body) {
    if (node.type === "ImportDeclaration") return `${line(node)}: import declarations are not allowed: ${ONE_MODULE}`;
    if ((node.type === "ExportNamedDeclaration" || node.type === "ExportAllDeclaration") && node.source) {
      return `${line(node)}: export ... from imports another module, which is not allowed: ${ONE_MODULE}`;
    }
    if (node.type === "ExportNamedDeclaration") for (const name of exportedNames(node)) exported.add(name);
  }
  if (!exported.has("compute"))
    return "the module does not export compute: a js/1 kernel exports compute(input, params), e.g. export function compute(input, params) { ... }";
  return undefined;
}
