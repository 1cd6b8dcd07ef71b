import { describe, expect, it } from "vitest";
import { UsageError } from "../spec/errors.js";
import { accessPolicyFor } from "./serve-command.js";

const TOKEN = "correct-horse-battery-staple-42";

describe("serve access policy", () => {
  it("the CLI refuses a non-loopback host without a token in one line, and never echoes the token", () => {
    expect(accessPolicyFor({ host: "127.0.0.1", environment: {} })).toEqual({ kind: "loopback" });
    expect(accessPolicyFor({ host: "::1", environment: {} })).toEqual({ kind: "loopback" });
    let refusal: unknown;
    try {
      accessPolicyFor({ host: "0.0.0.0", environment: {} });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(UsageError);
    expect((refusal as Error).message).toContain("STABLE_ALIGNMENT_ADMIN_TOKEN");
    expect((refusal as Error).message.split("\n")).toHaveLength(1);
    const short = "short-secret";
    expect(() => accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: short } })).toThrow(
      /at least 16 characters/,
    );
    try {
      accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: short } });
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    expect(accessPolicyFor({ host: "0.0.0.0", environment: { STABLE_ALIGNMENT_ADMIN_TOKEN: TOKEN } })).toEqual({
      kind: "token",
      adminToken: TOKEN,
    });
  });
});
