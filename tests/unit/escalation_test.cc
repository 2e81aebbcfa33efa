// Rescue escalation and alarm notification policy (rules/escalation.h,
// rules/recipients.h, rules/notify_policy.h, rules/message_text.h) against
// shared/spec/faults.md: the default 0/3/5/25 min chain walked minute by
// minute with simulated time, steps cancelled by the step they wait for,
// closing stopping everything, recipients per target kind, idempotency keys,
// the flood digest and chattering as the AlarmBook decides them, and the
// message texts for every alarm type in both languages.
#include "rules/escalation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "rules/alarm_book.h"
#include "rules/incident.h"
#include "rules/message_text.h"
#include "rules/notify_policy.h"
#include "rules/recipients.h"

namespace lg::rules {
namespace {

using namespace std::chrono_literals;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-11-22 10:40:00 UTC = 18:40 in Asia/Shanghai (+08:00).
const WallTime kOpen = std::chrono::sys_days{std::chrono::year{2026} / 11 / 22} + 10h + 40min;
WallTime AtMin(double m) {
  return kOpen +
         std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(m * 60));
}

Target T(std::string_view text) { return *TargetFromName(text); }

// faults.md's default chain, with its default targets.
Directory SiteDirectory() {
  Directory d;
  d.contacts = {
      {"safety-manager",
       "Safety manager on duty",
       {{Route::Kind::kEmail, "safety@example.org"}, {Route::Kind::kWebhook, "wecom-safety"}}},
      {"director", "Hospital director", {{Route::Kind::kSms, "+8613800000001"}}},
      {"ops", "Ops desk", {{Route::Kind::kMqtt, "hospital/ops"}}},
  };
  d.contractors = {
      {"acme-lifts", "Acme Lift Service", "+86 20 0000 0000", "city-rescue", {}},
      {"city-rescue", "City rescue station", "+86 20 1111 1111", "", {}},
      {"lonely", "Lonely Lifts", "+86 20 2222 2222", "", {}},
      {"ghost-backup", "Ghost Lifts", "+86 20 3333 3333", "nobody", {}},
  };
  d.channels = {"wecom-safety", "ops-group"};
  d.can_text = true;
  d.main_responsible = "director";
  return d;
}

Incident Opened(int64_t id = 7) {
  Incident inc = NewIncident("OP-1", 42, "system", "TRAPPED: trapped between floors for 30 s",
                             IncidentTargets{}, kOpen);
  inc.id = id;
  return inc;
}

Incident Step(const Incident& inc, IncidentStep step, double at_min) {
  StepDetails d;
  if (step == IncidentStep::kAccepted) d.eta_min = 20;
  if (step == IncidentStep::kClosed) d.cause = "door operator fault";
  Result<Incident> r = WithStep(inc, step, "op", Recorder::kStaff, d, AtMin(at_min));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : inc;
}

std::vector<size_t> Due(const Incident& inc, double at_min, const Chain& chain = DefaultChain()) {
  return EvaluateEscalation(chain, inc, AtMin(at_min)).due;
}

using Idx = std::vector<size_t>;

// --- The chain ----------------------------------------------------------------

TEST(EscalationChain, DefaultChainIsFaultsMd) {
  Chain c = DefaultChain();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].after_min, 0);
  EXPECT_FALSE(c[0].unless.has_value());
  EXPECT_EQ(c[0].notify, (std::vector<Target>{T("security-room"), T("contractor:on-call")}));
  EXPECT_EQ(c[1].after_min, 3);
  EXPECT_EQ(c[1].unless, IncidentStep::kAcknowledged);
  EXPECT_EQ(c[1].notify, (std::vector<Target>{T("safety-manager")}));
  EXPECT_EQ(c[2].after_min, 5);
  EXPECT_EQ(c[2].unless, IncidentStep::kAccepted);
  EXPECT_EQ(c[2].notify, (std::vector<Target>{T("contractor:backup"), T("safety-manager")}));
  EXPECT_EQ(c[3].after_min, 25);
  EXPECT_EQ(c[3].unless, IncidentStep::kOnSite);
  EXPECT_EQ(c[3].notify, (std::vector<Target>{T("main-responsible")}));
  EXPECT_EQ(OnSiteDeadlineMin(c), 25);
  EXPECT_FALSE(OnSiteDeadlineMin({c[0], c[1]}).has_value());
}

TEST(EscalationChain, NobodyActsWalkedMinuteByMinute) {
  Incident inc = Opened();
  for (int m = 0; m <= 40; ++m) {
    EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(m));
    Idx want = m < 3 ? Idx{0} : m < 5 ? Idx{0, 1} : m < 25 ? Idx{0, 1, 2} : Idx{0, 1, 2, 3};
    EXPECT_EQ(s.due, want) << "minute " << m;
    std::optional<WallTime> next;
    if (m < 3)
      next = AtMin(3);
    else if (m < 5)
      next = AtMin(5);
    else if (m < 25)
      next = AtMin(25);
    EXPECT_EQ(s.next_due_at, next) << "minute " << m;
    ASSERT_EQ(s.steps.size(), 4u);
    for (const StepStatus& st : s.steps) {
      EXPECT_NE(st.state, StepState::kCancelled) << "minute " << m;
      EXPECT_EQ(st.due_at, AtMin(DefaultChain()[st.index].after_min));
    }
  }
  // The boundary is exact: one second early is not due.
  EXPECT_EQ(Due(inc, 3 - 1.0 / 60), Idx{0});
  EXPECT_EQ(Due(inc, 3), (Idx{0, 1}));
}

TEST(EscalationChain, AcknowledgedAtTwoMinutesCancelsStepTwo) {
  Incident inc = Step(Opened(), IncidentStep::kAcknowledged, 2);
  for (int m = 2; m <= 30; ++m) {
    EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(m));
    EXPECT_EQ(s.steps[1].state, StepState::kCancelled) << "minute " << m;
    EXPECT_EQ(s.steps[1].cancelled_by, IncidentStep::kAcknowledged);
    EXPECT_TRUE(std::find(s.due.begin(), s.due.end(), 1u) == s.due.end()) << "minute " << m;
  }
  EXPECT_EQ(Due(inc, 2), Idx{0});
  EXPECT_EQ(Due(inc, 4), Idx{0});
  EXPECT_EQ(Due(inc, 5), (Idx{0, 2}));  // acknowledging does not stop the others
  EXPECT_EQ(Due(inc, 25), (Idx{0, 2, 3}));
  EXPECT_EQ(EvaluateEscalation(DefaultChain(), inc, AtMin(2)).next_due_at, AtMin(5));
}

