// The per-car fault detectors (rules/detector.h) against the table of
// shared/spec/faults.md, with simulated time: boundaries (29.9 s nothing,
// 30 s raised), clear times, timers restarted by a sample that breaks the
// condition, no firing without samples, COMMS_LOST from OnTime,
// CONTROLLER_FROZEN, CONTROLLER_FAULT's text, disabled rules, suppression,
// and no allocation per sample in the steady state.
#include "rules/detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

// Counts allocations so the steady-state test can prove OnSample allocates
// nothing. Only counted while g_count_allocs is set.
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<long> g_allocs{0};

void* CountedAlloc(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return CountedAlloc(n); }
void* operator new[](std::size_t n) { return CountedAlloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace lg::rules {
namespace {

using namespace std::chrono_literals;

const SteadyTime kT0 = SteadyTime(std::chrono::seconds(1000));
const WallTime kW0 = WallTime(std::chrono::seconds(1'790'000'000));

WallTime WallOf(SteadyTime t) {
  return kW0 + std::chrono::duration_cast<WallTime::duration>(t - kT0);
}

// An idle car in automatic service at floor 3, door closed, everything ok.
Sample Normal() {
  Sample s;
  for (int i = 0; i < kFlagCount; ++i) s.SetFlag(static_cast<Field>(i), false);
  for (Field f : {Field::kAuto, Field::kDoorZone, Field::kDoorClosed, Field::kSafetyChainOk,
                  Field::kDoorLockOk, Field::kMainPowerOk}) {
    s.SetFlag(f, true);
  }
  s.SetNumber(Field::kFloor, 3);
  s.SetNumber(Field::kFaultCode, 0);
  s.SetNumber(Field::kSpeed, 0);
  s.SetNumber(Field::kLoad, 0);
  s.SetNumber(Field::kTrips, 100);
  s.SetNumber(Field::kDoorCycles, 200);
  s.SetNumber(Field::kRunHours, 5);
  s.SetNumber(Field::kHeartbeat, 0);
  return s;
}

FaultTable TestFaultTable() {
  return [](uint32_t code) -> std::optional<FaultInfo> {
    if (code == 35) return FaultInfo{"door lock short-circuit", Severity::kCritical};
    if (code == 12) return FaultInfo{"inverter overcurrent", Severity::kMinor};
    return std::nullopt;
  };
}

CarProfile FullProfile() {
  CarProfile p;
  p.rated_speed_mm_s = 1000;
  p.provided = AllFields();
  p.fault_text = TestFaultTable();
  return p;
}

std::bitset<kFieldCount> AllBut(std::initializer_list<Field> missing) {
  auto b = AllFields();
  for (Field f : missing) b.reset(static_cast<int>(f));
  return b;
}

using Mods = std::function<void(Sample&)>;

// One car fed by simulated time.
class Harness {
 public:
  explicit Harness(CarProfile profile = FullProfile(), RulesConfig cfg = {},
                   int comms_lost_ms = 10000)
      : det(std::move(profile), cfg, kT0, comms_lost_ms) {}

  // The car's state becomes Normal() changed by `mods`; `freeze` stops the
  // heartbeat (at a new value, so the frozen run starts with this sample).
  void Become(const Mods& mods, bool freeze = false) {
    double hb = state.Number(Field::kHeartbeat);
    state = Normal();
    state.SetNumber(Field::kHeartbeat, hb);
    if (mods) mods(state);
    if (freeze && !frozen) Beat();
    frozen = freeze;
  }
  // One sample at `now`.
  void Feed() {
    if (!frozen) Beat();
    state.read_at = now;
    state.wall_at = WallOf(now);
    det.OnSample(state, out);
  }
  // One sample `step` from now.
  void Next(Millis step) {
    now += step;
    Feed();
  }
  // A sample every `step` for `d`, the first one `step` from now.
  void Run(Millis d, Millis step) {
    for (long i = 0; i < d / step; ++i) {
      now += step;
      Feed();
    }
  }
  // No samples for `d`; OnTime every `period`.
  void Silence(Millis d, Millis period = 250ms) {
    for (long i = 0; i < d / period; ++i) {
      now += period;
      det.OnTime(now, WallOf(now), out);
    }
  }

  int Count(AlarmType t, bool active) const {
    return static_cast<int>(std::count_if(out.begin(), out.end(), [&](const Finding& f) {
      return f.type == t && f.active == active;
    }));
  }
  int Raises(AlarmType t) const { return Count(t, true); }
  int Clears(AlarmType t) const { return Count(t, false); }
  const Finding* Last(AlarmType t) const {
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (it->type == t) return &*it;
    }
    return nullptr;
  }

  Sample state = Normal();
  bool frozen = false;
  SteadyTime now = kT0;
  std::vector<Finding> out;
  CarDetector det;

 private:
  void Beat() {
    state.SetNumber(Field::kHeartbeat, std::fmod(state.Number(Field::kHeartbeat) + 1, 65536.0));
  }
};

// ---------------------------------------------------------------------------
// The faults.md table, one row per raise path.

struct Case {
  const char* name;
  AlarmType type;
  const char* subtype;
  Severity severity;
  Mods raise;  // state that raises it
  bool freeze;
  Millis raise_after;
  Mods clear;  // state that clears it
  Millis clear_after;
};

void Set(Sample& s, std::initializer_list<std::pair<Field, bool>> flags) {
  for (auto [f, on] : flags) s.SetFlag(f, on);
}

const std::vector<Case>& Cases() {
  using F = Field;
  static const std::vector<Case> cases = {
      {"TrappedBetweenFloors", AlarmType::kTrapped, "between_floors", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kDoorZone, false}, {F::kOccupied, true}});
       },
       false, 30s,
       [](Sample& s) {
         Set(s, {{F::kDoorZone, false}, {F::kOccupied, true}, {F::kMoving, true}});
         s.SetNumber(F::kSpeed, 300);
       },
       3s},
      {"TrappedAtFloor", AlarmType::kTrapped, "at_floor", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kOccupied, true}});
       },
       false, 60s,
       [](Sample& s) {
         Set(s, {{F::kOccupied, true}, {F::kDoorClosed, false}, {F::kDoorOpen, true}});
       },
       3s},
      {"TrappedAlarmButton", AlarmType::kTrapped, "alarm_button", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kAlarmButton, true}});
       },
       false, 5s,
       [](Sample& s) {
         Set(s, {{F::kAlarmButton, true}, {F::kDoorClosed, false}, {F::kDoorOpen, true}});
       },
       3s},
      {"TrappedPowerLoss", AlarmType::kTrapped, "power_loss", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kAuto, false},
                 {F::kMainPowerOk, false},
                 {F::kOccupied, true},
                 {F::kDoorZone, false}});
       },
       false, 30s,
       [](Sample& s) {
         Set(s, {{F::kAuto, false},
                 {F::kMainPowerOk, false},
                 {F::kOccupied, true},
                 {F::kDoorZone, false},
                 {F::kDoorClosed, false}});
       },
       3s},
      {"DoorOpenWhileMoving", AlarmType::kDoorOpenWhileMoving, "", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kMoving, true}, {F::kDoorClosed, false}, {F::kDoorZone, false}});
         s.SetNumber(F::kSpeed, 500);
       },
       false, 1s, nullptr, 3s},
      {"Ucm", AlarmType::kUcm, "", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kUcm, true}});
       },
       false, 0s, nullptr, 3s},
      {"Overspeed", AlarmType::kOverspeed, "", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kMoving, true}, {F::kDoorZone, false}});
         s.SetNumber(F::kSpeed, 1200);
       },
       false, 1s,
       [](Sample& s) {
         Set(s, {{F::kMoving, true}, {F::kDoorZone, false}});
         s.SetNumber(F::kSpeed, 900);
       },
       3s},
      {"TopOverrun", AlarmType::kTopOverrun, "", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kTopLimit, true}});
       },
       false, 0s, nullptr, 3s},
      {"BottomOverrun", AlarmType::kBottomOverrun, "", Severity::kCritical,
       [](Sample& s) {
         Set(s, {{F::kBottomLimit, true}});
       },
       false, 0s, nullptr, 3s},
      {"StopOutsideDoorZone", AlarmType::kStopOutsideDoorZone, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kDoorZone, false}});
       },
       false, 10s, nullptr, 3s},
      {"SafetyCircuitOpen", AlarmType::kSafetyCircuitOpen, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kSafetyChainOk, false}});
       },
       false, 2s, nullptr, 3s},
      {"DoorLockFaultDoorClosed", AlarmType::kDoorLockFault, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kDoorLockOk, false}});
       },
       false, 2s, nullptr, 3s},
      {"DoorLockFaultMoving", AlarmType::kDoorLockFault, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kDoorLockOk, false}, {F::kMoving, true}, {F::kDoorZone, false}});
         s.SetNumber(F::kSpeed, 500);
       },
       false, 0s, nullptr, 3s},
      {"PowerFailure", AlarmType::kPowerFailure, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kMainPowerOk, false}});
       },
       false, 2s, nullptr, 3s},
      {"BrakeFault", AlarmType::kBrakeFault, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kBrakeFault, true}});
       },
       false, 1s, nullptr, 3s},
      {"ControllerFault", AlarmType::kControllerFault, "35", Severity::kCritical,
       [](Sample& s) { s.SetNumber(F::kFaultCode, 35); }, false, 2s, nullptr, 3s},
      {"DoorOpenTooLong", AlarmType::kDoorOpenTooLong, "", Severity::kMinor,
       [](Sample& s) {
         Set(s, {{F::kDoorOpen, true}, {F::kDoorClosed, false}});
       },
       false, 120s, nullptr, 0s},
      {"AlarmButton", AlarmType::kAlarmButton, "", Severity::kMajor,
       [](Sample& s) {
         Set(s, {{F::kAlarmButton, true}});
       },
       false, 0s, nullptr, 0s},
      {"ControllerFrozen", AlarmType::kControllerFrozen, "", Severity::kMajor, nullptr, true, 10s,
       nullptr, 0s},
  };
  return cases;
}

