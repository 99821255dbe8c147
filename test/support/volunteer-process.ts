import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

const bin = resolve(import.meta.dirname, "../../bin/colmeia.js");

/** A `colmeia volunteer` process against `url`; resolves once it has registered. */
export async function startVolunteerProcess(url: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, "volunteer", ...args], { env: { ...process.env, COLMEIA_URL: url }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  await new Promise<void>((ok, fail) => {
    child.stderr!.on("data", (d) => (stderr += d) && stderr.includes("Volunteering") && ok());
    child.once("exit", () => fail(new Error(`volunteer exited: ${stderr}`)));
  });
  return child;
}

/** Stops a volunteer process as Ctrl-C would and waits for it to exit. */
export async function stopVolunteerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once("exit", ok));
  child.kill("SIGINT");
  await exited;
}