TEST(EscalationChain, AcknowledgedAfterTheStepFellDueDoesNotUndoIt) {
  // Step two was due at 3:00 and went out; acknowledging at 4:00 leaves it
  // due (the outbox already has it: same keys), and cancels nothing else.
  Incident inc = Step(Opened(), IncidentStep::kAcknowledged, 4);
  EXPECT_EQ(Due(inc, 3.5), (Idx{0, 1}));
  EXPECT_EQ(Due(inc, 4.5), (Idx{0, 1}));
  EXPECT_EQ(EvaluateEscalation(DefaultChain(), inc, AtMin(4.5)).steps[1].state, StepState::kDue);
}

TEST(EscalationChain, AcceptedCancelsStepThree) {
  Incident inc = Step(Opened(), IncidentStep::kAccepted, 4);
  for (int m = 4; m <= 24; ++m) {
    EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(m));
    EXPECT_EQ(s.steps[2].state, StepState::kCancelled) << "minute " << m;
    EXPECT_EQ(s.steps[2].cancelled_by, IncidentStep::kAccepted);
    EXPECT_EQ(s.due, (Idx{0, 1})) << "minute " << m;  // nobody acknowledged: step two stands
  }
  EXPECT_EQ(Due(inc, 25), (Idx{0, 1, 3}));
}

TEST(EscalationChain, OnSiteStopsStepFour) {
  Incident inc = Opened();
  inc = Step(inc, IncidentStep::kAcknowledged, 1);
  inc = Step(inc, IncidentStep::kAccepted, 2);
  inc = Step(inc, IncidentStep::kOnSite, 20);
  for (int m = 20; m <= 40; ++m) {
    EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(m));
    EXPECT_EQ(s.due, Idx{0}) << "minute " << m;
    EXPECT_EQ(s.steps[3].state, StepState::kCancelled);
    EXPECT_EQ(s.steps[3].cancelled_by, IncidentStep::kOnSite);
    EXPECT_FALSE(s.next_due_at.has_value());
  }
  // Before on_site was recorded step four was still waiting.
  Incident before =
      Step(Step(Step(Opened(), IncidentStep::kAcknowledged, 1), IncidentStep::kAccepted, 2),
           IncidentStep::kOnSite, 26);
  EXPECT_EQ(Due(before, 25), (Idx{0, 3}));
}

TEST(EscalationChain, ClosingStopsEverything) {
  // A false alarm at 1 min: nothing after step one ever falls due.
  Incident fa = Step(Opened(), IncidentStep::kFalseAlarm, 1);
  for (int m = 1; m <= 40; ++m) {
    EscalationStatus s = EvaluateEscalation(DefaultChain(), fa, AtMin(m));
    EXPECT_TRUE(s.due.empty()) << "minute " << m;
    EXPECT_FALSE(s.next_due_at.has_value());
    EXPECT_EQ(s.steps[0].state, StepState::kOver);  // went out at 0, nothing more to send
    for (size_t i = 1; i < 4; ++i) {
      EXPECT_EQ(s.steps[i].state, StepState::kCancelled);
      EXPECT_EQ(s.steps[i].cancelled_by, IncidentStep::kFalseAlarm);
    }
  }
  // Closed after 6 min with nobody acknowledging before 3: steps 1-3 fell
  // due while it was open (over now), step four is cancelled.
  Incident inc = Opened();
  inc = Step(inc, IncidentStep::kAccepted, 5.5);
  inc = Step(inc, IncidentStep::kOnSite, 5.6);
  inc = Step(inc, IncidentStep::kAcknowledged, 5.7);
  inc = Step(inc, IncidentStep::kReleased, 5.8);
  inc = Step(inc, IncidentStep::kClosed, 6);
  EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(30));
  EXPECT_TRUE(s.due.empty());
  EXPECT_FALSE(s.next_due_at.has_value());
  EXPECT_EQ(s.steps[0].state, StepState::kOver);
  EXPECT_EQ(s.steps[1].state, StepState::kOver);
  EXPECT_EQ(s.steps[2].state, StepState::kOver);
  EXPECT_EQ(s.steps[3].state, StepState::kCancelled);
  EXPECT_EQ(s.steps[3].cancelled_by, IncidentStep::kOnSite);
}

TEST(EscalationChain, AStepReachedImpliesTheStepsItNeeds) {
  // Recorded by hand without `accepted` (the contract would not allow it):
  // on_site still stops a step waiting for accepted, and released one
  // waiting for acknowledged.
  Incident inc = Opened();
  inc.steps.push_back(StepRecord{IncidentStep::kOnSite, AtMin(1), "op", ""});
  EXPECT_EQ(Due(inc, 10), (Idx{0, 1}));
  inc.steps.push_back(StepRecord{IncidentStep::kReleased, AtMin(2), "op", ""});
  EXPECT_EQ(Due(inc, 10), Idx{0});
  // A step waiting for `open` never goes out; one waiting for `dispatched`
  // neither (it is recorded with open).
  Chain c = {ChainStep{1, IncidentStep::kOpen, {T("ops")}},
             ChainStep{1, IncidentStep::kDispatched, {T("ops")}},
             ChainStep{1, std::nullopt, {T("ops")}}};
  EXPECT_EQ(Due(Opened(), 2, c), Idx{2});
}

TEST(EscalationChain, AStepRecordedAfterNowStillCancels) {
  // A step recorded with a time after `now` (a clock stepped back) still
  // cancels a step that is not due yet.
  Incident inc = Step(Opened(), IncidentStep::kAcknowledged, 2.5);
  EscalationStatus s = EvaluateEscalation(DefaultChain(), inc, AtMin(2));
  EXPECT_EQ(s.steps[1].state, StepState::kCancelled);
  EXPECT_EQ(s.next_due_at, AtMin(5));
}

// --- Recipients ---------------------------------------------------------------

std::vector<std::string> Keys(const Resolution& r) {
  std::vector<std::string> out;
  for (const Recipient& x : r.recipients) out.push_back(x.Key());
  return out;
}
using Strs = std::vector<std::string>;