class DetectorTable : public testing::TestWithParam<std::tuple<Case, Millis>> {
 protected:
  const Case& c() const { return std::get<0>(GetParam()); }
  Millis step() const { return std::get<1>(GetParam()); }
  void Raise(Harness& h) const { h.Become(c().raise, c().freeze); }
  void Clear(Harness& h) const { h.Become(c().clear, false); }
  // Normal samples for 2 s: nothing at all.
  void WarmUp(Harness& h) const {
    h.Feed();
    h.Run(2s, step());
    ASSERT_TRUE(h.out.empty()) << h.out.front().message;
  }
  // The condition starts at this sample and holds until it raises, checking
  // the boundary. Returns the time of the raise.
  SteadyTime RaiseAtBoundary(Harness& h) const {
    Raise(h);
    h.now += step();
    h.Feed();
    SteadyTime start = h.now;
    if (c().raise_after > 0s) {
      EXPECT_EQ(h.Raises(c().type), 0) << "at the first sample";
      h.Run(c().raise_after - step(), step());
      EXPECT_EQ(h.Raises(c().type), 0) << "one step before " << c().raise_after.count() << " ms";
      h.Run(step(), step());
    }
    EXPECT_EQ(h.Raises(c().type), 1) << "at " << c().raise_after.count() << " ms";
    EXPECT_EQ(h.now - start, c().raise_after);
    return h.now;
  }
  SteadyTime ClearAtBoundary(Harness& h) const {
    Clear(h);
    h.now += step();
    h.Feed();
    SteadyTime start = h.now;
    if (c().clear_after > 0s) {
      EXPECT_EQ(h.Clears(c().type), 0) << "at the first sample";
      h.Run(c().clear_after - step(), step());
      EXPECT_EQ(h.Clears(c().type), 0) << "one step before " << c().clear_after.count() << " ms";
      h.Run(step(), step());
    }
    EXPECT_EQ(h.Clears(c().type), 1) << "at " << c().clear_after.count() << " ms";
    EXPECT_EQ(h.now - start, c().clear_after);
    return h.now;
  }
};

