// Rescue incidents: the step rules (rules/incident.h) on every state an
// incident can be in, the time targets, and the daemon's IncidentService
// with its store on a real SQLite file.
#include "rules/incident.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "core/clock.h"
#include "daemon/incident_service.h"
#include "db/alarm_store.h"
#include "db/database.h"
#include "db/incident_store.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using rules::Incident;
using rules::IncidentState;
using rules::IncidentStep;
using rules::Recorder;
using rules::StepDetails;
using S = IncidentStep;

const WallTime kT0 = WallTime(std::chrono::seconds(1'790'000'000));

const std::vector<S> kPostable = {S::kAcknowledged, S::kAccepted, S::kOnSite,
                                  S::kReleased,     S::kClosed,   S::kFalseAlarm};

StepDetails Note(std::string note) {
  StepDetails d;
  d.note = std::move(note);
  return d;
}

StepDetails DetailsFor(S step) {
  StepDetails d;
  if (step == S::kAccepted) d.eta_min = 20;
  if (step == S::kClosed) d.cause = "door operator relay";
  return d;
}

// An incident that went through `steps` (after open and dispatched), one
// minute apart.
Incident After(const std::vector<S>& steps) {
  Incident inc = rules::NewIncident("OP-1", 42, "system", "TRAPPED", {}, kT0);
  inc.id = 7;
  WallTime at = kT0;
  for (S s : steps) {
    at += 1min;
    auto next = rules::WithStep(inc, s, "olga", Recorder::kStaff, DetailsFor(s), at);
    EXPECT_TRUE(next.ok()) << rules::IncidentStepName(s) << ": " << next.error().message;
    if (!next.ok()) return inc;
    inc = *next;
  }
  return inc;
}

std::string Names(const std::set<S>& steps) {
  std::string out;
  for (S s : steps) out += std::string(rules::IncidentStepName(s)) + " ";
  return out;
}

TEST(IncidentRules, NamesRoundTrip) {
  for (int i = 0; i < rules::kIncidentStepCount; ++i) {
    auto s = static_cast<S>(i);
    EXPECT_EQ(rules::IncidentStepFromName(rules::IncidentStepName(s)), s);
  }
  EXPECT_EQ(rules::IncidentStepName(S::kOnSite), "on_site");
  EXPECT_EQ(rules::IncidentStepName(S::kFalseAlarm), "false_alarm");
  EXPECT_FALSE(rules::IncidentStepFromName("onsite"));
  EXPECT_FALSE(rules::IncidentStepFromName(""));
  EXPECT_EQ(rules::IncidentStateName(IncidentState::kFalseAlarm), "false_alarm");
}

TEST(IncidentRules, ANewIncidentIsOpenAndDispatched) {
  Incident inc = rules::NewIncident("OP-1", std::nullopt, "olga", "intercom call", {}, kT0);
  ASSERT_EQ(inc.steps.size(), 2u);
  EXPECT_EQ(inc.steps[0].step, S::kOpen);
  EXPECT_EQ(inc.steps[0].by, "olga");
  EXPECT_EQ(inc.steps[0].note, "intercom call");
  EXPECT_EQ(inc.steps[1].step, S::kDispatched);
  EXPECT_EQ(inc.steps[1].by, "system");
  EXPECT_EQ(inc.steps[1].at, kT0);
  EXPECT_EQ(inc.state(), IncidentState::kOpen);
  EXPECT_EQ(inc.latest(), S::kDispatched);
  EXPECT_EQ(inc.opened_at(), kT0);
  EXPECT_FALSE(inc.closed_at());
  EXPECT_FALSE(inc.alarm_id);
}

// Every state an incident can reach, and for each the steps a person may
// record next; every other step is refused as out of order.
TEST(IncidentRules, EveryStepInEveryState) {
  struct Case {
    std::vector<S> path;
    std::set<S> allowed;
  };
  const std::vector<Case> cases = {
      {{}, {S::kAcknowledged, S::kAccepted, S::kFalseAlarm}},
      {{S::kAcknowledged}, {S::kAccepted, S::kFalseAlarm}},
      {{S::kAccepted}, {S::kAcknowledged, S::kOnSite, S::kFalseAlarm}},
      {{S::kAcknowledged, S::kAccepted}, {S::kOnSite, S::kFalseAlarm}},
      {{S::kAccepted, S::kAcknowledged}, {S::kOnSite, S::kFalseAlarm}},
      {{S::kAccepted, S::kOnSite}, {S::kAcknowledged, S::kFalseAlarm}},
      {{S::kAcknowledged, S::kAccepted, S::kOnSite}, {S::kReleased, S::kFalseAlarm}},
      {{S::kAccepted, S::kOnSite, S::kAcknowledged}, {S::kReleased, S::kFalseAlarm}},
      {{S::kAcknowledged, S::kAccepted, S::kOnSite, S::kReleased}, {S::kClosed}},
      {{S::kAcknowledged, S::kAccepted, S::kOnSite, S::kReleased, S::kClosed}, {}},
      {{S::kFalseAlarm}, {}},
      {{S::kAcknowledged, S::kFalseAlarm}, {}},
      {{S::kAccepted, S::kOnSite, S::kFalseAlarm}, {}},
  };
  for (const auto& c : cases) {
    Incident inc = After(c.path);
    std::set<S> got;
    for (S step : kPostable) {
      for (Recorder who : {Recorder::kStaff, Recorder::kContractor}) {
        if (who == Recorder::kContractor && step == S::kAcknowledged) continue;  // see below
        Status st = rules::CheckStep(inc, step, who, DetailsFor(step));
        if (st) {
          got.insert(step);
        } else {
          EXPECT_EQ(st.error().code, "out_of_order") << st.error().message;
          EXPECT_NE(st.error().message.find("incident 7"), std::string::npos);
        }
      }
    }
    std::vector<S> path = c.path;
    std::set<S> p(path.begin(), path.end());
    EXPECT_EQ(Names(got), Names(c.allowed)) << "after " << Names(p);
  }
}

TEST(IncidentRules, RefusalsSayWhy) {
  auto why = [](const Incident& inc, S step) {
    Status st = rules::CheckStep(inc, step, Recorder::kStaff, DetailsFor(step));
    return st ? std::string("ok") : st.error().message;
  };
  EXPECT_NE(why(After({}), S::kOnSite).find("on_site needs accepted"), std::string::npos);
  EXPECT_NE(
      why(After({S::kAccepted, S::kOnSite}), S::kReleased).find("released needs acknowledged"),
      std::string::npos);
  EXPECT_NE(
      why(After({S::kAcknowledged, S::kAccepted}), S::kReleased).find("released needs on_site"),
      std::string::npos);
  EXPECT_NE(why(After({}), S::kClosed).find("closed needs released"), std::string::npos);
  EXPECT_NE(why(After({S::kAcknowledged}), S::kAcknowledged).find("recorded already"),
            std::string::npos);
  EXPECT_NE(why(After({S::kFalseAlarm}), S::kAcknowledged).find("false_alarm already"),
            std::string::npos);
  EXPECT_NE(why(After({S::kAcknowledged, S::kAccepted, S::kOnSite, S::kReleased}), S::kFalseAlarm)
                .find("released already"),
            std::string::npos);
  // An incident stored without its dispatched step cannot be accepted.
  Incident bare = After({});
  bare.steps.pop_back();
  EXPECT_NE(why(bare, S::kAccepted).find("accepted needs dispatched"), std::string::npos);
  Incident empty;
  EXPECT_EQ(rules::CheckStep(empty, S::kAcknowledged, Recorder::kStaff, {}).error().code,
            "out_of_order");
}

TEST(IncidentRules, WhoMayRecordWhat) {
  Incident inc = After({});
  auto code = [&](S step, Recorder who, const Incident& i) {
    Status st = rules::CheckStep(i, step, who, DetailsFor(step));
    return st ? std::string("ok") : st.error().code;
  };
  // open is never recorded as a step; dispatched only by Liftguard.
  for (Recorder who : {Recorder::kStaff, Recorder::kContractor, Recorder::kSystem}) {
    EXPECT_EQ(code(S::kOpen, who, inc), "forbidden");
  }
  Incident undispatched = inc;
  undispatched.steps.pop_back();
  EXPECT_EQ(code(S::kDispatched, Recorder::kStaff, undispatched), "forbidden");
  EXPECT_EQ(code(S::kDispatched, Recorder::kContractor, undispatched), "forbidden");
  EXPECT_EQ(code(S::kDispatched, Recorder::kSystem, undispatched), "ok");
  EXPECT_EQ(code(S::kDispatched, Recorder::kSystem, inc), "out_of_order");  // once
  // The system records nothing a person does.
  for (S step : kPostable) EXPECT_EQ(code(step, Recorder::kSystem, inc), "forbidden");
  // A contractor may not say the security room spoke to the passengers...
  EXPECT_EQ(code(S::kAcknowledged, Recorder::kContractor, inc), "forbidden");
  EXPECT_NE(rules::CheckStep(inc, S::kAcknowledged, Recorder::kContractor, {})
                .error()
                .message.find("security room"),
            std::string::npos);
  // ...but everything else a person may.
  EXPECT_EQ(code(S::kAccepted, Recorder::kContractor, inc), "ok");
  EXPECT_EQ(code(S::kFalseAlarm, Recorder::kContractor, inc), "ok");
  Incident on_site = After({S::kAcknowledged, S::kAccepted, S::kOnSite});
  EXPECT_EQ(code(S::kReleased, Recorder::kContractor, on_site), "ok");
}

TEST(IncidentRules, FieldsGoWithTheirStep) {
  Incident inc = After({});
  auto check = [&](S step, StepDetails d) {
    Status st = rules::CheckStep(inc, step, Recorder::kStaff, d);
    return st ? std::string("ok") : st.error().code + ": " + st.error().message;
  };
  EXPECT_NE(check(S::kAccepted, {}).find("bad_field: field \"eta_min\" is required"),
            std::string::npos);
  for (int eta : {0, -5, 241, 100000}) {
    EXPECT_NE(check(S::kAccepted, {"", eta, std::nullopt}).find("1..240"), std::string::npos)
        << eta;
  }
  EXPECT_EQ(check(S::kAccepted, {"", 1, std::nullopt}), "ok");
  EXPECT_EQ(check(S::kAccepted, {"", 240, std::nullopt}), "ok");
  EXPECT_NE(check(S::kAcknowledged, {"", 10, std::nullopt}).find("\"eta_min\" goes only with"),
            std::string::npos);
  EXPECT_NE(check(S::kFalseAlarm, {"", std::nullopt, "x"}).find("\"cause\" goes only with"),
            std::string::npos);
  // A bad field is reported before the order.
  EXPECT_EQ(
      rules::CheckStep(After({S::kFalseAlarm}), S::kAccepted, Recorder::kStaff, {}).error().code,
      "bad_field");

  auto accepted = rules::WithStep(inc, S::kAccepted, "carl", Recorder::kContractor,
                                  {"on my way", 25, std::nullopt}, kT0 + 2min);
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->eta_min, 25);
  EXPECT_EQ(accepted->steps.back().note, "on my way");
  EXPECT_EQ(accepted->steps.back().by, "carl");
  EXPECT_EQ(accepted->latest(), S::kAccepted);
  Incident done = After({S::kAcknowledged, S::kAccepted, S::kOnSite, S::kReleased, S::kClosed});
  EXPECT_EQ(done.cause, "door operator relay");
  EXPECT_EQ(done.state(), IncidentState::kClosed);
  EXPECT_EQ(done.latest(), S::kClosed);
  EXPECT_EQ(done.closed_at(), kT0 + 5min);
  // Refused: the incident is unchanged (a value), and the error comes back.
  auto refused = rules::WithStep(inc, S::kClosed, "olga", Recorder::kStaff, {}, kT0);
  EXPECT_EQ(refused.error().code, "out_of_order");
}

TEST(IncidentRules, LatestIsTheFurthestStepNotTheLastRecorded) {
  Incident inc = After({S::kAccepted, S::kAcknowledged});
  EXPECT_EQ(inc.steps.back().step, S::kAcknowledged);
  EXPECT_EQ(inc.latest(), S::kAccepted);
  // Acknowledged is further than dispatched (recorded with open).
  EXPECT_EQ(After({S::kAcknowledged}).latest(), S::kAcknowledged);
  EXPECT_EQ(After({S::kAcknowledged, S::kFalseAlarm}).latest(), S::kFalseAlarm);
  EXPECT_EQ(After({S::kAcknowledged, S::kAccepted, S::kOnSite, S::kReleased}).latest(),
            S::kReleased);
  EXPECT_EQ(After({S::kFalseAlarm}).state(), IncidentState::kFalseAlarm);
}

TEST(IncidentRules, TargetsAreMeasuredFromOpen) {
  rules::IncidentTargets targets{3, 5, 15};
  Incident inc = rules::NewIncident("OP-1", 42, "system", "", targets, kT0);
  auto at = [&](S step, std::chrono::seconds after, StepDetails d = {}) {
    auto next = rules::WithStep(inc, step, "olga", Recorder::kStaff, d, kT0 + after);
    ASSERT_TRUE(next.ok()) << next.error().message;
    inc = *next;
  };
  auto timings = [&](std::chrono::seconds now) {
    std::map<std::string, std::pair<std::optional<int64_t>, bool>> out;
    for (const auto& t : rules::Timings(inc, kT0 + now)) {
      out[std::string(rules::IncidentStepName(t.step))] = {t.elapsed_s, t.over};
    }
    return out;
  };
  // Nothing reached, nothing late yet.
  auto t = timings(60s);
  EXPECT_EQ(t["acknowledged"], std::make_pair(std::optional<int64_t>(), false));
  EXPECT_EQ(t["accepted"], std::make_pair(std::optional<int64_t>(), false));
  EXPECT_EQ(t["on_site"], std::make_pair(std::optional<int64_t>(), false));
  // Exactly at a target is in time; a second later is not.
  EXPECT_FALSE(timings(180s)["acknowledged"].second);
  EXPECT_TRUE(timings(181s)["acknowledged"].second);
  at(S::kAcknowledged, 95s);
  at(S::kAccepted, 400s, {"", 20, std::nullopt});  // 6 min 40 s: late
  t = timings(420s);
  EXPECT_EQ(t["acknowledged"], std::make_pair(std::optional<int64_t>(95), false));
  EXPECT_EQ(t["accepted"], std::make_pair(std::optional<int64_t>(400), true));
  EXPECT_EQ(t["on_site"], std::make_pair(std::optional<int64_t>(), false));
  EXPECT_TRUE(timings(15min + 1s)["on_site"].second);  // 15 min target from the site
  at(S::kOnSite, 14min);
  t = timings(2h);
  EXPECT_EQ(t["on_site"], std::make_pair(std::optional<int64_t>(14 * 60), false));
  EXPECT_TRUE(t["accepted"].second);  // reached late stays late
  // The targets the incident opened with are what it is measured on.
  EXPECT_EQ(rules::Timings(inc, kT0)[2].target_min, 15);
}

TEST(IncidentRules, AnEndedIncidentStopsTheClock) {
  Incident inc = rules::NewIncident("OP-1", 42, "system", "", {}, kT0);
  auto fa =
      rules::WithStep(inc, S::kFalseAlarm, "olga", Recorder::kStaff, Note("kids"), kT0 + 2min);
  ASSERT_TRUE(fa.ok());
  for (const auto& t : rules::Timings(*fa, kT0 + 10h)) {
    EXPECT_FALSE(t.over) << rules::IncidentStepName(t.step);
    EXPECT_FALSE(t.elapsed_s);
  }
  // Declared a false alarm only after 4 minutes: acknowledging was late.
  fa = rules::WithStep(inc, S::kFalseAlarm, "olga", Recorder::kStaff, {}, kT0 + 4min);
  ASSERT_TRUE(fa.ok());
  auto t = rules::Timings(*fa, kT0 + 10h);
  EXPECT_TRUE(t[0].over);
  EXPECT_FALSE(t[1].over);
  EXPECT_FALSE(t[2].over);
}

// ---- IncidentStore and IncidentService on a real SQLite file -----------------

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "incident";
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

class IncidentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto db = db::Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
  }

  std::unique_ptr<IncidentService> Service(rules::IncidentTargets targets = {}) {
    auto s = std::make_unique<IncidentService>(*db_, clock_, targets);
    s->AddListener([this](const IncidentChange& c) {
      std::lock_guard lock(mu_);
      told_.push_back(c);
    });
    return s;
  }

  // A stored TRAPPED alarm, and the transition AlarmService would tell.
  rules::Transition Trapped(int64_t id, const std::string& car,
                            rules::TransitionKind kind = rules::TransitionKind::kRaised,
                            rules::AlarmState to = rules::AlarmState::kUnack) {
    WallTime now = clock_.WallNow();
    db::AlarmRow a;
    a.id = id;
    a.elevator = car;
    a.type = "TRAPPED";
    a.severity = "critical";
    a.subtype = "between_floors";
    a.message = "stopped between floors 3 and 4 with a passenger";
    a.state = std::string(rules::AlarmStateName(to));
    a.active = to != rules::AlarmState::kRtnUnack;
    a.raised_at = a.last_raised_at = a.updated_at = db::FormatTime(now);
    a.revision = 1;
    EXPECT_TRUE(db::AlarmStore(*db_).Apply({a}, {}).ok());
    rules::Transition t;
    t.alarm_id = static_cast<rules::AlarmId>(id);
    t.elevator = car;
    t.type = AlarmType::kTrapped;
    t.kind = kind;
    t.to_state = to;
    t.at = now;
    t.alarm.id = t.alarm_id;
    t.alarm.elevator = car;
    t.alarm.subtype = a.subtype;
    t.alarm.message = a.message;
    t.alarm.raised_at = t.alarm.last_raised_at = now;
    return t;
  }

  std::vector<IncidentChange> Told() {
    std::lock_guard lock(mu_);
    return told_;
  }

  std::string path_;
  std::unique_ptr<db::Database> db_;
  ManualClock clock_;
  std::mutex mu_;
  std::vector<IncidentChange> told_;
};