TEST(Recipients, TargetNamesRoundTrip) {
  for (std::string_view n : {"security-room", "contractor:on-call", "contractor:backup",
                             "main-responsible", "channel:ops-group", "safety-manager"}) {
    ASSERT_TRUE(TargetFromName(n).has_value()) << n;
    EXPECT_EQ(TargetName(*TargetFromName(n)), n);
  }
  EXPECT_EQ(TargetFromName("channel:ops-group")->kind, Target::Kind::kChannel);
  EXPECT_EQ(TargetFromName("channel:ops-group")->id, "ops-group");
  EXPECT_EQ(TargetFromName("safety-manager")->kind, Target::Kind::kContact);
  EXPECT_FALSE(TargetFromName("").has_value());
  EXPECT_FALSE(TargetFromName("channel:").has_value());
}

TEST(Recipients, EachTargetKind) {
  const Directory d = SiteDirectory();
  Resolution r = ResolveTargets({T("security-room")}, "acme-lifts", d);
  EXPECT_EQ(Keys(r), Strs{"security-room"});
  EXPECT_EQ(r.recipients[0].kind, Recipient::Kind::kSecurityRoom);

  r = ResolveTargets({T("contractor:on-call")}, "acme-lifts", d);
  EXPECT_EQ(Keys(r), Strs{"sms:+86 20 0000 0000"});
  EXPECT_EQ(r.recipients[0].name, "Acme Lift Service");
  EXPECT_EQ(r.recipients[0].via, "contractor:on-call");

  r = ResolveTargets({T("contractor:backup")}, "acme-lifts", d);
  EXPECT_EQ(Keys(r), Strs{"sms:+86 20 1111 1111"});
  EXPECT_EQ(r.recipients[0].name, "City rescue station");

  r = ResolveTargets({T("main-responsible")}, "acme-lifts", d);
  EXPECT_EQ(Keys(r), Strs{"sms:+8613800000001"});
  EXPECT_EQ(r.recipients[0].name, "Hospital director");

  // A contact: each route; its webhook route is that channel.
  r = ResolveTargets({T("safety-manager")}, "acme-lifts", d);
  EXPECT_EQ(Keys(r), (Strs{"email:safety@example.org", "channel:wecom-safety"}));
  EXPECT_EQ(r.recipients[0].kind, Recipient::Kind::kEmail);
  EXPECT_EQ(r.recipients[0].address, "safety@example.org");
  EXPECT_EQ(r.recipients[1].kind, Recipient::Kind::kChannel);
  EXPECT_EQ(r.recipients[1].address, "wecom-safety");

  r = ResolveTargets({T("ops")}, "", d);
  EXPECT_EQ(Keys(r), Strs{"mqtt:hospital/ops"});

  r = ResolveTargets({T("channel:ops-group")}, "", d);
  EXPECT_EQ(Keys(r), Strs{"channel:ops-group"});
  EXPECT_TRUE(r.unresolved.empty());

  // One address named twice (contact route and channel target) is one recipient.
  r = ResolveTargets(
      {T("safety-manager"), T("channel:wecom-safety"), T("security-room"), T("security-room")},
      "acme-lifts", d);
  EXPECT_EQ(Keys(r), (Strs{"email:safety@example.org", "channel:wecom-safety", "security-room"}));
  EXPECT_TRUE(r.unresolved.empty());

  // A contractor's own routes come with its duty phone.
  Directory d2 = d;
  d2.contractors[0].routes = {{Route::Kind::kEmail, "duty@acme.example"}};
  r = ResolveTargets({T("contractor:on-call")}, "acme-lifts", d2);
  EXPECT_EQ(Keys(r), (Strs{"sms:+86 20 0000 0000", "email:duty@acme.example"}));
}

TEST(Recipients, UnresolvableTargetsAreReported) {
  const Directory d = SiteDirectory();
  auto reason = [&](std::string_view target, std::string_view contractor, const Directory& dir) {
    Resolution r = ResolveTargets({T(target)}, contractor, dir);
    EXPECT_TRUE(r.recipients.empty()) << target;
    EXPECT_EQ(r.unresolved.size(), 1u) << target;
    if (r.unresolved.empty()) return std::string();
    EXPECT_EQ(r.unresolved[0].target, T(target));
    return r.unresolved[0].reason;
  };
  EXPECT_EQ(reason("contractor:backup", "lonely", d),
            "contractor 'lonely' has no backup contractor");
  EXPECT_NE(reason("contractor:backup", "ghost-backup", d).find("'nobody'"), std::string::npos);
  EXPECT_NE(reason("contractor:on-call", "", d).find("no contractor"), std::string::npos);
  EXPECT_NE(reason("contractor:backup", "", d).find("no contractor"), std::string::npos);
  EXPECT_NE(reason("contractor:on-call", "missing", d).find("'missing'"), std::string::npos);
  EXPECT_NE(reason("no-such-contact", "", d).find("'no-such-contact'"), std::string::npos);
  EXPECT_NE(reason("channel:nope", "", d).find("'nope'"), std::string::npos);

  Directory no_main = d;
  no_main.main_responsible.clear();
  EXPECT_EQ(reason("main-responsible", "", no_main), "no main responsible person is configured");

  // Without a sms channel a duty phone cannot be texted: say so, with the number.
  Directory no_sms = d;
  no_sms.can_text = false;
  std::string why = reason("contractor:on-call", "acme-lifts", no_sms);
  EXPECT_NE(why.find("+86 20 0000 0000"), std::string::npos) << why;
  EXPECT_NE(why.find("sms"), std::string::npos) << why;

  // The others of a list still resolve.
  Resolution r = ResolveTargets({T("contractor:backup"), T("safety-manager")}, "lonely", d);
  EXPECT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.unresolved.size(), 1u);
}

// --- Plans and keys -------------------------------------------------------------

