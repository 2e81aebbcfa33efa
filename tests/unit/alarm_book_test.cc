// The alarm lifecycle (rules/alarm_book.h) against shared/spec/faults.md:
// ISA-18.2 states, deduplication, suppression, shelving, chattering, flood
// digest, and restore after a restart. Time is simulated: every call gets
// its time from the test.
#include "rules/alarm_book.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace lg::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const WallTime kT0 = WallTime(seconds(1'790'000'000));
WallTime At(int64_t s) { return kT0 + seconds(s); }

Finding F(AlarmType type, bool active, int64_t at_s, std::string message = "") {
  Finding f;
  f.type = type;
  f.active = active;
  f.severity = DefaultSeverity(type);
  f.message = message.empty() ? std::string(AlarmTypeName(type)) : message;
  f.wall_at = At(at_s);
  return f;
}

class AlarmBookTest : public ::testing::Test {
 protected:
  Update Raise(const std::string& car, AlarmType t, int64_t at_s,
               std::optional<SuppressionCause> cause = std::nullopt) {
    return book.OnFinding(car, F(t, true, at_s), cause);
  }
  Update Clear(const std::string& car, AlarmType t, int64_t at_s) {
    return book.OnFinding(car, F(t, false, at_s), std::nullopt);
  }
  // Raises and returns the one transition it must give.
  Transition RaiseOne(const std::string& car, AlarmType t, int64_t at_s,
                      std::optional<SuppressionCause> cause = std::nullopt) {
    Update u = Raise(car, t, at_s, cause);
    EXPECT_EQ(u.transitions.size(), 1u);
    return u.transitions.empty() ? Transition{} : u.transitions.back();
  }

  RulesConfig rules;
  AlarmBook book{rules};
};

// --- Names ----------------------------------------------------------------

TEST(AlarmBookNames, RoundTrip) {
  for (auto s : {AlarmState::kUnack, AlarmState::kAcked, AlarmState::kRtnUnack, AlarmState::kClosed,
                 AlarmState::kShelved, AlarmState::kSuppressed}) {
    EXPECT_EQ(AlarmStateFromName(AlarmStateName(s)), s);
  }
  EXPECT_EQ(AlarmStateName(AlarmState::kRtnUnack), "rtn_unack");
  EXPECT_FALSE(AlarmStateFromName("active").has_value());
  for (auto c : {SuppressionCause::kInspection, SuppressionCause::kOutOfService,
                 SuppressionCause::kMaintenanceWindow}) {
    EXPECT_EQ(SuppressionCauseFromName(SuppressionCauseName(c)), c);
  }
  for (auto n : {Notify::kNone, Notify::kNow, Notify::kDigest, Notify::kSuppressedByChatter}) {
    EXPECT_EQ(NotifyFromName(NotifyName(n)), n);
  }
  for (int i = 0; i <= static_cast<int>(TransitionKind::kRetired); ++i) {
    auto k = static_cast<TransitionKind>(i);
    EXPECT_NE(TransitionKindName(k), "?");
    EXPECT_EQ(TransitionKindFromName(TransitionKindName(k)), k);
  }
}

// --- Lifecycle --------------------------------------------------------------

TEST_F(AlarmBookTest, RaiseCarriesEverythingTheStoreNeeds) {
  Finding f = F(AlarmType::kTrapped, true, 10, "trapped between floors for 30 s");
  f.subtype = "between_floors";
  Update u = book.OnFinding("E1", f, std::nullopt);
  ASSERT_EQ(u.transitions.size(), 1u);
  const Transition& t = u.transitions[0];
  EXPECT_EQ(t.alarm_id, 1u);
  EXPECT_EQ(t.elevator, "E1");
  EXPECT_EQ(t.type, AlarmType::kTrapped);
  EXPECT_FALSE(t.from_state.has_value());
  EXPECT_EQ(t.to_state, AlarmState::kUnack);
  EXPECT_EQ(t.kind, TransitionKind::kRaised);
  EXPECT_EQ(t.at, At(10));
  EXPECT_EQ(t.who, "system");
  EXPECT_EQ(t.note, "trapped between floors for 30 s");
  EXPECT_EQ(t.notify, Notify::kNow);
  EXPECT_EQ(t.alarm.id, 1u);
  EXPECT_EQ(t.alarm.state, AlarmState::kUnack);
  EXPECT_TRUE(t.alarm.active);
  EXPECT_FALSE(t.alarm.acked);
  EXPECT_EQ(t.alarm.severity, Severity::kCritical);
  EXPECT_EQ(t.alarm.subtype, "between_floors");
  EXPECT_EQ(t.alarm.raised_at, At(10));
  EXPECT_EQ(t.alarm.revision, 1u);
  EXPECT_EQ(t.alarm.updated_at, At(10));
  EXPECT_FALSE(u.digest.has_value());
  EXPECT_EQ(u.flood, FloodChange::kNone);
}

TEST_F(AlarmBookTest, UnackAckedClosed) {
  AlarmId id = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  auto ack = book.Ack(id, "wang", "called the contractor", At(5));
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(ack->from_state, AlarmState::kUnack);
  EXPECT_EQ(ack->to_state, AlarmState::kAcked);
  EXPECT_EQ(ack->kind, TransitionKind::kAcked);
  EXPECT_EQ(ack->who, "wang");
  EXPECT_EQ(ack->note, "called the contractor");
  EXPECT_EQ(ack->notify, Notify::kNone);
  EXPECT_EQ(ack->alarm.acked_by, "wang");
  EXPECT_EQ(ack->alarm.acked_at, At(5));
  EXPECT_EQ(ack->alarm.revision, 2u);
  EXPECT_EQ(book.Get(id)->state, AlarmState::kAcked);

  Update u = Clear("E1", AlarmType::kPowerFailure, 9);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].from_state, AlarmState::kAcked);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kClosed);
  EXPECT_EQ(u.transitions[0].kind, TransitionKind::kCleared);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
  EXPECT_EQ(u.transitions[0].alarm.closed_at, At(9));
  EXPECT_EQ(u.transitions[0].alarm.cleared_at, At(9));
  EXPECT_FALSE(book.Get(id).has_value());  // closed alarms leave the book
  EXPECT_TRUE(book.Open().empty());
}

TEST_F(AlarmBookTest, UnackRtnUnackClosed) {
  AlarmId id = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;
  Update u = Clear("E1", AlarmType::kBrakeFault, 4);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kRtnUnack);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
  EXPECT_EQ(book.Get(id)->state, AlarmState::kRtnUnack);
  EXPECT_FALSE(book.Get(id)->active);

  auto ack = book.Ack(id, "li", "", At(8));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->from_state, AlarmState::kRtnUnack);
  EXPECT_EQ(ack->to_state, AlarmState::kClosed);
  EXPECT_EQ(ack->alarm.closed_at, At(8));
  EXPECT_FALSE(book.Get(id).has_value());
}