TEST_P(DetectorTable, RaisesExactlyAtTheThresholdAndOnlyOnce) {
  Harness h;
  WarmUp(h);
  SteadyTime at = RaiseAtBoundary(h);
  const Finding* f = h.Last(c().type);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->active);
  EXPECT_EQ(f->at, at);
  EXPECT_EQ(f->wall_at, WallOf(at));
  EXPECT_EQ(f->severity, c().severity);
  EXPECT_EQ(f->subtype, c().subtype);
  EXPECT_FALSE(f->message.empty());
  EXPECT_TRUE(h.det.raised(c().type));
  // The condition persists: no second raise.
  h.Run(c().raise_after * 2 + 5s, step());
  EXPECT_EQ(h.Raises(c().type), 1);
  EXPECT_EQ(h.Clears(c().type), 0);
}

TEST_P(DetectorTable, ClearsExactlyAfterTheClearTime) {
  Harness h;
  WarmUp(h);
  RaiseAtBoundary(h);
  std::string subtype = h.Last(c().type)->subtype;
  SteadyTime at = ClearAtBoundary(h);
  const Finding* f = h.Last(c().type);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->active);
  EXPECT_EQ(f->at, at);
  EXPECT_EQ(f->severity, c().severity);
  EXPECT_EQ(f->subtype, subtype);
  EXPECT_FALSE(h.det.raised(c().type));
  // Normal from here on: nothing more of this type.
  h.Become(nullptr);
  h.Run(c().raise_after * 2 + 10s, step());
  EXPECT_EQ(h.Raises(c().type), 1);
  EXPECT_EQ(h.Clears(c().type), 1);
}

// Rows that wait before raising / before clearing.
class DetectorWaitTable : public DetectorTable {};
class DetectorClearWaitTable : public DetectorTable {};

TEST_P(DetectorWaitTable, ASampleThatBreaksTheConditionRestartsTheWait) {
  Harness h;
  WarmUp(h);
  Raise(h);
  h.Run(c().raise_after - step(), step());
  ASSERT_EQ(h.Raises(c().type), 0);
  Clear(h);  // one sample without the condition
  h.Run(step(), step());
  RaiseAtBoundary(h);  // a full wait again
}

TEST_P(DetectorClearWaitTable, ASampleThatBreaksTheClearConditionRestartsTheClearWait) {
  Harness h;
  WarmUp(h);
  RaiseAtBoundary(h);
  Clear(h);
  h.Run(c().clear_after - step(), step());
  ASSERT_EQ(h.Clears(c().type), 0);
  Raise(h);  // one sample with the condition back
  h.Run(step(), step());
  ASSERT_EQ(h.Clears(c().type), 0);
  ClearAtBoundary(h);  // a full clear time again
  EXPECT_EQ(h.Raises(c().type), 1);
}

TEST_P(DetectorTable, NothingFiresWithoutSamples) {
  Harness h;
  WarmUp(h);
  Raise(h);
  h.Run(step(), step());
  size_t before = h.out.size();
  h.Silence(c().raise_after * 2 + 60s);
  // Only COMMS_LOST, about the missing replies.
  ASSERT_EQ(h.out.size(), before + 1);
  EXPECT_EQ(h.out.back().type, AlarmType::kCommsLost);
  EXPECT_TRUE(h.out.back().active);
  if (c().raise_after > 0s) {
    EXPECT_EQ(h.Raises(c().type), 0);
  }
}

std::string CaseName(const testing::TestParamInfo<std::tuple<Case, Millis>>& info) {
  return std::string(std::get<0>(info.param).name) + "_every" +
         std::to_string(std::get<1>(info.param).count()) + "ms";
}