TEST(EscalationPlan, DueStepsResolvedWithStableUniqueKeys) {
  const Directory d = SiteDirectory();
  const Chain chain = DefaultChain();
  Incident inc = Opened(7);

  EscalationPlan p0 = PlanEscalation(chain, inc, "acme-lifts", d, AtMin(0));
  ASSERT_EQ(p0.deliveries.size(), 2u);
  EXPECT_EQ(p0.deliveries[0].key, "incident:7:esc:0m:always:security-room");
  EXPECT_EQ(p0.deliveries[1].key, "incident:7:esc:0m:always:sms:+86 20 0000 0000");
  EXPECT_TRUE(p0.gaps.empty());

  std::set<std::string> previous;
  for (int m = 0; m <= 30; ++m) {
    EscalationPlan p = PlanEscalation(chain, inc, "acme-lifts", d, AtMin(m));
    std::set<std::string> keys;
    for (const EscalationDelivery& del : p.deliveries) {
      EXPECT_TRUE(keys.insert(del.key).second) << "duplicate key " << del.key;
      EXPECT_EQ(del.key, EscalationKey(7, chain[del.step], del.recipient));
    }
    // Evaluating again (a restart) gives the same keys, and every key given
    // earlier is given again: the outbox recognises them all.
    EscalationPlan again = PlanEscalation(chain, inc, "acme-lifts", d, AtMin(m));
    ASSERT_EQ(again.deliveries.size(), p.deliveries.size());
    for (size_t i = 0; i < p.deliveries.size(); ++i) {
      EXPECT_EQ(again.deliveries[i].key, p.deliveries[i].key);
    }
    EXPECT_TRUE(std::includes(keys.begin(), keys.end(), previous.begin(), previous.end()))
        << "minute " << m;
    previous = keys;
  }
  // At 30 min: 2 + 2 (email, wecom) + 3 (backup sms, email, wecom) + 1 (director sms).
  EXPECT_EQ(previous.size(), 8u);
  EXPECT_TRUE(previous.count("incident:7:esc:3m:acknowledged:email:safety@example.org"));
  EXPECT_TRUE(previous.count("incident:7:esc:5m:accepted:email:safety@example.org"));
  EXPECT_TRUE(previous.count("incident:7:esc:25m:on_site:sms:+8613800000001"));

  // Another incident never shares a key.
  EscalationPlan other = PlanEscalation(chain, Opened(8), "acme-lifts", d, AtMin(30));
  for (const EscalationDelivery& del : other.deliveries) {
    EXPECT_EQ(previous.count(del.key), 0u) << del.key;
  }

  // Reordering the chain (a reload) keeps each step's keys.
  Chain reversed(chain.rbegin(), chain.rend());
  EscalationPlan rp = PlanEscalation(reversed, inc, "acme-lifts", d, AtMin(30));
  std::set<std::string> rkeys;
  for (const EscalationDelivery& del : rp.deliveries) rkeys.insert(del.key);
  EXPECT_EQ(rkeys, previous);
}

TEST(EscalationPlan, GapsBelongToTheirStep) {
  Directory d = SiteDirectory();
  d.main_responsible.clear();
  EscalationPlan p = PlanEscalation(DefaultChain(), Opened(), "lonely", d, AtMin(25));
  ASSERT_EQ(p.gaps.size(), 2u);
  EXPECT_EQ(p.gaps[0].step, 2u);
  EXPECT_EQ(p.gaps[0].what.target, T("contractor:backup"));
  EXPECT_EQ(p.gaps[1].step, 3u);
  EXPECT_EQ(p.gaps[1].what.target, T("main-responsible"));
  // Steps not due have no gaps yet.
  EXPECT_TRUE(PlanEscalation(DefaultChain(), Opened(), "lonely", d, AtMin(4)).gaps.empty());
}

// --- Alarm notifications by severity --------------------------------------------

Finding F(AlarmType type, bool active, WallTime at) {
  Finding f;
  f.type = type;
  f.active = active;
  f.severity = DefaultSeverity(type);
  f.message = std::string(AlarmTypeName(type));
  f.wall_at = at;
  return f;
}

Strs DeliveryKeys(const AlarmNotice& n) {
  Strs out;
  for (const AlarmDelivery& d : n.deliveries) out.push_back(d.recipient.Key());
  return out;
}

TEST(NotifyPolicy, DefaultRoutesBySeverity) {
  const Directory d = SiteDirectory();
  SeverityRoutes r = DefaultSeverityRoutes(d);
  EXPECT_EQ(r.critical, (std::vector<Target>{T("security-room"), T("contractor:on-call"),
                                             T("safety-manager")}));
  EXPECT_EQ(r.major, (std::vector<Target>{T("security-room"), T("safety-manager")}));
  EXPECT_EQ(r.minor, (std::vector<Target>{T("security-room")}));
  EXPECT_EQ(&r.For(Severity::kMajor), &r.major);
  // Records reminders reach the safety manager whatever their severity, and
  // an overdue servicing the contractor too.
  EXPECT_EQ(r.For(AlarmType::kCertificateExpiring, Severity::kMinor),
            (std::vector<Target>{T("security-room"), T("safety-manager")}));
  EXPECT_EQ(
      r.For(AlarmType::kMaintenanceOverdue, Severity::kMinor),
      (std::vector<Target>{T("security-room"), T("safety-manager"), T("contractor:on-call")}));
  EXPECT_EQ(&r.For(AlarmType::kDoorLockFault, Severity::kMajor), &r.major);

  // Every safety-manager-* contact counts; "safety-managers" does not.
  Directory d2 = d;
  d2.contacts.push_back({"safety-manager-night", "Night", {{Route::Kind::kEmail, "n@x.org"}}});
  d2.contacts.push_back({"safety-managers", "Not one", {{Route::Kind::kEmail, "m@x.org"}}});
  EXPECT_EQ(
      DefaultSeverityRoutes(d2).major,
      (std::vector<Target>{T("security-room"), T("safety-manager"), T("safety-manager-night")}));

  // Without any, the target stays and is reported, not dropped.
  Directory none = d;
  none.contacts.erase(none.contacts.begin());
  SeverityRoutes rn = DefaultSeverityRoutes(none);
  EXPECT_EQ(rn.major, (std::vector<Target>{T("security-room"), T("safety-manager")}));
  AlarmBook book{RulesConfig{}};
  Transition t = book.OnFinding("OP-1", F(AlarmType::kBrakeFault, true, kOpen), std::nullopt)
                     .transitions.at(0);
  AlarmNotice n = PlanAlarmNotice(t, "acme-lifts", rn, none);
  EXPECT_EQ(DeliveryKeys(n), Strs{"security-room"});
  ASSERT_EQ(n.unresolved.size(), 1u);
  EXPECT_EQ(n.unresolved[0].target, T("safety-manager"));
}