TEST_F(AlarmBookTest, AckRefusals) {
  AlarmId id = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  auto no_who = book.Ack(id, "", "note", At(1));
  ASSERT_FALSE(no_who.ok());
  EXPECT_EQ(no_who.error().code, "missing_who");

  ASSERT_TRUE(book.Ack(id, "wang", "", At(2)).ok());
  auto again = book.Ack(id, "li", "", At(3));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "already_acknowledged");
  EXPECT_NE(again.error().message.find("wang"), std::string::npos) << again.error().message;

  (void)Clear("E1", AlarmType::kPowerFailure, 4);  // closed
  auto closed = book.Ack(id, "li", "", At(5));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code, "closed");

  auto unknown = book.Ack(999, "li", "", At(5));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");

  AlarmId sup =
      RaiseOne("E2", AlarmType::kSafetyCircuitOpen, 6, SuppressionCause::kInspection).alarm_id;
  auto suppressed = book.Ack(sup, "li", "", At(7));
  ASSERT_FALSE(suppressed.ok());
  EXPECT_EQ(suppressed.error().code, "suppressed");
  EXPECT_NE(suppressed.error().message.find("inspection"), std::string::npos);
}

TEST_F(AlarmBookTest, AlarmButtonClosesOnlyWhenReleasedAndAcknowledged) {
  // Released first: waits for the acknowledgement.
  AlarmId a = RaiseOne("E1", AlarmType::kAlarmButton, 0).alarm_id;
  (void)Clear("E1", AlarmType::kAlarmButton, 2);
  EXPECT_EQ(book.Get(a)->state, AlarmState::kRtnUnack);
  ASSERT_TRUE(book.Ack(a, "guard", "spoke to the passenger", At(3)).ok());
  EXPECT_FALSE(book.Get(a).has_value());
  // Acknowledged first: waits for the release.
  AlarmId b = RaiseOne("E1", AlarmType::kAlarmButton, 10).alarm_id;
  EXPECT_NE(a, b);
  ASSERT_TRUE(book.Ack(b, "guard", "", At(11)).ok());
  EXPECT_EQ(book.Get(b)->state, AlarmState::kAcked);
  Update u = Clear("E1", AlarmType::kAlarmButton, 20);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kClosed);
}

// --- Deduplication -----------------------------------------------------------

TEST_F(AlarmBookTest, OneAlarmPerCarAndType) {
  AlarmId id = RaiseOne("E1", AlarmType::kDoorLockFault, 0).alarm_id;
  EXPECT_TRUE(Raise("E1", AlarmType::kDoorLockFault, 5).transitions.empty());
  ASSERT_TRUE(book.Ack(id, "wang", "", At(6)).ok());
  EXPECT_TRUE(Raise("E1", AlarmType::kDoorLockFault, 7).transitions.empty());
  EXPECT_EQ(book.Open().size(), 1u);
  // Another car or another type is another alarm.
  EXPECT_NE(RaiseOne("E2", AlarmType::kDoorLockFault, 8).alarm_id, id);
  EXPECT_NE(RaiseOne("E1", AlarmType::kBrakeFault, 9).alarm_id, id);
  EXPECT_EQ(book.Open().size(), 3u);
  EXPECT_EQ(book.OpenFor("E1").size(), 2u);
  EXPECT_EQ(book.OpenFor("E1", AlarmType::kDoorLockFault)->id, id);
}

TEST_F(AlarmBookTest, DuplicateRaiseWithNewDetailsUpdatesWithoutNotifying) {
  Finding f = F(AlarmType::kControllerFault, true, 0, "E35: door lock short-circuit");
  f.subtype = "35";
  AlarmId id = book.OnFinding("E1", f, std::nullopt).transitions.at(0).alarm_id;
  f.subtype = "40";
  f.message = "E40: overload";
  f.wall_at = At(3);
  Update u = book.OnFinding("E1", f, std::nullopt);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].kind, TransitionKind::kDetailsChanged);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
  EXPECT_EQ(u.transitions[0].alarm_id, id);
  EXPECT_EQ(book.Get(id)->subtype, "40");
}

TEST_F(AlarmBookTest, RaiseAfterCloseMakesANewAlarm) {
  AlarmId first = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Ack(first, "wang", "", At(1)).ok());
  (void)Clear("E1", AlarmType::kPowerFailure, 2);
  Transition t = RaiseOne("E1", AlarmType::kPowerFailure, 100);
  EXPECT_EQ(t.kind, TransitionKind::kRaised);
  EXPECT_GT(t.alarm_id, first);
  EXPECT_EQ(t.notify, Notify::kNow);
}

TEST_F(AlarmBookTest, RaiseWhileRtnUnackReactivatesTheSameAlarm) {
  AlarmId id = RaiseOne("E1", AlarmType::kStopOutsideDoorZone, 0).alarm_id;
  (void)Clear("E1", AlarmType::kStopOutsideDoorZone, 20);
  Transition t = RaiseOne("E1", AlarmType::kStopOutsideDoorZone, 300);
  EXPECT_EQ(t.alarm_id, id);
  EXPECT_EQ(t.kind, TransitionKind::kReraised);
  EXPECT_EQ(t.from_state, AlarmState::kRtnUnack);
  EXPECT_EQ(t.to_state, AlarmState::kUnack);
  EXPECT_EQ(t.notify, Notify::kNow);
  EXPECT_EQ(t.alarm.raise_count, 2u);
  EXPECT_EQ(t.alarm.raised_at, At(0));
  EXPECT_EQ(t.alarm.last_raised_at, At(300));
  EXPECT_FALSE(t.alarm.cleared_at.has_value());
}

TEST_F(AlarmBookTest, ClearWithoutAlarmDoesNothing) {
  EXPECT_TRUE(Clear("E1", AlarmType::kUcm, 0).transitions.empty());
  (void)RaiseOne("E1", AlarmType::kUcm, 1);
  (void)Clear("E1", AlarmType::kUcm, 2);
  EXPECT_TRUE(Clear("E1", AlarmType::kUcm, 3).transitions.empty());  // already rtn_unack
}

// --- Suppression ---------------------------------------------------------------

