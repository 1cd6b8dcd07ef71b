import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "bench/**/*.test.ts", "experiments/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: running files in parallel mostly adds contention (llama.cpp, BLAS, SQLite compile-free but CPU bound).
    pool: "forks",
    maxWorkers: 2,
  },
});