TEST(NotifyPolicy, NowTransitionsGoToTheirSeverityOnce) {
  const Directory d = SiteDirectory();
  const SeverityRoutes routes = DefaultSeverityRoutes(d);
  AlarmBook book{RulesConfig{}};
  auto raise = [&](const std::string& car, AlarmType type, WallTime at) {
    Update u = book.OnFinding(car, F(type, true, at), std::nullopt);
    EXPECT_EQ(u.transitions.size(), 1u);
    return u.transitions.at(0);
  };
  Transition crit = raise("OP-1", AlarmType::kOverspeed, kOpen);
  ASSERT_EQ(crit.notify, Notify::kNow);
  AlarmNotice n = PlanAlarmNotice(crit, "acme-lifts", routes, d);
  EXPECT_EQ(DeliveryKeys(n), (Strs{"security-room", "sms:+86 20 0000 0000",
                                   "email:safety@example.org", "channel:wecom-safety"}));
  EXPECT_EQ(n.deliveries[0].key, "alarm:" + std::to_string(crit.alarm_id) + ":r1:security-room");

  Transition major = raise("OP-1", AlarmType::kSafetyCircuitOpen, kOpen + 1s);
  EXPECT_EQ(DeliveryKeys(PlanAlarmNotice(major, "acme-lifts", routes, d)),
            (Strs{"security-room", "email:safety@example.org", "channel:wecom-safety"}));

  Transition minor = raise("OP-1", AlarmType::kDoorOpenTooLong, kOpen + 2s);
  EXPECT_EQ(DeliveryKeys(PlanAlarmNotice(minor, "acme-lifts", routes, d)), Strs{"security-room"});

  // TRAPPED is the rescue incident's: its escalation chain notifies.
  Transition trapped = raise("WD-1", AlarmType::kTrapped, kOpen + 3s);
  ASSERT_EQ(trapped.notify, Notify::kNow);
  EXPECT_TRUE(NotifiedByEscalation(AlarmType::kTrapped));
  EXPECT_TRUE(PlanAlarmNotice(trapped, "acme-lifts", routes, d).deliveries.empty());

  // Transitions the book does not notify (cleared, acked) give nothing.
  Update cleared =
      book.OnFinding("OP-1", F(AlarmType::kOverspeed, false, kOpen + 5s), std::nullopt);
  ASSERT_FALSE(cleared.transitions.empty());
  EXPECT_TRUE(PlanAlarmNotice(cleared.transitions[0], "acme-lifts", routes, d).deliveries.empty());

  // A later transition of the same alarm that is notified (raised again)
  // gets new keys: (alarm, revision) differ.
  Transition again = raise("OP-1", AlarmType::kOverspeed, kOpen + 9s);
  ASSERT_EQ(again.kind, TransitionKind::kReraised);
  AlarmNotice na = PlanAlarmNotice(again, "acme-lifts", routes, d);
  ASSERT_FALSE(na.deliveries.empty());
  EXPECT_NE(na.deliveries[0].key, n.deliveries[0].key);
  EXPECT_EQ(na.deliveries[0].key, AlarmNoticeKey(again, na.deliveries[0].recipient));
}

TEST(NotifyPolicy, ChatteringAlarmIsNotifiedAtMostOncePerInterval) {
  const Directory d = SiteDirectory();
  const SeverityRoutes routes = DefaultSeverityRoutes(d);
  AlarmBook book{RulesConfig{}};
  int sent = 0, chatter = 0;
  WallTime t = kOpen;
  for (int i = 0; i < 8; ++i) {
    for (bool active : {true, false}) {
      Update u = book.OnFinding("OP-1", F(AlarmType::kDoorLockFault, active, t), std::nullopt);
      for (const Transition& tr : u.transitions) {
        if (!PlanAlarmNotice(tr, "acme-lifts", routes, d).deliveries.empty()) ++sent;
        if (tr.notify == Notify::kSuppressedByChatter) ++chatter;
      }
      t += 5s;
    }
  }
  // Raised and cleared 3 times within 60 s: chattering; the rest of the
  // 80 s burst is held back.
  EXPECT_TRUE(book.chattering("OP-1", AlarmType::kDoorLockFault));
  EXPECT_GT(chatter, 0);
  EXPECT_LE(sent, 3);
  EXPECT_GE(sent, 1);
}