TEST_F(AlarmBookTest, SuppressedPerCauseStoredWithReasonAndCounted) {
  const SuppressionCause causes[] = {SuppressionCause::kInspection, SuppressionCause::kOutOfService,
                                     SuppressionCause::kMaintenanceWindow};
  int car = 0;
  for (SuppressionCause cause : causes) {
    for (AlarmType t :
         {AlarmType::kTrapped, AlarmType::kStopOutsideDoorZone, AlarmType::kDoorOpenTooLong,
          AlarmType::kSafetyCircuitOpen, AlarmType::kDoorLockFault, AlarmType::kControllerFault}) {
      Transition tr = RaiseOne("S" + std::to_string(car++), t, 0, cause);
      EXPECT_EQ(tr.to_state, AlarmState::kSuppressed) << AlarmTypeName(t);
      EXPECT_EQ(tr.notify, Notify::kNone);
      EXPECT_EQ(tr.alarm.suppressed_by, cause);
      EXPECT_NE(tr.note.find("suppressed"), std::string::npos);
    }
  }
  AlarmCounts c = book.Counts();
  EXPECT_EQ(c.suppressed, 18u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.suppressed_now_by_cause[i], 6u);
    EXPECT_EQ(c.suppressed_raised_by_cause[i], 6u);
  }
  EXPECT_EQ(c.unack, 0u);
}

TEST_F(AlarmBookTest, CommsLostSuppressedOnlyInAWindow) {
  EXPECT_EQ(RaiseOne("A", AlarmType::kCommsLost, 0, SuppressionCause::kInspection).to_state,
            AlarmState::kUnack);
  EXPECT_EQ(RaiseOne("B", AlarmType::kCommsLost, 0, SuppressionCause::kOutOfService).to_state,
            AlarmState::kUnack);
  EXPECT_EQ(RaiseOne("C", AlarmType::kCommsLost, 0, SuppressionCause::kMaintenanceWindow).to_state,
            AlarmState::kSuppressed);
}

TEST_F(AlarmBookTest, NeverSuppressedTypes) {
  int car = 0;
  for (SuppressionCause cause : {SuppressionCause::kInspection, SuppressionCause::kOutOfService,
                                 SuppressionCause::kMaintenanceWindow}) {
    for (AlarmType t : {AlarmType::kUcm, AlarmType::kOverspeed, AlarmType::kTopOverrun,
                        AlarmType::kBottomOverrun, AlarmType::kDoorOpenWhileMoving}) {
      Transition tr = RaiseOne("N" + std::to_string(car++), t, 0, cause);
      EXPECT_EQ(tr.to_state, AlarmState::kUnack) << AlarmTypeName(t);
      EXPECT_EQ(tr.notify, Notify::kNow);
      EXPECT_FALSE(tr.alarm.suppressed_by.has_value());
    }
  }
  EXPECT_EQ(book.Counts().suppressed, 0u);
}

TEST_F(AlarmBookTest, SuppressedAlarmThatClearsClosesUnnotified) {
  AlarmId id =
      RaiseOne("E1", AlarmType::kDoorOpenTooLong, 0, SuppressionCause::kOutOfService).alarm_id;
  Update u = Clear("E1", AlarmType::kDoorOpenTooLong, 30);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].from_state, AlarmState::kSuppressed);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kClosed);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
  EXPECT_EQ(u.transitions[0].alarm.suppressed_by, SuppressionCause::kOutOfService);
  EXPECT_FALSE(book.Get(id).has_value());
  EXPECT_EQ(book.Counts().suppressed_raised_by_cause[1], 1u);  // still counted
}

TEST_F(AlarmBookTest, SuppressionEndingWhileActiveNotifies) {
  AlarmId id =
      RaiseOne("E1", AlarmType::kSafetyCircuitOpen, 0, SuppressionCause::kInspection).alarm_id;
  AlarmId other = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;  // not suppressible
  // Still in inspection: nothing changes.
  auto inspection = [](AlarmType) { return std::optional(SuppressionCause::kInspection); };
  EXPECT_TRUE(book.OnSuppressionChanged("E1", inspection, At(10)).transitions.empty());
  // Back to auto.
  auto none = [](AlarmType) { return std::optional<SuppressionCause>(); };
  Update u = book.OnSuppressionChanged("E1", none, At(60));
  ASSERT_EQ(u.transitions.size(), 1u);
  const Transition& t = u.transitions[0];
  EXPECT_EQ(t.alarm_id, id);
  EXPECT_EQ(t.kind, TransitionKind::kSuppressionEnded);
  EXPECT_EQ(t.from_state, AlarmState::kSuppressed);
  EXPECT_EQ(t.to_state, AlarmState::kUnack);
  EXPECT_EQ(t.notify, Notify::kNow);
  EXPECT_FALSE(t.alarm.suppressed_by.has_value());
  EXPECT_TRUE(book.Ack(id, "wang", "", At(61)).ok());
  EXPECT_EQ(book.Get(other)->state, AlarmState::kUnack);
}

TEST_F(AlarmBookTest, SuppressionChangingReasonKeepsItSuppressed) {
  AlarmId id =
      RaiseOne("E1", AlarmType::kCommsLost, 0, SuppressionCause::kMaintenanceWindow).alarm_id;
  AlarmId trapped =
      RaiseOne("E1", AlarmType::kTrapped, 0, SuppressionCause::kMaintenanceWindow).alarm_id;
  // Out of service and still inside the window: COMMS_LOST stays suppressed
  // by the window, TRAPPED now by the mode.
  auto oos_in_window = [](AlarmType t) -> std::optional<SuppressionCause> {
    if (IsSuppressible(t, SuppressionCause::kOutOfService)) return SuppressionCause::kOutOfService;
    if (IsSuppressible(t, SuppressionCause::kMaintenanceWindow)) {
      return SuppressionCause::kMaintenanceWindow;
    }
    return std::nullopt;
  };
  Update u = book.OnSuppressionChanged("E1", oos_in_window, At(5));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].alarm_id, trapped);
  EXPECT_EQ(u.transitions[0].kind, TransitionKind::kSuppressionChanged);
  EXPECT_EQ(book.Get(trapped)->suppressed_by, SuppressionCause::kOutOfService);
  EXPECT_EQ(book.Get(id)->state, AlarmState::kSuppressed);
}

TEST_F(AlarmBookTest, SuppressionStartingLeavesOpenAlarmsAlone) {
  AlarmId id = RaiseOne("E1", AlarmType::kSafetyCircuitOpen, 0).alarm_id;
  auto inspection = [](AlarmType) { return std::optional(SuppressionCause::kInspection); };
  EXPECT_TRUE(book.OnSuppressionChanged("E1", inspection, At(5)).transitions.empty());
  EXPECT_EQ(book.Get(id)->state, AlarmState::kUnack);
  // A duplicate raise under suppression does not suppress it either.
  EXPECT_TRUE(Raise("E1", AlarmType::kSafetyCircuitOpen, 6, SuppressionCause::kInspection)
                  .transitions.empty());
}

