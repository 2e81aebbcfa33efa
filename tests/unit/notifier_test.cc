// The notifier at the service level, with a simulated clock: the rescue
// escalation timeline (what is queued, and when, as the clock moves and
// people record steps), a restart that re-plans without sending anything
// twice, alarm notices by severity and CHANNEL_DOWN leaving out its own
// channel, flood digests, and the security room's channel. The outbox is the
// real SQLite one; nothing is delivered over the network here (the
// integration test notify_daemon_test does that).
#include "daemon/notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <set>

#include "daemon/config.h"
#include "daemon/incident_service.h"
#include "db/database.h"
#include "db/outbox_store.h"

namespace lg {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"([site]
name = "First People's Hospital"
main_responsible = "director"
language = "both"
timezone = "+08:00"

[[link]]
id = "gw"
transport = "tcp"
host = "127.0.0.1"
port = 1502

[[elevator]]
id = "OP-1"
name = "Outpatient car 1"
building = "Outpatient"
registration_code = "31104403002018000001"
link = "gw"
unit = 1
contractor = "acme"

[[contractor]]
id = "acme"
name = "Acme Lift Service"
duty_phone = "+8613900000000"

[[contact]]
id = "safety-manager"
name = "Safety manager on duty"
channels = ["email:safety@example.org"]

[[contact]]
id = "director"
name = "Hospital director"
channels = ["sms:+8613800000001"]

[[channel]]
id = "sms"
kind = "sms"
url = "http://127.0.0.1:9/send"
body_template = '{"to":"{{phone}}","text":"{{subject}}"}'

[smtp]
url = "smtp://127.0.0.1:9"
from = "liftguard@example.org"

[mqtt]
url = "mqtt://127.0.0.1:9"
topic_prefix = "lg"
)";

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lg_notifier_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto db = db::Database::Open((dir_ / "lg.db").string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    auto cfg = ParseConfig(kConfig, (dir_ / "liftguard.toml").string());
    ASSERT_TRUE(cfg.ok()) << cfg.error().message;
    config_ = std::move(*cfg);
    incidents_ = std::make_unique<IncidentService>(*db_, clock_, rules::IncidentTargets{});
    MakeNotifier();
    ASSERT_TRUE(incidents_->Start().ok());
  }
  void TearDown() override {
    notifier_.reset();
    incidents_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  // A fresh notifier on the same database, as after a restart.
  void MakeNotifier() {
    notifier_.reset();
    NotifierDeps deps;
    deps.incidents = incidents_.get();
    deps.security_room = [this](const std::string& elevator, const std::string& notice) {
      notices_.emplace_back(elevator, notice);
      return dashboards_;
    };
    NotifierOptions o;
    o.deliver = false;
    notifier_ = std::make_unique<Notifier>(*db_, clock_, config_, std::move(deps), o);
    if (!hooked_) {
      // The service keeps calling through these; they follow notifier_.
      incidents_->SetCommitHook([this](SQLite::Database& tx, const IncidentChange& c) {
        return notifier_->OnIncidentCommit(tx, c);
      });
      incidents_->AddListener([this](const IncidentChange& c) { notifier_->IncidentCommitted(c); });
      hooked_ = true;
    }
  }

  std::map<std::string, db::OutboxMessage> Outbox() {
    auto reader = db::Database::OpenReader(db_->path());
    EXPECT_TRUE(reader.ok());
    auto rows = db::OutboxStore::Query(**reader, "", 100000);
    EXPECT_TRUE(rows.ok());
    std::map<std::string, db::OutboxMessage> out;
    for (auto& m : *rows) out[m.key] = m;
    return out;
  }
  std::set<std::string> Keys() {
    std::set<std::string> out;
    for (const auto& [k, m] : Outbox()) out.insert(k);
    return out;
  }
  // Keys queued since `before`.
  std::set<std::string> NewKeys(const std::set<std::string>& before) {
    std::set<std::string> out;
    for (const auto& k : Keys()) {
      if (!before.count(k)) out.insert(k);
    }
    return out;
  }

  rules::Incident Record(int64_t id, rules::IncidentStep step, rules::StepDetails d = {}) {
    auto r = incidents_->RecordStep(id, step, "olga", rules::Recorder::kStaff, d);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return *r;
  }

  // Commits `u` with the notifier's hook, as the AlarmService does.
  void CommitAlarm(const rules::Update& u) {
    ASSERT_TRUE(
        db_->Transaction([&](SQLite::Database& tx) { return notifier_->OnAlarmCommit(tx, u); })
            .ok());
  }

  static rules::Transition Raised(uint64_t id, const std::string& elevator, AlarmType type,
                                  Severity severity, rules::Notify notify, WallTime at) {
    rules::Transition t;
    t.alarm_id = id;
    t.elevator = elevator;
    t.type = type;
    t.to_state = rules::AlarmState::kUnack;
    t.kind = rules::TransitionKind::kRaised;
    t.at = at;
    t.who = "system";
    t.notify = notify;
    t.alarm.id = id;
    t.alarm.elevator = elevator;
    t.alarm.type = type;
    t.alarm.severity = severity;
    t.alarm.message = std::string(AlarmTypeName(type));
    t.alarm.raised_at = t.alarm.last_raised_at = t.alarm.updated_at = at;
    t.alarm.revision = 1;
    return t;
  }

  fs::path dir_;
  ManualClock clock_;
  std::unique_ptr<db::Database> db_;
  Config config_;
  std::unique_ptr<IncidentService> incidents_;
  std::unique_ptr<Notifier> notifier_;
  bool hooked_ = false;
  size_t dashboards_ = 1;
  std::vector<std::pair<std::string, std::string>> notices_;
};

