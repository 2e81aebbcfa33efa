// Time as an injectable dependency.
//
// Everything that decides by time (poll pacing, backoff, detector timers,
// escalation) takes a Clock so tests can simulate time. `Now()` is monotonic
// and is what durations are measured on; `WallNow()` is the civil time that
// is stored and shown.
//
// Thread-safety: SystemClock is stateless and safe from any thread.
// ManualClock is safe from any thread (atomics); tests advance it.
#pragma once

#include <atomic>
#include <chrono>

namespace lg {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  virtual WallTime WallNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance; it has no state.
  static const SystemClock& Instance();
};

// A clock that only moves when told to. Starts at an arbitrary fixed point.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime wall_start = WallTime(std::chrono::seconds(1'790'000'000)))
      : steady_ns_(1'000'000'000),
        wall_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(wall_start.time_since_epoch())
                     .count()) {}
  SteadyTime Now() const override {
    return SteadyTime(std::chrono::nanoseconds(steady_ns_.load()));
  }
  WallTime WallNow() const override {
    return WallTime(
        std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(wall_ns_.load())));
  }
  template <typename Rep, typename Period>
  void Advance(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    steady_ns_ += ns;
    wall_ns_ += ns;
  }

 private:
  std::atomic<long long> steady_ns_;
  std::atomic<long long> wall_ns_;
};

}  // namespace lg