TEST_F(IncidentServiceTest, ATrappedAlarmOpensOneIncidentPerCar) {
  auto svc = Service({3, 5, 15});
  ASSERT_TRUE(svc->Start().ok());
  svc->OnAlarm(Trapped(1, "OP-1"));
  auto open = svc->OpenFor("OP-1");
  ASSERT_TRUE(open);
  EXPECT_GT(open->id, 0);
  EXPECT_EQ(open->alarm_id, 1);
  ASSERT_EQ(open->steps.size(), 2u);
  EXPECT_EQ(open->steps[0].by, "system");
  EXPECT_NE(open->steps[0].note.find("TRAPPED (between_floors): stopped between"),
            std::string::npos);
  EXPECT_EQ(open->steps[1].step, S::kDispatched);
  EXPECT_EQ(open->targets.on_site_min, 15);
  // Raised again, or another alarm on the same car: nothing new.
  svc->OnAlarm(Trapped(1, "OP-1", rules::TransitionKind::kReraised));
  svc->OnAlarm(Trapped(2, "OP-1"));
  // Other types, other kinds, suppressed TRAPPED: nothing.
  auto door = Trapped(3, "OP-2");
  door.type = AlarmType::kDoorLockFault;
  svc->OnAlarm(door);
  svc->OnAlarm(Trapped(4, "OP-2", rules::TransitionKind::kAcked, rules::AlarmState::kAcked));
  svc->OnAlarm(Trapped(5, "OP-2", rules::TransitionKind::kRaised, rules::AlarmState::kSuppressed));
  EXPECT_FALSE(svc->OpenFor("OP-2"));
  // The suppression ends with the passenger still in: now it opens.
  svc->OnAlarm(Trapped(5, "OP-2", rules::TransitionKind::kSuppressionEnded));
  ASSERT_TRUE(svc->OpenFor("OP-2"));
  EXPECT_EQ(svc->OpenFor("OP-2")->alarm_id, 5);
  auto all = svc->List("", false, 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].elevator, "OP-2");  // newest first
  auto told = Told();
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0].step, S::kOpen);
  EXPECT_EQ(told[0].incident.elevator, "OP-1");
}

