/**
 * The rater page's keyboard shortcuts, served at /studies/static/human-eval.js (the strict CSP allows
 * no inline script). Progressive: the form works without it. Outside text fields: `a` or `1` picks
 * "A better", `b` or `2` "B better", `t` or `3` "Tie", `x` or `4` "Both bad"; `Enter` saves;
 * `n` and `p` go to the next and previous item.
 */
export const HUMAN_EVAL_JS = `"use strict";
(function () {
  var form = document.getElementById("vote-form");
  if (!form) return;
  var keys = { a: "A", "1": "A", b: "B", "2": "B", t: "tie", "3": "tie", x: "both-bad", "4": "both-bad" };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type === "text"));
    if (typing) return;
    var key = event.key.toLowerCase();
    if (keys[key]) {
      var radio = form.querySelector('input[name="choice"][value="' + keys[key] + '"]');
      if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
      return;
    }
    if (key === "enter") {
      if (form.querySelector('input[name="choice"]:checked')) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    var link = key === "n" ? document.getElementById("next-item") : key === "p" ? document.getElementById("previous-item") : null;
    if (link) { event.preventDefault(); location.href = link.getAttribute("href"); }
  });
})();
`;

/** The rater and admin pages' extra styles (inside the app's stylesheet rules). */
export const HUMAN_EVAL_CSS = `.answers{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.answer-label{font-weight:bold;font-size:1.2em}
fieldset{border:1px solid #ccc;margin:.6em 0;padding:.5em 1em}
.choices label{margin-right:1.2em}
.progress{color:#555}.shortcut{font-family:monospace;background:#eceff1;padding:0 .3em;border-radius:3px}
.flag{color:#b45309}
`;
