// Tests of the liftsim simulator: the car model (pure, simulated time), the
// control language and scenario files, the command line, and SimServer over
// loopback TCP and a socat pty pair, read with a plain libmodbus client.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "drivers/register_map.h"
#include "drivers/sim/car_model.h"
#include "drivers/sim/control.h"
#include "drivers/sim/sim_options.h"
#include "drivers/sim/sim_server.h"

namespace lg::sim {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 5 * kSec;

int64_t Get(const CarState& s, Field f) { return s.Get(f); }
bool Flag(const CarState& s, Field f) { return s.Get(f) != 0; }

CarConfig StaticConfig(int unit = 1) {
  CarConfig c;
  c.is_static = true;
  c.unit = unit;
  c.bottom_floor = 0;
  c.top_floor = 9;
  return c;
}

CarConfig DynamicConfig(uint64_t seed = 7) {
  CarConfig c;
  c.is_static = false;
  c.seed = seed;
  c.bottom_floor = -2;
  c.top_floor = 12;
  return c;
}

void ExpectNormalAtFloor(const CarState& s) {
  EXPECT_TRUE(Flag(s, Field::kAuto));
  EXPECT_FALSE(Flag(s, Field::kInspection));
  EXPECT_FALSE(Flag(s, Field::kFireService));
  EXPECT_FALSE(Flag(s, Field::kOutOfService));
  EXPECT_FALSE(Flag(s, Field::kEmergencyPower));
  EXPECT_TRUE(Flag(s, Field::kDoorZone));
  EXPECT_FALSE(Flag(s, Field::kMoving));
  EXPECT_TRUE(Flag(s, Field::kDoorClosed));
  EXPECT_FALSE(Flag(s, Field::kDoorOpen));
  EXPECT_FALSE(Flag(s, Field::kOccupied));
  EXPECT_FALSE(Flag(s, Field::kAlarmButton));
  EXPECT_TRUE(Flag(s, Field::kSafetyChainOk));
  EXPECT_TRUE(Flag(s, Field::kDoorLockOk));
  EXPECT_TRUE(Flag(s, Field::kMainPowerOk));
  EXPECT_FALSE(Flag(s, Field::kOverload));
  EXPECT_FALSE(Flag(s, Field::kTopLimit));
  EXPECT_FALSE(Flag(s, Field::kBottomLimit));
  EXPECT_FALSE(Flag(s, Field::kUcm));
  EXPECT_FALSE(Flag(s, Field::kBrakeFault));
  EXPECT_EQ(Get(s, Field::kFaultCode), 0);
  EXPECT_EQ(Get(s, Field::kSpeed), 0);
  EXPECT_EQ(Get(s, Field::kLoad), 0);
}

// ---------------------------------------------------------------------------
// CarModel

TEST(CarModel, StaticCarStandsAtItsFloorAndOnlyTheHeartbeatMoves) {
  CarModel car(StaticConfig(3), kT0);
  CarState s = car.State();
  ExpectNormalAtFloor(s);
  EXPECT_EQ(Get(s, Field::kFloor), 2);  // bottom + (unit - 1)
  EXPECT_EQ(Get(s, Field::kTrips), 100003);
  EXPECT_EQ(Get(s, Field::kDoorCycles), 200003);
  EXPECT_EQ(Get(s, Field::kRunHours), 1003);
  EXPECT_EQ(Get(s, Field::kHeartbeat), 0);
  EXPECT_EQ(Get(s, Field::kRatedSpeed), 1750);
  EXPECT_EQ(Get(s, Field::kTopFloor), 9);
  EXPECT_EQ(Get(s, Field::kBottomFloor), 0);
  EXPECT_EQ(s.ModelText(), "LIFTSIM-1");
  for (int64_t t = kT0; t <= kT0 + 600 * kSec; t += 3 * kSec) {
    car.Advance(t);
    CarState now = car.State();
    ExpectNormalAtFloor(now);
    EXPECT_EQ(Get(now, Field::kFloor), 2);
    EXPECT_EQ(Get(now, Field::kTrips), 100003);
  }
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 3000);  // 600 s / 200 ms
}

TEST(CarModel, StaticFloorsWrapOverTheServedRange) {
  CarConfig c = StaticConfig(7);
  c.bottom_floor = -2;
  c.top_floor = 1;  // 4 floors: unit 7 -> index 2 -> floor 0
  EXPECT_EQ(Get(CarModel(c, kT0).State(), Field::kFloor), 0);
}

TEST(CarModel, HeartbeatEvery200msAndWraps) {
  CarModel car(StaticConfig(), kT0);
  car.Advance(kT0 + 199 * kMs);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 0);
  car.Advance(kT0 + 200 * kMs);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 1);
  car.Advance(kT0 + 65536LL * 200 * kMs + 5 * 200 * kMs);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 5);
  car.Advance(kT0);  // time never goes back
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 5);
}

struct Observed {
  std::set<int64_t> floors;
  int64_t max_speed = 0;
  bool saw_moving = false, saw_door_open = false, saw_occupied = false;
  bool saw_moving_outside_zone = false, saw_moving_in_zone = false;
  bool saw_up = false, saw_down = false;
};

Observed Drive(CarModel& car, int64_t from, int64_t to, int64_t step,
               const std::function<void(const CarState&)>& each = {}) {
  Observed o;
  for (int64_t t = from; t <= to; t += step) {
    car.Advance(t);
    const CarState s = car.State();
    if (each) each(s);
    o.floors.insert(Get(s, Field::kFloor));
    o.max_speed = std::max(o.max_speed, Get(s, Field::kSpeed));
    if (Flag(s, Field::kMoving)) {
      o.saw_moving = true;
      (Flag(s, Field::kDoorZone) ? o.saw_moving_in_zone : o.saw_moving_outside_zone) = true;
      o.saw_up |= Flag(s, Field::kDirUp);
      o.saw_down |= Flag(s, Field::kDirDown);
    }
    o.saw_door_open |= Flag(s, Field::kDoorOpen);
    o.saw_occupied |= Flag(s, Field::kOccupied);
  }
  return o;
}

TEST(CarModel, DynamicCarMakesPlausibleTrips) {
  CarModel car(DynamicConfig(), kT0);
  const CarState first = car.State();
  int64_t last_hb = Get(first, Field::kHeartbeat);
  int64_t hb_changes = 0;
  Observed o = Drive(car, kT0, kT0 + 3600 * kSec, 100 * kMs, [&](const CarState& s) {
    // Invariants of a healthy car.
    EXPECT_TRUE(Flag(s, Field::kAuto));
    EXPECT_TRUE(Flag(s, Field::kSafetyChainOk));
    EXPECT_TRUE(Flag(s, Field::kDoorLockOk));
    EXPECT_TRUE(Flag(s, Field::kMainPowerOk));
    EXPECT_EQ(Get(s, Field::kFaultCode), 0);
    EXPECT_LT(Get(s, Field::kSpeed), 1750);  // below rated
    EXPECT_GE(Get(s, Field::kFloor), -2);
    EXPECT_LE(Get(s, Field::kFloor), 12);
    if (Flag(s, Field::kMoving)) {
      EXPECT_TRUE(Flag(s, Field::kDoorClosed));
      EXPECT_FALSE(Flag(s, Field::kDoorOpen));
      EXPECT_NE(Flag(s, Field::kDirUp), Flag(s, Field::kDirDown));
    } else {
      EXPECT_TRUE(Flag(s, Field::kDoorZone)) << "stopped outside the door zone";
      EXPECT_EQ(Get(s, Field::kSpeed), 0);
    }
    EXPECT_FALSE(Flag(s, Field::kDoorOpen) && Flag(s, Field::kDoorClosed));
    EXPECT_EQ(Flag(s, Field::kOccupied), Get(s, Field::kLoad) > 0);
    if (Get(s, Field::kHeartbeat) != last_hb) ++hb_changes;
    last_hb = Get(s, Field::kHeartbeat);
  });
  const CarState end = car.State();
  EXPECT_GE(o.floors.size(), 8u);
  EXPECT_TRUE(o.saw_moving && o.saw_door_open && o.saw_occupied && o.saw_up && o.saw_down);
  EXPECT_TRUE(o.saw_moving_outside_zone);
  EXPECT_TRUE(o.saw_moving_in_zone);  // levelling in / out
  EXPECT_EQ(o.max_speed, car.cruise_speed_mm_s());
  EXPECT_EQ(car.cruise_speed_mm_s(), 1000);
  EXPECT_GT(Get(end, Field::kTrips) - Get(first, Field::kTrips), 60);
  EXPECT_GT(Get(end, Field::kDoorCycles) - Get(first, Field::kDoorCycles), 60);
  EXPECT_GE(Get(end, Field::kRunHours), Get(first, Field::kRunHours));
  EXPECT_GT(hb_changes, 3600 * 4);  // several per second
}

TEST(CarModel, SameSeedSameCarWhateverTheReadTimes) {
  CarModel a(DynamicConfig(42), kT0), b(DynamicConfig(42), kT0), c(DynamicConfig(43), kT0);
  bool differs_from_c = false;
  for (int64_t t = kT0; t < kT0 + 600 * kSec; t += 1000 * kMs) {
    b.Advance(t - 500 * kMs);  // b is also looked at in between
    a.Advance(t);
    b.Advance(t);
    c.Advance(t);
    EXPECT_EQ(a.State().value, b.State().value);
    differs_from_c |= a.State().value != c.State().value;
  }
  EXPECT_TRUE(differs_from_c);
}

TEST(CarModel, RunHoursCountMotorTime) {
  CarModel car(DynamicConfig(3), kT0);
  const int64_t h0 = Get(car.State(), Field::kRunHours);
  car.Advance(kT0 + 24 * 3600 * kSec);
  const int64_t h1 = Get(car.State(), Field::kRunHours);
  EXPECT_GT(h1, h0);  // a day of service has hours of travel
  EXPECT_LT(h1 - h0, 24);
}

TEST(CarModel, RegistersFollowTheMap) {
  CarModel car(StaticConfig(1), kT0);
  car.SetOverride(Field::kFloor, -2);
  car.SetOverride(Field::kTrips, 0x12345678);
  car.SetOverride(Field::kDoorCycles, 70000);
  car.SetOverride(Field::kRunHours, 65536 + 3);
  car.SetOverride(Field::kUcm, 1);
  car.SetOverride(Field::kEmergencyPower, 1);
  car.SetModelOverride("ABCDEFGHIJKLMNOP");
  Registers r;
  car.Encode(&r);
  // auto(0) door_zone(3) door_closed(8) safety(11) lock(12) power(13)
  EXPECT_EQ(r.input[0], (1 << 0) | (1 << 3) | (1 << 8) | (1 << 11) | (1 << 12) | (1 << 13));
  EXPECT_EQ(r.input[1], 0xFFFE);
  EXPECT_EQ(r.input[5], 0x1234);
  EXPECT_EQ(r.input[6], 0x5678);
  EXPECT_EQ(r.input[7], 1);
  EXPECT_EQ(r.input[8], 70000 - 65536);
  EXPECT_EQ(r.input[9], 1);
  EXPECT_EQ(r.input[10], 3);
  EXPECT_EQ(r.input[12], (1 << 2) | (1 << 4));
  EXPECT_EQ(r.holding[0], 1750);
  EXPECT_EQ(r.holding[1], 9);
  EXPECT_EQ(r.holding[2], 0);
  EXPECT_EQ(r.holding[3], ('A' << 8) | 'B');
  EXPECT_EQ(r.holding[10], ('O' << 8) | 'P');
  car.ReleaseAll();
  car.Encode(&r);
  EXPECT_EQ(r.input[1], 0);
  EXPECT_EQ(r.holding[3], ('L' << 8) | 'I');
  EXPECT_EQ(r.holding[7], ('1' << 8) | 0);  // "LIFTSIM-1", NUL padded
}

