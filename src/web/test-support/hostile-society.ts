/**
 * A society whose model text tries to run script in the viewer: every draft and revision carries a
 * `<script>` element and an `<img onerror>` that would set `window.__pwned`, and the rating reasons a
 * quote-breaking attribute. Ratings stay readable, so the run completes normally.
 */
import { type SocietyRequest, societyAnswer } from "../../sandbox/test-support/scripted-society.js";

/** The markup injected into drafts and revisions. */
export const HOSTILE_MARKUP =
  '<script>window.__pwned = "script"</script><img src=x onerror="window.__pwned = \'img\'"><b>bold?</b>';

/** Like {@link societyAnswer}, with {@link HOSTILE_MARKUP} in every draft, revision and reason. */
export function hostileSocietyAnswer(request: SocietyRequest): string {
  const answer = societyAnswer(request);
  if (answer.startsWith("draft ") || answer.startsWith("revision ")) return `${answer} ${HOSTILE_MARKUP}`;
  return answer.replace("### Reason:", `### Reason: "'><svg onload="window.__pwned='svg'"> `);
}
