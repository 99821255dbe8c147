/**
 * Canonical JSON: object keys sorted, no whitespace, so equal values always serialise alike.
 * The coordinator compares replica outputs by the SHA-256 of this text, never by what a volunteer claims.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("non-finite number in output");
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
}

/** Each byte's two hex digits, so hexOf looks them up instead of formatting every byte (it hashes every result). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lower-case hex of bytes. */
export function hexOf(bytes: ArrayBuffer | Uint8Array): string {
  let hex = "";
  for (const b of new Uint8Array(bytes)) hex += HEX[b];
  return hex;
}

/** `n` random bytes as hex (ids, secrets). */
export const randomHex = (n: number): string => hexOf(crypto.getRandomValues(new Uint8Array(n)));

/** Hex SHA-256 of a string (Web Crypto: the same in workerd, browsers and Node). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return hexOf(digest);
}