TEST(CarModel, OverrideHoldsUntilReleased) {
  CarModel car(DynamicConfig(), kT0);
  car.SetOverride(Field::kDoorZone, 0);
  car.SetOverride(Field::kHeartbeat, 77);
  Drive(car, kT0, kT0 + 120 * kSec, 250 * kMs, [](const CarState& s) {
    EXPECT_FALSE(Flag(s, Field::kDoorZone));
    EXPECT_EQ(Get(s, Field::kHeartbeat), 77);
  });
  car.Release(Field::kHeartbeat);
  car.Advance(kT0 + 121 * kSec);
  EXPECT_NE(Get(car.State(), Field::kHeartbeat), 77);
  EXPECT_FALSE(Flag(car.State(), Field::kDoorZone));
  car.Release(Field::kDoorZone);
  // The car's own motion shows again: once stopped, it is in the door zone.
  bool zone = false;
  Drive(car, kT0 + 122 * kSec, kT0 + 200 * kSec, 250 * kMs,
        [&](const CarState& s) { zone |= Flag(s, Field::kDoorZone); });
  EXPECT_TRUE(zone);
}

TEST(CarModel, PauseFreezesMotionNotHeartbeat) {
  CarModel car(DynamicConfig(11), kT0);
  // Find a moment in a trip.
  int64_t t = kT0;
  while (!Flag(car.State(), Field::kMoving)) car.Advance(t += 50 * kMs);
  car.Advance(t += 700 * kMs);
  car.SetPaused(true, t);
  const CarState frozen = car.State();
  car.Advance(t + 30 * kSec);
  CarState later = car.State();
  EXPECT_EQ(Get(later, Field::kHeartbeat), (Get(frozen, Field::kHeartbeat) + 150) & 0xFFFF);
  later.Set(Field::kHeartbeat, Get(frozen, Field::kHeartbeat));
  EXPECT_EQ(later.value, frozen.value);
  car.SetPaused(false, t + 30 * kSec);
  car.Advance(t + 30 * kSec + 300 * kMs);
  EXPECT_TRUE(Flag(car.State(), Field::kMoving));  // goes on with the same trip
  EXPECT_EQ(Get(car.State(), Field::kTrips), Get(frozen, Field::kTrips));
}

// The raise conditions of faults.md, on one sample.
using Predicate = std::function<bool(const CarState&)>;
bool Stopped(const CarState& s) { return !Flag(s, Field::kMoving) && Get(s, Field::kSpeed) == 0; }

struct ConditionCase {
  Condition condition;
  Predicate holds;
};

std::vector<ConditionCase> ConditionCases(int rated) {
  auto F = [](const CarState& s, Field f) { return Flag(s, f); };
  return {
      {Condition::kTrappedBetweenFloors,
       [=](const CarState& s) {
         return F(s, Field::kAuto) && Stopped(s) && F(s, Field::kDoorClosed) &&
                F(s, Field::kOccupied) && !F(s, Field::kDoorZone);
       }},
      {Condition::kTrappedAtFloor,
       [=](const CarState& s) {
         return F(s, Field::kAuto) && Stopped(s) && F(s, Field::kDoorClosed) &&
                F(s, Field::kOccupied) && F(s, Field::kDoorZone) && !F(s, Field::kDoorOpen);
       }},
      {Condition::kTrappedAlarmButton,
       [=](const CarState& s) {
         return F(s, Field::kAlarmButton) && Stopped(s) && F(s, Field::kDoorClosed) &&
                F(s, Field::kOccupied);
       }},
      {Condition::kTrappedPowerLoss,
       [=](const CarState& s) {
         return !F(s, Field::kMainPowerOk) && F(s, Field::kOccupied) && !F(s, Field::kDoorZone) &&
                Stopped(s) && F(s, Field::kDoorClosed);
       }},
      {Condition::kDoorOpenWhileMoving,
       [=](const CarState& s) {
         return F(s, Field::kMoving) && !F(s, Field::kDoorClosed) && Get(s, Field::kSpeed) > 0 &&
                Get(s, Field::kSpeed) < rated;
       }},
      {Condition::kUcm, [=](const CarState& s) { return F(s, Field::kUcm); }},
      {Condition::kOverspeed,
       [=](const CarState& s) {
         return F(s, Field::kMoving) && Get(s, Field::kSpeed) * 100 > 115 * rated &&
                F(s, Field::kDoorClosed);
       }},
      {Condition::kTopOverrun, [=](const CarState& s) { return F(s, Field::kTopLimit); }},
      {Condition::kBottomOverrun, [=](const CarState& s) { return F(s, Field::kBottomLimit); }},
      {Condition::kStopOutsideDoorZone,
       [=](const CarState& s) {
         return F(s, Field::kAuto) && Stopped(s) && !F(s, Field::kDoorZone) &&
                !F(s, Field::kOccupied);
       }},
      {Condition::kSafetyCircuitOpen,
       [=](const CarState& s) { return !F(s, Field::kSafetyChainOk); }},
      {Condition::kDoorLockFault,
       [=](const CarState& s) { return !F(s, Field::kDoorLockOk) && F(s, Field::kDoorClosed); }},
      {Condition::kPowerFailure,
       [=](const CarState& s) {
         // Not trapped: the car is empty or in the door zone.
         return !F(s, Field::kMainPowerOk) && !F(s, Field::kOccupied) && F(s, Field::kDoorZone);
       }},
      {Condition::kBrakeFault, [=](const CarState& s) { return F(s, Field::kBrakeFault); }},
      {Condition::kControllerFault,
       [=](const CarState& s) { return Get(s, Field::kFaultCode) == 35; }},
      {Condition::kDoorOpenTooLong,
       [=](const CarState& s) {
         return F(s, Field::kAuto) && F(s, Field::kDoorOpen) && !F(s, Field::kDoorClosed) &&
                Stopped(s) && F(s, Field::kDoorZone);
       }},
      {Condition::kAlarmButton,
       [=](const CarState& s) {
         // Pressed, and none of the TRAPPED paths (door not closed).
         return F(s, Field::kAlarmButton) && !F(s, Field::kDoorClosed) && Stopped(s);
       }},
      {Condition::kInspection,
       [=](const CarState& s) {
         return F(s, Field::kInspection) && !F(s, Field::kAuto) && Stopped(s);
       }},
      {Condition::kFireService,
       [=](const CarState& s) {
         return F(s, Field::kFireService) && !F(s, Field::kAuto) && Get(s, Field::kFloor) == 0;
       }},
      {Condition::kOutOfService,
       [=](const CarState& s) { return F(s, Field::kOutOfService) && !F(s, Field::kAuto); }},
      {Condition::kEmergencyPower,
       [=](const CarState& s) { return F(s, Field::kEmergencyPower) && !F(s, Field::kAuto); }},
  };
}

// Bits that no condition but its own may set: a condition must not set
// bits of unrelated alarms.
std::vector<Field> AlarmBits() {
  return {Field::kUcm, Field::kTopLimit, Field::kBottomLimit, Field::kBrakeFault,
          Field::kAlarmButton};
}

class ConditionTest : public ::testing::TestWithParam<bool> {};  // param: static car

TEST_P(ConditionTest, EachConditionHoldsItsRaiseConditionAndOffRestoresService) {
  const bool is_static = GetParam();
  for (const ConditionCase& cc : ConditionCases(1750)) {
    SCOPED_TRACE(std::string(ConditionName(cc.condition)));
    CarConfig cfg = is_static ? StaticConfig(4) : DynamicConfig(5);
    CarModel car(cfg, kT0);
    int64_t t = kT0;
    if (!is_static) {  // switch it on in the middle of a trip
      while (!Flag(car.State(), Field::kMoving)) car.Advance(t += 50 * kMs);
      car.Advance(t += 1500 * kMs);
    }
    car.SetCondition(cc.condition, true, t);
    EXPECT_TRUE(car.ConditionOn(cc.condition));
    const CarState at_on = car.State();
    for (int64_t u = t; u <= t + 200 * kSec; u += 500 * kMs) {
      car.Advance(u);
      const CarState s = car.State();
      ASSERT_TRUE(cc.holds(s)) << "at +" << (u - t) / kMs << " ms";
      // Held: nothing but the heartbeat moves.
      CarState a = s;
      a.Set(Field::kHeartbeat, Get(at_on, Field::kHeartbeat));
      ASSERT_EQ(a.value, at_on.value);
      for (Field f : AlarmBits()) {
        bool own = (f == Field::kUcm && cc.condition == Condition::kUcm) ||
                   (f == Field::kTopLimit && cc.condition == Condition::kTopOverrun) ||
                   (f == Field::kBottomLimit && cc.condition == Condition::kBottomOverrun) ||
                   (f == Field::kBrakeFault && cc.condition == Condition::kBrakeFault) ||
                   (f == Field::kAlarmButton && (cc.condition == Condition::kAlarmButton ||
                                                 cc.condition == Condition::kTrappedAlarmButton));
        if (!own) {
          ASSERT_FALSE(Flag(s, f)) << FieldName(f);
        }
      }
    }
    t += 201 * kSec;
    car.SetCondition(cc.condition, false, t);
    EXPECT_FALSE(car.ConditionOn(cc.condition));
    ExpectNormalAtFloor(car.State());
    if (!is_static) {  // and goes back into service
      Observed o = Drive(car, t, t + 300 * kSec, 200 * kMs);
      EXPECT_TRUE(o.saw_moving);
    } else {
      car.Advance(t + 60 * kSec);
      ExpectNormalAtFloor(car.State());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(StaticAndMoving, ConditionTest, ::testing::Values(true, false));

TEST(CarModel, ControllerFaultCarriesItsCode) {
  CarModel car(StaticConfig(), kT0);
  car.SetCondition(Condition::kControllerFault, true, kT0, 412);
  EXPECT_EQ(Get(car.State(), Field::kFaultCode), 412);
  car.SetCondition(Condition::kControllerFault, false, kT0 + kSec);
  EXPECT_EQ(Get(car.State(), Field::kFaultCode), 0);
}

TEST(CarModel, ControllerFrozenStopsTheHeartbeatThenItGoesOn) {
  CarModel car(StaticConfig(), kT0);
  car.Advance(kT0 + 10 * kSec);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 50);
  car.SetCondition(Condition::kControllerFrozen, true, kT0 + 10 * kSec);
  car.Advance(kT0 + 60 * kSec);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 50);
  EXPECT_TRUE(car.answering());
  car.SetCondition(Condition::kControllerFrozen, false, kT0 + 60 * kSec);
  car.Advance(kT0 + 61 * kSec);
  EXPECT_EQ(Get(car.State(), Field::kHeartbeat), 55);
}

TEST(CarModel, CommsLostOnlyStopsAnswering) {
  CarModel car(DynamicConfig(), kT0);
  car.SetCondition(Condition::kCommsLost, true, kT0);
  EXPECT_FALSE(car.answering());
  Observed o = Drive(car, kT0, kT0 + 600 * kSec, 200 * kMs);
  EXPECT_TRUE(o.saw_moving);  // the controller itself goes on working
  car.SetCondition(Condition::kCommsLost, false, kT0 + 601 * kSec);
  EXPECT_TRUE(car.answering());
}

TEST(CarModel, LaterConditionsWinAndOffKeepsTheOthers) {
  CarModel car(StaticConfig(), kT0);
  car.SetCondition(Condition::kTrappedBetweenFloors, true, kT0);
  car.SetCondition(Condition::kInspection, true, kT0 + kSec);
  CarState s = car.State();
  EXPECT_TRUE(Flag(s, Field::kInspection));
  EXPECT_FALSE(Flag(s, Field::kAuto));
  car.SetCondition(Condition::kInspection, false, kT0 + 2 * kSec);
  s = car.State();
  EXPECT_TRUE(Flag(s, Field::kAuto));
  EXPECT_TRUE(Flag(s, Field::kOccupied));  // still trapped
  EXPECT_FALSE(Flag(s, Field::kDoorZone));
  car.SetCondition(Condition::kTrappedBetweenFloors, false, kT0 + 3 * kSec);
  ExpectNormalAtFloor(car.State());
}

TEST(CarModel, ConditionNamesRoundTrip) {
  for (int i = 0; i < kConditionCount; ++i) {
    const auto c = static_cast<Condition>(i);
    EXPECT_EQ(ConditionFromName(ConditionName(c)), c);
  }
  EXPECT_FALSE(ConditionFromName("nope"));
}

// ---------------------------------------------------------------------------
// Control language, scenario files, command line

TEST(Control, ParsesCommands) {
  auto c = ParseCommand("set 1502/3 floor -2");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->verb, Verb::kSet);
  EXPECT_EQ(c->target.link, "1502");
  EXPECT_EQ(c->target.unit, 3);
  EXPECT_EQ(c->field, Field::kFloor);
  EXPECT_EQ(c->value, -2);
  EXPECT_TRUE(c->mutating());

  c = ParseCommand("  fault rtu0/2   controller_fault on 41\r");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->condition, Condition::kControllerFault);
  EXPECT_TRUE(c->on);
  EXPECT_EQ(c->fault_code, 41);

  c = ParseCommand("misbehave 1502 delay 250");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->target.is_car());
  EXPECT_EQ(c->misbehaviour.kind, MisbehaviourKind::kDelay);
  EXPECT_EQ(c->misbehaviour.arg, 250);

  c = ParseCommand("set 1502/1 door_zone 0");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->value, 0);
  ASSERT_TRUE(ParseCommand("set 1502/1 model XYZ-9000").ok());
  ASSERT_TRUE(ParseCommand("release 1502/1").ok());
  ASSERT_TRUE(ParseCommand("release 1502/1 floor").ok());
  ASSERT_TRUE(ParseCommand("fcodes").ok());
  ASSERT_TRUE(ParseCommand("fcodes rtu1").ok());
  ASSERT_TRUE(ParseCommand("requests 1502/4").ok());
  ASSERT_TRUE(ParseCommand("now").ok());
  EXPECT_FALSE(ParseCommand("now")->mutating());
  ASSERT_TRUE(ParseCommand("pause").ok());
  ASSERT_TRUE(ParseCommand("misbehave 1502/2 bytewise 5").ok());
  ASSERT_TRUE(ParseCommand("misbehave 1502/2 exception 6").ok());
}