std::vector<Case> CasesWhere(bool (*keep)(const Case&)) {
  std::vector<Case> out;
  for (const Case& c : Cases()) {
    if (keep(c)) out.push_back(c);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(FaultsTable, DetectorTable,
                         testing::Combine(testing::ValuesIn(Cases()),
                                          testing::Values(Millis(100), Millis(500))),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(FaultsTable, DetectorWaitTable,
                         testing::Combine(testing::ValuesIn(CasesWhere([](const Case& c) {
                                            return c.raise_after > 0s;
                                          })),
                                          testing::Values(Millis(100), Millis(500))),
                         CaseName);
INSTANTIATE_TEST_SUITE_P(FaultsTable, DetectorClearWaitTable,
                         testing::Combine(testing::ValuesIn(CasesWhere([](const Case& c) {
                                            return c.clear_after > 0s;
                                          })),
                                          testing::Values(Millis(100), Millis(500))),
                         CaseName);

// ---------------------------------------------------------------------------
// Boundaries spelled out.

TEST(DetectorTest, TrappedBetweenFloorsAt29_9And30Seconds) {
  Harness h;
  h.Feed();
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.now += 100ms;
  h.Feed();
  h.Run(29900ms, 100ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0) << "29.9 s";
  h.Run(100ms, 100ms);
  ASSERT_EQ(h.Raises(AlarmType::kTrapped), 1) << "30 s";
  const Finding* f = h.Last(AlarmType::kTrapped);
  EXPECT_EQ(f->subtype, "between_floors");
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_NE(f->message.find("between floors"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("floor 3"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("30 s"), std::string::npos) << f->message;
}

TEST(DetectorTest, ThresholdsComeFromRulesConfig) {
  RulesConfig cfg;
  cfg.trapped_between_floors_s = 45;
  cfg.clear_s = 5;
  Harness h(FullProfile(), cfg);
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.Feed();
  h.Run(44500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 1);
  h.Become([](Sample& s) {
    Set(s, {{Field::kOccupied, true}, {Field::kDoorClosed, false}, {Field::kDoorOpen, true}});
  });
  h.Next(500ms);
  h.Run(4500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kTrapped), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kTrapped), 1);
}

TEST(DetectorTest, ZeroDurationFiresOnTheFirstSample) {
  RulesConfig cfg;
  cfg.safety_circuit_open_s = 0;
  Harness h(FullProfile(), cfg);
  h.Feed();
  h.Become([](Sample& s) { Set(s, {{Field::kSafetyChainOk, false}}); });
  h.now += 100ms;
  h.Feed();
  EXPECT_EQ(h.Raises(AlarmType::kSafetyCircuitOpen), 1);
}

// ---------------------------------------------------------------------------
// TRAPPED specifics.

TEST(DetectorTest, TrappedStaysRaisedUntilTheCarMovesOrTheDoorOpens) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.Feed();
  h.Run(30s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kTrapped), 1);
  // The passenger sensor drops out; the car is still stopped and closed.
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}}); });
  h.Run(60s, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kTrapped), 0);
  EXPECT_TRUE(h.det.raised(AlarmType::kTrapped));
}

TEST(DetectorTest, TrappedAtFloorNeedsSixtySecondsInTheDoorZone) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kOccupied, true}}); });
  h.Feed();
  h.Run(59500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  h.Run(500ms, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kTrapped), 1);
  EXPECT_EQ(h.Last(AlarmType::kTrapped)->subtype, "at_floor");
  EXPECT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 0);
}

TEST(DetectorTest, TrappedNeedsAutomaticService) {
  Harness h;
  h.Become([](Sample& s) {
    Set(s, {{Field::kAuto, false},
            {Field::kInspection, true},
            {Field::kDoorZone, false},
            {Field::kOccupied, true}});
  });
  h.Feed();
  h.Run(120s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  EXPECT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 0);
}

TEST(DetectorTest, AlarmButtonPathNeedsTheDoorClosedAndTheCarStopped) {
  Harness h;
  h.Become([](Sample& s) {
    Set(s, {{Field::kAlarmButton, true}, {Field::kDoorClosed, false}, {Field::kDoorOpen, true}});
  });
  h.Feed();
  h.Run(30s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  EXPECT_EQ(h.Raises(AlarmType::kAlarmButton), 1);
}

TEST(DetectorTest, PowerLossPathNeedsTheCarStoppedWithTheDoorClosed) {
  Harness h;
  // Mains lost, a passenger outside the door zone, the door forced open (a
  // rescue in progress): not a trapped passenger, and no raise/clear cycle.
  h.Become([](Sample& s) {
    Set(s, {{Field::kAuto, false},
            {Field::kMainPowerOk, false},
            {Field::kOccupied, true},
            {Field::kDoorZone, false},
            {Field::kDoorClosed, false}});
  });
  h.Feed();
  h.Run(120s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  EXPECT_EQ(h.Raises(AlarmType::kPowerFailure), 1);
}

TEST(DetectorTest, StopOutsideDoorZoneStaysRaisedWhenTrappedFollows) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.Feed();
  SteadyTime start = h.now;
  h.Run(10s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 1);
  EXPECT_EQ(h.Last(AlarmType::kStopOutsideDoorZone)->at, start + 10s);
  h.Run(20s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kTrapped), 1);
  EXPECT_EQ(h.Last(AlarmType::kTrapped)->at, start + 30s);
  EXPECT_EQ(h.Clears(AlarmType::kStopOutsideDoorZone), 0);
  EXPECT_TRUE(h.det.raised(AlarmType::kStopOutsideDoorZone));
  // The car moves off: both clear after 3 s.
  h.Become([](Sample& s) {
    Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}, {Field::kMoving, true}});
  });
  h.Feed();
  h.Run(3s, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kStopOutsideDoorZone), 1);
  EXPECT_EQ(h.Clears(AlarmType::kTrapped), 1);
}

TEST(DetectorTest, DoorZoneFlickerRestartsTheTrappedWait) {
  Harness h;
  auto between = [](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); };
  h.Become(between);
  h.Feed();
  h.Run(25s, 500ms);
  h.Become([](Sample& s) { Set(s, {{Field::kOccupied, true}}); });  // one sample in the zone
  h.Next(500ms);
  h.Become(between);
  h.Next(500ms);  // the wait starts again here
  h.Run(29500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 1);
}

// ---------------------------------------------------------------------------
// Link outages and restarts.

TEST(DetectorTest, TimersPauseWhileTheLinkIsDown) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.Feed();
  h.Run(10s, 500ms);  // held 10 s
  h.Silence(60s);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 1);
  h.now += 250ms;
  h.Feed();  // the link is back: the outage does not count
  EXPECT_EQ(h.Clears(AlarmType::kCommsLost), 1);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  h.Run(19500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0) << "29.5 s of samples";
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 1) << "30 s of samples";
}

