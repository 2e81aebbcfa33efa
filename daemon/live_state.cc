#include "daemon/live_state.h"

#include <mutex>

namespace lg {

void LiveState::SetCars(std::vector<CarState> cars) {
  std::unique_lock lock(mu_);
  std::map<uint32_t, CarState> next;
  for (auto& c : cars) {
    auto old = cars_.find(c.handle);
    if (old != cars_.end()) {
      // Keep what was observed; take the new descriptive fields.
      CarState kept = std::move(old->second);
      kept.name = c.name;
      kept.building = c.building;
      kept.link = c.link;
      kept.unit = c.unit;
      next.emplace(c.handle, std::move(kept));
    } else {
      next.emplace(c.handle, std::move(c));
    }
  }
  cars_ = std::move(next);
}

bool LiveState::Update(uint32_t handle, const std::function<void(CarState&)>& f) {
  std::unique_lock lock(mu_);
  auto it = cars_.find(handle);
  if (it == cars_.end()) return false;
  f(it->second);
  return true;
}

void LiveState::UpdateAll(const std::function<void(CarState&)>& f) {
  std::unique_lock lock(mu_);
  for (auto& [h, c] : cars_) f(c);
}

std::vector<CarState> LiveState::Snapshot() const {
  std::shared_lock lock(mu_);
  std::vector<CarState> out;
  out.reserve(cars_.size());
  for (const auto& [h, c] : cars_) out.push_back(c);
  return out;
}

std::optional<CarState> LiveState::Get(const std::string& id) const {
  std::shared_lock lock(mu_);
  for (const auto& [h, c] : cars_) {
    if (c.id == id) return c;
  }
  return std::nullopt;
}

size_t LiveState::size() const {
  std::shared_lock lock(mu_);
  return cars_.size();
}

}  // namespace lg