TEST(Control, RefusesBadCommandsWithAReason) {
  for (const char* bad :
       {"", "jump", "set 1502 floor 1", "set 1502/1 flor 1", "set 1502/1 door_zone 2",
        "set 1502/1 floor 40000", "set 1502/1 heartbeat -1", "set 1502/0 floor 1",
        "set 1502/248 floor 1", "fault 1502/1 trapped on", "fault 1502/1 ucm maybe",
        "fault 1502/1 ucm on 3", "misbehave 1502 delay", "misbehave 1502 silent 3",
        "misbehave 1502 dance", "get 1502", "fcodes 1502/1", "now please",
        "set 1502/1 model ABCDEFGHIJKLMNOPQ"}) {
    auto c = ParseCommand(bad);
    EXPECT_FALSE(c.ok()) << "accepted: " << bad;
    if (!c.ok()) {
      EXPECT_FALSE(c.error().message.empty());
    }
  }
}

TEST(Options, ParsesTheCommandLine) {
  const char* argv[] = {"liftsim",
                        "--tcp",
                        "127.0.0.1:1502:1-3,7",
                        "--tcp",
                        "[::1]:1503:1",
                        "--rtu",
                        "/dev/pts/7:9600:E:8:1:1,2",
                        "--control",
                        "*:7000",
                        "--seed",
                        "99",
                        "--static",
                        "--floors",
                        "-2:20",
                        "--rated-speed",
                        "2500",
                        "--scenario",
                        "x.toml"};
  auto o = ParseCommandLine(static_cast<int>(std::size(argv)), argv);
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->tcp.size(), 2u);
  EXPECT_EQ(o->tcp[0].host, "127.0.0.1");
  EXPECT_EQ(o->tcp[0].port, 1502);
  EXPECT_EQ(o->tcp[0].units, (std::vector<int>{1, 2, 3, 7}));
  EXPECT_EQ(o->tcp[1].host, "::1");
  ASSERT_EQ(o->rtu.size(), 1u);
  EXPECT_EQ(o->rtu[0].device, "/dev/pts/7");
  EXPECT_EQ(o->rtu[0].baud, 9600);
  EXPECT_EQ(o->rtu[0].parity, 'E');
  EXPECT_EQ(o->rtu[0].units, (std::vector<int>{1, 2}));
  EXPECT_EQ(o->control_host, "");
  EXPECT_EQ(o->control_port, 7000);
  EXPECT_EQ(o->seed, 99u);
  EXPECT_TRUE(o->is_static);
  EXPECT_EQ(o->bottom_floor, -2);
  EXPECT_EQ(o->top_floor, 20);
  EXPECT_EQ(o->rated_speed_mm_s, 2500);
  EXPECT_EQ(o->scenario_path, "x.toml");
}

TEST(Options, RefusesBadCommandLines) {
  std::vector<std::vector<const char*>> bad = {
      {"liftsim", "--tcp", "127.0.0.1:1502:1-3"},                      // no --control
      {"liftsim", "--control", "127.0.0.1:7000"},                      // no link
      {"liftsim", "--tcp", "127.0.0.1:1502", "--control", "h:1"},      // no units
      {"liftsim", "--tcp", "127.0.0.1:1502:3-1", "--control", "h:1"},  // backwards
      {"liftsim", "--tcp", "127.0.0.1:1502:0-3", "--control", "h:1"},  // unit 0
      {"liftsim", "--tcp", "127.0.0.1:1502:1,1", "--control", "h:1"},  // twice
      {"liftsim", "--tcp", "127.0.0.1:99999:1", "--control", "h:1"},   // port
      {"liftsim", "--tcp", "a:1502:1", "--tcp", "b:1502:2", "--control", "h:1"},
      {"liftsim", "--rtu", "/dev/x:9600:X:8:1:1", "--control", "h:1"},  // parity
      {"liftsim", "--rtu", "/dev/x:9600:N:8:1", "--control", "h:1"},    // fields
      {"liftsim", "--rtu", "/dev/x:9601:N:8:1:1", "--control", "h:1"},  // baud
      {"liftsim", "--tcp", "h:1502:1", "--control", "h:1", "--floors", "5:1"},
      {"liftsim", "--tcp", "h:1502:1", "--control", "h:1", "--rated-speed", "0"},
      {"liftsim", "--tcp", "h:1502:1", "--control", "h:1", "--seed", "-4"},
      {"liftsim", "--tcp", "h:1502:1", "--control", "h:1", "--bogus"},
      {"liftsim", "--tcp", "h:1502:1", "--control"},
  };
  for (auto& argv : bad) {
    auto o = ParseCommandLine(static_cast<int>(argv.size()), argv.data());
    std::string joined;
    for (auto* a : argv) joined += std::string(a) + " ";
    EXPECT_FALSE(o.ok()) << "accepted: " << joined;
  }
}

TEST(Options, ParsesAMapFilePerLink) {
  const char* argv[] = {"liftsim",
                        "--tcp",
                        "127.0.0.1:1502:1-3:maps/vendor-x.toml",
                        "--tcp",
                        "[::1]:1503:1:ref-1",
                        "--tcp",
                        "*:1504:2",
                        "--tcp",
                        "h:1505:4:c:/maps/odd:name.toml",
                        "--tcp",
                        "::1:1506:5",  // IPv6 without brackets, as before: no map
                        "--rtu",
                        "/dev/pts/7:9600:E:8:1:1,2:maps/vendor-x.toml",
                        "--rtu",
                        "/dev/serial/by-path/pci-0:0:1.0:19200:N:8:2:3",
                        "--rtu",
                        "/dev/serial/by-path/pci-0:0:1.0:19200:N:8:2:3:/m:x.toml",
                        "--control",
                        "127.0.0.1:7000"};
  auto o = ParseCommandLine(static_cast<int>(std::size(argv)), argv);
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->tcp.size(), 5u);
  EXPECT_EQ(o->tcp[0].host, "127.0.0.1");
  EXPECT_EQ(o->tcp[0].port, 1502);
  EXPECT_EQ(o->tcp[0].units, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(o->tcp[0].map, "maps/vendor-x.toml");
  EXPECT_EQ(o->tcp[1].host, "::1");
  EXPECT_EQ(o->tcp[1].map, "ref-1");
  EXPECT_EQ(o->tcp[2].host, "");
  EXPECT_EQ(o->tcp[2].units, (std::vector<int>{2}));
  EXPECT_EQ(o->tcp[2].map, "ref-1");  // the default
  EXPECT_EQ(o->tcp[3].map, "c:/maps/odd:name.toml");
  EXPECT_EQ(o->tcp[3].units, (std::vector<int>{4}));
  EXPECT_EQ(o->tcp[4].host, "::1");
  EXPECT_EQ(o->tcp[4].port, 1506);
  EXPECT_EQ(o->tcp[4].map, "ref-1");
  ASSERT_EQ(o->rtu.size(), 3u);
  EXPECT_EQ(o->rtu[0].device, "/dev/pts/7");
  EXPECT_EQ(o->rtu[0].baud, 9600);
  EXPECT_EQ(o->rtu[0].parity, 'E');
  EXPECT_EQ(o->rtu[0].units, (std::vector<int>{1, 2}));
  EXPECT_EQ(o->rtu[0].map, "maps/vendor-x.toml");
  EXPECT_EQ(o->rtu[1].device, "/dev/serial/by-path/pci-0:0:1.0");
  EXPECT_EQ(o->rtu[1].stop_bits, 2);
  EXPECT_EQ(o->rtu[1].units, (std::vector<int>{3}));
  EXPECT_EQ(o->rtu[1].map, "ref-1");
  EXPECT_EQ(o->rtu[2].device, "/dev/serial/by-path/pci-0:0:1.0");
  EXPECT_EQ(o->rtu[2].map, "/m:x.toml");

  std::vector<std::vector<const char*>> bad = {
      {"liftsim", "--tcp", "127.0.0.1:1502:1:", "--control", "h:1"},          // empty map
      {"liftsim", "--rtu", "/dev/x:9600:N:8:1:1:", "--control", "h:1"},       // empty map
      {"liftsim", "--tcp", "127.0.0.1:1502:x:v.toml", "--control", "h:1"},    // units
      {"liftsim", "--rtu", "/dev/x:9600:X:8:1:1:v.toml", "--control", "h:1"}  // parity
  };
  for (auto& args : bad) {
    auto r = ParseCommandLine(static_cast<int>(args.size()), args.data());
    EXPECT_FALSE(r.ok()) << "accepted: " << args[2];
  }
  const char* parity[] = {"liftsim", "--rtu", "/dev/x:9600:X:8:1:1:v.toml", "--control", "h:1"};
  auto r = ParseCommandLine(static_cast<int>(std::size(parity)), parity);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("parity"), std::string::npos) << r.error().message;
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/liftsim_test_XXXXXX.toml";
    int fd = mkstemps(name, 5);
    path_ = name;
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Scenario, LoadsStepsInTimeOrder) {
  TempFile f(
      "name = \"t\"\n"
      "[[step]]\n"
      "at_ms = 500\n"
      "do = \"fault 1502/1 trapped_between_floors on\"\n"
      "[[step]]\n"
      "at_ms = 0\n"
      "do = \"misbehave 1502 delay 100\"\n"
      "[[step]]\n"
      "at_ms = 500\n"
      "do = \"set 1502/2 floor 4\"\n");
  auto steps = LoadScenario(f.path());
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_EQ((*steps)[0].at_ms, 0);
  EXPECT_EQ((*steps)[0].line, 7);
  EXPECT_EQ((*steps)[1].command.verb, Verb::kFault);
  EXPECT_EQ((*steps)[2].command.verb, Verb::kSet);
}

