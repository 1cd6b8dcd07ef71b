/**
 * The training page (`/runs/:id/training`): training and held-out loss, the objective's terms (SFT,
 * penalty, ...), the learning rate and held-out preference accuracy, from metrics.jsonl tailed as it
 * grows; live through server-sent events while the run is running.
 */
import { join } from "node:path";
import type { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { readRunDescription } from "../train/training-run-files.js";
import { LineChart } from "./charts.js";
import { Layout, renderPage } from "./layout.js";
import type { RunCatalog } from "./run-catalog.js";
import { requireRun } from "./run-lookup.js";
import { createTrainingMetricsTail, type TrainingMetrics, type TrainingMetricsTail } from "./training-metrics-tail.js";

/** Registers the training page and its charts fragment. */
export function registerTrainingPage(app: Hono, catalog: RunCatalog): void {
  const tails = new Map<string, TrainingMetricsTail>();
  const metricsOf = (id: string) => {
    const entry = requireRun(catalog, id);
    if (entry.kind !== "training") throw new HTTPException(404, { message: `run ${id} is not a training run` });
    let tail = tails.get(entry.id);
    if (!tail) {
      tail = createTrainingMetricsTail({ path: join(entry.directory, "metrics.jsonl") });
      tails.set(entry.id, tail);
    }
    return { entry, metrics: tail.read() };
  };

  app.get("/runs/:id/training", (context) => {
    const { entry, metrics } = metricsOf(context.req.param("id"));
    const status = catalog.status(entry);
    let description: ReturnType<typeof readRunDescription>;
    try {
      description = readRunDescription({ directory: entry.directory });
    } catch {
      description = undefined;
    }
    return context.html(
      renderPage(
        <Layout title={`Training: ${entry.name}`} breadcrumbs={[{ href: "/", label: "Runs" }]}>
          <p>
            Status: <span id="live-status">{status}</span>
            {description === undefined
              ? ""
              : ` · loss ${description.settings.loss} · start model ${description.model} · data ${description.data.path}`}
          </p>
          <div
            id="training-charts"
            data-fragment={`/runs/${entry.id}/training/charts`}
            data-live={status === "running" ? `/runs/${entry.id}/events` : undefined}
          >
            <TrainingCharts metrics={metrics} />
          </div>
        </Layout>,
      ),
    );
  });

  app.get("/runs/:id/training/charts", (context) => {
    const { metrics } = metricsOf(context.req.param("id"));
    return context.html(String(<TrainingCharts metrics={metrics} />));
  });
}

function TrainingCharts({ metrics }: { metrics: TrainingMetrics }) {
  const termNames = [...new Set(metrics.steps.flatMap((step) => Object.keys(step.terms)))].sort();
  const last = metrics.steps.at(-1);
  const lastEvaluation = metrics.evaluations.at(-1);
  return (
    <section data-steps={String(metrics.steps.length)} data-evaluations={String(metrics.evaluations.length)}>
      <p>
        {metrics.steps.length} steps logged
        {last === undefined ? "" : ` · step ${last.step}: loss ${last.loss?.toFixed(4) ?? "n/a"}`}
        {lastEvaluation === undefined
          ? ""
          : ` · held-out preference accuracy ${lastEvaluation.preferenceAccuracy?.toFixed(3) ?? "n/a"} at step ${lastEvaluation.step}`}
      </p>
      <LineChart
        title="Loss"
        xLabel="step"
        series={[
          { name: "training", points: metrics.steps.map((step) => ({ x: step.step, y: step.loss })) },
          { name: "held-out", points: metrics.evaluations.map((line) => ({ x: line.step, y: line.loss })) },
        ]}
      />
      {termNames.length === 0 ? null : (
        <LineChart
          title="Objective terms"
          xLabel="step"
          series={termNames.map((name) => ({
            name,
            points: metrics.steps.map((step) => ({ x: step.step, y: step.terms[name] ?? null })),
          }))}
        />
      )}
      <LineChart
        title="Learning rate"
        xLabel="step"
        series={[
          { name: "learning rate", points: metrics.steps.map((step) => ({ x: step.step, y: step.learningRate })) },
        ]}
      />
      <LineChart
        title="Held-out preference accuracy"
        xLabel="step"
        yMinimum={0}
        yMaximum={1}
        series={[
          {
            name: "accuracy",
            points: metrics.evaluations.map((line) => ({ x: line.step, y: line.preferenceAccuracy })),
          },
        ]}
      />
    </section>
  );
}