TEST(DetectorTest, AGapShorterThanCommsLostCounts) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kSafetyChainOk, false}}); });
  h.Feed();
  h.now += 2s;  // one reply lost, but far from comms_lost_after
  h.Feed();
  EXPECT_EQ(h.Raises(AlarmType::kSafetyCircuitOpen), 1);
}

TEST(DetectorTest, ANewDetectorStartsItsTimersFromItsFirstSample) {
  Harness h;
  // The condition held long before this detector existed.
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}}); });
  h.Feed();
  h.Run(9500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 1);
}

// ---------------------------------------------------------------------------
// COMMS_LOST

TEST(DetectorTest, CommsLostFromOnTimeSinceCreation) {
  Harness h;
  h.Silence(9750ms);
  h.now += 150ms;
  h.det.OnTime(h.now, WallOf(h.now), h.out);  // 9.9 s
  EXPECT_TRUE(h.out.empty());
  h.now += 100ms;
  h.det.OnTime(h.now, WallOf(h.now), h.out);  // 10 s
  ASSERT_EQ(h.Raises(AlarmType::kCommsLost), 1);
  const Finding* f = h.Last(AlarmType::kCommsLost);
  EXPECT_EQ(f->at, kT0 + 10s);
  EXPECT_EQ(f->wall_at, WallOf(kT0 + 10s));
  EXPECT_EQ(f->severity, Severity::kMajor);
  h.Silence(30s);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 1) << "raised once";
  h.Feed();
  ASSERT_EQ(h.Clears(AlarmType::kCommsLost), 1);
  EXPECT_EQ(h.Last(AlarmType::kCommsLost)->at, h.now);
}

TEST(DetectorTest, CommsLostCountsFromTheLastValidReply) {
  Harness h(FullProfile(), {}, 1500);
  h.Feed();
  h.Run(5s, 500ms);
  h.Silence(1250ms);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 0);
  h.Silence(250ms);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 1);
  h.Feed();
  EXPECT_EQ(h.Clears(AlarmType::kCommsLost), 1);
  h.Silence(1250ms);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 1);
  h.Silence(250ms);
  EXPECT_EQ(h.Raises(AlarmType::kCommsLost), 2);
}

TEST(DetectorTest, OnTimeFiresNothingElse) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  h.Feed();
  h.Run(29500ms, 500ms);
  h.now += 400ms;
  h.det.OnTime(h.now, WallOf(h.now), h.out);
  h.now += 100ms;
  h.det.OnTime(h.now, WallOf(h.now), h.out);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0) << "only a sample can fire TRAPPED";
  h.Feed();
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 1);
}

// ---------------------------------------------------------------------------
// CONTROLLER_FROZEN

TEST(DetectorTest, HeartbeatThatKeepsChangingIsFine) {
  Harness h;
  h.Feed();
  h.Run(120s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kControllerFrozen), 0);
}

TEST(DetectorTest, SlowHeartbeatRepeatsWithoutFiring) {
  // The controller counts once a second, the poll runs at 4 Hz: each value
  // is seen four times.
  Harness h;
  h.frozen = true;
  for (int i = 0; i < 400; ++i) {
    if (i % 4 == 0) h.state.SetNumber(Field::kHeartbeat, i / 4);
    h.now += 250ms;
    h.Feed();
  }
  EXPECT_EQ(h.Raises(AlarmType::kControllerFrozen), 0);
}

TEST(DetectorTest, FrozenHeartbeatWrapsAndClears) {
  Harness h;
  h.frozen = true;
  h.state.SetNumber(Field::kHeartbeat, 65535);
  h.Feed();
  h.Run(10s, 1000ms);
  ASSERT_EQ(h.Raises(AlarmType::kControllerFrozen), 1);
  EXPECT_NE(h.Last(AlarmType::kControllerFrozen)->message.find("65535"), std::string::npos);
  h.state.SetNumber(Field::kHeartbeat, 0);  // wrapped: a change
  h.Run(1s, 1000ms);
  EXPECT_EQ(h.Clears(AlarmType::kControllerFrozen), 1);
}

// ---------------------------------------------------------------------------
// CONTROLLER_FAULT

TEST(DetectorTest, ControllerFaultTextAndSeverityFromTheFaultTable) {
  Harness h;
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 35); });
  h.Feed();
  h.Run(2s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kControllerFault), 1);
  const Finding* f = h.Last(AlarmType::kControllerFault);
  EXPECT_EQ(f->message, "E35: door lock short-circuit");
  EXPECT_EQ(f->severity, Severity::kCritical);
  EXPECT_EQ(f->subtype, "35");
}

TEST(DetectorTest, ControllerFaultCodeNotInTheTableIsMajor) {
  Harness h;
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 99); });
  h.Feed();
  h.Run(2s, 500ms);
  const Finding* f = h.Last(AlarmType::kControllerFault);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "E99: controller fault (code not in the make's fault table)");
  EXPECT_EQ(f->severity, Severity::kMajor);
  EXPECT_EQ(f->subtype, "99");
}

TEST(DetectorTest, ControllerFaultWithoutAFaultTable) {
  CarProfile p = FullProfile();
  p.fault_text = nullptr;
  Harness h(std::move(p));
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 35); });
  h.Feed();
  h.Run(2s, 500ms);
  const Finding* f = h.Last(AlarmType::kControllerFault);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->message, "E35: controller fault (no fault table for this make)");
  EXPECT_EQ(f->severity, Severity::kMajor);
}