TEST(Scenario, RefusesABadFileWithFileAndLine) {
  struct Case {
    std::string text;
    int line;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"[[step]]\nat_ms = 0\ndo = \"fault 1502/1 sneeze on\"\n", 3, "unknown condition"},
      {"[[step]]\nat_ms = -5\ndo = \"pause\"\n", 2, "at_ms"},
      {"[[step]]\nat_ms = 1\n", 1, "without do"},
      {"[[step]]\ndo = \"pause\"\n", 1, "without at_ms"},
      {"[[step]]\nat_ms = 1\ndo = \"pause\"\nwhen = 3\n", 4, "unknown key"},
      {"[[step]]\nat_ms = 1\ndo = \"get 1502/1\"\n", 3, "only reads"},
      {"[[step]]\nat_ms = 1\ndo = \"pause\"\n[[step]\n", 4, ""},  // TOML syntax
      {"speed = 3\n", 1, "unknown key"},
  };
  for (const Case& c : cases) {
    TempFile f(c.text);
    auto steps = LoadScenario(f.path());
    ASSERT_FALSE(steps.ok()) << c.text;
    EXPECT_EQ(steps.error().message.rfind(f.path() + ":" + std::to_string(c.line) + ": ", 0), 0u)
        << steps.error().message;
    EXPECT_NE(steps.error().message.find(c.reason), std::string::npos) << steps.error().message;
  }
  auto missing = LoadScenario("/nonexistent/liftsim.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "/nonexistent/liftsim.toml:0: cannot open: No such file or directory");
}

TEST(Scenario, ShippedScenariosLoad) {
  for (const char* name : {"trapped.toml", "link_faults.toml"}) {
    auto steps = LoadScenario(std::string(LG_SOURCE_DIR) + "/drivers/sim/scenarios/" + name);
    ASSERT_TRUE(steps.ok()) << steps.error().message;
    EXPECT_FALSE(steps->empty());
  }
}

// ---------------------------------------------------------------------------
// SimServer over loopback

class Control {
 public:
  explicit Control(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ADD_FAILURE() << "cannot connect to the control port " << port;
    }
  }
  ~Control() { ::close(fd_); }
  std::string Cmd(const std::string& line) {
    std::string l = line + "\n";
    EXPECT_EQ(::send(fd_, l.data(), l.size(), MSG_NOSIGNAL), static_cast<ssize_t>(l.size()));
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string r = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return r;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return "<timeout>";
      char b[4096];
      ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) return "<closed>";
      buf_.append(b, static_cast<size_t>(n));
    }
  }
  // "ok ... key=value ..." -> value
  std::map<std::string, std::string> Fields(const std::string& line) {
    std::map<std::string, std::string> m;
    std::istringstream in(line);
    std::string w;
    while (in >> w) {
      size_t eq = w.find('=');
      if (eq != std::string::npos) m[w.substr(0, eq)] = w.substr(eq + 1);
    }
    return m;
  }
  void Ok(const std::string& line) {
    std::string r = Cmd(line);
    EXPECT_EQ(r.rfind("ok", 0), 0u) << line << " -> " << r;
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

struct ModbusCtx {
  modbus_t* ctx = nullptr;
  ModbusCtx(int port, int unit, int timeout_ms = 1000) {
    ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_set_slave(ctx, unit);
    modbus_set_response_timeout(ctx, timeout_ms / 1000, (timeout_ms % 1000) * 1000);
    EXPECT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
  }
  ~ModbusCtx() {
    modbus_close(ctx);
    modbus_free(ctx);
  }
  // Returns 0 or the errno of the failure.
  int ReadInput(int addr, int n, uint16_t* out) {
    int rc = modbus_read_input_registers(ctx, addr, n, out);
    return rc == n ? 0 : errno;
  }
  int ReadHolding(int addr, int n, uint16_t* out) {
    int rc = modbus_read_registers(ctx, addr, n, out);
    return rc == n ? 0 : errno;
  }
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimOptions o;
    o.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1, 2, 3}});
    o.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1, 5}});
    o.control_host = "127.0.0.1";
    o.control_port = 0;
    o.is_static = true;
    server_ = std::make_unique<SimServer>(std::move(o));
    ASSERT_TRUE(server_->Open().ok());
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->tcp_port(0);
    port2_ = server_->tcp_port(1);
    link_ = std::to_string(port_);
    link2_ = std::to_string(port2_);
    ctl_ = std::make_unique<Control>(server_->control_port());
  }
  void TearDown() override {
    ctl_.reset();
    server_->Stop();
  }
  std::string Car(int unit) const { return link_ + "/" + std::to_string(unit); }

  std::unique_ptr<SimServer> server_;
  std::unique_ptr<Control> ctl_;
  int port_ = 0, port2_ = 0;
  std::string link_, link2_;
};

TEST_F(ServerTest, ServesTheMapPerUnit) {
  EXPECT_EQ(server_->link_names(), (std::vector<std::string>{link_, link2_}));
  EXPECT_EQ(server_->car_count(), 5u);
  ModbusCtx m(port_, 3);
  uint16_t r[13];
  ASSERT_EQ(m.ReadInput(0, 13, r), 0) << modbus_strerror(errno);
  EXPECT_EQ(r[0], (1 << 0) | (1 << 3) | (1 << 8) | (1 << 11) | (1 << 12) | (1 << 13));
  EXPECT_EQ(r[1], 2);  // unit 3 stands at floor 2
  EXPECT_EQ((r[5] << 16) | r[6], 100003);
  EXPECT_EQ(r[12], 0);
  uint16_t h[11];
  ASSERT_EQ(m.ReadHolding(100, 11, h), 0);
  EXPECT_EQ(h[0], 1750);
  EXPECT_EQ(h[1], 9);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], ('L' << 8) | 'I');
  ASSERT_EQ(m.ReadHolding(101, 2, h), 0);  // any part of the block
  EXPECT_EQ(h[0], 9);
  // Other units on the same connection, and the other link.
  modbus_set_slave(m.ctx, 1);
  ASSERT_EQ(m.ReadInput(1, 1, r), 0);
  EXPECT_EQ(r[0], 0);
  ModbusCtx m2(port2_, 5);
  ASSERT_EQ(m2.ReadInput(1, 1, r), 0);
  EXPECT_EQ(r[0], 4);
  // Heartbeat moves every 200 ms.
  ASSERT_EQ(m.ReadInput(11, 1, r), 0);
  const uint16_t hb = r[0];
  std::this_thread::sleep_for(std::chrono::milliseconds(650));
  ASSERT_EQ(m.ReadInput(11, 1, r), 0);
  EXPECT_GE(static_cast<uint16_t>(r[0] - hb), 3);
}