TEST_F(AlarmBookTest, RaiseWithoutSuppressionReleasesASuppressedAlarm) {
  AlarmId id = RaiseOne("E1", AlarmType::kTrapped, 0, SuppressionCause::kInspection).alarm_id;
  Transition t = RaiseOne("E1", AlarmType::kTrapped, 40);
  EXPECT_EQ(t.alarm_id, id);
  EXPECT_EQ(t.kind, TransitionKind::kSuppressionEnded);
  EXPECT_EQ(t.to_state, AlarmState::kUnack);
  EXPECT_EQ(t.notify, Notify::kNow);
}

// --- Shelving ----------------------------------------------------------------------

TEST_F(AlarmBookTest, ShelveRefusedForForbiddenTypes) {
  int car = 0;
  for (AlarmType t :
       {AlarmType::kTrapped, AlarmType::kUcm, AlarmType::kOverspeed, AlarmType::kTopOverrun,
        AlarmType::kBottomOverrun, AlarmType::kDoorOpenWhileMoving}) {
    AlarmId id = RaiseOne("X" + std::to_string(car++), t, 0).alarm_id;
    auto r = book.Shelve(id, "zhao", "sensor fault", At(3600), At(1));
    ASSERT_FALSE(r.ok()) << AlarmTypeName(t);
    EXPECT_EQ(r.error().code, "not_shelvable");
    EXPECT_NE(r.error().message.find(AlarmTypeName(t)), std::string::npos);
    EXPECT_EQ(book.Get(id)->state, AlarmState::kUnack);
  }
}

TEST_F(AlarmBookTest, ShelveRefusals) {
  AlarmId id = RaiseOne("E1", AlarmType::kDoorOpenTooLong, 0).alarm_id;
  auto code = [&](const std::string& who, const std::string& reason, WallTime until) {
    auto r = book.Shelve(id, who, reason, until, At(10));
    return r.ok() ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code("", "door held for a move", At(3600)), "missing_who");
  EXPECT_EQ(code("zhao", "", At(3600)), "missing_reason");
  EXPECT_EQ(code("zhao", "r", At(10)), "expiry_past");
  EXPECT_EQ(code("zhao", "r", At(5)), "expiry_past");
  EXPECT_EQ(code("zhao", "r", At(10) + hours(24) + seconds(1)), "expiry_too_long");
  EXPECT_EQ(code("zhao", "r", At(10) + hours(24)), "ok");  // the cap itself is allowed
  EXPECT_EQ(code("zhao", "r", At(3600)), "already_shelved");

  AlarmId sup =
      RaiseOne("E2", AlarmType::kDoorOpenTooLong, 0, SuppressionCause::kInspection).alarm_id;
  auto s = book.Shelve(sup, "zhao", "r", At(3600), At(10));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "suppressed");

  AlarmId closed = RaiseOne("E3", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Ack(closed, "wang", "", At(1)).ok());
  (void)Clear("E3", AlarmType::kPowerFailure, 2);
  auto c = book.Shelve(closed, "zhao", "r", At(3600), At(10));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "closed");
}

TEST_F(AlarmBookTest, ShelveCapIsAnOption) {
  AlarmBook::Options o;
  o.max_shelve = hours(1);
  AlarmBook b(rules, o);
  AlarmId id = b.OnFinding("E1", F(AlarmType::kBrakeFault, true, 0), std::nullopt)
                   .transitions.at(0)
                   .alarm_id;
  auto r = b.Shelve(id, "zhao", "r", At(2 * 3600), At(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "expiry_too_long");
  EXPECT_NE(r.error().message.find("1 h"), std::string::npos) << r.error().message;
}

TEST_F(AlarmBookTest, ShelvedUnackReturnsToUnackAtExpiryAndIsNotified) {
  AlarmId id = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;
  auto s = book.Shelve(id, "zhao", "brake sensor being replaced", At(3600), At(10));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->from_state, AlarmState::kUnack);
  EXPECT_EQ(s->to_state, AlarmState::kShelved);
  EXPECT_EQ(s->who, "zhao");
  EXPECT_EQ(s->notify, Notify::kNone);
  ASSERT_TRUE(s->alarm.shelve.has_value());
  EXPECT_EQ(s->alarm.shelve->by, "zhao");
  EXPECT_EQ(s->alarm.shelve->reason, "brake sensor being replaced");
  EXPECT_EQ(s->alarm.shelve->until, At(3600));
  // A duplicate raise while shelved changes nothing.
  EXPECT_TRUE(Raise("E1", AlarmType::kBrakeFault, 20).transitions.empty());

  EXPECT_TRUE(book.OnTime(At(3599)).transitions.empty());
  Update u = book.OnTime(At(3600));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].kind, TransitionKind::kShelveExpired);
  EXPECT_EQ(u.transitions[0].from_state, AlarmState::kShelved);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kUnack);
  EXPECT_EQ(u.transitions[0].who, "system");
  EXPECT_EQ(u.transitions[0].notify, Notify::kNow);
  EXPECT_FALSE(u.transitions[0].alarm.shelve.has_value());
  EXPECT_TRUE(book.OnTime(At(3700)).transitions.empty());
}

TEST_F(AlarmBookTest, ShelvedAckedReturnsToAcked) {
  AlarmId id = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;
  ASSERT_TRUE(book.Ack(id, "wang", "", At(1)).ok());
  ASSERT_TRUE(book.Shelve(id, "zhao", "r", At(600), At(2)).ok());
  Update u = book.OnTime(At(600));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kAcked);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
}

TEST_F(AlarmBookTest, ClearedWhileShelvedReturnsToRtnUnack) {
  AlarmId id = RaiseOne("E1", AlarmType::kControllerFrozen, 0).alarm_id;
  ASSERT_TRUE(book.Shelve(id, "zhao", "controller firmware update", At(600), At(1)).ok());
  Update c = Clear("E1", AlarmType::kControllerFrozen, 100);
  ASSERT_EQ(c.transitions.size(), 1u);  // the fact is stored, the state shown stays
  EXPECT_EQ(c.transitions[0].from_state, AlarmState::kShelved);
  EXPECT_EQ(c.transitions[0].to_state, AlarmState::kShelved);
  EXPECT_FALSE(c.transitions[0].alarm.active);
  Update u = book.OnTime(At(601));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kRtnUnack);
  EXPECT_EQ(u.transitions[0].notify, Notify::kNone);
  ASSERT_TRUE(book.Ack(id, "wang", "", At(602)).ok());
  EXPECT_FALSE(book.Get(id).has_value());
}