constexpr char kStep1Room[] = "incident:1:esc:0m:always:security-room";
constexpr char kStep1Contractor[] = "incident:1:esc:0m:always:sms:+8613900000000";
constexpr char kStep2[] = "incident:1:esc:3m:acknowledged:email:safety@example.org";
constexpr char kStep3Manager[] = "incident:1:esc:5m:accepted:email:safety@example.org";
constexpr char kStep4[] = "incident:1:esc:25m:on_site:sms:+8613800000001";

TEST_F(NotifierTest, NobodyActsEveryStepGoesOutAtItsMinuteOnce) {
  ASSERT_TRUE(incidents_->Open("OP-1", "olga", "intercom call").ok());
  // Step 1 and the MQTT incident message, in the transaction of the open.
  EXPECT_EQ(Keys(), (std::set<std::string>{kStep1Room, kStep1Contractor,
                                           "incident:1:open:mqtt:lg/incidents"}));
  std::map<std::string, int> first_seen_s;  // key -> seconds after open
  std::set<std::string> seen = Keys();
  for (int s = 0; s <= 30 * 60; s += 10) {
    notifier_->Tick();
    for (const auto& k : NewKeys(seen)) first_seen_s[k] = s;
    seen = Keys();
    clock_.Advance(10s);
  }
  // faults.md's chain: 3 min safety manager; 5 min the backup (none: a gap)
  // and the safety manager again (another key: another step); 25 min the
  // main responsible person.
  EXPECT_EQ(first_seen_s,
            (std::map<std::string, int>{{kStep2, 180}, {kStep3Manager, 300}, {kStep4, 1500}}));
  auto out = Outbox();
  const db::OutboxMessage& last = out.at(kStep4);
  EXPECT_EQ(last.channel, "sms");
  EXPECT_EQ(last.target, "+8613800000001");
  EXPECT_THAT(last.text, HasSubstr("96333"));
  EXPECT_THAT(last.text, HasSubstr("Escalation step 4 of 4"));
  // Step 3's backup contractor reaches nobody, and the message says so.
  EXPECT_THAT(out.at(kStep3Manager).text, HasSubstr("contractor:backup"));
  EXPECT_EQ(out.at(kStep2).channel, "[smtp]");
  EXPECT_EQ(out.at(kStep1Room).channel, "security-room");
}

TEST_F(NotifierTest, ReachingAStepStopsTheStepsWaitingForIt) {
  auto inc = incidents_->Open("OP-1", "olga", "");
  ASSERT_TRUE(inc.ok());
  // Acknowledged at 2 min: step 2 (3 min, unless acknowledged) never goes.
  clock_.Advance(2min);
  notifier_->Tick();
  Record(inc->id, rules::IncidentStep::kAcknowledged);
  EXPECT_TRUE(Keys().count("incident:1:acknowledged:mqtt:lg/incidents"));
  clock_.Advance(1min);
  notifier_->Tick();
  EXPECT_FALSE(Keys().count(kStep2));
  // Accepted at 4 min: step 3 (5 min, unless accepted) never goes.
  clock_.Advance(1min);
  Record(inc->id, rules::IncidentStep::kAccepted, {"", 20, std::nullopt});
  clock_.Advance(1min);
  notifier_->Tick();
  EXPECT_FALSE(Keys().count(kStep3Manager));
  // On site at 20 min: step 4 (25 min, unless on_site) never goes.
  clock_.Advance(15min);
  notifier_->Tick();
  Record(inc->id, rules::IncidentStep::kOnSite);
  clock_.Advance(10min);
  notifier_->Tick();
  std::set<std::string> escalations;
  for (const auto& k : Keys()) {
    if (k.find(":esc:") != std::string::npos) escalations.insert(k);
  }
  EXPECT_EQ(escalations, (std::set<std::string>{kStep1Room, kStep1Contractor}));
}