TEST(NotifyPolicy, FloodDigestEveryTwoMinutesCriticalAtOnce) {
  Directory d = SiteDirectory();
  const SeverityRoutes routes = DefaultSeverityRoutes(d);
  RulesConfig rules;  // flood: more than 10 new alarms in 10 min; digest every 120 s
  AlarmBook book{rules};
  std::map<std::string, std::string> contractor = {{"OP-1", "acme-lifts"}};
  ContractorOf contractor_of = [&](const std::string& car) {
    auto it = contractor.find(car);
    return it == contractor.end() ? std::string() : it->second;
  };

  const AlarmType non_critical[] = {AlarmType::kSafetyCircuitOpen, AlarmType::kDoorLockFault,
                                    AlarmType::kDoorOpenTooLong, AlarmType::kCommsLost};
  int now_count = 0, digest_count = 0;
  std::optional<WallTime> flood_at;
  WallTime t = kOpen;
  for (int i = 0; i < 16; ++i) {
    std::string car = "C" + std::to_string(i);
    Update u = book.OnFinding(car, F(non_critical[i % 4], true, t), std::nullopt);
    if (u.flood == FloodChange::kStarted) flood_at = t;
    for (const Transition& tr : u.transitions) {
      AlarmNotice n = PlanAlarmNotice(tr, contractor_of(car), routes, d);
      if (tr.notify == Notify::kNow) {
        EXPECT_FALSE(n.deliveries.empty());
        ++now_count;
      } else {
        EXPECT_EQ(tr.notify, Notify::kDigest);
        EXPECT_TRUE(n.deliveries.empty()) << "a digested alarm goes out only in the digest";
        ++digest_count;
      }
    }
    t += 1s;
  }
  // The 11th new alarm within 10 min starts the flood.
  ASSERT_EQ(flood_at, kOpen + 10s);
  EXPECT_TRUE(book.flood());
  EXPECT_GT(digest_count, 0);
  EXPECT_EQ(now_count + digest_count, 16);

  // A critical alarm during the flood goes out at once, on its own.
  Transition crit =
      book.OnFinding("OP-1", F(AlarmType::kUcm, true, t), std::nullopt).transitions.at(0);
  EXPECT_EQ(crit.notify, Notify::kNow);
  EXPECT_FALSE(PlanAlarmNotice(crit, "acme-lifts", routes, d).deliveries.empty());

  // Before two minutes nothing; at two minutes, one digest of everything held.
  EXPECT_FALSE(book.OnTime(*flood_at + 119s).digest.has_value());
  Update u = book.OnTime(*flood_at + 120s);
  ASSERT_TRUE(u.digest.has_value());
  const Digest& dg = *u.digest;
  EXPECT_EQ(static_cast<int>(dg.items.size()), digest_count);
  DigestNotice dn = PlanDigest(dg, contractor_of, routes, d);
  ASSERT_EQ(dn.deliveries.size(), 3u);  // security room, safety manager e-mail and chat
  EXPECT_EQ(dn.deliveries[0].recipient.Key(), "security-room");
  EXPECT_EQ(dn.deliveries[0].items.size(), dg.items.size());
  // Minor items go to the security room only.
  size_t minor = std::count_if(dg.items.begin(), dg.items.end(), [](const Transition& x) {
    return x.alarm.severity == Severity::kMinor;
  });
  EXPECT_GT(minor, 0u);
  EXPECT_EQ(dn.deliveries[1].items.size(), dg.items.size() - minor);
  const std::string first = std::to_string(dg.items[0].alarm_id) + ".r1";
  EXPECT_EQ(dn.deliveries[0].key, "digest:" + first + ":security-room");
  EXPECT_EQ(dn.deliveries[1].key, DigestKey(dg, dn.deliveries[1].recipient));

  // A route naming the contractor sends it only its own cars' items.
  SeverityRoutes with_contractor = routes;
  with_contractor.major.push_back(T("contractor:on-call"));
  with_contractor.minor.push_back(T("contractor:on-call"));
  ASSERT_GE(dg.items.size(), 3u);
  const std::string mine1 = dg.items[0].elevator, mine2 = dg.items[2].elevator;
  contractor = {{mine1, "acme-lifts"}, {mine2, "acme-lifts"}};
  DigestNotice dc = PlanDigest(dg, contractor_of, with_contractor, d);
  auto it = std::find_if(dc.deliveries.begin(), dc.deliveries.end(), [](const DigestDelivery& x) {
    return x.recipient.Key() == "sms:+86 20 0000 0000";
  });
  ASSERT_NE(it, dc.deliveries.end());
  EXPECT_EQ(it->items, (std::vector<size_t>{0, 2}));
  // Cars without a contractor: reported once, not once per item.
  EXPECT_EQ(dc.unresolved.size(), 1u);

  // Nothing more is held until new alarms come: the next tick has no digest.
  EXPECT_FALSE(book.OnTime(*flood_at + 240s).digest.has_value());
  EXPECT_TRUE(PlanDigest(Digest{}, contractor_of, routes, d).deliveries.empty());
}

// --- Messages --------------------------------------------------------------------

bool Has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

CarInfo Car() {
  CarInfo c;
  c.id = "OP-1";
  c.name = "Outpatient car 1";
  c.building = "Outpatient";
  c.registration_code = "31104403002018000001";
  c.floor = 3;
  c.contractor_name = "Acme Lift Service";
  c.contractor_phone = "+86 20 0000 0000";
  return c;
}

Transition Raised(AlarmType type, WallTime at) {
  AlarmBook book{RulesConfig{}};
  Finding f = F(type, true, at);
  if (type == AlarmType::kControllerFault) {
    f.subtype = "35";
    f.message = "E35: door lock short-circuit";
  }
  if (type == AlarmType::kTrapped) f.subtype = "between_floors";
  // An alarm of no car (CHANNEL_DOWN) carries its channel's id instead; a
  // compliance alarm of a car carries the car's.
  const std::string source = IsAboutCar(type, "OP-1") ? "OP-1" : "wecom-safety";
  return book.OnFinding(source, f, std::nullopt).transitions.at(0);
}