TEST_F(AlarmBookTest, ReraisedWhileShelvedStaysShelvedThenReturnsToUnack) {
  AlarmId id = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Shelve(id, "zhao", "r", At(600), At(1)).ok());
  (void)Clear("E1", AlarmType::kPowerFailure, 10);
  Update r = Raise("E1", AlarmType::kPowerFailure, 20);
  ASSERT_EQ(r.transitions.size(), 1u);
  EXPECT_EQ(r.transitions[0].kind, TransitionKind::kReraised);
  EXPECT_EQ(r.transitions[0].to_state, AlarmState::kShelved);
  EXPECT_EQ(r.transitions[0].notify, Notify::kNone);
  EXPECT_EQ(book.OnTime(At(600)).transitions.at(0).to_state, AlarmState::kUnack);
}

TEST_F(AlarmBookTest, AckedThenClearedWhileShelvedCloses) {
  AlarmId id = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Shelve(id, "zhao", "r", At(600), At(1)).ok());
  auto ack = book.Ack(id, "wang", "seen", At(2));  // allowed while shelved
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->to_state, AlarmState::kShelved);
  Update u = Clear("E1", AlarmType::kPowerFailure, 30);
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kClosed);
  EXPECT_FALSE(book.Get(id).has_value());
  EXPECT_TRUE(book.OnTime(At(600)).transitions.empty());  // no expiry for a closed alarm
}

TEST_F(AlarmBookTest, ManualUnshelve) {
  AlarmId id = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  auto not_shelved = book.Unshelve(id, "zhao", "", At(1));
  ASSERT_FALSE(not_shelved.ok());
  EXPECT_EQ(not_shelved.error().code, "not_shelved");
  ASSERT_TRUE(book.Shelve(id, "zhao", "r", At(600), At(1)).ok());
  auto u = book.Unshelve(id, "zhao", "work finished early", At(100));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, TransitionKind::kUnshelved);
  EXPECT_EQ(u->to_state, AlarmState::kUnack);
  EXPECT_EQ(u->who, "zhao");
  EXPECT_EQ(u->notify, Notify::kNow);
  EXPECT_TRUE(book.OnTime(At(600)).transitions.empty());  // the expiry is gone too
}

// --- Chattering ----------------------------------------------------------------------

TEST_F(AlarmBookTest, ChatteringLimitsNotificationsToOnePerTenMinutes) {
  const AlarmType t = AlarmType::kDoorLockFault;
  // raise/clear every 10 s: clears at 5, 15, 25 -> chattering at 25.
  EXPECT_EQ(RaiseOne("E1", t, 0).notify, Notify::kNow);
  (void)Clear("E1", t, 5);
  EXPECT_EQ(RaiseOne("E1", t, 10).notify, Notify::kNow);
  (void)Clear("E1", t, 15);
  EXPECT_EQ(RaiseOne("E1", t, 20).notify, Notify::kNow);  // last notification: 20 s
  EXPECT_FALSE(book.chattering("E1", t));
  Update third = Clear("E1", t, 25);
  ASSERT_EQ(third.transitions.size(), 1u);
  EXPECT_TRUE(third.transitions[0].alarm.chattering);
  EXPECT_NE(third.transitions[0].note.find("chattering"), std::string::npos);
  EXPECT_TRUE(book.chattering("E1", t));

  int now_count = 0;
  int held = 0;
  int64_t s = 30;
  for (; s <= 1250; s += 10) {
    if (s % 20 == 10) {  // 30, 50, ... raise; 40, 60, ... clear
      Transition r = RaiseOne("E1", t, s);
      EXPECT_TRUE(r.alarm.chattering);
      if (r.notify == Notify::kNow) {
        ++now_count;
        EXPECT_TRUE(s == 630 || s == 1230) << s;  // 20 + 600 rounded up to a raise, then +600
      } else {
        EXPECT_EQ(r.notify, Notify::kSuppressedByChatter) << s;
        ++held;
      }
    } else {
      (void)Clear("E1", t, s);
    }
  }
  EXPECT_EQ(now_count, 2);
  EXPECT_GT(held, 50);
  EXPECT_EQ(book.Counts().chattering, 1u);
  EXPECT_EQ(book.Open().size(), 1u);  // still one, visible alarm
}

TEST_F(AlarmBookTest, ChatteringEndsAfterTenQuietMinutes) {
  const AlarmType t = AlarmType::kDoorLockFault;
  AlarmId id = 0;
  for (int i = 0; i < 3; ++i) {
    id = RaiseOne("E1", t, i * 10).alarm_id;
    (void)Clear("E1", t, i * 10 + 5);  // last change at 25 s
  }
  ASSERT_TRUE(book.chattering("E1", t));
  EXPECT_TRUE(book.OnTime(At(624)).transitions.empty());
  Update u = book.OnTime(At(625));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].alarm_id, id);
  EXPECT_EQ(u.transitions[0].kind, TransitionKind::kChatterEnded);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kRtnUnack);
  EXPECT_FALSE(u.transitions[0].alarm.chattering);
  EXPECT_FALSE(book.chattering("E1", t));
  EXPECT_EQ(RaiseOne("E1", t, 700).notify, Notify::kNow);
}

TEST_F(AlarmBookTest, SlowCyclesAreNotChattering) {
  const AlarmType t = AlarmType::kDoorLockFault;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(RaiseOne("E1", t, i * 40).notify, Notify::kNow);
    (void)Clear("E1", t, i * 40 + 5);  // clears 40 s apart: at most 2 in 60 s
  }
  EXPECT_FALSE(book.chattering("E1", t));
}

TEST_F(AlarmBookTest, ChatterThresholdsPerElevator) {
  RulesConfig strict = rules;
  strict.chatter_count = 2;
  book.SetElevatorRules("E2", strict);
  for (const char* car : {"E1", "E2"}) {
    for (int i = 0; i < 2; ++i) {
      (void)Raise(car, AlarmType::kBrakeFault, i * 10);
      (void)Clear(car, AlarmType::kBrakeFault, i * 10 + 5);
    }
  }
  EXPECT_FALSE(book.chattering("E1", AlarmType::kBrakeFault));
  EXPECT_TRUE(book.chattering("E2", AlarmType::kBrakeFault));
}

// --- Flood -----------------------------------------------------------------------------

