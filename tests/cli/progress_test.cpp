// The progress line's ETA (cli/progress.hpp), fed as the progress thread feeds it: the results so
// far at each redraw, every 200 ms.
#include <gtest/gtest.h>

#include "progress.hpp"

using urlprobe::cli::eta_seconds;
using urlprobe::cli::eta_text;
using urlprobe::cli::EtaInput;
using urlprobe::cli::EtaTracker;

// Issue 18: 400 of 510 probes answer within the first second, the other 110 wait out their
// 10 s timeout. The ETA from the average rate since the start read 0:00 for those 5 s.
TEST(EtaTracker, NeverZeroWhileProbesAreInFlight) {
  EtaTracker tracker(510, 256, 10);
  for (int tick = 1; tick <= 5; ++tick) tracker.eta(tick * 0.2, tick * 80);
  for (int tick = 6; tick <= 50; ++tick) {
    const double now = tick * 0.2;
    const auto eta = tracker.eta(now, 400);
    ASSERT_TRUE(eta) << "at " << now << " s";
    EXPECT_GE(*eta, 1) << "at " << now << " s";
  }
}

// Once nothing has come back for a while, the rate says nothing about the probes in flight; their
// deadline does: each started by the latest result, and ends within the timeout of its start.
TEST(EtaTracker, SilenceFallsBackToTheDeadline) {
  EtaTracker tracker(510, 256, 10);
  for (int tick = 1; tick <= 5; ++tick) tracker.eta(tick * 0.2, tick * 80);
  EXPECT_EQ(tracker.eta(3.0, 400), 8);  // 2 s since the last result, 10 s timeout
  EXPECT_EQ(tracker.eta(7.0, 400), 4);
  EXPECT_EQ(tracker.eta(12.0, 400), 1);  // overdue (a late result), but not done
  EXPECT_EQ(tracker.eta(12.2, 510), 0);
}

// The rate is the recent one: a fast start does not make a slow middle look fast.
TEST(EtaTracker, RateOfRecentResults) {
  EtaTracker tracker(2100, 50, 10);
  std::uint64_t finished = 0;
  for (int tick = 1; tick <= 100; ++tick) {  // 0-20 s: 100/s, then 10/s
    finished += tick <= 50 ? 20 : 2;
    tracker.eta(tick * 0.2, finished);
  }
  ASSERT_EQ(finished, 1100u);
  EXPECT_EQ(tracker.eta(20.2, 1102), 100);  // 998 left at 10/s (the last 10 s)
}

TEST(EtaSeconds, DoneIsZero) {
  EXPECT_EQ(eta_seconds({.remaining = 0, .recent_done = 10, .recent_seconds = 1}), 0);
}

TEST(EtaSeconds, FromTheRecentRate) {
  // 100 left at 5/s; more than fit in flight at once, so the deadline bounds nothing.
  EXPECT_EQ(eta_seconds({.remaining = 100,
                         .recent_done = 50,
                         .recent_seconds = 10,
                         .since_last_done = 0.1,
                         .concurrency = 10,
                         .timeout_seconds = 10}),
            20);
  // A fraction of a second left is still a second: the probes are not done.
  EXPECT_EQ(eta_seconds({.remaining = 1, .recent_done = 100, .recent_seconds = 1}), 1);
}

TEST(EtaSeconds, AllInFlightEndByTheirDeadline) {
  // 5 left at 0.5/s would be 10 s, but all 5 are in flight and end within 4 s of the last result.
  EXPECT_EQ(eta_seconds({.remaining = 5,
                         .recent_done = 5,
                         .recent_seconds = 10,
                         .since_last_done = 0.5,
                         .concurrency = 256,
                         .timeout_seconds = 4}),
            4);
}

TEST(EtaSeconds, NothingYetIsRoundsOfTheTimeout) {
  // 600 probes, 256 at a time: three rounds of 10 s from the start, 2 s of which have passed.
  EXPECT_EQ(eta_seconds({.remaining = 600,
                         .recent_seconds = 2,
                         .since_last_done = 2,
                         .concurrency = 256,
                         .timeout_seconds = 10}),
            28);
}

TEST(EtaSeconds, UnknownWithoutRateOrDeadline) {
  EXPECT_EQ(eta_seconds({.remaining = 600, .recent_seconds = 2, .since_last_done = 2}),
            std::nullopt);
  EXPECT_EQ(eta_seconds({.remaining = 600, .concurrency = 256, .timeout_seconds = 10}), 30);
}

TEST(EtaText, MinutesAndSeconds) {
  EXPECT_EQ(eta_text(0), "0:00");
  EXPECT_EQ(eta_text(75), "1:15");
  EXPECT_EQ(eta_text(3671), "61:11");
  EXPECT_EQ(eta_text(std::nullopt), "?");
}