TEST(DetectorTest, ControllerFaultCarriesTheCodeShownWhenItFires) {
  Harness h;
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 35); });
  h.Feed();
  h.Run(1s, 500ms);
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 12); });
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kControllerFault), 0);
  h.Run(500ms, 500ms);  // non-zero for 2 s
  ASSERT_EQ(h.Raises(AlarmType::kControllerFault), 1);
  EXPECT_EQ(h.Last(AlarmType::kControllerFault)->message, "E12: inverter overcurrent");
  EXPECT_EQ(h.Last(AlarmType::kControllerFault)->severity, Severity::kMinor);
}

TEST(DetectorTest, ControllerFaultCodeChangeWhileRaisedClearsAndRaisesAnew) {
  Harness h;
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 35); });
  h.Feed();
  h.Run(2s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kControllerFault), 1);
  // A brief other code: nothing.
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 12); });
  h.Run(1s, 500ms);
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 35); });
  h.Run(1s, 500ms);
  EXPECT_EQ(h.out.size(), 1u);
  // The other code stays 2 s: E35 clears, E12 is raised, at the same sample.
  h.Become([](Sample& s) { s.SetNumber(Field::kFaultCode, 12); });
  h.Next(500ms);  // the first sample with E12
  h.Run(1500ms, 500ms);
  EXPECT_EQ(h.out.size(), 1u);
  h.Run(500ms, 500ms);
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_FALSE(h.out[1].active);
  EXPECT_EQ(h.out[1].subtype, "35");
  EXPECT_EQ(h.out[1].severity, Severity::kCritical);
  EXPECT_EQ(h.out[1].message, "E35 ended: the controller now reports E12");
  EXPECT_TRUE(h.out[2].active);
  EXPECT_EQ(h.out[2].subtype, "12");
  EXPECT_EQ(h.out[2].message, "E12: inverter overcurrent");
  EXPECT_EQ(h.out[2].severity, Severity::kMinor);
  EXPECT_EQ(h.out[1].at, h.out[2].at);
  // Code 0 for 3 s clears E12.
  h.Become(nullptr);
  h.Feed();
  h.Run(3s, 500ms);
  ASSERT_EQ(h.out.size(), 4u);
  EXPECT_FALSE(h.out[3].active);
  EXPECT_EQ(h.out[3].subtype, "12");
}

// ---------------------------------------------------------------------------
// Other rules' details.

TEST(DetectorTest, OverspeedUsesTheFactorsOfTheRatedSpeed) {
  Harness h;  // rated 1000 mm/s, raise above 1150, clear below 1000
  h.Become([](Sample& s) {
    Set(s, {{Field::kMoving, true}});
    s.SetNumber(Field::kSpeed, 1140);
  });
  h.Feed();
  h.Run(10s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0) << "1140 is not above 1.15 x 1000";
  h.state.SetNumber(Field::kSpeed, 1160);
  h.Next(500ms);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 1);
  EXPECT_NE(h.Last(AlarmType::kOverspeed)->message.find("1160 mm/s"), std::string::npos);
  // Between the factors: neither raises again nor clears.
  h.state.SetNumber(Field::kSpeed, 1050);
  h.Run(10s, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kOverspeed), 0);
  h.state.SetNumber(Field::kSpeed, 990);
  h.Run(2500ms, 500ms);
  h.state.SetNumber(Field::kSpeed, 1000);  // not below 1.0 x rated: restarts the clear wait
  h.Run(500ms, 500ms);
  h.state.SetNumber(Field::kSpeed, 990);
  h.Run(2500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kOverspeed), 1);
}

TEST(DetectorTest, ASampleWithoutTheFieldRestartsTheWait) {
  // A float32 speed that decoded as NaN leaves the field absent.
  Harness h;
  h.Become([](Sample& s) {
    Set(s, {{Field::kMoving, true}});
    s.SetNumber(Field::kSpeed, 1300);
  });
  h.Feed();
  h.Run(500ms, 500ms);
  h.state.present.reset(static_cast<int>(Field::kSpeed));
  h.Run(500ms, 500ms);
  h.state.SetNumber(Field::kSpeed, 1300);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 1);
}

TEST(DetectorTest, DoorLockOpenWithTheDoorOpenIsNormal) {
  Harness h;
  h.Become([](Sample& s) {
    Set(s, {{Field::kDoorLockOk, false}, {Field::kDoorClosed, false}, {Field::kDoorOpen, true}});
  });
  h.Feed();
  h.Run(60s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kDoorLockFault), 0);
}

TEST(DetectorTest, DoorOpenTooLongStaysRaisedWhileTheDoorReopens) {
  Harness h;
  auto open = [](Sample& s) { Set(s, {{Field::kDoorOpen, true}, {Field::kDoorClosed, false}}); };
  h.Become(open);
  h.Feed();
  h.Run(120s, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kDoorOpenTooLong), 1);
  EXPECT_EQ(h.Last(AlarmType::kDoorOpenTooLong)->severity, Severity::kMinor);
  // Closing but obstructed: neither open nor closed, then open again.
  h.Become([](Sample& s) { Set(s, {{Field::kDoorClosed, false}}); });
  h.Run(2s, 500ms);
  h.Become(open);
  h.Run(200s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kDoorOpenTooLong), 1);
  EXPECT_EQ(h.Clears(AlarmType::kDoorOpenTooLong), 0);
  h.Become(nullptr);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kDoorOpenTooLong), 1);
}

TEST(DetectorTest, DoorOpenTooLongOnlyInAutomaticService) {
  Harness h;
  h.Become([](Sample& s) {
    Set(s, {{Field::kAuto, false},
            {Field::kFireService, true},
            {Field::kDoorOpen, true},
            {Field::kDoorClosed, false}});
  });
  h.Feed();
  h.Run(300s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kDoorOpenTooLong), 0);
}

