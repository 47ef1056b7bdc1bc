/* perft_plot.c — loss curves from training metrics (JSONL) to an SVG file.
 *
 *   perft-plot OUT.svg TITLE LABEL=metrics.jsonl [LABEL=metrics.jsonl ...]
 *
 * Reads every line of each metrics file that has "step" and "loss" and is not an
 * evaluation line ("eval":true), smooths each curve with a moving average over
 * 9 steps, and draws them on one log-scale axis with a legend. No dependencies.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RUNS = 32, MAX_POINTS = 100000, SMOOTH = 9 };

typedef struct {
  const char *label;
  int n;
  double *step, *loss;
} Curve;

/* The number after "key": in a JSON line, or NAN. */
static double json_number(const char *line, const char *key) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *at = strstr(line, pattern);
  if (!at) return NAN;
  char *end;
  double v = strtod(at + strlen(pattern), &end);
  return end == at + strlen(pattern) ? NAN : v;
}

static int read_curve(const char *path, Curve *c) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "perft-plot: error: cannot open '%s'\n", path);
    return 0;
  }
  c->step = malloc(MAX_POINTS * sizeof(double));
  c->loss = malloc(MAX_POINTS * sizeof(double));
  if (!c->step || !c->loss) { fclose(f); return 0; }
  char line[4096];
  while (fgets(line, sizeof line, f) && c->n < MAX_POINTS) {
    if (strstr(line, "\"eval\":true")) continue;
    double s = json_number(line, "step"), l = json_number(line, "loss");
    if (isnan(s) || isnan(l) || l <= 0) continue;
    c->step[c->n] = s;
    c->loss[c->n++] = l;
  }
  fclose(f);
  for (int i = 0; i < c->n; i++) { /* trailing moving average, in place from the end */
    int j = c->n - 1 - i, lo = j - SMOOTH + 1 < 0 ? 0 : j - SMOOTH + 1;
    double sum = 0;
    for (int t = lo; t <= j; t++) sum += c->loss[t];
    c->loss[j] = sum / (j - lo + 1);
  }
  return c->n > 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: perft-plot OUT.svg TITLE LABEL=metrics.jsonl...\n");
    return 2;
  }
  Curve curves[MAX_RUNS] = {{0}};
  int runs = 0;
  double max_step = 1, lo = INFINITY, hi = -INFINITY;
  for (int i = 3; i < argc && runs < MAX_RUNS; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) { fprintf(stderr, "perft-plot: error: expected LABEL=FILE, got '%s'\n", argv[i]); return 2; }
    *eq = 0;
    curves[runs].label = argv[i];
    if (!read_curve(eq + 1, &curves[runs])) { fprintf(stderr, "perft-plot: error: no loss values in '%s'\n", eq + 1); return 1; }
    for (int j = 0; j < curves[runs].n; j++) {
      if (curves[runs].step[j] > max_step) max_step = curves[runs].step[j];
      if (curves[runs].loss[j] < lo) lo = curves[runs].loss[j];
      if (curves[runs].loss[j] > hi) hi = curves[runs].loss[j];
    }
    runs++;
  }
  double log_lo = floor(log10(lo) * 4) / 4, log_hi = ceil(log10(hi) * 4) / 4;
  if (log_hi <= log_lo) log_hi = log_lo + 1;
  const double W = 900, H = 520, left = 70, right = 220, top = 40, bottom = 50;
  const double pw = W - left - right, ph = H - top - bottom;
  static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8",
                                 "#393b79", "#e7ba52", "#843c39", "#637939"};
  enum { NUM_COLORS = sizeof colors / sizeof colors[0] }; /* past these, curves are dashed */
  FILE *out = fopen(argv[1], "w");
  if (!out) { fprintf(stderr, "perft-plot: error: cannot write '%s'\n", argv[1]); return 1; }
  fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
  fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(out, "<text x=\"%.0f\" y=\"24\" font-size=\"15\">%s</text>\n", left, argv[2]);
  fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n", left, top, pw, ph);
  for (double e = ceil(log_lo); e <= log_hi; e += 1) { /* decade grid lines */
    double y = top + ph * (log_hi - e) / (log_hi - log_lo);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, left + pw, y);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 6, y + 4, pow(10, e));
  }
  for (int i = 0; i <= 4; i++) {
    double x = left + pw * i / 4;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x, top + ph + 18, max_step * i / 4);
  }
  fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", left + pw / 2, H - 10);
  fprintf(out, "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" text-anchor=\"middle\">training loss (log, smoothed over %d steps)</text>\n",
          top + ph / 2, top + ph / 2, SMOOTH);
  for (int r = 0; r < runs; r++) {
    const char *color = colors[r % NUM_COLORS];
    const char *dash = r >= NUM_COLORS ? " stroke-dasharray=\"6 3\"" : "";
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", color, dash);
    for (int j = 0; j < curves[r].n; j++) {
      double x = left + pw * curves[r].step[j] / max_step;
      double y = top + ph * (log_hi - log10(curves[r].loss[j])) / (log_hi - log_lo);
      fprintf(out, "%.1f,%.1f ", x, y);
    }
    fprintf(out, "\"/>\n");
    double ly = top + 10 + 18 * r;
    fprintf(out, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n", W - right + 15, ly, W - right + 40, ly, color);
    fprintf(out, "<text x=\"%.0f\" y=\"%.1f\">%s</text>\n", W - right + 46, ly + 4, curves[r].label);
  }
  fprintf(out, "</svg>\n");
  fclose(out);
  for (int r = 0; r < runs; r++) {
    free(curves[r].step);
    free(curves[r].loss);
  }
  return 0;
}
