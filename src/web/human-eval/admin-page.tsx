/**
 * The study's admin page (admin token required): progress and time per rater, gold accuracy and
 * exclusions, agreement (Fleiss' kappa and nominal Krippendorff's alpha on the choice, ordinal alpha on
 * the 1-7 ratings, each with its bootstrap interval), win rates with intervals, Bradley-Terry strengths
 * for more than two models, agreement with the LM judge, and the items flagged for identity words.
 */
import type { Estimate } from "../../data/statistics.js";
import type { OpenStudy } from "../../eval/human-eval/open-study.js";
import type { StudyAnalysis } from "../../eval/human-eval/study-analysis.js";
import { Layout } from "../layout.js";

function number(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function interval(estimate: Pick<Estimate, "value" | "lower" | "upper">): string {
  if (!Number.isFinite(estimate.value)) return "n/a";
  return `${number(estimate.value)} [${number(estimate.lower)}, ${number(estimate.upper)}]`;
}

/** The admin page. */
export function AdminPage({ study, analysis }: { study: OpenStudy; analysis: StudyAnalysis }) {
  const { settings } = study;
  const { agreement } = analysis;
  return (
    <Layout title={`Study ${study.studyId}`} navigation={[]}>
      <link rel="stylesheet" href="/studies/static/human-eval.css" />
      <p class="muted">
        {`Models ${settings.models.join(", ")}; ${settings.perItem} raters per item, ${settings.raters} raters, seed ${settings.seed}. Exclusion rules fixed at creation: gold accuracy below ${settings.exclusion.minGoldAccuracy}, or median below ${settings.exclusion.minSecondsPerItem} s per item. Intervals: 95% percentile bootstrap over items.`}
      </p>
      <h2>Raters</h2>
      <table id="raters">
        <tr>
          <th>rater</th>
          <th>progress</th>
          <th>median seconds per item</th>
          <th>gold accuracy</th>
          <th>excluded</th>
        </tr>
        {analysis.raters.map((rater) => (
          <tr>
            <td>{rater.raterId}</td>
            <td>{`${rater.voted} / ${rater.assigned}`}</td>
            <td>{number(rater.medianSeconds, 1)}</td>
            <td>{`${rater.goldCorrect} / ${rater.goldAnswered}`}</td>
            <td>{rater.excluded ? rater.exclusionReasons.join("; ") : "no"}</td>
          </tr>
        ))}
      </table>
      <p>
        {`Time per item (included raters): median ${number(analysis.secondsPerItem.median, 1)} s, mean ${number(analysis.secondsPerItem.mean, 1)} s. Gold accuracy (included raters): ${number(analysis.goldAccuracy)}.`}
      </p>
      <h2>Agreement</h2>
      <table id="agreement">
        <tr>
          <th>statistic</th>
          <th>value [95% interval]</th>
          <th>items</th>
        </tr>
        <tr>
          <td>Fleiss' kappa, choice (A / B / tie / both bad)</td>
          <td>{interval(agreement.fleissKappa)}</td>
          <td>{String(agreement.fleissKappa.count)}</td>
        </tr>
        <tr>
          <td>Krippendorff's alpha, nominal, choice (allows a varying number of raters per item)</td>
          <td>{interval(agreement.choiceAlpha)}</td>
          <td>{String(agreement.choiceAlpha.count)}</td>
        </tr>
        <tr>
          <td>Krippendorff's alpha, ordinal, 1-7 alignment ratings (per answer; missing ratings allowed)</td>
          <td>{interval(agreement.ratingAlpha)}</td>
          <td>{String(agreement.ratingAlpha.count)}</td>
        </tr>
      </table>
      <h2>Win rates</h2>
      <p class="muted">Per item the included raters' majority; ties and "both bad" count as half a win.</p>
      <table id="win-rates">
        <tr>
          <th>model</th>
          <th>opponent</th>
          <th>win rate [95% interval]</th>
          <th>wins / ties / losses</th>
        </tr>
        {analysis.winRates.map((row) => (
          <tr>
            <td>{row.model}</td>
            <td>{row.opponent}</td>
            <td>{interval(row.winRate)}</td>
            <td>{`${row.winRate.wins} / ${row.winRate.ties} / ${row.winRate.losses}`}</td>
          </tr>
        ))}
      </table>
      {analysis.bradleyTerry === undefined ? null : (
        <>
          <h2>Bradley-Terry strengths</h2>
          {analysis.bradleyTerry.converged ? null : (
            <p class="flag" id="bradley-terry-note">
              No finite fit: a model never won or never lost, so its strength runs to 0 or 1; read the win rates
              instead.
            </p>
          )}
          <table id="bradley-terry">
            <tr>
              <th>model</th>
              <th>strength (sums to 1) [95% interval]</th>
            </tr>
            {analysis.bradleyTerry.scores.map((score) => (
              <tr>
                <td>{score.model}</td>
                <td>{interval({ value: score.strength, lower: score.lower, upper: score.upper })}</td>
              </tr>
            ))}
          </table>
        </>
      )}
      <h2>Humans against the LM judge</h2>
      {analysis.judgeAgreement === undefined ? (
        <p id="judge-agreement">No LM judge rated these answers.</p>
      ) : (
        <p id="judge-agreement">
          {`Judge ${analysis.judgeAgreement.judge} (its rubric's higher rating wins) on ${analysis.judgeAgreement.items} items: agrees with the humans' majority on ${number(analysis.judgeAgreement.agreementRate)}; Krippendorff's alpha (nominal) ${interval(analysis.judgeAgreement.alpha)}.`}
        </p>
      )}
      <h2>Flagged for review</h2>
      {analysis.flaggedItems.length === 0 ? (
        <p>No answer holds an identity word.</p>
      ) : (
        <ul id="flagged">
          {analysis.flaggedItems.map((item) => (
            <li>{`${item.itemId}: ${item.flags.join(", ")}`}</li>
          ))}
        </ul>
      )}
    </Layout>
  );
}