TEST_F(NotifierTest, AStepAlreadySentStaysSentAndAClosedIncidentStopsTheRest) {
  auto inc = incidents_->Open("OP-1", "olga", "");
  ASSERT_TRUE(inc.ok());
  clock_.Advance(3min);
  notifier_->Tick();
  ASSERT_TRUE(Keys().count(kStep2));
  Record(inc->id, rules::IncidentStep::kAcknowledged);  // after step 2 fell due
  Record(inc->id, rules::IncidentStep::kFalseAlarm);
  size_t n = Keys().size();
  clock_.Advance(30min);
  notifier_->Tick();
  EXPECT_TRUE(Keys().count(kStep2));
  EXPECT_EQ(Keys().size(), n);  // nothing after the false alarm but its own feed message
  EXPECT_TRUE(Keys().count("incident:1:false_alarm:mqtt:lg/incidents"));
}

TEST_F(NotifierTest, ARestartSendsWhatFellDueMeanwhileAndNothingTwice) {
  ASSERT_TRUE(incidents_->Open("OP-1", "olga", "").ok());
  clock_.Advance(4min);
  notifier_->Tick();
  std::set<std::string> before = Keys();
  ASSERT_TRUE(before.count(kStep2));
  // "Down" from 4 to 6 min: step 3 fell due meanwhile.
  clock_.Advance(2min);
  incidents_ = std::make_unique<IncidentService>(*db_, clock_, rules::IncidentTargets{});
  hooked_ = false;
  MakeNotifier();
  ASSERT_TRUE(incidents_->Start().ok());
  notifier_->Tick();  // the first tick plans every open incident
  EXPECT_EQ(NewKeys(before), (std::set<std::string>{kStep3Manager}));
  // Every key once: the table holds each key once, and a re-plan adds none.
  size_t n = Keys().size();
  notifier_->Tick();
  clock_.Advance(1s);
  notifier_->Tick();
  EXPECT_EQ(Keys().size(), n);
}

TEST_F(NotifierTest, AlarmsBySeverityAndTheMqttFeed) {
  WallTime now = clock_.WallNow();
  rules::Update u;
  u.transitions.push_back(
      Raised(5, "OP-1", AlarmType::kSafetyCircuitOpen, Severity::kMajor, rules::Notify::kNow, now));
  u.transitions.push_back(
      Raised(6, "OP-1", AlarmType::kUcm, Severity::kCritical, rules::Notify::kNow, now));
  // Chattering: stored and fed to MQTT, but nobody is told.
  u.transitions.push_back(Raised(7, "OP-1", AlarmType::kDoorOpenTooLong, Severity::kMinor,
                                 rules::Notify::kSuppressedByChatter, now));
  // TRAPPED is told through its incident only.
  u.transitions.push_back(
      Raised(8, "OP-1", AlarmType::kTrapped, Severity::kCritical, rules::Notify::kNow, now));
  CommitAlarm(u);
  EXPECT_EQ(Keys(), (std::set<std::string>{
                        "alarm:5:r1:security-room",
                        "alarm:5:r1:email:safety@example.org",
                        "alarm:5:r1:mqtt:lg/alarms",
                        "alarm:6:r1:security-room",
                        "alarm:6:r1:sms:+8613900000000",  // the on-call contractor
                        "alarm:6:r1:email:safety@example.org",
                        "alarm:6:r1:mqtt:lg/alarms",
                        "alarm:7:r1:mqtt:lg/alarms",
                        "alarm:8:r1:mqtt:lg/alarms",
                    }));
  auto out = Outbox();
  const auto& mail = out.at("alarm:5:r1:email:safety@example.org");
  EXPECT_EQ(mail.channel, "[smtp]");
  EXPECT_EQ(mail.target, "safety@example.org");
  EXPECT_THAT(mail.subject, HasSubstr("安全回路断路"));
  EXPECT_THAT(mail.subject, HasSubstr("SAFETY_CIRCUIT_OPEN"));
  EXPECT_THAT(mail.text, HasSubstr("Outpatient car 1 (OP-1)"));
  EXPECT_THAT(mail.payload, HasSubstr("\"type\":\"SAFETY_CIRCUIT_OPEN\""));
  // The same commit again (a retried write) queues nothing more.
  size_t n = out.size();
  CommitAlarm(u);
  EXPECT_EQ(Keys().size(), n);
}