TEST(MessageText, EveryAlarmTypeInBothLanguages) {
  TextOptions o;  // both languages, +08:00
  std::set<std::string> whats_en, whats_zh, todos_en, todos_zh;
  for (int i = 0; i < kAlarmTypeCount; ++i) {
    const AlarmType type = static_cast<AlarmType>(i);
    const std::string name(AlarmTypeName(type));
    TypeWords en = AlarmTypeWords(type, Language::kEnglish, o);
    TypeWords zh = AlarmTypeWords(type, Language::kChinese, o);
    EXPECT_FALSE(en.what.empty() || en.todo.empty() || zh.what.empty() || zh.todo.empty()) << name;
    EXPECT_NE(en.what, "Unknown alarm") << name;
    whats_en.insert(en.what);
    whats_zh.insert(zh.what);
    todos_en.insert(en.todo);
    todos_zh.insert(zh.todo);

    Transition t = Raised(type, kOpen);
    Message m = AlarmMessage(t, Car(), kOpen + 3min, o);
    const bool of_car = IsAboutCar(type, "OP-1");
    for (const std::string* part : {&m.subject, &m.text, &m.markdown}) {
      EXPECT_TRUE(Has(*part, name)) << name;                    // the type, English
      EXPECT_TRUE(Has(*part, AlarmTypeChinese(type))) << name;  // and Chinese
      if (of_car) {
        EXPECT_TRUE(Has(*part, "Outpatient car 1 (OP-1)")) << *part;
        EXPECT_TRUE(Has(*part, "Outpatient car 1（OP-1）")) << *part;
        EXPECT_TRUE(Has(*part, "Outpatient, floor 3")) << *part;
        EXPECT_TRUE(Has(*part, "Outpatient，3 层")) << *part;
      } else {
        EXPECT_TRUE(Has(*part, "wecom-safety")) << *part;
        EXPECT_FALSE(Has(*part, "OP-1")) << name << ": not a car's alarm";
      }
    }
    for (const std::string* part : {&m.text, &m.markdown}) {
      EXPECT_TRUE(Has(*part, en.what)) << name;
      EXPECT_TRUE(Has(*part, zh.what)) << name;
      EXPECT_TRUE(Has(*part, en.todo)) << name;
      EXPECT_TRUE(Has(*part, zh.todo)) << name;
      EXPECT_TRUE(Has(*part, "2026-11-22 18:40:00 (UTC+08:00)")) << name;  // since, local
      EXPECT_TRUE(Has(*part, "3 min ago")) << name;
      EXPECT_TRUE(Has(*part, "3 分钟前")) << name;
      EXPECT_EQ(Has(*part, "Acme Lift Service"), of_car) << name;
      EXPECT_EQ(Has(*part, "31104403002018000001"), of_car) << name;
      EXPECT_TRUE(Has(*part, "#" + std::to_string(t.alarm_id))) << name;
    }
    if (!of_car) {
      EXPECT_TRUE(Has(m.subject, "channel wecom-safety")) << m.subject;
      EXPECT_TRUE(Has(m.subject, "通道 wecom-safety")) << m.subject;
      EXPECT_TRUE(Has(m.text, "Channel: wecom-safety")) << m.text;
    }
    EXPECT_TRUE(Has(m.markdown, "### ")) << name;
    EXPECT_TRUE(Has(m.markdown, "**Since**: 2026-11-22")) << name;
    EXPECT_TRUE(Has(m.markdown, "**开始时间**：2026-11-22")) << name;
    EXPECT_LE(m.markdown.size(), 4096u) << name << ": over WeCom's markdown limit";
    EXPECT_EQ(m.subject.find('\n'), std::string::npos) << name;

    // One language only: the other's words are absent.
    TextOptions only_en = o;
    only_en.language = Language::kEnglish;
    Message me = AlarmMessage(t, Car(), kOpen + 3min, only_en);
    EXPECT_TRUE(Has(me.text, en.todo)) << name;
    EXPECT_FALSE(Has(me.text, zh.todo)) << name;
    EXPECT_FALSE(Has(me.text, AlarmTypeChinese(type))) << name;
    TextOptions only_zh = o;
    only_zh.language = Language::kChinese;
    Message mz = AlarmMessage(t, Car(), kOpen + 3min, only_zh);
    EXPECT_TRUE(Has(mz.text, zh.todo)) << name;
    EXPECT_FALSE(Has(mz.text, en.todo)) << name;
  }
  // Each type has its own words.
  EXPECT_EQ(whats_en.size(), static_cast<size_t>(kAlarmTypeCount));
  EXPECT_EQ(whats_zh.size(), static_cast<size_t>(kAlarmTypeCount));
  EXPECT_GE(todos_en.size(), static_cast<size_t>(kAlarmTypeCount) - 1);
  EXPECT_GE(todos_zh.size(), static_cast<size_t>(kAlarmTypeCount) - 1);
}

TEST(MessageText, ComplianceAlarmsOfNoCarNameTheirHolderOrParty) {
  TextOptions o;
  AlarmBook book{RulesConfig{}};
  Finding f = F(AlarmType::kCertificateExpired, true, kOpen);
  f.message = "Li Wei (category T): certificate T-1 expired 2026-11-22";
  Transition t = book.OnFinding("person:7", f, std::nullopt).transitions.at(0);
  Message m = AlarmMessage(t, Car(), kOpen, o);
  EXPECT_TRUE(Has(m.subject, "certificate holder #7")) << m.subject;
  EXPECT_TRUE(Has(m.subject, "持证人 #7")) << m.subject;
  EXPECT_TRUE(Has(m.text, "Li Wei (category T)")) << m.text;
  EXPECT_FALSE(Has(m.text, "OP-1")) << m.text;
  EXPECT_FALSE(Has(m.text, "channel")) << m.text;
  Transition d = book.OnFinding("unit:site", F(AlarmType::kDrillOverdue, true, kOpen), std::nullopt)
                     .transitions.at(0);
  EXPECT_TRUE(Has(AlarmMessage(d, Car(), kOpen, o).subject, "the user unit"));
}

TEST(MessageText, TrappedSaysWhatToDoWithTheDeadlines) {
  TextOptions o;
  o.arrival_target_min = 15;
  o.call_authorities_after_min = 12;
  TypeWords en = AlarmTypeWords(AlarmType::kTrapped, Language::kEnglish, o);
  EXPECT_TRUE(Has(en.todo, "intercom"));
  EXPECT_TRUE(Has(en.todo, "force the doors"));
  EXPECT_TRUE(Has(en.todo, "within 15 min"));
  EXPECT_TRUE(Has(en.todo, "12 min"));
  EXPECT_TRUE(Has(en.todo, "96333"));
  EXPECT_TRUE(Has(en.todo, "119"));
  TypeWords zh = AlarmTypeWords(AlarmType::kTrapped, Language::kChinese, o);
  EXPECT_TRUE(Has(zh.todo, "对讲"));
  EXPECT_TRUE(Has(zh.todo, "扒门"));
  EXPECT_TRUE(Has(zh.todo, "15 分钟内"));
  EXPECT_TRUE(Has(zh.todo, "12 分钟"));
  EXPECT_TRUE(Has(zh.todo, "96333"));

  Message m = AlarmMessage(Raised(AlarmType::kTrapped, kOpen), Car(), kOpen, o);
  EXPECT_TRUE(Has(m.text, "stopped between floors"));
  EXPECT_TRUE(Has(m.text, "非平层关人"));
  EXPECT_TRUE(Has(m.text, "31104403002018000001"));

  Message cf = AlarmMessage(Raised(AlarmType::kControllerFault, kOpen), Car(), kOpen, o);
  EXPECT_TRUE(Has(cf.text, "fault code 35"));
  EXPECT_TRUE(Has(cf.text, "故障代码 35"));
  EXPECT_TRUE(Has(cf.text, "E35: door lock short-circuit"));
}

