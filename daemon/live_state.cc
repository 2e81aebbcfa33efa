#include "daemon/live_state.h"

#include <mutex>

namespace lg {

void LiveState::SetCars(std::vector<CarState> cars) {
  std::unique_lock lock(mu_);
  std::vector<CarState> next;
  next.reserve(cars.size());
  for (auto& c : cars) {
    int32_t old = c.handle < slot_.size() ? slot_[c.handle] : -1;
    if (old >= 0) {
      // Keep what was observed; take the new descriptive fields.
      CarState kept = std::move(cars_[static_cast<size_t>(old)]);
      kept.name = c.name;
      kept.building = c.building;
      kept.link = c.link;
      kept.unit = c.unit;
      kept.configured_rated_speed_mm_s = c.configured_rated_speed_mm_s;
      kept.configured_floor_min = c.configured_floor_min;
      kept.configured_floor_max = c.configured_floor_max;
      if (!(kept.rules == c.rules) || kept.detector_key != c.detector_key || !kept.detector) {
        kept.detector = std::move(c.detector);
        kept.rules = c.rules;
        kept.detector_key = c.detector_key;
        kept.disabled_rules = std::move(c.disabled_rules);
      }
      next.push_back(std::move(kept));
    } else {
      next.push_back(std::move(c));
    }
  }
  cars_ = std::move(next);
  std::fill(slot_.begin(), slot_.end(), -1);
  for (size_t i = 0; i < cars_.size(); ++i) {
    uint32_t h = cars_[i].handle;
    if (h >= slot_.size()) slot_.resize(h + 1, -1);
    slot_[h] = static_cast<int32_t>(i);
  }
}

bool LiveState::Update(uint32_t handle, const std::function<void(CarState&)>& f) {
  std::unique_lock lock(mu_);
  if (handle >= slot_.size() || slot_[handle] < 0) return false;
  f(cars_[static_cast<size_t>(slot_[handle])]);
  return true;
}

void LiveState::UpdateAll(const std::function<void(CarState&)>& f) {
  std::unique_lock lock(mu_);
  for (auto& c : cars_) f(c);
}

std::vector<CarState> LiveState::Snapshot() const {
  std::shared_lock lock(mu_);
  return cars_;
}

void LiveState::ForEach(const std::function<void(const CarState&)>& f) const {
  std::shared_lock lock(mu_);
  for (const auto& c : cars_) f(c);
}

std::optional<CarState> LiveState::Get(const std::string& id) const {
  std::shared_lock lock(mu_);
  for (const auto& c : cars_) {
    if (c.id == id) return c;
  }
  return std::nullopt;
}

size_t LiveState::size() const {
  std::shared_lock lock(mu_);
  return cars_.size();
}

}  // namespace lg