TEST_F(AlarmBookTest, FloodDigestsNonCriticalAndSendsCriticalAtOnce) {
  // 10 new alarms in 10 minutes: no flood yet.
  for (int i = 0; i < 10; ++i) {
    Update u = Raise("F" + std::to_string(i), AlarmType::kPowerFailure, i * 10);
    EXPECT_EQ(u.transitions.at(0).notify, Notify::kNow);
    EXPECT_EQ(u.flood, FloodChange::kNone);
  }
  EXPECT_FALSE(book.flood());
  // The 11th: flood.
  Update eleventh = Raise("F10", AlarmType::kPowerFailure, 100);
  EXPECT_EQ(eleventh.flood, FloodChange::kStarted);
  EXPECT_TRUE(book.flood());
  EXPECT_EQ(eleventh.transitions.at(0).notify, Notify::kDigest);
  // Critical: at once, one by one.
  EXPECT_EQ(RaiseOne("F11", AlarmType::kUcm, 110).notify, Notify::kNow);
  EXPECT_EQ(RaiseOne("F12", AlarmType::kTrapped, 115).notify, Notify::kNow);
  EXPECT_EQ(RaiseOne("F13", AlarmType::kDoorOpenTooLong, 120).notify, Notify::kDigest);
  EXPECT_EQ(book.pending_digest(), 2u);

  // Digest every 2 minutes from the start of the flood (100 s).
  EXPECT_FALSE(book.OnTime(At(219)).digest.has_value());
  Update d1 = book.OnTime(At(220));
  ASSERT_TRUE(d1.digest.has_value());
  EXPECT_EQ(d1.digest->at, At(220));
  ASSERT_EQ(d1.digest->items.size(), 2u);
  EXPECT_EQ(d1.digest->items[0].elevator, "F10");
  EXPECT_EQ(d1.digest->items[1].elevator, "F13");
  EXPECT_EQ(d1.digest->items[1].notify, Notify::kDigest);
  EXPECT_EQ(book.pending_digest(), 0u);

  // Nothing held back: no empty digest.
  EXPECT_FALSE(book.OnTime(At(340)).digest.has_value());
  // A re-raise during the flood is digested too.
  AlarmId f0 = book.OpenFor("F0", AlarmType::kPowerFailure)->id;
  (void)Clear("F0", AlarmType::kPowerFailure, 350);
  Transition re = RaiseOne("F0", AlarmType::kPowerFailure, 360);
  EXPECT_EQ(re.alarm_id, f0);
  EXPECT_EQ(re.notify, Notify::kDigest);
  EXPECT_FALSE(book.OnTime(At(459)).digest.has_value());
  Update d2 = book.OnTime(At(460));
  ASSERT_TRUE(d2.digest.has_value());
  EXPECT_EQ(d2.digest->items.size(), 1u);

  // The next one: 2 minutes after the last due time (460), whatever came between.
  EXPECT_EQ(RaiseOne("F14", AlarmType::kBrakeFault, 500).notify, Notify::kDigest);
  EXPECT_FALSE(book.OnTime(At(579)).digest.has_value());
  Update d3 = book.OnTime(At(580));
  ASSERT_TRUE(d3.digest.has_value());
  ASSERT_EQ(d3.digest->items.size(), 1u);
  EXPECT_EQ(d3.digest->items[0].elevator, "F14");
  EXPECT_EQ(d3.flood, FloodChange::kNone);  // 15 new alarms in the last 10 minutes
}

TEST_F(AlarmBookTest, FloodEnds) {
  rules.flood_digest_s = 10000;  // no scheduled digest before the end
  book.SetSiteRules(rules);
  for (int i = 0; i < 11; ++i) (void)Raise("F" + std::to_string(i), AlarmType::kPowerFailure, i);
  ASSERT_TRUE(book.flood());
  EXPECT_EQ(RaiseOne("G", AlarmType::kBrakeFault, 20).notify, Notify::kDigest);
  // The window is 600 s: at 600 the alarm of 0 s ages out, 11 remain (1..10, 20).
  EXPECT_EQ(book.OnTime(At(600)).flood, FloodChange::kNone);
  // At 601, 10 remain: the flood is over and what was held back goes out.
  Update end = book.OnTime(At(601));
  EXPECT_EQ(end.flood, FloodChange::kEnded);
  EXPECT_FALSE(book.flood());
  ASSERT_TRUE(end.digest.has_value());
  ASSERT_EQ(end.digest->items.size(), 2u);
  EXPECT_EQ(end.digest->items[0].elevator, "F10");
  EXPECT_EQ(end.digest->items[1].elevator, "G");
  EXPECT_EQ(RaiseOne("H", AlarmType::kBrakeFault, 700).notify, Notify::kNow);
}

TEST_F(AlarmBookTest, SuppressedAlarmsDoNotMakeAFlood) {
  for (int i = 0; i < 20; ++i) {
    (void)Raise("S" + std::to_string(i), AlarmType::kTrapped, i, SuppressionCause::kInspection);
  }
  EXPECT_FALSE(book.flood());
}

TEST_F(AlarmBookTest, TakeDigestEmptiesThePending) {
  for (int i = 0; i < 11; ++i) (void)Raise("F" + std::to_string(i), AlarmType::kPowerFailure, i);
  auto d = book.TakeDigest(At(30));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->items.size(), 1u);
  EXPECT_FALSE(book.TakeDigest(At(31)).has_value());
}

// --- Restore after a restart -------------------------------------------------------------

