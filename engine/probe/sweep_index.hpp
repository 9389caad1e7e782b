// The layout of a sweep's probes: targets x routes, target-major, so that a target's routes are
// neighbours in every format. A probe's flat index is Result::sweep_index, stable across runs of
// the same inputs; reports decode it with this type rather than with their own arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace urlprobe::probe {

struct SweepPosition {
  std::size_t target = 0;
  std::size_t route = 0;
  bool operator==(const SweepPosition&) const = default;
};

class SweepIndex {
 public:
  // `routes` must not be 0: a sweep always has a route.
  explicit constexpr SweepIndex(std::size_t routes) : routes_(routes) {}

  constexpr SweepPosition position(std::uint64_t flat) const {
    return {static_cast<std::size_t>(flat / routes_), static_cast<std::size_t>(flat % routes_)};
  }
  constexpr std::uint64_t flat(std::size_t target, std::size_t route) const {
    return std::uint64_t{target} * routes_ + route;
  }
  constexpr std::uint64_t flat(SweepPosition p) const { return flat(p.target, p.route); }
  constexpr std::size_t routes() const { return routes_; }

 private:
  std::size_t routes_;
};

}  // namespace urlprobe::probe
