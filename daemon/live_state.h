// LiveState: the current state of every elevator car, as the security room
// would see it: online or not, the last sample, controller info, the link's
// status and the last poll error.
//
// Written by the poll engine's threads (through App) and the daemon's state
// strand; read from anywhere (the HTTP API, benchmarks) through copies, so
// readers never hold the lock while they work.
//
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/sample.h"
#include "drivers/poll_engine.h"
#include "rules/detector.h"
#include "rules/rules_config.h"

namespace lg {

struct CarState {
  uint32_t handle = 0;
  std::string id;
  std::string name;
  std::string building;
  std::string link;
  int unit = 0;
  bool online = false;
  bool has_sample = false;
  bool offline_recorded = false;  // an "offline" event stands for the current outage
  Sample last;
  ControllerInfo info;
  // What the configuration says, which wins over the controller's info.
  std::optional<int> configured_rated_speed_mm_s;
  std::optional<int> configured_floor_min;
  std::optional<int> configured_floor_max;
  Mode mode = Mode::kUnknown;
  drivers::LinkStatus link_status = drivers::LinkStatus::kConnecting;
  std::optional<drivers::LinkError> last_error;
  SteadyTime last_reply{};
  WallTime updated_at{};  // last change of anything above
  uint64_t polls_ok = 0;
  uint64_t polls_failed = 0;     // every failed poll, of any kind
  uint64_t poll_exceptions = 0;  // of those, Modbus exception replies (the controller said no)
  SteadyTime answering_since{};  // first valid reply of the current online spell

  // The car's fault detectors, built from its map and effective rules; kept
  // across a reload unless what they were built from changed (a rebuilt
  // detector starts its timers afresh). Used under the lock only.
  std::shared_ptr<rules::CarDetector> detector;
  RulesConfig rules;
  // What else the detectors were built from (the map's fingerprint, the
  // rated speed, comms_lost_after_ms); a change rebuilds them.
  std::string detector_key;
  // A copy of detector->disabled(), for readers: the rules this car cannot
  // evaluate (its map lacks a field, or no rated speed) and why.
  std::vector<rules::DisabledRule> disabled_rules;
};

class LiveState {
 public:
  // Adds or replaces cars by id; cars not listed are removed.
  void SetCars(std::vector<CarState> cars);
  // Applies `f` to the car with `handle`, if it exists; returns whether it did.
  bool Update(uint32_t handle, const std::function<void(CarState&)>& f);
  void UpdateAll(const std::function<void(CarState&)>& f);

  std::vector<CarState> Snapshot() const;
  // Reads every car in place under the shared lock: no copy, but `f` holds
  // back every Update meanwhile, so keep it short and never call back in.
  void ForEach(const std::function<void(const CarState&)>& f) const;
  std::optional<CarState> Get(const std::string& id) const;
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  // Dense: handles are small integers handed out in order and never reused,
  // so a vector indexed through slot_ beats a tree at thousands of cars.
  std::vector<CarState> cars_;
  std::vector<int32_t> slot_;  // handle -> index in cars_, or -1
};

}  // namespace lg