TEST_F(NotifierTest, ChannelDownIsToldThroughTheOtherChannels) {
  rules::Update u;
  auto t = Raised(9, "channel:[smtp]", AlarmType::kChannelDown, Severity::kMajor,
                  rules::Notify::kNow, clock_.WallNow());
  t.alarm.message = "failing since ...: SMTP connection refused";
  u.transitions.push_back(t);
  CommitAlarm(u);
  // Major: the security room and the safety manager, whose only way is
  // e-mail, the channel that is down: left out.
  EXPECT_EQ(Keys(),
            (std::set<std::string>{"alarm:9:r1:security-room", "alarm:9:r1:mqtt:lg/alarms"}));
  EXPECT_THAT(Outbox().at("alarm:9:r1:security-room").text, HasSubstr("[smtp]"));
  EXPECT_THAT(Outbox().at("alarm:9:r1:security-room").text,
              ::testing::Not(HasSubstr("channel:[smtp]")));
}

TEST_F(NotifierTest, AFloodDigestGoesToEachRecipientOnce) {
  WallTime now = clock_.WallNow();
  rules::Update u;
  u.digest.emplace();
  u.digest->at = now;
  u.digest->items.push_back(Raised(11, "OP-1", AlarmType::kDoorOpenTooLong, Severity::kMinor,
                                   rules::Notify::kDigest, now));
  u.digest->items.push_back(
      Raised(12, "OP-1", AlarmType::kPowerFailure, Severity::kMajor, rules::Notify::kDigest, now));
  CommitAlarm(u);
  EXPECT_EQ(Keys(), (std::set<std::string>{"digest:11.r1:security-room",
                                           "digest:11.r1:email:safety@example.org"}));
  auto out = Outbox();
  // The security room hears of both, the safety manager of the major one.
  EXPECT_THAT(out.at("digest:11.r1:security-room").text, HasSubstr("DOOR_OPEN_TOO_LONG"));
  EXPECT_THAT(out.at("digest:11.r1:security-room").text, HasSubstr("POWER_FAILURE"));
  EXPECT_THAT(out.at("digest:11.r1:email:safety@example.org").text,
              ::testing::Not(HasSubstr("DOOR_OPEN_TOO_LONG")));
}

TEST_F(NotifierTest, TheSecurityRoomGetsANoticeOnlyWhenADashboardListens) {
  ASSERT_TRUE(incidents_->Open("OP-1", "olga", "").ok());
  dashboards_ = 0;
  notifier_->RunOnce();
  auto m = Outbox().at(kStep1Room);
  EXPECT_EQ(m.delivered_at, "");
  EXPECT_THAT(m.last_error, HasSubstr("no dashboard"));
  ASSERT_FALSE(notices_.empty());
  notices_.clear();

  dashboards_ = 2;
  clock_.Advance(2min);  // past the channel's backoff
  notifier_->RunOnce();
  EXPECT_NE(Outbox().at(kStep1Room).delivered_at, "");
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].first, "OP-1");  // contractors see only their own cars
  EXPECT_THAT(notices_[0].second, HasSubstr("\"severity\":\"critical\""));
  EXPECT_THAT(notices_[0].second, HasSubstr("\"key\":\"incident:1:esc:0m:always:security-room\""));
}

TEST_F(NotifierTest, AReloadedChainAppliesToOpenIncidents) {
  ASSERT_TRUE(incidents_->Open("OP-1", "olga", "").ok());
  notifier_->Tick();
  auto cfg = ParseConfig(std::string(kConfig) + R"(
[[escalation]]
after_min = 0
notify = ["security-room"]

[[escalation]]
after_min = 1
unless = "acknowledged"
notify = ["director"]
)",
                         (dir_ / "liftguard.toml").string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  notifier_->Apply(*cfg);
  std::set<std::string> before = Keys();
  clock_.Advance(1min);
  notifier_->Tick();
  EXPECT_EQ(NewKeys(before),
            (std::set<std::string>{"incident:1:esc:1m:acknowledged:sms:+8613800000001"}));
  // The security room's step 1 is the same step as before: not sent again.
  clock_.Advance(10min);
  notifier_->Tick();
  EXPECT_EQ(NewKeys(before).size(), 1u);
  auto keys = notifier_->ChannelAlarmKeys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()),
            (std::set<std::string>{"channel:sms", "channel:[smtp]", "channel:[mqtt]",
                                   "channel:security-room"}));
}

TEST(NotifierConfig, DirectoryAndChainFromTheConfiguration) {
  auto cfg = ParseConfig(kConfig, "/tmp/x.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  rules::Directory d = DirectoryOf(*cfg);
  EXPECT_EQ(d.main_responsible, "director");
  EXPECT_TRUE(d.can_text);
  ASSERT_EQ(d.contacts.size(), 2u);
  EXPECT_EQ(d.contacts[1].routes[0].kind, rules::Route::Kind::kSms);
  // No [[escalation]]: faults.md's chain.
  EXPECT_EQ(ChainOf(*cfg).size(), rules::DefaultChain().size());
  EXPECT_EQ(cfg->site.utc_offset_min, 480);
}

}  // namespace
}  // namespace lg