TEST(DetectorTest, AlarmButtonRaisesOnEachPressAndClearsOnRelease) {
  Harness h;
  h.Become([](Sample& s) { Set(s, {{Field::kAlarmButton, true}}); });
  h.Feed();  // already pressed in the first sample: counts as a press
  EXPECT_EQ(h.Raises(AlarmType::kAlarmButton), 1);
  h.Run(10s, 500ms);  // held: one alarm
  EXPECT_EQ(h.Raises(AlarmType::kAlarmButton), 1);
  h.Become(nullptr);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Clears(AlarmType::kAlarmButton), 1);
  h.Become([](Sample& s) { Set(s, {{Field::kAlarmButton, true}}); });
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kAlarmButton), 2);
}

// ---------------------------------------------------------------------------
// Disabled rules.

TEST(DetectorTest, AFullMapWithARatedSpeedDisablesNothing) {
  Harness h;
  EXPECT_TRUE(h.det.disabled().empty());
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    auto t = static_cast<AlarmType>(i);
    // CHANNEL_DOWN is the daemon's, never a car's.
    EXPECT_EQ(h.det.active(t), IsCarAlarm(t)) << AlarmTypeName(t);
  }
}

TEST(DetectorTest, MissingOccupiedDisablesThreeTrappedPaths) {
  CarProfile p = FullProfile();
  p.provided = AllBut({Field::kOccupied});
  Harness h(std::move(p));
  const auto& d = h.det.disabled();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].type, AlarmType::kTrapped);
  EXPECT_EQ(d[0].subtype, "between_floors");
  EXPECT_EQ(d[0].reason, "map lacks field 'occupied'");
  EXPECT_EQ(d[1].subtype, "at_floor");
  EXPECT_EQ(d[2].subtype, "power_loss");
  EXPECT_EQ(d[2].reason, "map lacks field 'occupied'");
  EXPECT_TRUE(h.det.active(AlarmType::kTrapped)) << "the alarm-button path remains";
  // Stopped between floors (no passenger information) for long: no TRAPPED...
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}}); });
  h.state.present.reset(static_cast<int>(Field::kOccupied));
  h.Feed();
  h.Run(120s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  EXPECT_EQ(h.Raises(AlarmType::kStopOutsideDoorZone), 1);
  // ... but the alarm button still gives one.
  h.state.SetFlag(Field::kAlarmButton, true);
  h.Next(500ms);
  h.Run(4500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kTrapped), 0);
  h.Run(500ms, 500ms);
  ASSERT_EQ(h.Raises(AlarmType::kTrapped), 1);
  EXPECT_EQ(h.Last(AlarmType::kTrapped)->subtype, "alarm_button");
}

TEST(DetectorTest, MissingFieldsAreNamedInTheReason) {
  CarProfile p = FullProfile();
  p.provided = AllBut({Field::kAuto, Field::kDoorZone, Field::kHeartbeat, Field::kUcm});
  Harness h(std::move(p));
  std::vector<std::string> got;
  for (const auto& d : h.det.disabled()) {
    got.push_back(std::string(AlarmTypeName(d.type)) + (d.subtype.empty() ? "" : "/") + d.subtype +
                  ": " + d.reason);
  }
  std::vector<std::string> want = {
      "TRAPPED/between_floors: map lacks fields 'auto', 'door_zone'",
      "TRAPPED/at_floor: map lacks fields 'auto', 'door_zone'",
      "TRAPPED/power_loss: map lacks field 'door_zone'",
      "UCM: map lacks field 'ucm'",
      "STOP_OUTSIDE_DOOR_ZONE: map lacks fields 'auto', 'door_zone'",
      "DOOR_OPEN_TOO_LONG: map lacks field 'auto'",
      "CONTROLLER_FROZEN: map lacks field 'heartbeat'",
  };
  EXPECT_EQ(got, want);
  EXPECT_FALSE(h.det.active(AlarmType::kUcm));
  EXPECT_FALSE(h.det.active(AlarmType::kControllerFrozen));
  EXPECT_TRUE(h.det.active(AlarmType::kTrapped));
  EXPECT_TRUE(h.det.active(AlarmType::kCommsLost));
  // The disabled rules stay silent on samples that lack those fields.
  h.Become(nullptr, /*freeze=*/true);
  for (Field f : {Field::kAuto, Field::kDoorZone, Field::kHeartbeat, Field::kUcm}) {
    h.state.present.reset(static_cast<int>(f));
  }
  h.Feed();
  h.Run(300s, 500ms);
  EXPECT_TRUE(h.out.empty()) << h.out.front().message;
}

TEST(DetectorTest, OverspeedIsDisabledWithoutARatedSpeed) {
  CarProfile p = FullProfile();
  p.rated_speed_mm_s.reset();
  Harness h(std::move(p));
  ASSERT_EQ(h.det.disabled().size(), 1u);
  EXPECT_EQ(h.det.disabled()[0].type, AlarmType::kOverspeed);
  EXPECT_NE(h.det.disabled()[0].reason.find("no rated speed"), std::string::npos);
  EXPECT_FALSE(h.det.active(AlarmType::kOverspeed));
  h.Become([](Sample& s) {
    Set(s, {{Field::kMoving, true}});
    s.SetNumber(Field::kSpeed, 5000);
  });
  h.Feed();
  h.Run(5s, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0);
  // The controller reports its rated speed after a connect.
  h.det.SetRatedSpeed(1000);
  EXPECT_TRUE(h.det.disabled().empty());
  EXPECT_TRUE(h.det.active(AlarmType::kOverspeed));
  h.Next(500ms);  // timers start with the first sample after enabling
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 0);
  h.Run(500ms, 500ms);
  EXPECT_EQ(h.Raises(AlarmType::kOverspeed), 1);
}