TEST_F(ServerTest, RefusesAndCountsEverythingElse) {
  ctl_->Ok("clear_counts");
  ModbusCtx m(port_, 1);
  uint16_t r[20];
  uint8_t bits[8];
  EXPECT_EQ(m.ReadInput(13, 1, r), EMBXILADD);
  EXPECT_EQ(m.ReadInput(0, 14, r), EMBXILADD);
  EXPECT_EQ(m.ReadInput(12, 2, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(0, 1, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(99, 2, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(110, 2, r), EMBXILADD);
  EXPECT_EQ(modbus_read_bits(m.ctx, 0, 1, bits), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_read_input_bits(m.ctx, 0, 1, bits), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_bit(m.ctx, 0, 1), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_register(m.ctx, 0, 1), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  const uint16_t v[2] = {1, 2};
  EXPECT_EQ(modbus_write_registers(m.ctx, 100, 2, v), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_bits(m.ctx, 0, 2, bits), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_mask_write_register(m.ctx, 0, 1, 2), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_and_read_registers(m.ctx, 0, 1, v, 0, 1, r), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  // Unknown unit behind the gateway.
  modbus_set_slave(m.ctx, 9);
  EXPECT_EQ(m.ReadInput(0, 13, r), EMBXGTAR);

  EXPECT_EQ(ctl_->Cmd("fcodes " + link_), "ok 1=1 2=1 3=3 4=4 5=1 6=1 15=1 16=1 22=1 23=1");
  EXPECT_EQ(ctl_->Cmd("fcodes " + link2_), "ok");
  EXPECT_EQ(ctl_->Cmd("fcodes"), "ok 1=1 2=1 3=3 4=4 5=1 6=1 15=1 16=1 22=1 23=1");
  EXPECT_EQ(ctl_->Cmd("requests " + link_), "ok 15");
  EXPECT_EQ(ctl_->Cmd("requests " + Car(1)), "ok 14");
  EXPECT_EQ(ctl_->Cmd("requests " + Car(2)), "ok 0");
}

TEST_F(ServerTest, SetGetReleaseAndFaultsShowInTheRegisters) {
  ModbusCtx m(port_, 2);
  uint16_t r[13];
  const std::string t1 = ctl_->Cmd("now");
  const std::string set = ctl_->Cmd("set " + Car(2) + " floor -3");
  ASSERT_EQ(set.rfind("ok t=", 0), 0u) << set;
  EXPECT_GT(std::stoll(set.substr(5)), std::stoll(t1.substr(3)));
  ASSERT_EQ(m.ReadInput(0, 13, r), 0);
  EXPECT_EQ(static_cast<int16_t>(r[1]), -3);
  auto f = ctl_->Fields(ctl_->Cmd("get " + Car(2)));
  EXPECT_EQ(f["floor"], "-3");
  EXPECT_EQ(f["model"], "LIFTSIM-1");
  EXPECT_EQ(f.size(), static_cast<size_t>(kFieldCount));

  ctl_->Ok("set " + Car(2) + " door_zone 0");
  ctl_->Ok("set " + Car(2) + " model TEST-CTRL");
  ASSERT_EQ(m.ReadInput(0, 1, r), 0);
  EXPECT_EQ(r[0] & (1 << 3), 0);
  uint16_t h[11];
  ASSERT_EQ(m.ReadHolding(103, 8, h), 0);
  EXPECT_EQ(h[0], ('T' << 8) | 'E');
  ctl_->Ok("release " + Car(2) + " floor");
  ASSERT_EQ(m.ReadInput(0, 13, r), 0);
  EXPECT_EQ(r[1], 1);
  EXPECT_EQ(r[0] & (1 << 3), 0);  // door_zone still set
  ctl_->Ok("release " + Car(2));
  ASSERT_EQ(m.ReadInput(0, 1, r), 0);
  EXPECT_NE(r[0] & (1 << 3), 0);

  ctl_->Ok("fault " + Car(2) + " trapped_between_floors on");
  ASSERT_EQ(m.ReadInput(0, 13, r), 0);
  EXPECT_EQ(r[0] & ((1 << 0) | (1 << 3) | (1 << 4) | (1 << 8) | (1 << 9)),
            (1 << 0) | (1 << 8) | (1 << 9));  // auto, closed, occupied, not zone, not moving
  ctl_->Ok("fault " + Car(2) + " controller_fault on 77");
  ASSERT_EQ(m.ReadInput(2, 1, r), 0);
  EXPECT_EQ(r[0], 77);
  ctl_->Ok("fault " + Car(2) + " controller_fault off");
  ctl_->Ok("fault " + Car(2) + " trapped_between_floors off");
  ASSERT_EQ(m.ReadInput(0, 13, r), 0);
  EXPECT_EQ(r[0], (1 << 0) | (1 << 3) | (1 << 8) | (1 << 11) | (1 << 12) | (1 << 13));
  EXPECT_EQ(r[2], 0);

  EXPECT_EQ(ctl_->Cmd("set " + link_ + "/9 floor 1"), "err unknown car " + link_ + "/9");
  EXPECT_EQ(ctl_->Cmd("get 4444/1"), "err unknown link 4444");
  EXPECT_EQ(ctl_->Cmd("frobnicate").rfind("err unknown command", 0), 0u);
  EXPECT_EQ(ctl_->Cmd("pause").rfind("ok t=", 0), 0u);
  EXPECT_EQ(ctl_->Cmd("resume").rfind("ok t=", 0), 0u);
}

TEST_F(ServerTest, CommsLostAndFrozenController) {
  ModbusCtx m(port_, 1, 300);
  uint16_t r[13];
  ctl_->Ok("fault " + Car(1) + " comms_lost on");
  EXPECT_EQ(m.ReadInput(0, 13, r), ETIMEDOUT);
  modbus_flush(m.ctx);
  modbus_set_slave(m.ctx, 2);  // the others on the link still answer
  EXPECT_EQ(m.ReadInput(0, 13, r), 0);
  ctl_->Ok("fault " + Car(1) + " comms_lost off");
  modbus_set_slave(m.ctx, 1);
  EXPECT_EQ(m.ReadInput(0, 13, r), 0);

  ctl_->Ok("fault " + Car(1) + " controller_frozen on");
  ASSERT_EQ(m.ReadInput(11, 1, r), 0);
  const uint16_t hb = r[0];
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(m.ReadInput(11, 1, r), 0);
  EXPECT_EQ(r[0], hb);
}

TEST_F(ServerTest, Misbehaviours) {
  uint16_t r[13];
  auto timed = [](const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0)
        .count();
  };
  {
    SCOPED_TRACE("silent");
    ctl_->Ok("misbehave " + link_ + " silent");
    ModbusCtx m(port_, 1, 300);
    EXPECT_EQ(m.ReadInput(0, 13, r), ETIMEDOUT);
    modbus_set_slave(m.ctx, 42);  // the link is silent, unknown units too
    EXPECT_EQ(m.ReadInput(0, 13, r), ETIMEDOUT);
    ctl_->Ok("misbehave " + link_ + " normal");
  }
  {
    SCOPED_TRACE("exception");
    ctl_->Ok("misbehave " + Car(1) + " exception 4");
    ModbusCtx m(port_, 1);
    EXPECT_EQ(m.ReadInput(0, 13, r), EMBXSFAIL);
    modbus_set_slave(m.ctx, 2);  // a car-level misbehaviour is that car's only
    EXPECT_EQ(m.ReadInput(0, 13, r), 0);
    ctl_->Ok("misbehave " + Car(1) + " exception 6");
    modbus_set_slave(m.ctx, 1);
    EXPECT_EQ(m.ReadInput(0, 13, r), EMBXSBUSY);
    ctl_->Ok("misbehave " + Car(1) + " normal");
    EXPECT_EQ(m.ReadInput(0, 13, r), 0);
  }
  {
    SCOPED_TRACE("bad_tid");
    ctl_->Ok("misbehave " + Car(2) + " bad_tid");
    ModbusCtx m(port_, 2);
    EXPECT_EQ(m.ReadInput(0, 13, r), EMBBADDATA);
    ctl_->Ok("misbehave " + Car(2) + " normal");
  }
  {
    SCOPED_TRACE("short");
    ctl_->Ok("misbehave " + Car(2) + " short");
    ModbusCtx m(port_, 2);
    EXPECT_EQ(m.ReadInput(0, 13, r), EMBBADDATA);
    ctl_->Ok("misbehave " + Car(2) + " normal");
    EXPECT_EQ(m.ReadInput(0, 13, r), 0);  // the stream stayed in step
  }
  {
    SCOPED_TRACE("truncate");
    ctl_->Ok("misbehave " + Car(2) + " truncate");
    ModbusCtx m(port_, 2, 300);
    EXPECT_EQ(m.ReadInput(0, 13, r), ETIMEDOUT);
    ctl_->Ok("misbehave " + Car(2) + " normal");
  }
  {
    SCOPED_TRACE("garbage");
    ctl_->Ok("misbehave " + Car(2) + " garbage");
    ModbusCtx m(port_, 2, 300);
    EXPECT_NE(m.ReadInput(0, 13, r), 0);
    ctl_->Ok("misbehave " + Car(2) + " normal");
  }
  {
    SCOPED_TRACE("delay");
    ctl_->Ok("misbehave " + Car(1) + " delay 400");
    ModbusCtx slow(port_, 1, 2000);
    ModbusCtx fast(port_, 2, 2000);
    int64_t fast_ms = -1;
    std::thread other([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      uint16_t x[13];
      fast_ms = timed([&] { EXPECT_EQ(fast.ReadInput(0, 13, x), 0); });
    });
    const int64_t slow_ms = timed([&] { EXPECT_EQ(slow.ReadInput(0, 13, r), 0); });
    other.join();
    EXPECT_GE(slow_ms, 390);
    EXPECT_LT(fast_ms, 150) << "a delayed car held up another connection";
    ModbusCtx impatient(port_, 1, 200);
    EXPECT_EQ(impatient.ReadInput(0, 13, r), ETIMEDOUT);
    ctl_->Ok("misbehave " + Car(1) + " normal");
  }
  {
    SCOPED_TRACE("bytewise");
    ctl_->Ok("misbehave " + link_ + " bytewise 10");
    ModbusCtx m(port_, 3, 2000);
    const int64_t ms = timed([&] { EXPECT_EQ(m.ReadInput(0, 13, r), 0); });
    EXPECT_GE(ms, 10 * (7 + 2 + 26 - 1) - 5);
    EXPECT_EQ(r[1], 2);
    ctl_->Ok("misbehave " + link_ + " normal");
  }
  {
    SCOPED_TRACE("drop");
    ctl_->Ok("misbehave " + link_ + " drop");
    ModbusCtx m(port_, 1, 500);
    EXPECT_NE(m.ReadInput(0, 13, r), 0);
    ctl_->Ok("misbehave " + link_ + " normal");
    ModbusCtx again(port_, 1, 500);
    EXPECT_EQ(again.ReadInput(0, 13, r), 0);
  }
  {
    SCOPED_TRACE("link normal clears the cars");
    ctl_->Ok("misbehave " + Car(3) + " silent");
    ctl_->Ok("misbehave " + link_ + " normal");
    ModbusCtx m(port_, 3, 300);
    EXPECT_EQ(m.ReadInput(0, 13, r), 0);
  }
}

TEST_F(ServerTest, ManyConnectionsAndPipelinedRequests) {
  std::vector<std::unique_ptr<ModbusCtx>> conns;
  for (int i = 0; i < 40; ++i) conns.push_back(std::make_unique<ModbusCtx>(port_, 1 + i % 3));
  uint16_t r[13];
  for (int round = 0; round < 5; ++round) {
    for (size_t i = 0; i < conns.size(); ++i) {
      ASSERT_EQ(conns[i]->ReadInput(0, 13, r), 0);
      EXPECT_EQ(r[1], static_cast<uint16_t>(i % 3));
    }
  }
  // Two requests in one segment get two replies, in order.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const uint8_t two[] = {0, 1, 0, 0, 0, 6, 1, 4, 0, 1, 0, 1, 0, 2, 0, 0, 0, 6, 3, 4, 0, 1, 0, 1};
  ASSERT_EQ(::send(fd, two, sizeof two, 0), static_cast<ssize_t>(sizeof two));
  uint8_t got[22];
  size_t n = 0;
  while (n < sizeof got) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 2000), 0);
    ssize_t k = ::recv(fd, got + n, sizeof got - n, 0);
    ASSERT_GT(k, 0);
    n += static_cast<size_t>(k);
  }
  ::close(fd);
  const uint8_t want[] = {0, 1, 0, 0, 0, 5, 1, 4, 2, 0, 0, 0, 2, 0, 0, 0, 5, 3, 4, 2, 0, 2};
  EXPECT_EQ(std::vector<uint8_t>(got, got + 22), std::vector<uint8_t>(want, want + 22));
}

TEST(ServerDynamic, ScenarioNamingAMissingLinkIsRefusedAndCarsMove) {
  TempFile scen(
      "[[step]]\n"
      "at_ms = 0\n"
      "do = \"fault 2/1 out_of_service on\"\n");
  SimOptions o;
  o.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1, 2}});
  o.control_port = 0;
  o.scenario_path = scen.path();
  SimServer bad(o);
  Status s = bad.Open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "scenario");
  EXPECT_NE(s.error().message.find(scen.path() + ":3: unknown link 2"), std::string::npos)
      << s.error().message;

  SimOptions p;
  p.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1, 2}});
  p.control_port = 0;
  p.seed = 5;
  SimServer server(p);
  ASSERT_TRUE(server.Open().ok());
  ASSERT_TRUE(server.Start().ok());
  Control ctl(server.control_port());
  const std::string car = std::to_string(server.tcp_port(0)) + "/1";
  std::set<std::string> states;
  for (int i = 0; i < 40; ++i) {
    auto f = ctl.Fields(ctl.Cmd("get " + car));
    states.insert(f["floor"] + "/" + f["door_open"] + "/" + f["moving"] + "/" + f["heartbeat"]);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GT(states.size(), 15u);  // at least the heartbeat moves
  server.Stop();
}

// ---------------------------------------------------------------------------
// SimServer serving a map file (maps/vendor-x.toml)

std::string VendorXPath() { return std::string(LG_SOURCE_DIR) + "/maps/vendor-x.toml"; }