TEST_F(IncidentServiceTest, StepsAreStoredAndSurviveARestart) {
  int64_t id;
  {
    auto svc = Service();
    ASSERT_TRUE(svc->Start().ok());
    auto inc = svc->Open("OP-1", "olga", "call on the intercom");
    ASSERT_TRUE(inc.ok()) << inc.error().message;
    id = inc->id;
    EXPECT_FALSE(inc->alarm_id);
    auto again = svc->Open("OP-1", "olga", "");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, "incident_open");
    EXPECT_NE(again.error().message.find(std::to_string(id)), std::string::npos);
    clock_.Advance(90s);
    ASSERT_TRUE(
        svc->RecordStep(id, S::kAcknowledged, "olga", Recorder::kStaff, Note("spoke to them"))
            .ok());
    clock_.Advance(60s);
    auto acc =
        svc->RecordStep(id, S::kAccepted, "carl", Recorder::kContractor, {"", 20, std::nullopt});
    ASSERT_TRUE(acc.ok());
    auto bad = svc->RecordStep(id, S::kReleased, "olga", Recorder::kStaff, {});
    EXPECT_EQ(bad.error().code, "out_of_order");
    EXPECT_EQ(svc->RecordStep(999, S::kReleased, "olga", Recorder::kStaff, {}).error().code,
              "not_found");
  }
  // A new service on the same file: the incident is open, with every step.
  auto svc = Service();
  ASSERT_TRUE(svc->Start().ok());
  auto open = svc->OpenFor("OP-1");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->id, id);
  ASSERT_EQ(open->steps.size(), 4u);
  EXPECT_EQ(open->steps[2].step, S::kAcknowledged);
  EXPECT_EQ(open->steps[2].note, "spoke to them");
  EXPECT_EQ(open->steps[2].at, open->opened_at() + 90s);
  EXPECT_EQ(open->steps[3].by, "carl");
  EXPECT_EQ(open->eta_min, 20);
  for (S s : {S::kOnSite, S::kReleased}) {
    ASSERT_TRUE(svc->RecordStep(id, s, "olga", Recorder::kStaff, {}).ok());
  }
  auto closed =
      svc->RecordStep(id, S::kClosed, "sam", Recorder::kStaff, {"", std::nullopt, "relay"});
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state(), IncidentState::kClosed);
  EXPECT_FALSE(svc->OpenFor("OP-1"));
  // Closed: the refusal comes from the stored incident.
  auto late = svc->RecordStep(id, S::kFalseAlarm, "sam", Recorder::kStaff, {});
  EXPECT_EQ(late.error().code, "out_of_order");
  EXPECT_NE(late.error().message.find("closed already"), std::string::npos);
  EXPECT_EQ(svc->RecordStep(id, S::kAccepted, "sam", Recorder::kStaff, {}).error().code,
            "bad_field");
  auto stored = svc->Find(id);
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_EQ((*stored)->cause, "relay");
  EXPECT_EQ((*stored)->steps.size(), 7u);
  auto reader = db::Database::OpenReader(path_);
  ASSERT_TRUE(reader.ok());
  auto row = db::IncidentStore::Get(**reader, id);
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*row)->state, "closed");
  EXPECT_EQ((*row)->step, "closed");
  EXPECT_FALSE((*row)->closed_at.empty());
  // A new incident may be opened on the car now.
  EXPECT_TRUE(svc->Open("OP-1", "olga", "").ok());
  // Listeners heard every change of this service, in order.
  auto told = Told();
  ASSERT_GE(told.size(), 5u);
  EXPECT_EQ(told[told.size() - 3].step, S::kReleased);
  EXPECT_EQ(told[told.size() - 2].step, S::kClosed);
  EXPECT_EQ(told.back().step, S::kOpen);
}

