#include "probe/sweep_index.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace urlprobe::probe {
namespace {

TEST(SweepIndex, IsTargetMajorSoATargetsRoutesAreNeighbours) {
  const SweepIndex index(3);
  EXPECT_EQ(index.flat(0, 0), 0u);
  EXPECT_EQ(index.flat(0, 2), 2u);
  EXPECT_EQ(index.flat(1, 0), 3u);
  EXPECT_EQ(index.flat(4, 1), 13u);
  EXPECT_EQ(index.position(13), (SweepPosition{4, 1}));
  EXPECT_EQ(index.position(3), (SweepPosition{1, 0}));
}

TEST(SweepIndex, PositionAndFlatAreInverses) {
  for (std::size_t routes : {1u, 2u, 7u}) {
    const SweepIndex index(routes);
    for (std::uint64_t flat = 0; flat < 50; ++flat)
      EXPECT_EQ(index.flat(index.position(flat)), flat) << routes << " routes, index " << flat;
  }
}

TEST(SweepIndex, OneRouteIsTheTargetItself) {
  const SweepIndex index(1);
  EXPECT_EQ(index.position(41), (SweepPosition{41, 0}));
}

TEST(SweepIndex, HoldsIndicesBeyondThirtyTwoBits) {
  // A million targets x five thousand proxies: the flat index no longer fits 32 bits.
  const SweepIndex index(5000);
  const std::uint64_t flat = index.flat(999'999, 4999);
  EXPECT_EQ(flat, 4'999'999'999u);
  EXPECT_EQ(index.position(flat), (SweepPosition{999'999, 4999}));
}

}  // namespace
}  // namespace urlprobe::probe
