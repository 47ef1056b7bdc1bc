/* progress.c: the per-step report; see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24

double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void format_duration(double seconds, char *out, size_t out_size) {
  long total = seconds > 0 ? (long)(seconds + 0.5) : 0;
  if (total >= 3600) snprintf(out, out_size, "%ldh%02ldm", total / 3600, total % 3600 / 60);
  else if (total >= 60) snprintf(out, out_size, "%ldm%02lds", total / 60, total % 60);
  else snprintf(out, out_size, "%lds", total);
}

void progress_start(Progress *progress, int first_step, int steps) {
  memset(progress, 0, sizeof *progress);
  const char *mode = getenv("PERFT_PROGRESS");
  progress->bar = mode && !strcmp(mode, "bar") ? 1 : mode && !strcmp(mode, "lines") ? 0 : isatty(STDOUT_FILENO);
  progress->steps = steps;
  progress->first_step = first_step;
  progress->step_digits = snprintf(NULL, 0, "%d", steps);
  progress->start = seconds_now();
  progress->last_draw = -1.0;
}

void progress_step(Progress *progress, int step, double loss, double grad_norm, double learning_rate,
                   double seconds, double tokens_per_second) {
  if (!progress->bar) {
    printf("step %*d/%d  loss %.6g  gnorm %.4g  lr %.3e  ms %.3f  tok/s %.0f\n", progress->step_digits, step,
           progress->steps, loss, grad_norm, learning_rate, seconds * 1e3, tokens_per_second);
    fflush(stdout);
    return;
  }
  double now = seconds_now();
  if (step != progress->steps && progress->last_draw >= 0 && now - progress->last_draw < 0.1) return;
  progress->last_draw = now;
  int done = step - progress->first_step + 1;
  double eta = (now - progress->start) / done * (progress->steps - step);
  char bar[BAR_WIDTH + 1], eta_text[32];
  int filled = (int)((long long)BAR_WIDTH * step / progress->steps);
  for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '-';
  bar[BAR_WIDTH] = '\0';
  format_duration(eta, eta_text, sizeof eta_text);
  printf("\r[%s] %*d/%d %3d%%  loss %.5g  gnorm %.3g  %.0f tok/s  ETA %s\033[K", bar, progress->step_digits,
         step, progress->steps, (int)(100LL * step / progress->steps), loss, grad_norm, tokens_per_second,
         eta_text);
  progress->drawn = 1;
  if (step == progress->steps) { /* the finished bar stays on the screen */
    printf("\n");
    progress->drawn = 0;
  }
  fflush(stdout);
}

void progress_clear(Progress *progress) {
  if (!progress->drawn) return;
  printf("\r\033[K");
  fflush(stdout);
  progress->drawn = 0;
}
