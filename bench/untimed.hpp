// Marks set-up inside a benchmark's loop as outside the measurement: Google Benchmark's timer
// stops, and so does callgrind's instruction count (bench/check.py's guard runs the benchmarks
// under callgrind; outside valgrind the toggle is a no-op of a few instructions).
#pragma once

#include <benchmark/benchmark.h>
#include <valgrind/callgrind.h>

namespace urlprobe::bench {

inline void pause(benchmark::State& state) {
  state.PauseTiming();
  CALLGRIND_TOGGLE_COLLECT;
}

inline void resume(benchmark::State& state) {
  CALLGRIND_TOGGLE_COLLECT;
  state.ResumeTiming();
}

}  // namespace urlprobe::bench