TEST_F(IncidentServiceTest, StartOpensWhatACrashLeftWithoutAnIncident) {
  // Stored before the crash: a TRAPPED alarm, but not its incident.
  Trapped(11, "OP-1");
  // A suppressed one and a cleared one need none.
  Trapped(12, "OP-2", rules::TransitionKind::kRaised, rules::AlarmState::kSuppressed);
  Trapped(13, "OP-3", rules::TransitionKind::kRaised, rules::AlarmState::kRtnUnack);
  clock_.Advance(30s);
  {
    auto svc = Service();
    ASSERT_TRUE(svc->Start().ok());
    auto open = svc->OpenFor("OP-1");
    ASSERT_TRUE(open);
    EXPECT_EQ(open->alarm_id, 11);
    // Measured from the alarm's raise, when the passenger was shut in.
    EXPECT_EQ(open->opened_at(), clock_.WallNow() - 30s);
    EXPECT_NE(open->steps[0].note.find("when Liftguard started"), std::string::npos);
    EXPECT_FALSE(svc->OpenFor("OP-2"));
    EXPECT_FALSE(svc->OpenFor("OP-3"));
    ASSERT_EQ(Told().size(), 1u);
    // Handled and called a false alarm while the alarm stays active.
    ASSERT_TRUE(
        svc->RecordStep(open->id, S::kFalseAlarm, "olga", Recorder::kStaff, Note("sensor")).ok());
  }
  // Another restart does not open a second incident for the same raise.
  auto svc = Service();
  ASSERT_TRUE(svc->Start().ok());
  EXPECT_FALSE(svc->OpenFor("OP-1"));
  auto all = svc->List("OP-1", false, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(IncidentServiceTest, TheStoreKeepsOneOpenIncidentPerCarAndEachStepOnce) {
  db::IncidentStore store(*db_);
  Incident inc = rules::NewIncident("OP-1", std::nullopt, "olga", "", {}, kT0);
  db::IncidentRow row;
  row.elevator = "OP-1";
  row.state = "open";
  row.step = "dispatched";
  row.opened_at = row.updated_at = db::FormatTime(kT0);
  row.steps = {{"open", db::FormatTime(kT0), "olga", ""}};
  auto id = store.Insert(row);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto second = store.Insert(row);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "incident_open");
  EXPECT_NE(second.error().message.find(std::to_string(*id)), std::string::npos);
  row.id = *id;
  Status dup = store.AppendStep(row, {"open", db::FormatTime(kT0), "olga", ""});
  EXPECT_EQ(dup.error().code, "out_of_order");
  // The index holds even for a writer that skips the check.
  EXPECT_THROW(
      db_->handle().exec("INSERT INTO incidents(elevator, state, step, opened_at, "
                         "acknowledged_target_min, accepted_target_min, on_site_target_min, "
                         "updated_at) VALUES ('OP-1','open','open','x',3,5,30,'x')"),
      SQLite::Exception);
  EXPECT_GE(db::Database::LatestVersion(), 4);
}

TEST_F(IncidentServiceTest, AnOpenThatCouldNotBeStoredIsRetried) {
  auto svc = Service();
  ASSERT_TRUE(svc->Start().ok());
  // Another writer holds the file (busy for longer than the busy timeout).
  auto other = db::Database::Open(path_);
  ASSERT_TRUE(other.ok());
  auto t = Trapped(21, "OP-1");
  (*other)->handle().exec("BEGIN IMMEDIATE");
  svc->OnAlarm(t);
  EXPECT_FALSE(svc->OpenFor("OP-1"));
  EXPECT_EQ(svc->write_failures(), 1u);
  (*other)->handle().exec("COMMIT");
  // A second raise meanwhile does not queue a second incident.
  svc->OnAlarm(Trapped(22, "OP-1"));
  svc->Tick();
  svc->Tick();
  auto open = svc->OpenFor("OP-1");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->alarm_id, 21);
  auto all = svc->List("OP-1", false, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

}  // namespace
}  // namespace lg
