// .dev.vars: the local grid's secrets, read by `npm start` and `npm run dev` alike (wrangler's format).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Creates `<root>/.dev.vars` with a new submitter token and secret when it is missing; returns
 * what to tell the user (the new token, or the first token of the file).
 */
export function ensureDevVars(root) {
  const devVars = join(root, ".dev.vars");
  if (!existsSync(devVars)) {
    const token = `cs_${randomBytes(24).toString("base64url")}`;
    const secret = randomBytes(32).toString("base64url");
    // Plain-http webhook targets are refused except on these hosts: local testing only.
    const vars = `SUBMIT_TOKENS=${token}\nCOLMEIA_SECRET=${secret}\nWEBHOOK_HTTP_HOSTS=127.0.0.1,localhost\n`;
    writeFileSync(devVars, vars, { mode: 0o600 });
    return `Created .dev.vars with a new submitter token:\n\n  COLMEIA_TOKEN=${token}\n`;
  }
  const tokens = /^SUBMIT_TOKENS=(.*)$/m.exec(readFileSync(devVars, "utf8"))?.[1];
  return tokens ? `Submitter token(s) from .dev.vars: ${tokens.split(",")[0]}${tokens.includes(",") ? ", …" : ""}` : undefined;
}
