#include "drivers/backoff.h"

#include <algorithm>

namespace lg::drivers {

Backoff::Backoff(int first_ms, int cap_ms, double jitter, uint64_t seed)
    : first_ms_(std::max(1, first_ms)),
      cap_ms_(std::max(first_ms_, cap_ms)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      rng_(seed ? seed : 1) {}

int Backoff::Delay(int first_ms, int cap_ms, int failures) {
  long long d = std::max(1, first_ms);
  for (int i = 0; i < failures && d < cap_ms; ++i) d *= 2;
  return static_cast<int>(std::min<long long>(d, std::max(first_ms, cap_ms)));
}

int Backoff::NextDelayMs() {
  int base = Delay(first_ms_, cap_ms_, failures_);
  if (failures_ < 62) ++failures_;
  double factor = 1.0 - jitter_ * NextUnit();
  return std::max(1, static_cast<int>(base * factor));
}

double Backoff::NextUnit() {
  // xorshift64*: good enough to spread retries, and reproducible in tests.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  uint64_t r = rng_ * 2685821657736338717ULL;
  return static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53);
}

}  // namespace lg::drivers