TEST(MessageText, EscalationStepsInBothLanguages) {
  const Chain chain = DefaultChain();
  Directory d = SiteDirectory();
  Incident inc = Step(Opened(7), IncidentStep::kAcknowledged, 1.5);
  inc = Step(inc, IncidentStep::kAccepted, 4);
  TextOptions o;

  Message first = EscalationMessage(inc, "between_floors", chain, 0, {}, Car(), AtMin(0), o);
  for (const std::string* part : {&first.subject, &first.text, &first.markdown}) {
    EXPECT_TRUE(Has(*part, "#7"));
    EXPECT_TRUE(Has(*part, "Outpatient car 1 (OP-1)"));
    EXPECT_TRUE(Has(*part, "Outpatient car 1（OP-1）"));
  }
  EXPECT_TRUE(Has(first.subject, "困人救援"));
  EXPECT_TRUE(Has(first.subject, "Passengers trapped"));
  EXPECT_TRUE(Has(first.text, "Escalation step 1 of 4"));
  EXPECT_TRUE(Has(first.text, "第 1/4 级通知"));
  EXPECT_TRUE(Has(first.text, "2026-11-22 18:40:00 (UTC+08:00)"));
  EXPECT_TRUE(Has(first.text, "on site by 19:10 (30 min)"));
  EXPECT_TRUE(Has(first.text, "19:05"));
  EXPECT_TRUE(Has(first.text, "acknowledged 18:41"));
  EXPECT_TRUE(Has(first.text, "accepted 18:44 (ETA 20 min)"));
  EXPECT_TRUE(Has(first.text, "on site: not yet"));
  EXPECT_TRUE(Has(first.text, "已到场：未"));
  EXPECT_TRUE(Has(first.text, "TRAPPED: trapped between floors for 30 s"));  // the open note
  EXPECT_TRUE(Has(first.text, "speak to the passengers over the intercom"));
  EXPECT_TRUE(Has(first.text, "通过对讲"));
  EXPECT_TRUE(Has(first.text, "Acme Lift Service, duty phone +86 20 0000 0000"));
  EXPECT_LE(first.markdown.size(), 4096u);

  Message second = EscalationMessage(inc, "", chain, 1, {}, Car(), AtMin(3), o);
  EXPECT_TRUE(Has(second.subject, "not acknowledged after 3 min"));
  EXPECT_TRUE(Has(second.subject, "3 分钟未确认"));

  // Step three with the backup contractor missing: named, with the reason.
  EscalationPlan p = PlanEscalation(chain, Opened(7), "lonely", d, AtMin(5));
  std::vector<Unresolved> gaps;
  for (const EscalationGap& g : p.gaps) {
    if (g.step == 2) gaps.push_back(g.what);
  }
  ASSERT_EQ(gaps.size(), 1u);
  Message third = EscalationMessage(Opened(7), "", chain, 2, gaps, Car(), AtMin(5), o);
  EXPECT_TRUE(Has(third.subject, "not accepted after 5 min"));
  EXPECT_TRUE(Has(third.text, "contractor:backup (contractor 'lonely' has no backup contractor)"));
  EXPECT_TRUE(Has(third.text, "未能通知"));

  Message fourth = EscalationMessage(Opened(7), "", chain, 3, {}, Car(), AtMin(25), o);
  EXPECT_TRUE(Has(fourth.subject, "call 96333 / 119"));
  EXPECT_TRUE(Has(fourth.text, "call 96333 / 119 now"));
  EXPECT_TRUE(Has(fourth.text, "请立即拨打 96333 / 119"));
  EXPECT_TRUE(Has(fourth.text, "25 min ago"));
  EXPECT_TRUE(Has(fourth.text, "31104403002018000001"));

  TextOptions zh = o;
  zh.language = Language::kChinese;
  Message only_zh = EscalationMessage(Opened(7), "", chain, 3, {}, Car(), AtMin(25), zh);
  EXPECT_FALSE(Has(only_zh.text, "call 96333"));
  EXPECT_TRUE(Has(only_zh.text, "拨打 96333"));
}

TEST(MessageText, DigestListsItsAlarms) {
  std::vector<DigestEntry> entries;
  for (int i = 0; i < 25; ++i) {
    Transition t =
        Raised(i % 2 ? AlarmType::kDoorOpenTooLong : AlarmType::kCommsLost, kOpen + seconds(i));
    CarInfo c = Car();
    c.id = "C" + std::to_string(i);
    c.name = "Car " + std::to_string(i);
    entries.push_back({t, c});
  }
  // One language: the first kDigestMaxItems lines fit.
  TextOptions en;
  en.language = Language::kEnglish;
  Message m = DigestMessage(entries, kOpen + 2min, en);
  EXPECT_TRUE(Has(m.subject, "25 alarms"));
  EXPECT_TRUE(Has(m.text, "Car 0 (C0)"));
  EXPECT_TRUE(Has(m.text, "Car 19 (C19)"));
  EXPECT_FALSE(Has(m.text, "Car 20 (C20)"));
  EXPECT_TRUE(Has(m.text, "and 5 more"));
  EXPECT_TRUE(Has(m.text, "COMMS_LOST"));
  EXPECT_TRUE(Has(m.text, "since 18:40"));
  EXPECT_TRUE(Has(m.text, "critical ones still come at once"));
  EXPECT_LE(m.markdown.size(), kMarkdownMaxBytes);

  // Both languages: fewer lines, so that the markdown stays within the limit,
  // and the rest counted.
  Message both = DigestMessage(entries, kOpen + 2min, TextOptions{});
  EXPECT_TRUE(Has(both.subject, "25 条报警"));
  EXPECT_TRUE(Has(both.text, "长时间开门"));
  EXPECT_TRUE(Has(both.text, "Car 0（C0）"));
  EXPECT_TRUE(Has(both.text, "Car 0 (C0)"));
  EXPECT_LE(both.markdown.size(), kMarkdownMaxBytes) << both.markdown;
  size_t shown = 0;
  while (Has(both.text, "Car " + std::to_string(shown) + " (C" + std::to_string(shown) + ")")) {
    ++shown;
  }
  EXPECT_GE(shown, 5u);
  EXPECT_LT(shown, 20u);
  EXPECT_TRUE(Has(both.text, "and " + std::to_string(25 - shown) + " more"));
  EXPECT_TRUE(Has(both.text, "另有 " + std::to_string(25 - shown) + " 条"));
}

TEST(MessageText, Languages) {
  for (Language l : {Language::kBoth, Language::kChinese, Language::kEnglish}) {
    EXPECT_EQ(LanguageFromName(LanguageName(l)), l);
  }
  EXPECT_FALSE(LanguageFromName("fr").has_value());
}

}  // namespace
}  // namespace lg::rules