class RestoreTest : public AlarmBookTest {
 protected:
  // Runs a first book, then restores its open alarms into `book`.
  void Restart(AlarmBook& before, AlarmId max_id) {
    AlarmBook::RestoreData data;
    data.open = before.Open();
    data.max_id = max_id;
    Status s = book.Restore(std::move(data));
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
};

TEST_F(RestoreTest, StillActiveIsTheSameAlarm) {
  AlarmBook before(rules);
  AlarmId id = before.OnFinding("E1", F(AlarmType::kTrapped, true, 0), std::nullopt)
                   .transitions.at(0)
                   .alarm_id;
  AlarmId acked = before.OnFinding("E1", F(AlarmType::kPowerFailure, true, 0), std::nullopt)
                      .transitions.at(0)
                      .alarm_id;
  ASSERT_TRUE(before.Ack(acked, "wang", "", At(1)).ok());
  Restart(before, acked);
  EXPECT_EQ(book.AwaitingReconcile(), std::vector<std::string>{"E1"});

  // The detectors re-detect it after the start: same alarm, nothing notified.
  EXPECT_TRUE(Raise("E1", AlarmType::kTrapped, 1000).transitions.empty());
  EXPECT_EQ(book.OpenFor("E1", AlarmType::kTrapped)->id, id);
  Update r =
      book.ReconcileAfterRestart("E1", {AlarmType::kTrapped, AlarmType::kPowerFailure}, At(1120));
  EXPECT_TRUE(r.transitions.empty());
  EXPECT_TRUE(book.AwaitingReconcile().empty());
  EXPECT_EQ(book.Get(acked)->state, AlarmState::kAcked);
  // Later raises still deduplicate; its lifecycle goes on.
  EXPECT_TRUE(Raise("E1", AlarmType::kPowerFailure, 1200).transitions.empty());
  EXPECT_EQ(Clear("E1", AlarmType::kPowerFailure, 1300).transitions.at(0).to_state,
            AlarmState::kClosed);
}

TEST_F(RestoreTest, ClearedWhileDownIsClosedWithANote) {
  AlarmBook before(rules);
  AlarmId unacked = before.OnFinding("E1", F(AlarmType::kBrakeFault, true, 0), std::nullopt)
                        .transitions.at(0)
                        .alarm_id;
  AlarmId acked = before.OnFinding("E1", F(AlarmType::kPowerFailure, true, 0), std::nullopt)
                      .transitions.at(0)
                      .alarm_id;
  ASSERT_TRUE(before.Ack(acked, "wang", "", At(1)).ok());
  AlarmId rtn = before.OnFinding("E1", F(AlarmType::kDoorLockFault, true, 0), std::nullopt)
                    .transitions.at(0)
                    .alarm_id;
  (void)before.OnFinding("E1", F(AlarmType::kDoorLockFault, false, 5), std::nullopt);
  Restart(before, rtn);

  Update r = book.ReconcileAfterRestart("E1", {}, At(2000));
  ASSERT_EQ(r.transitions.size(), 2u);
  for (const Transition& t : r.transitions) {
    EXPECT_TRUE(t.alarm_id == unacked || t.alarm_id == acked);
    EXPECT_EQ(t.kind, TransitionKind::kClearedWhileDown);
    EXPECT_EQ(t.to_state, AlarmState::kClosed);
    EXPECT_EQ(t.note, "cleared while Liftguard was not running");
    EXPECT_EQ(t.who, "system");
    EXPECT_EQ(t.notify, Notify::kNone);
    EXPECT_EQ(t.alarm.closed_at, At(2000));
    EXPECT_FALSE(t.alarm.active);
  }
  EXPECT_FALSE(book.Get(unacked).has_value());
  // The one that had cleared before the stop still waits for its acknowledgement.
  EXPECT_EQ(book.Get(rtn)->state, AlarmState::kRtnUnack);
  // Again: nothing.
  EXPECT_TRUE(book.ReconcileAfterRestart("E1", {}, At(2001)).transitions.empty());
}

TEST_F(RestoreTest, FindingsBeforeReconcileWin) {
  AlarmBook before(rules);
  AlarmId id = before.OnFinding("E1", F(AlarmType::kCommsLost, true, 0), std::nullopt)
                   .transitions.at(0)
                   .alarm_id;
  Restart(before, id);
  Update c = Clear("E1", AlarmType::kCommsLost, 1000);  // the unit answers
  ASSERT_EQ(c.transitions.size(), 1u);
  EXPECT_EQ(c.transitions[0].kind, TransitionKind::kCleared);
  EXPECT_EQ(c.transitions[0].to_state, AlarmState::kRtnUnack);
  EXPECT_TRUE(book.AwaitingReconcile().empty());
  EXPECT_TRUE(book.ReconcileAfterRestart("E1", {}, At(1100)).transitions.empty());
  EXPECT_EQ(book.Get(id)->state, AlarmState::kRtnUnack);
}

TEST_F(RestoreTest, IdsNeverRepeat) {
  AlarmBook before(rules);
  AlarmId last = 0;
  for (int i = 0; i < 5; ++i) {
    last =
        before.OnFinding("E" + std::to_string(i), F(AlarmType::kBrakeFault, true, 0), std::nullopt)
            .transitions.at(0)
            .alarm_id;
  }
  AlarmId keep = before.OpenFor("E0", AlarmType::kBrakeFault)->id;
  for (int i = 1; i < 5; ++i) {
    ASSERT_TRUE(before
                    .Ack(before.OpenFor("E" + std::to_string(i), AlarmType::kBrakeFault)->id,
                         "wang", "", At(1))
                    .ok());
    (void)before.OnFinding("E" + std::to_string(i), F(AlarmType::kBrakeFault, false, 2),
                           std::nullopt);
  }
  ASSERT_EQ(before.Open().size(), 1u);
  Restart(before, last);  // the store's MAX(id) is 5, the open one is 1
  EXPECT_EQ(book.next_id(), last + 1);
  EXPECT_EQ(RaiseOne("E9", AlarmType::kBrakeFault, 100).alarm_id, last + 1);
  EXPECT_EQ(book.Get(keep)->id, keep);
}

TEST_F(RestoreTest, IdsNeverRepeatWithNothingOpen) {
  AlarmBook::RestoreData data;
  data.max_id = 41;
  ASSERT_TRUE(book.Restore(data).ok());
  EXPECT_EQ(RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id, 42u);
}

TEST_F(RestoreTest, RestoredAlarmsKeepTheirLifecycle) {
  AlarmBook before(rules);
  AlarmId shelved = before.OnFinding("E1", F(AlarmType::kBrakeFault, true, 0), std::nullopt)
                        .transitions.at(0)
                        .alarm_id;
  ASSERT_TRUE(before.Shelve(shelved, "zhao", "r", At(600), At(1)).ok());
  AlarmId sup =
      before.OnFinding("E2", F(AlarmType::kTrapped, true, 0), SuppressionCause::kOutOfService)
          .transitions.at(0)
          .alarm_id;
  Restart(before, sup);
  EXPECT_EQ(book.Counts().shelved, 1u);
  EXPECT_EQ(book.Counts().suppressed_now_by_cause[1], 1u);
  // The shelve expires on time (restored alarms revision goes on).
  Update u = book.OnTime(At(700));
  ASSERT_EQ(u.transitions.size(), 1u);
  EXPECT_EQ(u.transitions[0].alarm_id, shelved);
  EXPECT_EQ(u.transitions[0].to_state, AlarmState::kUnack);
  EXPECT_EQ(u.transitions[0].alarm.revision, 3u);
  // The suppression ends: notified now.
  Update s = book.OnSuppressionChanged(
      "E2", [](AlarmType) { return std::optional<SuppressionCause>(); }, At(710));
  ASSERT_EQ(s.transitions.size(), 1u);
  EXPECT_EQ(s.transitions[0].notify, Notify::kNow);
}

TEST_F(RestoreTest, UndigestedItemsGoOutAtTheFirstTick) {
  AlarmBook before(rules);
  for (int i = 0; i < 11; ++i) {
    (void)before.OnFinding("F" + std::to_string(i), F(AlarmType::kPowerFailure, true, i),
                           std::nullopt);
  }
  ASSERT_EQ(before.pending_digest(), 1u);
  std::optional<Digest> lost = before.TakeDigest(At(20));  // what the store would still have
  AlarmBook::RestoreData data;
  data.open = before.Open();
  data.max_id = 11;
  data.undigested = lost->items;
  ASSERT_TRUE(book.Restore(std::move(data)).ok());
  Update u = book.OnTime(At(1000));
  ASSERT_TRUE(u.digest.has_value());
  EXPECT_EQ(u.digest->items.size(), 1u);
  EXPECT_EQ(u.digest->items[0].elevator, "F10");
}

TEST_F(RestoreTest, RestoreRefusesBadInput) {
  auto try_restore = [&](std::vector<Alarm> open) {
    AlarmBook b(rules);
    AlarmBook::RestoreData d;
    d.open = std::move(open);
    Status s = b.Restore(std::move(d));
    if (!s.ok()) {
      EXPECT_TRUE(b.Open().empty());  // all or nothing
    }
    return s.ok() ? std::string("ok") : s.error().code + ": " + s.error().message;
  };
  Alarm a;
  a.id = 7;
  a.elevator = "E1";
  a.type = AlarmType::kBrakeFault;
  a.state = AlarmState::kUnack;
  a.active = true;
  EXPECT_EQ(try_restore({a}), "ok");

  Alarm closed = a;
  closed.state = AlarmState::kClosed;
  EXPECT_NE(try_restore({closed}).find("closed alarms"), std::string::npos);
  Alarm wrong = a;
  wrong.active = false;  // unack but not active
  EXPECT_NE(try_restore({wrong}).find("does not fit"), std::string::npos);
  Alarm twin = a;
  twin.id = 8;
  EXPECT_NE(try_restore({a, twin}).find("same car and type"), std::string::npos);
  Alarm zero = a;
  zero.id = 0;
  EXPECT_NE(try_restore({zero}).find("id is 0"), std::string::npos);
  Alarm shelved = a;
  shelved.state = AlarmState::kShelved;
  EXPECT_NE(try_restore({shelved}).find("shelved without"), std::string::npos);

  // Only on an empty book.
  (void)RaiseOne("E1", AlarmType::kBrakeFault, 0);
  Status late = book.Restore({});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "restore");
}

