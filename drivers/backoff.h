// Backoff: capped exponential delays with jitter, for reconnecting links and
// for units that stop answering. Pure: no clock, randomness injected.
//
// Delay n (n = 0, 1, 2, ... consecutive failures) is first * 2^n, capped at
// `cap`, then multiplied by a jitter factor in [1 - jitter, 1]. Jitter
// keeps a building's links from reconnecting in lockstep after a switch
// reboots. Success resets the count.
//
// Thread-safety: not thread-safe; one instance per link or unit.
#pragma once

#include <cstdint>

namespace lg::drivers {

class Backoff {
 public:
  Backoff(int first_ms, int cap_ms, double jitter = 0.2, uint64_t seed = 0x9e3779b97f4a7c15ULL);

  // The delay before the next try after one more failure.
  int NextDelayMs();
  void Reset() { failures_ = 0; }
  int failures() const { return failures_; }

  // Without jitter, for tests and for units (whose timing must stay exact).
  static int Delay(int first_ms, int cap_ms, int failures);

 private:
  double NextUnit();  // [0, 1)

  int first_ms_;
  int cap_ms_;
  double jitter_;
  uint64_t rng_;
  int failures_ = 0;
};

}  // namespace lg::drivers
