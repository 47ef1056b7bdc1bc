/* progress.h: what a person watching a run sees, step by step.
 *
 * On a terminal, one line redrawn in place (at most 10 times a second, and at the last step):
 *   [##########----------]  120/300  40%  loss 1.2345  gnorm 0.231  812 tok/s  ETA 1m05s
 * Anywhere else (a file, a pipe, CI) one line per step, which tools and tests read:
 *   step 120/300  loss 1.2345  gnorm 0.231  lr 2.1e-03  ms 3.2  tok/s 812
 * PERFT_PROGRESS=bar or PERFT_PROGRESS=lines picks one regardless of the terminal.
 */
#ifndef PERFT_RUNTIME_PROGRESS_H
#define PERFT_RUNTIME_PROGRESS_H

typedef struct {
  int bar;            /* 1: redraw a bar; 0: one line per step */
  int steps, first_step, step_digits;
  double start, last_draw;
  int drawn;          /* a bar is on the screen (clear it before other output) */
} Progress;

/* Seconds on the monotonic clock. */
double seconds_now(void);
void progress_start(Progress *progress, int first_step, int steps);
void progress_step(Progress *progress, int step, double loss, double grad_norm, double learning_rate,
                   double seconds, double tokens_per_second);
/* Clears the bar, so that the next line printed starts at the left edge. */
void progress_clear(Progress *progress);

#endif