std::shared_ptr<const drivers::RegisterMap> VendorXMap() {
  auto r = drivers::RegisterMap::LoadFile(VendorXPath());
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : nullptr;
}

// Reads `blocks` from the unit `ctx` is set to, with the plain libmodbus
// read of each table, as the daemon does. Returns 0 or the errno.
int ReadBlocks(modbus_t* ctx, const std::vector<drivers::ReadBlock>& blocks,
               std::vector<std::vector<uint16_t>>& out) {
  out.clear();
  for (const drivers::ReadBlock& b : blocks) {
    std::vector<uint16_t> v(b.count);
    std::vector<uint8_t> bits(b.count);
    int rc = -1;
    switch (b.table) {
      case drivers::Table::kCoils:
        rc = modbus_read_bits(ctx, b.address, b.count, bits.data());
        std::copy(bits.begin(), bits.end(), v.begin());
        break;
      case drivers::Table::kDiscreteInputs:
        rc = modbus_read_input_bits(ctx, b.address, b.count, bits.data());
        std::copy(bits.begin(), bits.end(), v.begin());
        break;
      case drivers::Table::kHoldingRegisters:
        rc = modbus_read_registers(ctx, b.address, b.count, v.data());
        break;
      case drivers::Table::kInputRegisters:
        rc = modbus_read_input_registers(ctx, b.address, b.count, v.data());
        break;
    }
    if (rc != b.count) return errno;
    out.push_back(std::move(v));
  }
  return 0;
}

struct DecodedCar {
  Sample sample;
  ControllerInfo info;
};

// Polls and reads the controller info of one unit over Modbus, and decodes
// both with `map`, as the daemon would.
DecodedCar ReadAndDecode(modbus_t* ctx, const drivers::RegisterMap& map) {
  DecodedCar d;
  std::vector<std::vector<uint16_t>> raw;
  EXPECT_EQ(ReadBlocks(ctx, map.poll_blocks(), raw), 0) << modbus_strerror(errno);
  std::vector<drivers::RawBlock> spans(raw.begin(), raw.end());
  Status st = map.DecodePoll(spans, d.sample);
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(ReadBlocks(ctx, map.info_blocks(), raw), 0) << modbus_strerror(errno);
  spans.assign(raw.begin(), raw.end());
  auto info = map.DecodeInfo(spans);
  EXPECT_TRUE(info.ok()) << info.error().message;
  if (info.ok()) d.info = *info;
  return d;
}

// The decoded car is what `get` reported: every field, numbers within the
// map's rounding (float32 speed in m/s, load in 0.1 %). The heartbeat moves
// while we read, so it only has to lie between two `get`s.
void ExpectDecodedIsGet(const DecodedCar& d, std::map<std::string, std::string> get,
                        std::map<std::string, std::string> get_after) {
  for (int i = 0; i < static_cast<int>(Field::kRatedSpeed); ++i) {
    const Field f = static_cast<Field>(i);
    const std::string name(FieldName(f));
    ASSERT_TRUE(d.sample.Has(f)) << name;
    ASSERT_EQ(get.count(name), 1u) << name;
    if (IsFlag(f)) {
      EXPECT_EQ(d.sample.Flag(f) ? "1" : "0", get[name]) << name;
    } else if (f == Field::kHeartbeat) {
      EXPECT_GE(d.sample.Number(f), std::stod(get[name]));
      EXPECT_LE(d.sample.Number(f), std::stod(get_after[name]));
    } else {
      EXPECT_EQ(get[name], get_after[name]) << name << " changed while reading";
      const double tolerance = f == Field::kSpeed ? 0.01 : 1e-6;
      EXPECT_NEAR(d.sample.Number(f), std::stod(get[name]), tolerance) << name;
    }
  }
  EXPECT_EQ(d.info.rated_speed_mm_s, std::stoi(get["rated_speed"]));
  EXPECT_EQ(d.info.top_floor, std::stoi(get["top_floor"]));
  EXPECT_EQ(d.info.bottom_floor, std::stoi(get["bottom_floor"]));
  EXPECT_EQ(d.info.model, get["model"]);
}

class VendorXServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    map_ = VendorXMap();
    ASSERT_NE(map_, nullptr);
    SimOptions o;
    TcpLinkSpec vx{"127.0.0.1", 0, {1, 2}};
    vx.map = VendorXPath();
    o.tcp.push_back(vx);
    o.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1}});  // ref-1 on the side
    o.control_host = "127.0.0.1";
    o.control_port = 0;
    o.is_static = true;
    o.bottom_floor = -2;  // the installation of vendor-x.toml: landing 1 is B2
    o.top_floor = 18;
    server_ = std::make_unique<SimServer>(std::move(o));
    Status st = server_->Open();
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->tcp_port(0);
    ref_port_ = server_->tcp_port(1);
    link_ = std::to_string(port_);
    ctl_ = std::make_unique<Control>(server_->control_port());
  }
  void TearDown() override {
    ctl_.reset();
    if (server_) server_->Stop();
  }
  std::string Car(int unit) const { return link_ + "/" + std::to_string(unit); }
  // Reads and decodes the car, between two `get`s, and checks they agree.
  DecodedCar Check(ModbusCtx& m, int unit) {
    modbus_set_slave(m.ctx, unit);
    auto before = ctl_->Fields(ctl_->Cmd("get " + Car(unit)));
    DecodedCar d = ReadAndDecode(m.ctx, *map_);
    auto after = ctl_->Fields(ctl_->Cmd("get " + Car(unit)));
    ExpectDecodedIsGet(d, before, after);
    return d;
  }
  uint16_t Holding(ModbusCtx& m, int address) {
    uint16_t v = 0xDEAD;
    EXPECT_EQ(m.ReadHolding(address, 1, &v), 0) << modbus_strerror(errno);
    return v;
  }
  int Bit(ModbusCtx& m, bool coil, int address) {
    uint8_t b = 0xFF;
    const int rc = coil ? modbus_read_bits(m.ctx, address, 1, &b)
                        : modbus_read_input_bits(m.ctx, address, 1, &b);
    EXPECT_EQ(rc, 1) << modbus_strerror(errno);
    return b;
  }

  std::shared_ptr<const drivers::RegisterMap> map_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<Control> ctl_;
  int port_ = 0, ref_port_ = 0;
  std::string link_;
};

TEST_F(VendorXServerTest, ServesTheMakesRegistersThatDecodeToWhatGetReports) {
  ModbusCtx m(port_, 1);
  DecodedCar d = Check(m, 1);
  EXPECT_EQ(d.sample.floor(), -2);
  EXPECT_EQ(d.sample.mode(), Mode::kAuto);
  EXPECT_EQ(d.info.top_floor, 18);
  EXPECT_EQ(d.info.model, "LIFTSIM-1");
  // The make's own layout, raw: landing numbers, fault bits clear for "ok",
  // the service key switch closed, the rescue relay off.
  uint16_t h[16];
  ASSERT_EQ(m.ReadHolding(0x1000, 16, h), 0) << modbus_strerror(errno);
  EXPECT_EQ(h[0], 1 << 3 | 1 << 5 | 1 << 9);  // door_zone, door_closed, auto
  EXPECT_EQ(h[1], 1);                         // landing 1 = floor -2
  EXPECT_EQ(h[7], 0);                         // no power failure
  EXPECT_EQ(h[8], 0);                         // the hole the daemon reads through
  EXPECT_EQ(h[10] | h[11] << 16, 100001);     // trips, low word first
  EXPECT_EQ(h[14] << 16 | h[15], 1001);       // run_hours, high word first
  uint16_t info[14];
  ASSERT_EQ(m.ReadHolding(0x2000, 14, info), 0);
  EXPECT_EQ(info[0], 175);  // cm/s
  EXPECT_EQ(info[1], 21);   // top landing
  EXPECT_EQ(info[2], 1);
  EXPECT_EQ(info[4], 'L' << 8 | 'I');
  uint8_t bits[3];
  ASSERT_EQ(modbus_read_input_bits(m.ctx, 12, 3, bits), 3);
  EXPECT_EQ(bits[0], 0);  // fire recall switch off
  EXPECT_EQ(bits[2], 1);  // service switch closed: in service
  EXPECT_EQ(Bit(m, true, 6), 0);

  // Values set by hand come back through the map's scale, offset and types.
  ctl_->Ok("set " + Car(2) + " speed 1600");
  ctl_->Ok("set " + Car(2) + " load 75");
  ctl_->Ok("set " + Car(2) + " trips 4000000000");
  ctl_->Ok("set " + Car(2) + " floor 17");
  ctl_->Ok("set " + Car(2) + " model VX-9000");
  ctl_->Ok("set " + Car(2) + " overload 1");
  DecodedCar d2 = Check(m, 2);
  EXPECT_NEAR(d2.sample.Number(Field::kSpeed), 1600, 0.01);
  EXPECT_NEAR(d2.sample.Number(Field::kLoad), 75, 1e-9);
  EXPECT_EQ(d2.sample.Number(Field::kTrips), 4000000000.0);
  EXPECT_EQ(d2.sample.floor(), 17);
  EXPECT_TRUE(d2.sample.Flag(Field::kOverload));
  EXPECT_EQ(d2.info.model, "VX-9000");
  EXPECT_EQ(Holding(m, 0x1005), 750);  // 0.1 %
  ctl_->Ok("release " + Car(2));
  Check(m, 2);

  // The ref-1 link of the same simulator is unchanged.
  ModbusCtx ref(ref_port_, 1);
  uint16_t r[13];
  ASSERT_EQ(ref.ReadInput(0, 13, r), 0);
  EXPECT_EQ(static_cast<int16_t>(r[1]), -2);
  DecodedCar rd = ReadAndDecode(ref.ctx, *drivers::RegisterMap::Ref1());
  EXPECT_EQ(rd.sample.floor(), -2);
  EXPECT_EQ(rd.info.top_floor, 18);
}

