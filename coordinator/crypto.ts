import { encodeBase64Url } from "hono/utils/encode";
import { hexOf } from "../shared/canonical.ts";

export { timingSafeEqual } from "hono/utils/buffer";

/** Imported HMAC keys by secret: importing costs more than signing. Few secrets are live at once. */
const keys = new Map<string, Promise<CryptoKey>>();
const MAX_KEYS = 1000;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keys.set(secret, key);
  }
  return key;
}

/** HMAC-SHA256 of `message` keyed by `secret`. */
export async function hmacSha256(secret: string, message: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(message));
}

/** HMAC-SHA256 as lower-case hex (webhook signatures). */
export const hmacHex = async (secret: string, message: string): Promise<string> => hexOf(await hmacSha256(secret, message));

/** HMAC-SHA256 as unpadded base64url (volunteer tokens). */
export const hmacBase64Url = async (secret: string, message: string): Promise<string> => encodeBase64Url(await hmacSha256(secret, message)).replace(/=+$/, "");
