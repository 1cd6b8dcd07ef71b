import { generatedPrior, generatedQuestions, runTestSimulation } from "./src/sandbox/test-support/test-simulation.js";
const prior = generatedPrior(50); const pool = generatedQuestions(200);
const once = async () => { const c = new AbortController(); await runTestSimulation({ size: 10, rounds: 1, targets: 4, setting: "mixed_half_half", questionPool: pool, prior, priorSize: 50, schedule: {}, signal: c.signal, onEvent: (e) => { if (e.type === "run-start") c.abort(); } }).catch(() => {}); };
for (let rep = 0; rep < 60; rep++) await once();
const s = performance.now();
for (let rep = 0; rep < 30; rep++) await once();
console.log("setup ms per run", ((performance.now() - s) / 30).toFixed(2));
