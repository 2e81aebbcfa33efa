// Sample's derived views (core/sample.h): mode precedence, direction, door
// state, and the field-name table.
#include "core/sample.h"

#include <gtest/gtest.h>

namespace lg {
namespace {

TEST(SampleTest, FieldNamesRoundTrip) {
  for (int i = 0; i < kFieldCount; ++i) {
    Field f = static_cast<Field>(i);
    std::string_view name = FieldName(f);
    ASSERT_NE(name, "?") << i;
    std::optional<Field> back = FieldFromName(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, f) << name;
  }
}

TEST(SampleTest, FieldNamesFollowTheSpec) {
  EXPECT_EQ(FieldName(Field::kAuto), "auto");
  EXPECT_EQ(FieldName(Field::kSafetyChainOk), "safety_chain_ok");
  EXPECT_EQ(FieldName(Field::kEmergencyPower), "emergency_power");
  EXPECT_EQ(FieldName(Field::kRunHours), "run_hours");
  EXPECT_EQ(FieldName(Field::kModel), "model");
  EXPECT_EQ(FieldName(Field::kCount), "?");
}

TEST(SampleTest, UnknownFieldName) {
  EXPECT_FALSE(FieldFromName("door_zoen").has_value());
  EXPECT_FALSE(FieldFromName("").has_value());
  EXPECT_FALSE(FieldFromName("Auto").has_value());
}

TEST(SampleTest, FlagsAndNumbersAreSeparate) {
  EXPECT_TRUE(IsFlag(Field::kEmergencyPower));
  EXPECT_FALSE(IsFlag(Field::kFloor));
  EXPECT_TRUE(IsPolledField(Field::kHeartbeat));
  EXPECT_FALSE(IsPolledField(Field::kRatedSpeed));
  EXPECT_FALSE(IsPolledField(Field::kModel));
}

TEST(SampleTest, AbsentFieldsReadAsZero) {
  Sample s;
  EXPECT_FALSE(s.Has(Field::kFloor));
  EXPECT_EQ(s.Number(Field::kFloor), 0);
  EXPECT_FALSE(s.Flag(Field::kMoving));
  s.SetNumber(Field::kFloor, -2);
  s.SetFlag(Field::kMoving, false);
  EXPECT_TRUE(s.Has(Field::kFloor));
  EXPECT_TRUE(s.Has(Field::kMoving));
  EXPECT_EQ(s.floor(), -2);
  EXPECT_FALSE(s.Flag(Field::kMoving));
}

TEST(SampleTest, SettersIgnoreTheWrongKind) {
  Sample s;
  s.SetFlag(Field::kFloor, true);
  s.SetNumber(Field::kMoving, 3);
  s.SetNumber(Field::kModel, 3);
  EXPECT_FALSE(s.Has(Field::kFloor));
  EXPECT_FALSE(s.Has(Field::kMoving));
  EXPECT_FALSE(s.Has(Field::kModel));
  EXPECT_EQ(s.Number(Field::kMoving), 0);
}

TEST(SampleTest, HeartbeatIsUnsigned) {
  Sample s;
  s.SetNumber(Field::kHeartbeat, 65535);
  EXPECT_EQ(s.heartbeat(), 65535u);
}

TEST(SampleTest, ModeUnknownWithoutAnyModeBit) {
  Sample s;
  EXPECT_EQ(s.mode(), Mode::kUnknown);
  s.SetFlag(Field::kAuto, false);
  EXPECT_EQ(s.mode(), Mode::kUnknown);
  EXPECT_EQ(ModeName(s.mode()), "unknown");
}

TEST(SampleTest, ModeEachBitAlone) {
  struct Case {
    Field bit;
    Mode mode;
    std::string_view name;
  };
  for (const Case& c : {Case{Field::kAuto, Mode::kAuto, "auto"},
                        Case{Field::kInspection, Mode::kInspection, "inspection"},
                        Case{Field::kFireService, Mode::kFireService, "fire_service"},
                        Case{Field::kOutOfService, Mode::kOutOfService, "out_of_service"},
                        Case{Field::kEmergencyPower, Mode::kEmergencyPower, "emergency_power"}}) {
    Sample s;
    s.SetFlag(c.bit, true);
    EXPECT_EQ(s.mode(), c.mode) << FieldName(c.bit);
    EXPECT_EQ(ModeName(s.mode()), c.name);
  }
}

TEST(SampleTest, ModePrecedence) {
  // out of service > fire service > inspection > emergency power > auto
  Sample s;
  s.SetFlag(Field::kAuto, true);
  EXPECT_EQ(s.mode(), Mode::kAuto);
  s.SetFlag(Field::kEmergencyPower, true);
  EXPECT_EQ(s.mode(), Mode::kEmergencyPower);
  s.SetFlag(Field::kInspection, true);
  EXPECT_EQ(s.mode(), Mode::kInspection);
  s.SetFlag(Field::kFireService, true);
  EXPECT_EQ(s.mode(), Mode::kFireService);
  s.SetFlag(Field::kOutOfService, true);
  EXPECT_EQ(s.mode(), Mode::kOutOfService);
  // Taking the top one away reveals the next.
  s.SetFlag(Field::kOutOfService, false);
  EXPECT_EQ(s.mode(), Mode::kFireService);
  s.SetFlag(Field::kFireService, false);
  s.SetFlag(Field::kInspection, false);
  EXPECT_EQ(s.mode(), Mode::kEmergencyPower);
}

TEST(SampleTest, Direction) {
  Sample s;
  EXPECT_EQ(s.direction(), Direction::kNone);
  EXPECT_EQ(DirectionName(s.direction()), "none");
  s.SetFlag(Field::kDirUp, true);
  EXPECT_EQ(s.direction(), Direction::kUp);
  EXPECT_EQ(DirectionName(s.direction()), "up");
  s.SetFlag(Field::kDirUp, false);
  s.SetFlag(Field::kDirDown, true);
  EXPECT_EQ(s.direction(), Direction::kDown);
  EXPECT_EQ(DirectionName(s.direction()), "down");
}

TEST(SampleTest, DoorUnknownWhenTheMapHasNoDoorBits) {
  Sample s;
  EXPECT_EQ(s.door(), DoorState::kUnknown);
  EXPECT_EQ(DoorStateName(s.door()), "unknown");
}

TEST(SampleTest, DoorStates) {
  Sample s;
  s.SetFlag(Field::kDoorOpen, true);
  s.SetFlag(Field::kDoorClosed, false);
  EXPECT_EQ(s.door(), DoorState::kOpen);
  EXPECT_EQ(DoorStateName(s.door()), "open");
  s.SetFlag(Field::kDoorOpen, false);
  s.SetFlag(Field::kDoorClosed, true);
  EXPECT_EQ(s.door(), DoorState::kClosed);
  EXPECT_EQ(DoorStateName(s.door()), "closed");
  // Neither fully open nor closed: the door is on its way.
  s.SetFlag(Field::kDoorClosed, false);
  EXPECT_EQ(s.door(), DoorState::kMoving);
  EXPECT_EQ(DoorStateName(s.door()), "moving");
}

TEST(SampleTest, DoorWithOnlyOneBitMapped) {
  Sample s;
  s.SetFlag(Field::kDoorClosed, true);
  EXPECT_EQ(s.door(), DoorState::kClosed);
  s.SetFlag(Field::kDoorClosed, false);
  EXPECT_EQ(s.door(), DoorState::kMoving);
}

}  // namespace
}  // namespace lg
