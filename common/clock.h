/*  clock: monotonic milliseconds and microseconds for latencies and timers. */
#ifndef ALYS_CLOCK_H
#define ALYS_CLOCK_H

#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

#endif