TEST(DetectorTest, OverspeedNeedsTheSpeedFieldAndARatedSpeed) {
  CarProfile p = FullProfile();
  p.rated_speed_mm_s = 0;
  p.provided = AllBut({Field::kSpeed});
  Harness h(std::move(p));
  ASSERT_EQ(h.det.disabled().size(), 1u);
  EXPECT_EQ(h.det.disabled()[0].reason.rfind("map lacks field 'speed'; no rated speed", 0), 0u)
      << h.det.disabled()[0].reason;
  h.det.SetRatedSpeed(1000);
  ASSERT_EQ(h.det.disabled().size(), 1u);
  EXPECT_EQ(h.det.disabled()[0].reason, "map lacks field 'speed'");
  EXPECT_FALSE(h.det.active(AlarmType::kOverspeed));
}

TEST(DetectorTest, AnEmptyMapLeavesOnlyCommsLost) {
  CarProfile p;
  Harness h(std::move(p));
  int trapped_paths = 0;
  for (const auto& d : h.det.disabled()) {
    if (d.type == AlarmType::kTrapped) ++trapped_paths;
    EXPECT_NE(d.type, AlarmType::kCommsLost);
    EXPECT_FALSE(d.reason.empty()) << AlarmTypeName(d.type);
  }
  EXPECT_EQ(trapped_paths, 4);
  // Every car type but COMMS_LOST and TRAPPED (listed per path above).
  int car_types = 0;
  for (int i = 0; i < kAlarmTypeCount; ++i) car_types += IsCarAlarm(static_cast<AlarmType>(i));
  EXPECT_EQ(h.det.disabled().size(), 4u + car_types - 2);
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    auto t = static_cast<AlarmType>(i);
    EXPECT_EQ(h.det.active(t), t == AlarmType::kCommsLost) << AlarmTypeName(t);
  }
}

// ---------------------------------------------------------------------------
// Suppression.

TEST(SuppressionTest, CarStateThenWindow) {
  Sample s = Normal();
  EXPECT_EQ(SuppressionFor(s, false), std::nullopt);
  EXPECT_EQ(SuppressionFor(s, true), SuppressionCause::kMaintenanceWindow);
  s.SetFlag(Field::kInspection, true);
  EXPECT_EQ(SuppressionFor(s, true), SuppressionCause::kInspection);
  s.SetFlag(Field::kOutOfService, true);
  EXPECT_EQ(SuppressionFor(s, true), SuppressionCause::kOutOfService);
  EXPECT_EQ(SuppressionFor(Sample{}, false), std::nullopt) << "no sample yet";
}

TEST(SuppressionTest, PerTypeFollowsFaultsMd) {
  Sample s = Normal();
  s.SetFlag(Field::kOutOfService, true);
  EXPECT_EQ(SuppressionFor(AlarmType::kTrapped, s, false), SuppressionCause::kOutOfService);
  EXPECT_EQ(SuppressionFor(AlarmType::kCommsLost, s, false), std::nullopt);
  EXPECT_EQ(SuppressionFor(AlarmType::kCommsLost, s, true), SuppressionCause::kMaintenanceWindow);
  for (AlarmType t : {AlarmType::kUcm, AlarmType::kOverspeed, AlarmType::kTopOverrun,
                      AlarmType::kBottomOverrun, AlarmType::kDoorOpenWhileMoving}) {
    EXPECT_EQ(SuppressionFor(t, s, true), std::nullopt) << AlarmTypeName(t);
  }
  Sample idle = Normal();
  EXPECT_EQ(SuppressionFor(AlarmType::kDoorOpenTooLong, idle, false), std::nullopt);
  EXPECT_EQ(SuppressionFor(AlarmType::kDoorOpenTooLong, idle, true),
            SuppressionCause::kMaintenanceWindow);
}

// ---------------------------------------------------------------------------
// No allocation per sample.

TEST(DetectorTest, SteadyStateAllocatesNothing) {
  // The counter works (else this test would prove nothing).
  g_allocs = 0;
  g_count_allocs = true;
  auto probe = std::make_unique<std::string>(100, 'x');
  g_count_allocs = false;
  ASSERT_GT(g_allocs.load(), 0);

  Harness h;
  h.out.reserve(16);
  h.Feed();
  h.Run(5s, 500ms);
  // Stopped between floors with a passenger: timers run but nothing fires
  // within the measured stretch (STOP_OUTSIDE_DOOR_ZONE is 10 s).
  h.Become([](Sample& s) { Set(s, {{Field::kDoorZone, false}, {Field::kOccupied, true}}); });
  size_t before = h.out.size();
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 0; i < 90; ++i) {
    h.now += 100ms;
    h.Feed();
    h.det.OnTime(h.now, WallOf(h.now), h.out);
  }
  g_count_allocs = false;
  EXPECT_EQ(h.out.size(), before);
  EXPECT_EQ(g_allocs.load(), 0);
  // Normal running: many samples, nothing fires, nothing is allocated.
  h.Become(nullptr);
  g_allocs = 0;
  g_count_allocs = true;
  for (int i = 0; i < 2000; ++i) {
    h.now += 500ms;
    h.Feed();
    h.det.OnTime(h.now, WallOf(h.now), h.out);
  }
  g_count_allocs = false;
  EXPECT_EQ(h.out.size(), before);
  EXPECT_EQ(g_allocs.load(), 0);
}

}  // namespace
}  // namespace lg::rules