TEST_F(VendorXServerTest, FaultsShowInTheDecodedSample) {
  ModbusCtx m(port_, 1);
  ctl_->Ok("fault " + Car(1) + " trapped_between_floors on");
  DecodedCar d = Check(m, 1);
  EXPECT_TRUE(d.sample.Flag(Field::kOccupied));
  EXPECT_FALSE(d.sample.Flag(Field::kMoving));
  EXPECT_FALSE(d.sample.Flag(Field::kDoorZone));
  EXPECT_TRUE(d.sample.Flag(Field::kDoorClosed));
  EXPECT_TRUE(d.sample.Flag(Field::kAuto));
  EXPECT_EQ(d.sample.Number(Field::kSpeed), 0);
  EXPECT_EQ(d.sample.mode(), Mode::kAuto);

  // The controller's code, which the map's fault table translates.
  ctl_->Ok("fault " + Car(1) + " controller_fault on 42");
  d = Check(m, 1);
  EXPECT_EQ(d.sample.Number(Field::kFaultCode), 42);
  EXPECT_EQ(Holding(m, 0x1002), 42);
  const drivers::FaultText* text =
      map_->FaultFor(static_cast<uint32_t>(d.sample.Number(Field::kFaultCode)));
  ASSERT_NE(text, nullptr);
  EXPECT_NE(text->text.find("brake monitoring fault"), std::string::npos);
  EXPECT_EQ(text->severity, "critical");
  ctl_->Ok("fault " + Car(1) + " controller_fault off");
  ctl_->Ok("fault " + Car(1) + " trapped_between_floors off");
  d = Check(m, 1);
  EXPECT_FALSE(d.sample.Flag(Field::kOccupied));
  EXPECT_EQ(d.sample.Number(Field::kFaultCode), 0);

  // Inverted bits: the make reports the fault, the sample the "ok".
  ctl_->Ok("fault " + Car(1) + " safety_circuit_open on");
  d = Check(m, 1);
  EXPECT_FALSE(d.sample.Flag(Field::kSafetyChainOk));
  EXPECT_NE(Holding(m, 0x1000) & (1 << 7), 0);
  ctl_->Ok("fault " + Car(1) + " safety_circuit_open off");
  ctl_->Ok("fault " + Car(1) + " power_failure on");
  d = Check(m, 1);
  EXPECT_FALSE(d.sample.Flag(Field::kMainPowerOk));
  EXPECT_EQ(Holding(m, 0x1007) & 1, 1);
  ctl_->Ok("fault " + Car(1) + " power_failure off");
  ctl_->Ok("fault " + Car(1) + " door_lock_fault on");
  d = Check(m, 1);
  EXPECT_FALSE(d.sample.Flag(Field::kDoorLockOk));
  EXPECT_NE(Holding(m, 0x1000) & (1 << 6), 0);
  ctl_->Ok("fault " + Car(1) + " door_lock_fault off");

  // Coils and discrete inputs.
  ctl_->Ok("fault " + Car(1) + " emergency_power on");
  d = Check(m, 1);
  EXPECT_TRUE(d.sample.Flag(Field::kEmergencyPower));
  EXPECT_EQ(Bit(m, true, 6), 1);
  ctl_->Ok("fault " + Car(1) + " emergency_power off");
  ctl_->Ok("fault " + Car(1) + " out_of_service on");
  d = Check(m, 1);
  EXPECT_TRUE(d.sample.Flag(Field::kOutOfService));
  EXPECT_EQ(d.sample.mode(), Mode::kOutOfService);
  EXPECT_EQ(Bit(m, false, 14), 0);  // service switch open
  ctl_->Ok("fault " + Car(1) + " out_of_service off");
  ctl_->Ok("fault " + Car(1) + " fire_service on");
  d = Check(m, 1);
  EXPECT_TRUE(d.sample.Flag(Field::kFireService));
  EXPECT_EQ(Bit(m, false, 12), 1);
  ctl_->Ok("fault " + Car(1) + " fire_service off");
  ctl_->Ok("fault " + Car(1) + " overspeed on");
  d = Check(m, 1);
  EXPECT_NEAR(d.sample.Number(Field::kSpeed), 2187, 0.01);  // 1.25 x rated, whole mm/s
  EXPECT_TRUE(d.sample.Flag(Field::kDirDown));
  ctl_->Ok("fault " + Car(1) + " overspeed off");
  ctl_->Ok("fault " + Car(1) + " top_overrun on");
  d = Check(m, 1);
  EXPECT_TRUE(d.sample.Flag(Field::kTopLimit));
  EXPECT_EQ(d.sample.floor(), 18);
}

