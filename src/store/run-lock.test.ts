import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RunLockedError } from "../spec/errors.js";
import { acquireRunLock, RUN_LOCK_FILE_NAME, readRunLockHolder } from "./run-lock.js";

const runLockModule = fileURLToPath(new URL("./run-lock.ts", import.meta.url));

/**
 * A child process that takes the lock of `directory`, prints `acquired` or `refused <pid>`, then
 * holds the lock until its stdin closes (or exits at once with `exitAfter`).
 */
function lockTaker(directory: string, { exitAfter = false } = {}) {
  const script = `
    const { acquireRunLock } = await import(${JSON.stringify(runLockModule)});
    try {
      acquireRunLock({ directory: ${JSON.stringify(directory)}, command: "test" });
      console.log("acquired");
    } catch (error) {
      console.log(error.code === "RUN_LOCKED" ? "refused " + error.holderPid : "failed " + error.message);
    }
    if (!${exitAfter}) process.stdin.on("data", () => {}).on("end", () => process.exit(0));
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const answer = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NonNullable<ChildProcess["stdout"]> }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`lock taker exited with ${code} before answering`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, answer, exited };
}

/** The pid of a process that has exited (so it is dead). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["--eval", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid as number;
}

const newDirectory = () => mkdtempSync(join(tmpdir(), "run-lock-"));

describe("acquireRunLock", () => {
  it("refuses a second holder with a one-line error naming the holder's pid, and frees on release", () => {
    const directory = newDirectory();
    const lock = acquireRunLock({ directory, command: "simulate" });
    expect(readRunLockHolder({ directory })).toMatchObject({ pid: process.pid, command: "simulate" });
    let caught: unknown;
    try {
      acquireRunLock({ directory, command: "simulate" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RunLockedError);
    expect((caught as RunLockedError).holderPid).toBe(process.pid);
    expect((caught as Error).message).toContain(`in use by pid ${process.pid} (simulate`);
    expect((caught as Error).message).not.toContain("\n");
    lock.release();
    lock.release();
    expect(existsSync(join(directory, RUN_LOCK_FILE_NAME))).toBe(false);
    acquireRunLock({ directory, command: "simulate" }).release();
  });

  it("takes over a lock whose process is dead, and over unreadable lock content", async () => {
    const directory = newDirectory();
    const pid = await deadPid();
    writeFileSync(
      join(directory, RUN_LOCK_FILE_NAME),
      JSON.stringify({ pid, command: "simulate", startedAt: "2026-01-01T00:00:00.000Z", nonce: "x" }),
    );
    const lock = acquireRunLock({ directory, command: "simulate" });
    expect(readRunLockHolder({ directory })?.pid).toBe(process.pid);
    lock.release();
    writeFileSync(join(directory, RUN_LOCK_FILE_NAME), "");
    acquireRunLock({ directory, command: "simulate" }).release();
    // No marker or temporary file is left behind.
    expect(readdirSync(directory)).toEqual([]);
  });

  it("lets exactly one of several processes racing for a free or a stale lock win", { timeout: 120_000 }, async () => {
    for (const stale of [false, true]) {
      const directory = newDirectory();
      if (stale) {
        writeFileSync(
          join(directory, RUN_LOCK_FILE_NAME),
          JSON.stringify({ pid: await deadPid(), command: "simulate", startedAt: "x", nonce: "y" }),
        );
      }
      const takers = Array.from({ length: 6 }, () => lockTaker(directory));
      const answers = await Promise.all(takers.map((taker) => taker.answer));
      const winners = takers.filter((_, index) => answers[index] === "acquired");
      expect(winners, answers.join(", ")).toHaveLength(1);
      const winnerPid = (winners[0] as (typeof takers)[number]).child.pid;
      expect(answers.filter((answer) => answer === `refused ${winnerPid}`)).toHaveLength(5);
      for (const taker of takers) taker.child.stdin?.end();
      await Promise.all(takers.map((taker) => taker.exited));
      // Released on a normal exit; nothing else left in the directory.
      expect(readdirSync(directory)).toEqual([]);
    }
  });

  it("stays after SIGKILL and is taken over by the next process", { timeout: 60_000 }, async () => {
    const directory = newDirectory();
    const first = lockTaker(directory);
    expect(await first.answer).toBe("acquired");
    const second = lockTaker(directory, { exitAfter: true });
    expect(await second.answer).toBe(`refused ${first.child.pid}`);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(JSON.parse(readFileSync(join(directory, RUN_LOCK_FILE_NAME), "utf8")).pid).toBe(first.child.pid);
    const third = lockTaker(directory, { exitAfter: true });
    expect(await third.answer).toBe("acquired");
    await third.exited;
    expect(existsSync(join(directory, RUN_LOCK_FILE_NAME))).toBe(false);
  });
});