// --- Other ---------------------------------------------------------------------------------

TEST_F(AlarmBookTest, CountsByState) {
  AlarmId a = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;
  AlarmId b = RaiseOne("E2", AlarmType::kBrakeFault, 0).alarm_id;
  (void)RaiseOne("E3", AlarmType::kBrakeFault, 0);
  (void)RaiseOne("E4", AlarmType::kTrapped, 0, SuppressionCause::kMaintenanceWindow);
  AlarmId e = RaiseOne("E5", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Ack(a, "w", "", At(1)).ok());
  (void)Clear("E2", AlarmType::kBrakeFault, 2);
  ASSERT_TRUE(book.Shelve(e, "z", "r", At(100), At(3)).ok());
  (void)b;
  AlarmCounts c = book.Counts();
  EXPECT_EQ(c.open, 5u);
  EXPECT_EQ(c.unack, 1u);
  EXPECT_EQ(c.acked, 1u);
  EXPECT_EQ(c.rtn_unack, 1u);
  EXPECT_EQ(c.shelved, 1u);
  EXPECT_EQ(c.suppressed, 1u);
  EXPECT_EQ(c.suppressed_now_by_cause[2], 1u);
  EXPECT_EQ(c.raised, 5u);
  EXPECT_EQ(c.closed, 0u);
}

TEST_F(AlarmBookTest, CloseAllForARemovedCar) {
  (void)RaiseOne("E1", AlarmType::kBrakeFault, 0);
  AlarmId sh = RaiseOne("E1", AlarmType::kPowerFailure, 0).alarm_id;
  ASSERT_TRUE(book.Shelve(sh, "z", "r", At(100), At(1)).ok());
  (void)RaiseOne("E2", AlarmType::kBrakeFault, 0);
  Update u = book.CloseAllFor("E1", "admin", "elevator removed from the configuration", At(5));
  ASSERT_EQ(u.transitions.size(), 2u);
  for (const Transition& t : u.transitions) {
    EXPECT_EQ(t.kind, TransitionKind::kRetired);
    EXPECT_EQ(t.to_state, AlarmState::kClosed);
    EXPECT_EQ(t.who, "admin");
  }
  EXPECT_TRUE(book.OpenFor("E1").empty());
  EXPECT_EQ(book.Open().size(), 1u);
  EXPECT_TRUE(book.OnTime(At(100)).transitions.empty());
  EXPECT_EQ(book.Counts().closed, 2u);
}

TEST_F(AlarmBookTest, RevisionsCountTransitions) {
  AlarmId id = RaiseOne("E1", AlarmType::kBrakeFault, 0).alarm_id;
  (void)Clear("E1", AlarmType::kBrakeFault, 1);
  Transition t = RaiseOne("E1", AlarmType::kBrakeFault, 100);
  EXPECT_EQ(t.alarm.revision, 3u);
  auto ack = book.Ack(id, "w", "", At(101));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->alarm.revision, 4u);
}

TEST_F(AlarmBookTest, ManyCarsStayFast) {
  // 5,000 cars, one raise and one clear each: linear, and dedup per car.
  rules.flood_window_s = 0;  // no flood for this one
  AlarmBook b(rules);
  for (int i = 0; i < 5000; ++i) {
    std::string car = "C" + std::to_string(i);
    ASSERT_EQ(
        b.OnFinding(car, F(AlarmType::kBrakeFault, true, 0), std::nullopt).transitions.at(0).notify,
        Notify::kNow);
  }
  EXPECT_EQ(b.Open().size(), 5000u);
  EXPECT_FALSE(b.flood());
  for (int i = 0; i < 5000; ++i) {
    (void)b.OnFinding("C" + std::to_string(i), F(AlarmType::kBrakeFault, false, 1), std::nullopt);
  }
  EXPECT_EQ(b.Counts().rtn_unack, 5000u);
  EXPECT_TRUE(b.OnTime(At(2)).transitions.empty());
}

}  // namespace
}  // namespace lg::rules