TEST_F(VendorXServerTest, RefusesWhatTheMapDoesNotCoverAndCountsIt) {
  ctl_->Ok("clear_counts");
  ModbusCtx m(port_, 1);
  uint16_t r[20];
  uint8_t bits[20];
  EXPECT_EQ(m.ReadInput(0, 1, r), EMBXILFUN);  // vendor-x has no input registers
  EXPECT_EQ(m.ReadHolding(0x0FFF, 1, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(0x0FFF, 2, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(0x100F, 2, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(0x1010, 1, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(0x200E, 1, r), EMBXILADD);
  EXPECT_EQ(m.ReadHolding(100, 11, r), EMBXILADD);  // ref-1's info block
  EXPECT_EQ(m.ReadHolding(0x1008, 2, r), 0);        // a hole inside a block reads 0
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(m.ReadHolding(0x200D, 1, r), 0);
  EXPECT_EQ(modbus_read_bits(m.ctx, 5, 1, bits), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_bits(m.ctx, 6, 2, bits), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_input_bits(m.ctx, 11, 2, bits), -1);
  EXPECT_EQ(errno, EMBXILADD);
  EXPECT_EQ(modbus_read_input_bits(m.ctx, 13, 2, bits), 2);
  EXPECT_EQ(modbus_write_register(m.ctx, 0x1000, 1), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_write_bit(m.ctx, 6, 1), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(ctl_->Cmd("fcodes " + link_), "ok 1=2 2=2 3=8 4=1 5=1 6=1");
  EXPECT_EQ(ctl_->Cmd("requests " + Car(1)), "ok 15");

  // The ref-1 link still has no coils.
  ModbusCtx ref(ref_port_, 1);
  EXPECT_EQ(modbus_read_bits(ref.ctx, 6, 1, bits), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(ref.ReadHolding(0x1000, 1, r), EMBXILADD);
}

TEST_F(VendorXServerTest, MisbehavioursOnEveryTable) {
  ModbusCtx m(port_, 1, 300);
  uint16_t r[16];
  uint8_t bits[3];
  ctl_->Ok("misbehave " + Car(1) + " short");
  EXPECT_EQ(m.ReadHolding(0x1000, 16, r), EMBBADDATA);
  EXPECT_EQ(modbus_read_input_bits(m.ctx, 12, 3, bits), -1);
  EXPECT_EQ(errno, EMBBADDATA);
  ctl_->Ok("misbehave " + Car(1) + " exception 6");
  EXPECT_EQ(modbus_read_bits(m.ctx, 6, 1, bits), -1);
  EXPECT_EQ(errno, EMBXSBUSY);
  ctl_->Ok("misbehave " + Car(1) + " normal");
  EXPECT_EQ(m.ReadHolding(0x1000, 16, r), 0);
  ctl_->Ok("fault " + Car(1) + " comms_lost on");
  EXPECT_EQ(modbus_read_bits(m.ctx, 6, 1, bits), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
}

TEST(ServerMaps, MovingCarsDecodeToWhatGetReportsWhenPaused) {
  auto map = VendorXMap();
  ASSERT_NE(map, nullptr);
  SimOptions o;
  TcpLinkSpec vx{"127.0.0.1", 0, {1, 2, 3, 4}};
  vx.map = VendorXPath();
  o.tcp.push_back(vx);
  o.control_port = 0;
  o.seed = 11;
  o.bottom_floor = -2;
  o.top_floor = 12;
  SimServer server(o);
  ASSERT_TRUE(server.Open().ok());
  ASSERT_TRUE(server.Start().ok());
  Control ctl(server.control_port());
  const std::string link = std::to_string(server.tcp_port(0));
  ModbusCtx m(server.tcp_port(0), 1);
  bool saw_speed = false;
  for (int round = 0; round < 30 && !saw_speed; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ctl.Ok("pause");
    for (int unit = 1; unit <= 4; ++unit) {
      SCOPED_TRACE("unit " + std::to_string(unit));
      modbus_set_slave(m.ctx, unit);
      const std::string car = link + "/" + std::to_string(unit);
      auto before = ctl.Fields(ctl.Cmd("get " + car));
      DecodedCar d = ReadAndDecode(m.ctx, *map);
      auto after = ctl.Fields(ctl.Cmd("get " + car));
      ExpectDecodedIsGet(d, before, after);
      saw_speed = saw_speed || d.sample.Number(Field::kSpeed) > 0;
    }
    ctl.Ok("resume");
  }
  EXPECT_TRUE(saw_speed) << "no car was caught moving";
  server.Stop();
}

TEST(ServerMaps, ABadMapFileIsRefusedAtOpen) {
  SimOptions o;
  TcpLinkSpec t{"127.0.0.1", 0, {1}};
  t.map = "/nonexistent/map.toml";
  o.tcp.push_back(t);
  o.control_port = 0;
  SimServer missing(o);
  Status s = missing.Open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "config");
  EXPECT_NE(s.error().message.find("/nonexistent/map.toml"), std::string::npos)
      << s.error().message;

  TempFile bad(
      "name = \"bad\"\n"
      "[fields.floor]\n"
      "table = \"write_holding\"\n"
      "address = 1\n"
      "type = \"int16\"\n");
  SimOptions p;
  p.tcp.push_back(TcpLinkSpec{"127.0.0.1", 0, {1}});
  RtuLinkSpec r{"/dev/null", 19200, 'N', 8, 1, {1}};
  r.map = bad.path();
  p.rtu.push_back(r);
  p.control_port = 0;
  SimServer refused(p);
  s = refused.Open();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "config");
  EXPECT_NE(s.error().message.find(bad.path() + ":3: "), std::string::npos) << s.error().message;
}

// ---------------------------------------------------------------------------
// RTU over a socat pty pair

class Socat {
 public:
  Socat() {
    int err[2];
    if (pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], 2);
      ::close(err[0]);
      ::close(err[1]);
      execlp("socat", "socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0", nullptr);
      _exit(127);
    }
    ::close(err[1]);
    std::string text;
    while (ptys_.size() < 2) {
      pollfd p{err[0], POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      char b[512];
      ssize_t n = ::read(err[0], b, sizeof b);
      if (n <= 0) break;
      text.append(b, static_cast<size_t>(n));
      ptys_.clear();
      for (size_t at = text.find("PTY is "); at != std::string::npos;
           at = text.find("PTY is ", at + 1)) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) break;
        ptys_.push_back(text.substr(at + 7, end - at - 7));
      }
    }
    err_fd_ = err[0];
  }
  ~Socat() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  bool ok() const { return ptys_.size() == 2; }
  const std::string& a() const { return ptys_[0]; }
  const std::string& b() const { return ptys_[1]; }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::vector<std::string> ptys_;
};

TEST(ServerRtu, TwoUnitsOnOneBus) {
  Socat socat;
  ASSERT_TRUE(socat.ok()) << "socat did not start";
  SimOptions o;
  o.rtu.push_back(RtuLinkSpec{socat.a(), 19200, 'E', 8, 1, {1, 2}});
  o.control_port = 0;
  o.is_static = true;
  SimServer server(o);
  ASSERT_TRUE(server.Open().ok());
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(server.link_names(), std::vector<std::string>{"rtu0"});
  Control ctl(server.control_port());

  modbus_t* ctx = modbus_new_rtu(socat.b().c_str(), 19200, 'E', 8, 1);
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
  modbus_set_response_timeout(ctx, 0, 400000);
  uint16_t r[13];
  auto read = [&](int unit, int addr, int n) {
    modbus_set_slave(ctx, unit);
    int rc = modbus_read_input_registers(ctx, addr, n, r);
    int e = rc == n ? 0 : errno;
    if (e != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      modbus_flush(ctx);
    }
    return e;
  };
  ASSERT_EQ(read(1, 0, 13), 0) << modbus_strerror(errno);
  EXPECT_EQ(r[1], 0);
  EXPECT_EQ(r[0], (1 << 0) | (1 << 3) | (1 << 8) | (1 << 11) | (1 << 12) | (1 << 13));
  ASSERT_EQ(read(2, 0, 13), 0);
  EXPECT_EQ(r[1], 1);
  uint16_t h[11];
  modbus_set_slave(ctx, 2);
  ASSERT_EQ(modbus_read_registers(ctx, 100, 11, h), 11);
  EXPECT_EQ(h[0], 1750);
  EXPECT_EQ(read(3, 0, 13), ETIMEDOUT);  // nobody there: no reply
  EXPECT_EQ(read(1, 13, 1), EMBXILADD);
  modbus_set_slave(ctx, 1);
  EXPECT_EQ(modbus_write_register(ctx, 100, 5), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  uint8_t id[32];
  EXPECT_EQ(modbus_report_slave_id(ctx, sizeof id, id), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  // A function code without a known request length: framed by silence.
  const uint8_t raw[] = {1, 0x41, 0x00};
  ASSERT_EQ(modbus_send_raw_request(ctx, raw, sizeof raw), 5);
  uint8_t rsp[MODBUS_RTU_MAX_ADU_LENGTH];
  EXPECT_EQ(modbus_receive_confirmation(ctx, rsp), 5);
  EXPECT_EQ(rsp[1], 0xC1);
  EXPECT_EQ(rsp[2], 1);

  EXPECT_EQ(ctl.Cmd("fcodes rtu0"), "ok 3=1 4=4 6=1 17=1 65=1");
  EXPECT_EQ(ctl.Cmd("requests rtu0/1"), "ok 5");
  EXPECT_EQ(ctl.Cmd("requests rtu0/2"), "ok 2");

  ctl.Ok("set rtu0/2 floor 7");
  ASSERT_EQ(read(2, 1, 1), 0);
  EXPECT_EQ(r[0], 7);
  ctl.Ok("misbehave rtu0/2 bad_tid");
  EXPECT_NE(read(2, 0, 13), 0);
  ASSERT_EQ(read(1, 0, 13), 0);
  ctl.Ok("misbehave rtu0/2 exception 6");
  EXPECT_EQ(read(2, 0, 13), EMBXSBUSY);
  ctl.Ok("misbehave rtu0/2 bytewise 3");
  ASSERT_EQ(read(2, 0, 13), 0);
  EXPECT_EQ(r[1], 7);
  ctl.Ok("misbehave rtu0/2 short");
  EXPECT_EQ(read(2, 0, 13), EMBBADDATA);
  ctl.Ok("misbehave rtu0/2 garbage");
  EXPECT_NE(read(2, 0, 13), 0);
  ctl.Ok("misbehave rtu0 silent");
  EXPECT_EQ(read(1, 0, 13), ETIMEDOUT);
  ctl.Ok("misbehave rtu0 normal");
  ASSERT_EQ(read(1, 0, 13), 0);
  ASSERT_EQ(read(2, 0, 13), 0);
  ctl.Ok("fault rtu0/1 comms_lost on");
  EXPECT_EQ(read(1, 0, 13), ETIMEDOUT);
  ASSERT_EQ(read(2, 0, 13), 0);

  modbus_close(ctx);
  modbus_free(ctx);
  server.Stop();
}

TEST(ServerRtu, ServesAMapFile) {
  auto map = VendorXMap();
  ASSERT_NE(map, nullptr);
  Socat socat;
  ASSERT_TRUE(socat.ok()) << "socat did not start";
  SimOptions o;
  RtuLinkSpec spec{socat.a(), 19200, 'E', 8, 1, {1, 2}};
  spec.map = VendorXPath();
  o.rtu.push_back(spec);
  o.control_port = 0;
  o.is_static = true;
  o.bottom_floor = -2;
  SimServer server(o);
  ASSERT_TRUE(server.Open().ok());
  ASSERT_TRUE(server.Start().ok());
  Control ctl(server.control_port());

  modbus_t* ctx = modbus_new_rtu(socat.b().c_str(), 19200, 'E', 8, 1);
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
  modbus_set_response_timeout(ctx, 0, 400000);
  ctl.Ok("fault rtu0/2 trapped_between_floors on");
  for (int unit = 1; unit <= 2; ++unit) {
    SCOPED_TRACE("unit " + std::to_string(unit));
    modbus_set_slave(ctx, unit);
    const std::string car = "rtu0/" + std::to_string(unit);
    auto before = ctl.Fields(ctl.Cmd("get " + car));
    DecodedCar d = ReadAndDecode(ctx, *map);
    auto after = ctl.Fields(ctl.Cmd("get " + car));
    ExpectDecodedIsGet(d, before, after);
    EXPECT_EQ(d.sample.floor(), unit - 3);
    EXPECT_EQ(d.sample.Flag(Field::kOccupied), unit == 2);
  }
  uint16_t r[1];
  modbus_set_slave(ctx, 1);
  EXPECT_EQ(modbus_read_input_registers(ctx, 0, 1, r), -1);
  EXPECT_EQ(errno, EMBXILFUN);
  EXPECT_EQ(modbus_read_registers(ctx, 0x1010, 1, r), -1);
  EXPECT_EQ(errno, EMBXILADD);
  modbus_close(ctx);
  modbus_free(ctx);
  server.Stop();
}

// ---------------------------------------------------------------------------
// The liftsim process

struct Process {
  pid_t pid = -1;
  int out = -1, err = -1;
  std::string out_text, err_text;

  explicit Process(const std::vector<std::string>& args) {
    int o[2], e[2];
    if (pipe(o) != 0 || pipe(e) != 0) return;
    pid = fork();
    if (pid == 0) {
      dup2(o[1], 1);
      dup2(e[1], 2);
      ::close(o[0]);
      ::close(e[0]);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    ::close(o[1]);
    ::close(e[1]);
    out = o[0];
    err = e[0];
  }
  ~Process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    ::close(out);
    ::close(err);
  }
  // Reads stdout and stderr until `want` is on stdout or the process ends.
  bool WaitFor(const std::string& want, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out_text.find(want) == std::string::npos) {
      pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0 || poll(p, 2, left) <= 0) return false;
      bool any = false;
      for (int i = 0; i < 2; ++i) {
        if (p[i].revents == 0) continue;
        char b[4096];
        ssize_t n = ::read(p[i].fd, b, sizeof b);
        if (n > 0) {
          (i == 0 ? out_text : err_text).append(b, static_cast<size_t>(n));
          any = true;
        }
      }
      if (!any) return out_text.find(want) != std::string::npos;
    }
    return true;
  }
  int Wait() {
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    // Drain stderr.
    char b[4096];
    ssize_t n;
    while ((n = ::read(err, b, sizeof b)) > 0) err_text.append(b, static_cast<size_t>(n));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

std::string LiftsimPath() { return std::string(LG_BINARY_DIR) + "/drivers/sim/liftsim"; }

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(LiftsimProcess, ReadyScenarioAndCleanExit) {
  if (access(LiftsimPath().c_str(), X_OK) != 0) GTEST_SKIP() << "build the liftsim target first";
  const int port = FreePort();
  const int cport = FreePort();
  const std::string link = std::to_string(port);
  TempFile scen("[[step]]\nat_ms = 0\ndo = \"fault " + link +
                "/2 trapped_at_floor on\"\n[[step]]\nat_ms = 0\ndo = \"misbehave " + link +
                "/1 exception 4\"\n[[step]]\nat_ms = 700\ndo = \"set " + link +
                "/1 fault_code 12\"\n");
  Process p({LiftsimPath(), "--tcp", "127.0.0.1:" + link + ":1-2", "--control",
             "127.0.0.1:" + std::to_string(cport), "--static", "--scenario", scen.path(),
             "--floors", "-1:5"});
  ASSERT_TRUE(p.WaitFor("liftsim ready\n")) << p.err_text;
  EXPECT_EQ(p.out_text, "liftsim ready\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    Control ctl(cport);
    auto f = ctl.Fields(ctl.Cmd("get " + link + "/2"));
    EXPECT_EQ(f["occupied"], "1");
    EXPECT_EQ(f["floor"], "0");
    EXPECT_EQ(f["bottom_floor"], "-1");
    ModbusCtx m(port, 1);
    uint16_t r[13];
    EXPECT_EQ(m.ReadInput(0, 13, r), EMBXSFAIL);
    EXPECT_EQ(ctl.Fields(ctl.Cmd("get " + link + "/1"))["fault_code"], "0");
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_EQ(ctl.Fields(ctl.Cmd("get " + link + "/1"))["fault_code"], "12");
  }
  kill(p.pid, SIGTERM);
  EXPECT_EQ(p.Wait(), 0);
}

TEST(LiftsimProcess, BadCommandLineAndBadScenarioExit2) {
  if (access(LiftsimPath().c_str(), X_OK) != 0) GTEST_SKIP() << "build the liftsim target first";
  {
    Process p({LiftsimPath(), "--tcp", "127.0.0.1:1502:3-1", "--control", "127.0.0.1:0"});
    EXPECT_EQ(p.Wait(), 2);
    EXPECT_NE(p.err_text.find("backwards"), std::string::npos) << p.err_text;
    EXPECT_NE(p.err_text.find("usage:"), std::string::npos);
  }
  {
    TempFile scen("[[step]]\nat_ms = 0\n\ndo = \"fault 1/1 ucm sideways\"\n");
    Process p({LiftsimPath(), "--tcp", "127.0.0.1:0:1", "--control", "127.0.0.1:0", "--scenario",
               scen.path()});
    EXPECT_EQ(p.Wait(), 2);
    EXPECT_NE(p.err_text.find(scen.path() + ":4: expected on or off"), std::string::npos)
        << p.err_text;
  }
  {
    const int port = FreePort();
    int fd = socket(AF_INET, SOCK_STREAM, 0);  // hold the port
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(fd, 1), 0);
    Process p({LiftsimPath(), "--tcp", "127.0.0.1:" + std::to_string(port) + ":1", "--control",
               "127.0.0.1:0"});
    EXPECT_EQ(p.Wait(), 1);
    EXPECT_NE(p.err_text.find("bind"), std::string::npos) << p.err_text;
    ::close(fd);
  }
}

TEST(LiftsimProcess, ServesAMapFileAndRefusesABadOne) {
  if (access(LiftsimPath().c_str(), X_OK) != 0) GTEST_SKIP() << "build the liftsim target first";
  {
    const int port = FreePort();
    const int cport = FreePort();
    const std::string link = std::to_string(port);
    Process p({LiftsimPath(), "--tcp", "127.0.0.1:" + link + ":1-2:" + VendorXPath(), "--tcp",
               "127.0.0.1:0:1", "--control", "127.0.0.1:" + std::to_string(cport), "--static"});
    ASSERT_TRUE(p.WaitFor("liftsim ready\n")) << p.err_text;
    {
      Control ctl(cport);
      ctl.Ok("fault " + link + "/2 controller_fault on 51");
      ModbusCtx m(port, 2);
      uint16_t h[3];
      ASSERT_EQ(m.ReadHolding(0x1000, 3, h), 0) << modbus_strerror(errno);
      EXPECT_EQ(h[1], 4);  // floor 1 (unit 2, floors 0..9) is landing 4
      EXPECT_EQ(h[2], 51);
    }
    kill(p.pid, SIGTERM);
    EXPECT_EQ(p.Wait(), 0);
  }
  {
    Process p(
        {LiftsimPath(), "--tcp", "127.0.0.1:0:1:/nonexistent/vx.toml", "--control", "127.0.0.1:0"});
    EXPECT_EQ(p.Wait(), 2);
    EXPECT_NE(p.err_text.find("/nonexistent/vx.toml"), std::string::npos) << p.err_text;
  }
}

}  // namespace
}  // namespace lg::sim
