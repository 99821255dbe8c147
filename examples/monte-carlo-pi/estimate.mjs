// Reads a Monte Carlo π result ({"id", "result": {"inside", "total"}} from `colmeia result --json`,
// or the bare {"inside", "total"}) on stdin and prints the estimate of π with its error.
let text = "";
for await (const chunk of process.stdin) text += chunk;
const answer = JSON.parse(text);
const { inside, total } = answer.result ?? answer;
const pi = (4 * inside) / total;
const sigma = 4 * Math.sqrt(((inside / total) * (1 - inside / total)) / total);
console.log(`π ≈ ${pi.toFixed(6)} from ${total.toLocaleString("en-US")} points (${inside.toLocaleString("en-US")} inside)`);
console.log(`    off by ${Math.abs(pi - Math.PI).toExponential(2)}; one standard error is ${sigma.toExponential(2)}`);
