#include "daemon/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "daemon/channels.h"
#include "db/outbox_store.h"
#include "rules/message_text.h"
#include "rules/notify_policy.h"
#include "rules/recipients.h"

namespace lg {

using json = nlohmann::json;

namespace {

constexpr std::string_view kChannelKey = "channel:";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

rules::Route::Kind RouteKindOf(ContactRoute::Kind k) {
  switch (k) {
    case ContactRoute::Kind::kEmail:
      return rules::Route::Kind::kEmail;
    case ContactRoute::Kind::kWebhook:
      return rules::Route::Kind::kWebhook;
    case ContactRoute::Kind::kSms:
      return rules::Route::Kind::kSms;
    case ContactRoute::Kind::kMqtt:
      return rules::Route::Kind::kMqtt;
  }
  return rules::Route::Kind::kEmail;
}

rules::Target TargetOf(const NotifyTarget& t) {
  using K = rules::Target::Kind;
  switch (t.kind) {
    case NotifyTarget::Kind::kSecurityRoom:
      return {K::kSecurityRoom, ""};
    case NotifyTarget::Kind::kOnCallContractor:
      return {K::kOnCallContractor, ""};
    case NotifyTarget::Kind::kBackupContractor:
      return {K::kBackupContractor, ""};
    case NotifyTarget::Kind::kMainResponsible:
      return {K::kMainResponsible, ""};
    case NotifyTarget::Kind::kContact:
      return {K::kContact, t.id};
    case NotifyTarget::Kind::kChannel:
      return {K::kChannel, t.id};
  }
  return {K::kSecurityRoom, ""};
}

// A car as messages describe it, without the floor (that is read live).
struct CarBase {
  rules::CarInfo info;
  std::string contractor;  // id
};

// Everything the notifier reads from the configuration, made once per
// (re)load and never changed after: hooks on several threads share it.
struct Settings {
  Config config;  // for RouteFor and the channels
  rules::Directory directory;
  rules::SeverityRoutes routes;
  rules::Chain chain;
  rules::TextOptions text;
  std::map<std::string, CarBase> cars;
  std::string mqtt_prefix;               // "" without [mqtt]
  std::vector<std::string> channel_ids;  // every channel the worker runs
};

std::shared_ptr<const Settings> MakeSettings(const Config& config) {
  auto s = std::make_shared<Settings>();
  s->config = config;
  s->directory = DirectoryOf(config);
  s->routes = rules::DefaultSeverityRoutes(s->directory);
  s->chain = ChainOf(config);
  s->text.language = rules::LanguageFromName(config.site.language).value_or(rules::Language::kBoth);
  s->text.utc_offset = std::chrono::minutes(config.site.utc_offset_min);
  s->text.arrival_target_min = config.site.arrival_target_min;
  s->text.call_authorities_after_min =
      rules::OnSiteDeadlineMin(s->chain).value_or(config.site.arrival_target_min);
  std::map<std::string, const ContractorConfig*> contractors;
  for (const ContractorConfig& c : config.contractors) contractors[c.id] = &c;
  for (const ElevatorConfig& e : config.elevators) {
    CarBase b;
    b.info.id = e.id;
    b.info.name = e.name;
    b.info.building = e.building;
    b.info.registration_code = e.registration_code;
    b.contractor = e.contractor;
    if (auto it = contractors.find(e.contractor); it != contractors.end()) {
      b.info.contractor_name = it->second->name;
      b.info.contractor_phone = it->second->duty_phone;
    }
    s->cars[e.id] = std::move(b);
  }
  if (config.mqtt) s->mqtt_prefix = config.mqtt->topic_prefix;
  for (const ChannelConfig& c : config.channels) s->channel_ids.push_back(c.id);
  if (config.smtp) s->channel_ids.emplace_back(kSmtpChannelId);
  if (config.mqtt) s->channel_ids.emplace_back(kMqttChannelId);
  s->channel_ids.emplace_back(kSecurityRoomChannelId);
  return s;
}

// What a change of channels shows in: their own keys and what picks their
// test targets (the first e-mail address and phone of the contacts).
std::string ChannelSignature(const Config& c) {
  std::string s;
  for (const ChannelConfig& ch : c.channels) {
    s += ch.id + '\x1f' + std::to_string(static_cast<int>(ch.kind)) + '\x1f' + ch.url + '\x1f' +
         std::to_string(static_cast<int>(ch.format)) + '\x1f' + ch.body_template + '\n';
  }
  if (c.smtp)
    s += "smtp\x1f" + c.smtp->url + '\x1f' + c.smtp->from + '\x1f' + c.smtp->username + '\x1f' +
         c.smtp->password + '\n';
  if (c.mqtt) s += "mqtt\x1f" + c.mqtt->url + '\x1f' + c.mqtt->topic_prefix + '\n';
  for (const ContactConfig& ct : c.contacts) {
    for (const ContactRoute& r : ct.routes) {
      s += std::to_string(static_cast<int>(r.kind)) + ':' + r.address + '\n';
    }
  }
  for (const ContractorConfig& ct : c.contractors) s += ct.duty_phone + '\n';
  return s;
}

std::string ContractorOf(const Settings& s, const std::string& elevator) {
  auto it = s.cars.find(elevator);
  return it == s.cars.end() ? std::string() : it->second.contractor;
}

// CHANNEL_DOWN carries "channel:ID" as its elevator; the texts name the
// channel by its id alone.
rules::Transition ForText(const rules::Transition& t) {
  rules::Transition out = t;
  if (out.elevator.starts_with(kChannelKey)) {
    out.elevator.erase(0, kChannelKey.size());
    out.alarm.elevator = out.elevator;
  }
  return out;
}

std::string FailingChannel(const rules::Transition& t) {
  if (t.type != AlarmType::kChannelDown || !t.elevator.starts_with(kChannelKey)) return "";
  return t.elevator.substr(kChannelKey.size());
}

std::string Time(const std::optional<WallTime>& t) { return t ? db::FormatTime(*t) : ""; }

json AlarmJson(const rules::Transition& t) {
  const rules::Alarm& a = t.alarm;
  json j = {{"kind", "alarm"},
            {"alarm_id", t.alarm_id},
            {"elevator", t.elevator},
            {"type", std::string(AlarmTypeName(t.type))},
            {"severity", std::string(SeverityName(a.severity))},
            {"subtype", a.subtype},
            {"message", a.message},
            {"state", std::string(rules::AlarmStateName(a.state))},
            {"revision", a.revision},
            {"raised_at", db::FormatTime(a.raised_at)},
            {"last_raised_at", db::FormatTime(a.last_raised_at)},
            {"chattering", a.chattering},
            {"transition",
             {{"kind", std::string(rules::TransitionKindName(t.kind))},
              {"from", t.from_state ? json(std::string(rules::AlarmStateName(*t.from_state)))
                                    : json(nullptr)},
              {"to", std::string(rules::AlarmStateName(t.to_state))},
              {"at", db::FormatTime(t.at)},
              {"who", t.who},
              {"note", t.note},
              {"notify", std::string(rules::NotifyName(t.notify))}}}};
  return j;
}

json IncidentJson(const rules::Incident& inc) {
  json steps = json::array();
  for (const auto& s : inc.steps) {
    steps.push_back({{"step", std::string(rules::IncidentStepName(s.step))},
                     {"at", db::FormatTime(s.at)},
                     {"by", s.by},
                     {"note", s.note}});
  }
  return {{"kind", "incident"},
          {"incident_id", inc.id},
          {"severity", "critical"},  // passengers trapped
          {"elevator", inc.elevator},
          {"alarm_id", inc.alarm_id ? json(*inc.alarm_id) : json(nullptr)},
          {"state", std::string(rules::IncidentStateName(inc.state()))},
          {"step", std::string(rules::IncidentStepName(inc.latest()))},
          {"opened_at", db::FormatTime(inc.opened_at())},
          {"closed_at", inc.closed_at() ? json(Time(inc.closed_at())) : json(nullptr)},
          {"eta_min", inc.eta_min ? json(*inc.eta_min) : json(nullptr)},
          {"cause", inc.cause ? json(*inc.cause) : json(nullptr)},
          {"targets",
           {{"acknowledged_min", inc.targets.acknowledged_min},
            {"accepted_min", inc.targets.accepted_min},
            {"on_site_min", inc.targets.on_site_min}}},
          {"steps", std::move(steps)}};
}

std::string_view StepChinese(rules::IncidentStep s) {
  using S = rules::IncidentStep;
  switch (s) {
    case S::kOpen:
      return "已开启";
    case S::kAcknowledged:
      return "已确认（已与乘客通话）";
    case S::kDispatched:
      return "已派单";
    case S::kAccepted:
      return "维保单位已接单";
    case S::kOnSite:
      return "救援人员已到场";
    case S::kReleased:
      return "乘客已解救";
    case S::kClosed:
      return "已关闭";
    case S::kFalseAlarm:
      return "误报";
  }
  return "";
}

// The words of a message on <prefix>/incidents: which incident, which car,
// what was just recorded, by whom.
rules::Message IncidentFeedText(const rules::Incident& inc, rules::IncidentStep step,
                                const rules::CarInfo& car, rules::Language language) {
  const rules::StepRecord* rec = nullptr;
  for (const auto& s : inc.steps) {
    if (s.step == step) rec = &s;
  }
  std::string who = rec ? rec->by : "";
  std::string note = rec ? rec->note : "";
  std::string label =
      car.name.empty() || car.name == car.id ? inc.elevator : car.name + " (" + inc.elevator + ")";
  std::string n = std::to_string(inc.id);
  std::string zh = "救援 #" + n + " " + label + "：" + std::string(StepChinese(step)) +
                   (who.empty() ? "" : "（" + who + "）");
  std::string en = "Rescue #" + n + " " + label + ": " +
                   std::string(rules::IncidentStepName(step)) + (who.empty() ? "" : " by " + who);
  rules::Message m;
  switch (language) {
    case rules::Language::kChinese:
      m.subject = zh;
      break;
    case rules::Language::kEnglish:
      m.subject = en;
      break;
    case rules::Language::kBoth:
      m.subject = zh + " / " + en;
      break;
  }
  m.text = m.subject + (note.empty() ? "" : "\n" + note) + "\n";
  m.markdown = "### " + m.subject + (note.empty() ? "" : "\n" + note);
  return m;
}

std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Publishes each car's dashboard-visible state, retained, on its own MQTT
// connection (see the header for why not through the outbox).
class StatePublisher {
 public:
  StatePublisher(const LiveState& state, std::string url, std::string prefix,
                 const NotifierOptions& o, std::atomic<uint64_t>& published)
      : state_(state),
        url_(std::move(url)),
        prefix_(std::move(prefix)),
        options_(o),
        published_(published) {}
  ~StatePublisher() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Shown {
    std::string name, building;
    bool online = false;
    std::string_view mode, direction, door;
    std::optional<int> floor;
    bool moving = false;
    std::optional<bool> occupied;
    bool operator==(const Shown&) const = default;
  };
  struct Sent {
    Shown shown;
    SteadyTime at{};
  };

  static Shown ShownOf(const CarState& c) {
    const Sample& s = c.last;
    Shown out;
    out.name = c.name;
    out.building = c.building;
    out.online = c.online;
    out.mode = ModeName(c.mode);
    out.direction = c.has_sample ? DirectionName(s.direction()) : "none";
    out.door = c.has_sample ? DoorStateName(s.door()) : "unknown";
    if (c.has_sample && s.Has(Field::kFloor)) out.floor = s.floor();
    out.moving = c.has_sample && s.Flag(Field::kMoving);
    if (c.has_sample && s.Has(Field::kOccupied)) out.occupied = s.Flag(Field::kOccupied);
    return out;
  }

  db::OutboxMessage StateMessage(const std::string& id, const Shown& s, WallTime updated) const {
    json data = {{"elevator", id},
                 {"name", s.name},
                 {"building", s.building},
                 {"online", s.online},
                 {"mode", std::string(s.mode)},
                 {"direction", std::string(s.direction)},
                 {"door", std::string(s.door)},
                 {"floor", s.floor ? json(*s.floor) : json(nullptr)},
                 {"moving", s.moving},
                 {"occupied", s.occupied ? json(*s.occupied) : json(nullptr)},
                 {"updated_at", db::FormatTime(updated)}};
    db::OutboxMessage m;
    std::string now = db::FormatTime(std::chrono::system_clock::now());
    m.event = "state:" + id;
    m.key = m.event + ":" + now;
    m.recipient = "mqtt:" + MqttStateTopic(prefix_, id);
    m.channel = std::string(kMqttChannelId);
    m.target = MqttStateTopic(prefix_, id);
    m.subject = "state " + id;
    m.payload = Dump(data);
    m.retain = true;
    m.created_at = now;
    return m;
  }

  bool Wait(Millis d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stopping_; });
    return !stopping_;
  }

  void Run() {
    // The client id comes from the channel id: another than the outbox's
    // "[mqtt]" lane, or the broker would drop one connection for the other.
    std::unique_ptr<Channel> channel = MakeMqttChannel("[mqtt]state", url_, {});
    std::map<std::string, Sent> sent;
    Millis backoff{0};
    std::string last_error;
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      SteadyTime now = std::chrono::steady_clock::now();
      bool failed = false;
      for (const CarState& c : state_.Snapshot()) {
        Shown shown = ShownOf(c);
        auto it = sent.find(c.id);
        if (it != sent.end() &&
            (it->second.shown == shown || now - it->second.at < options_.state_period)) {
          continue;
        }
        Status st = channel->Deliver(StateMessage(c.id, shown, c.updated_at));
        if (!st) {
          failed = true;
          if (st.error().message != last_error) {
            spdlog::warn("mqtt car states: {}", st.error().message);
            last_error = st.error().message;
          }
          break;
        }
        ++published_;
        sent[c.id] = Sent{std::move(shown), now};
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      if (failed) {
        // The broker may have lost its retained messages (a restart without
        // persistence): once it answers again, every car goes out again.
        sent.clear();
        backoff = std::clamp(backoff * 2, Millis(1000), Millis(30000));
        if (!Wait(backoff)) return;
        continue;
      }
      if (backoff.count() > 0) spdlog::info("mqtt car states: publishing again");
      backoff = Millis(0);
      last_error.clear();
      channel->Idle();
      if (!Wait(options_.state_scan)) return;
    }
  }

  const LiveState& state_;
  const std::string url_;
  const std::string prefix_;
  const NotifierOptions options_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<uint64_t>& published_;
};

}  // namespace

rules::Directory DirectoryOf(const Config& config) {
  rules::Directory d;
  for (const ContactConfig& c : config.contacts) {
    rules::Contact rc;
    rc.id = c.id;
    rc.name = c.name;
    for (const ContactRoute& r : c.routes) rc.routes.push_back({RouteKindOf(r.kind), r.address});
    d.contacts.push_back(std::move(rc));
  }
  for (const ContractorConfig& c : config.contractors) {
    d.contractors.push_back({c.id, c.name, c.duty_phone, c.backup, {}});
  }
  for (const ChannelConfig& c : config.channels) {
    d.channels.push_back(c.id);
    if (c.kind == ChannelConfig::Kind::kSms) d.can_text = true;
  }
  d.main_responsible = config.site.main_responsible;
  return d;
}

rules::Chain ChainOf(const Config& config) {
  if (config.escalation.empty()) return rules::DefaultChain();
  rules::Chain chain;
  for (const EscalationStep& e : config.escalation) {
    rules::ChainStep s;
    s.after_min = e.after_min;
    if (!e.unless.empty()) s.unless = rules::IncidentStepFromName(e.unless);
    for (const NotifyTarget& t : e.notify) s.notify.push_back(TargetOf(t));
    chain.push_back(std::move(s));
  }
  return chain;
}

class Notifier::Impl {
 public:
  Impl(db::Database& db, const Clock& clock, const Config& config, NotifierDeps deps,
       NotifierOptions options)
      : db_(db),
        clock_(clock),
        deps_(std::move(deps)),
        options_(options),
        settings_(MakeSettings(config)) {
    worker_ = MakeWorker(*settings_);
  }

  db::Database& db_;
  const Clock& clock_;
  const NotifierDeps deps_;
  const NotifierOptions options_;

  mutable std::mutex settings_mu_;
  std::shared_ptr<const Settings> settings_;

  std::shared_ptr<const Settings> settings() const {
    std::lock_guard lock(settings_mu_);
    return settings_;
  }

  // Start, Stop, Apply take turns.
  std::mutex control_mu_;
  bool started_ = false;
  bool stopped_ = false;
  std::unique_ptr<StatePublisher> publisher_;
  std::atomic<uint64_t> states_published_{0};

  mutable std::mutex worker_mu_;  // the pointer; the worker is thread-safe itself
  std::unique_ptr<OutboxWorker> worker_;

  // Something was enqueued by a hook; the listener after the commit wakes
  // the worker.
  std::atomic<bool> wake_{false};

  // Escalation timers: the earliest waiting step of each open incident.
  std::mutex timers_mu_;
  std::map<int64_t, WallTime> timers_;
  bool replan_all_ = true;  // at the first Tick and after a reload

  std::mutex gaps_mu_;
  std::set<std::tuple<int64_t, size_t, std::string>> logged_gaps_;

  std::unique_ptr<OutboxWorker> MakeWorker(const Settings& s) {
    OutboxWorkerOptions o;
    o.backoff_cap = std::chrono::seconds(s.config.notify.retry_cap_s);
    o.backoff_first = std::min<Millis>(Millis(1000), o.backoff_cap);
    o.test_every = std::chrono::hours(s.config.notify.test_interval_h);
    o.site_name = s.config.site.name;
    auto w = std::make_unique<OutboxWorker>(db_, clock_, o);
    if (deps_.on_health) w->SetHealthListener(deps_.on_health);
    w->SetChannels(ChannelsFor(s));
    return w;
  }

  std::vector<ChannelEntry> ChannelsFor(const Settings& s) {
    std::vector<ChannelEntry> out = MakeChannels(s.config);
    // Not tested on a schedule: a test the dashboard was not open for
    // would report the security room down at every start.
    out.push_back(ChannelEntry{
        MakeFunctionChannel(std::string(kSecurityRoomChannelId),
                            [this](const db::OutboxMessage& m) { return ToSecurityRoom(m); }),
        "", false});
    return out;
  }

  // The security room's channel: a `notice` on the dashboards' stream. With
  // no dashboard open nobody in the security room saw it: that is a failed
  // delivery, retried, and after 5 minutes CHANNEL_DOWN.
  Status ToSecurityRoom(const db::OutboxMessage& m) {
    json data = m.payload.empty() ? json(nullptr) : json::parse(m.payload, nullptr, false);
    if (data.is_discarded()) data = nullptr;
    std::string elevator, severity;
    if (data.is_object()) {
      elevator = data.value("elevator", "");
      severity = data.value("severity", "");
    }
    json notice = {{"key", m.key},
                   {"event", m.event},
                   {"subject", m.subject},
                   {"text", m.text},
                   {"severity", severity},
                   {"elevator", elevator},
                   {"created_at", m.created_at},
                   {"test", m.test},
                   {"data", data}};
    size_t n = deps_.security_room ? deps_.security_room(elevator, Dump(notice)) : 0;
    if (n == 0) {
      return Error::Transient("unreachable", "no dashboard is connected to the event stream");
    }
    return Status::Ok();
  }

  void Wake() {
    std::lock_guard lock(worker_mu_);
    if (worker_) worker_->Wake();
  }

  rules::CarInfo Car(const Settings& s, const std::string& elevator) const {
    rules::CarInfo c;
    auto it = s.cars.find(elevator);
    if (it != s.cars.end()) {
      c = it->second.info;
    } else {
      c.id = elevator;
    }
    if (deps_.state && it != s.cars.end()) {
      if (auto cs = deps_.state->Get(elevator);
          cs && cs->has_sample && cs->last.Has(Field::kFloor)) {
        c.floor = cs->last.floor();
      }
    }
    return c;
  }

  // Enqueues in `tx`. A refusal that retrying cannot mend (a message
  // without a channel) is logged and skipped: it must not hold up the
  // state change it is about. A database error rolls the change back.
  static Status Put(SQLite::Database& tx, const db::OutboxMessage& m, WallTime now,
                    bool& inserted) {
    Result<bool> r = db::OutboxStore::Enqueue(tx, m, now);
    if (!r) {
      if (r.error().recoverable) return r.error();
      spdlog::error("notification {} not queued: {}", m.key, r.error().message);
      return Status::Ok();
    }
    if (*r) inserted = true;
    return Status::Ok();
  }

  // ---- alarms ----------------------------------------------------------------

  Status OnAlarmCommit(SQLite::Database& tx, const rules::Update& u) {
    auto s = settings();
    WallTime now = clock_.WallNow();
    bool inserted = false;
    for (const rules::Transition& t : u.transitions) {
      if (Status st = PutAlarm(tx, *s, t, now, inserted); !st) return st;
    }
    if (u.digest && !u.digest->items.empty()) {
      if (Status st = PutDigest(tx, *s, *u.digest, now, inserted); !st) return st;
    }
    if (inserted) wake_ = true;
    return Status::Ok();
  }

  Status PutAlarm(SQLite::Database& tx, const Settings& s, const rules::Transition& t, WallTime now,
                  bool& inserted) {
    const std::string event = "alarm:" + std::to_string(t.alarm_id);
    const rules::Transition shown = ForText(t);
    const rules::CarInfo car = Car(s, t.elevator);
    const std::string payload = Dump(AlarmJson(t));
    std::optional<rules::Message> text;
    auto words = [&]() -> const rules::Message& {
      if (!text) text = rules::AlarmMessage(shown, car, now, s.text);
      return *text;
    };
    // The machine feed: every transition, as it is stored.
    if (!s.mqtt_prefix.empty()) {
      rules::Recipient feed{rules::Recipient::Kind::kMqtt, MqttAlarmsTopic(s.mqtt_prefix), "", ""};
      db::OutboxMessage m;
      m.key = rules::AlarmNoticeKey(t, feed);
      m.event = event;
      m.recipient = feed.Key();
      m.channel = std::string(kMqttChannelId);
      m.target = feed.address;
      m.subject = words().subject;
      m.text = words().text;
      m.payload = payload;
      if (Status st = Put(tx, m, now, inserted); !st) return st;
    }
    // People, by severity, as the book decided (chattering, flood).
    rules::AlarmNotice plan =
        rules::PlanAlarmNotice(t, ContractorOf(s, t.elevator), s.routes, s.directory);
    const std::string failing = FailingChannel(t);
    for (const rules::AlarmDelivery& d : plan.deliveries) {
      std::optional<ChannelRoute> route = RouteFor(s.config, d.recipient);
      if (!route) {
        spdlog::warn("{}: no channel reaches {} ({})", event, d.recipient.Key(), d.recipient.via);
        continue;
      }
      if (!failing.empty() && route->channel == failing) continue;
      db::OutboxMessage m;
      m.key = d.key;
      m.event = event;
      m.recipient = d.recipient.Key();
      m.channel = route->channel;
      m.target = route->target;
      m.subject = words().subject;
      m.text = words().text;
      m.markdown = words().markdown;
      m.payload = payload;
      if (Status st = Put(tx, m, now, inserted); !st) return st;
    }
    for (const rules::Unresolved& un : plan.unresolved) {
      spdlog::warn("{} ({} on {}): {} reaches nobody: {}", event, AlarmTypeName(t.type), t.elevator,
                   rules::TargetName(un.target), un.reason);
    }
    return Status::Ok();
  }

  Status PutDigest(SQLite::Database& tx, const Settings& s, const rules::Digest& d, WallTime now,
                   bool& inserted) {
    rules::DigestNotice plan = rules::PlanDigest(
        d, [&](const std::string& e) { return ContractorOf(s, e); }, s.routes, s.directory);
    const rules::Transition& first = d.items.front();
    const std::string event =
        "digest:" + std::to_string(first.alarm_id) + ".r" + std::to_string(first.alarm.revision);
    for (const rules::DigestDelivery& dd : plan.deliveries) {
      std::vector<rules::DigestEntry> entries;
      json ids = json::array();
      for (size_t i : dd.items) {
        entries.push_back({ForText(d.items[i]), Car(s, d.items[i].elevator)});
        ids.push_back(d.items[i].alarm_id);
      }
      std::optional<ChannelRoute> route = RouteFor(s.config, dd.recipient);
      if (!route) {
        spdlog::warn("{}: no channel reaches {} ({})", event, dd.recipient.Key(), dd.recipient.via);
        continue;
      }
      rules::Message text = rules::DigestMessage(entries, now, s.text);
      db::OutboxMessage m;
      m.key = dd.key;
      m.event = event;
      m.recipient = dd.recipient.Key();
      m.channel = route->channel;
      m.target = route->target;
      m.subject = text.subject;
      m.text = text.text;
      m.markdown = text.markdown;
      m.payload = Dump({{"kind", "digest"}, {"alarm_ids", ids}});
      if (Status st = Put(tx, m, now, inserted); !st) return st;
    }
    for (const rules::Unresolved& un : plan.unresolved) {
      spdlog::warn("{}: {} reaches nobody: {}", event, rules::TargetName(un.target), un.reason);
    }
    return Status::Ok();
  }

  // ---- incidents -------------------------------------------------------------

  static std::string AlarmSubtype(SQLite::Database& tx, const std::optional<int64_t>& alarm_id) {
    if (!alarm_id) return "";
    try {
      SQLite::Statement q(tx, "SELECT subtype FROM alarms WHERE id = ?");
      q.bind(1, *alarm_id);
      if (q.executeStep()) return q.getColumn(0).getString();
    } catch (const std::exception& e) {
      spdlog::warn("alarm {}: subtype not readable: {}", *alarm_id, e.what());
    }
    return "";
  }

  // The due steps of `inc` into the outbox (those already there are refused
  // by key).
  Status PutEscalation(SQLite::Database& tx, const Settings& s, const rules::Incident& inc,
                       WallTime now, bool& inserted) {
    rules::EscalationPlan plan =
        rules::PlanEscalation(s.chain, inc, ContractorOf(s, inc.elevator), s.directory, now);
    if (plan.deliveries.empty() && plan.gaps.empty()) return Status::Ok();
    const std::string event = "incident:" + std::to_string(inc.id);
    const std::string subtype = AlarmSubtype(tx, inc.alarm_id);
    const rules::CarInfo car = Car(s, inc.elevator);
    const json base = IncidentJson(inc);
    std::map<size_t, rules::Message> texts;
    std::map<size_t, int> queued;
    for (const rules::EscalationDelivery& d : plan.deliveries) {
      auto it = texts.find(d.step);
      if (it == texts.end()) {
        std::vector<rules::Unresolved> gaps;
        for (const rules::EscalationGap& g : plan.gaps) {
          if (g.step == d.step) gaps.push_back(g.what);
        }
        it = texts
                 .emplace(d.step, rules::EscalationMessage(inc, subtype, s.chain, d.step, gaps, car,
                                                           now, s.text))
                 .first;
      }
      std::optional<ChannelRoute> route = RouteFor(s.config, d.recipient);
      if (!route) {
        spdlog::warn("{}: no channel reaches {} ({})", event, d.recipient.Key(), d.recipient.via);
        continue;
      }
      const rules::ChainStep& step = s.chain[d.step];
      json payload = base;
      payload["escalation"] = {
          {"step", d.step + 1},
          {"of", s.chain.size()},
          {"after_min", step.after_min},
          {"unless",
           step.unless ? json(std::string(rules::IncidentStepName(*step.unless))) : json(nullptr)},
          {"via", d.recipient.via}};
      db::OutboxMessage m;
      m.key = d.key;
      m.event = event;
      m.recipient = d.recipient.Key();
      m.channel = route->channel;
      m.target = route->target;
      m.subject = it->second.subject;
      m.text = it->second.text;
      m.markdown = it->second.markdown;
      m.payload = Dump(payload);
      bool fresh = false;
      if (Status st = Put(tx, m, now, fresh); !st) return st;
      if (fresh) {
        inserted = true;
        ++queued[d.step];
      }
    }
    for (const auto& [step, n] : queued) {
      spdlog::info(
          "incident {} on {}: escalation step {} of {} ({} min{}) queued for {} recipient(s)",
          inc.id, inc.elevator, step + 1, s.chain.size(), s.chain[step].after_min,
          s.chain[step].unless
              ? ", unless " + std::string(rules::IncidentStepName(*s.chain[step].unless))
              : std::string(),
          n);
    }
    std::lock_guard lock(gaps_mu_);
    for (const rules::EscalationGap& g : plan.gaps) {
      if (logged_gaps_.emplace(inc.id, g.step, rules::TargetName(g.what.target)).second) {
        spdlog::warn("incident {} on {}: escalation step {} cannot reach {}: {}", inc.id,
                     inc.elevator, g.step + 1, rules::TargetName(g.what.target), g.what.reason);
      }
    }
    return Status::Ok();
  }

  Status OnIncidentCommit(SQLite::Database& tx, const IncidentChange& c) {
    auto s = settings();
    WallTime now = clock_.WallNow();
    bool inserted = false;
    if (Status st = PutEscalation(tx, *s, c.incident, now, inserted); !st) return st;
    if (!s->mqtt_prefix.empty()) {
      const rules::Incident& inc = c.incident;
      rules::Recipient feed{rules::Recipient::Kind::kMqtt, MqttIncidentsTopic(s->mqtt_prefix), "",
                            ""};
      rules::Message text = IncidentFeedText(inc, c.step, Car(*s, inc.elevator), s->text.language);
      db::OutboxMessage m;
      m.event = "incident:" + std::to_string(inc.id);
      m.key = db::MakeKey(m.event, std::string(rules::IncidentStepName(c.step)), feed.Key());
      m.recipient = feed.Key();
      m.channel = std::string(kMqttChannelId);
      m.target = feed.address;
      m.subject = text.subject;
      m.text = text.text;
      json payload = IncidentJson(inc);
      payload["change"] = std::string(rules::IncidentStepName(c.step));
      m.payload = Dump(payload);
      if (Status st = Put(tx, m, now, inserted); !st) return st;
    }
    if (inserted) wake_ = true;
    return Status::Ok();
  }

  static std::optional<WallTime> Earliest(const std::map<int64_t, WallTime>& timers) {
    std::optional<WallTime> out;
    for (const auto& [id, at] : timers) {
      if (!out || at < *out) out = at;
    }
    return out;
  }

  void IncidentCommitted(const IncidentChange& c) {
    {
      std::lock_guard lock(timers_mu_);
      auto s = settings();
      rules::EscalationStatus st =
          rules::EvaluateEscalation(s->chain, c.incident, clock_.WallNow());
      if (c.incident.state() != rules::IncidentState::kOpen || !st.next_due_at) {
        timers_.erase(c.incident.id);
      } else {
        timers_[c.incident.id] = *st.next_due_at;
      }
    }
    // Always: the flag may have been taken by a wake-up on another thread
    // before this change was committed. Incident changes are few.
    Wake();
  }

  void Tick() {
    // A digest commits without a transition, so no listener wakes the
    // worker for it.
    if (wake_.exchange(false)) Wake();
    std::lock_guard lock(timers_mu_);
    // `now` before the incidents are read: a step recorded after this read
    // was recorded after `now` too, so it cannot have cancelled a step due
    // by `now` (rules/escalation.h measures `unless` against the due time).
    WallTime now = clock_.WallNow();
    if (!replan_all_) {
      std::optional<WallTime> next = Earliest(timers_);
      if (!next || now < *next) return;
    }
    if (!deps_.incidents) return;
    std::vector<rules::Incident> open = deps_.incidents->OpenIncidents();
    auto s = settings();
    bool inserted = false;
    Status st = db_.Transaction([&](SQLite::Database& tx) {
      inserted = false;
      for (const rules::Incident& inc : open) {
        if (Status p = PutEscalation(tx, *s, inc, now, inserted); !p) return p;
      }
      return Status::Ok();
    });
    if (!st) {
      // Tried again at the next tick: the timers stay where they are.
      spdlog::warn("escalation: steps not queued yet (will retry): {}", st.error().message);
      return;
    }
    timers_.clear();
    for (const rules::Incident& inc : open) {
      rules::EscalationStatus es = rules::EvaluateEscalation(s->chain, inc, now);
      if (es.next_due_at) timers_[inc.id] = *es.next_due_at;
    }
    replan_all_ = false;
    if (inserted) Wake();
  }

  // ---- life --------------------------------------------------------------

  void StartPublisherLocked(const Settings& s) {
    if (!options_.deliver || !deps_.state || !s.config.mqtt) return;
    publisher_ = std::make_unique<StatePublisher>(
        *deps_.state, s.config.mqtt->url, s.config.mqtt->topic_prefix, options_, states_published_);
    publisher_->Start();
  }

  void Start() {
    std::lock_guard control(control_mu_);
    if (started_) return;
    started_ = true;
    if (!options_.deliver) return;
    {
      std::lock_guard lock(worker_mu_);
      worker_->Start();
    }
    StartPublisherLocked(*settings());
  }

  void Stop() {
    std::lock_guard control(control_mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    publisher_.reset();
    OutboxWorker* w;
    {
      std::lock_guard lock(worker_mu_);
      w = worker_.get();
    }
    // Not under worker_mu_: a delivery in hand may take its timeout, and
    // Wake() must not wait for it.
    if (w) w->Stop();
  }

  void Apply(const Config& config) {
    auto next = MakeSettings(config);
    std::lock_guard control(control_mu_);
    auto old = settings();
    {
      std::lock_guard lock(settings_mu_);
      settings_ = next;
    }
    const NotifyConfig& a = old->config.notify;
    const NotifyConfig& b = next->config.notify;
    bool worker_changed = a.test_interval_h != b.test_interval_h ||
                          a.retry_cap_s != b.retry_cap_s ||
                          old->config.site.name != next->config.site.name;
    bool channels_changed = ChannelSignature(old->config) != ChannelSignature(next->config);
    bool running = started_ && !stopped_ && options_.deliver;
    if (worker_changed) {
      std::unique_ptr<OutboxWorker> gone;
      {
        std::lock_guard lock(worker_mu_);
        gone = std::move(worker_);
      }
      gone.reset();  // stops its lanes; what they had not delivered waits in the outbox
      auto fresh = MakeWorker(*next);
      if (running) fresh->Start();
      std::lock_guard lock(worker_mu_);
      worker_ = std::move(fresh);
    } else if (channels_changed) {
      std::lock_guard lock(worker_mu_);
      worker_->SetChannels(ChannelsFor(*next));
    }
    bool mqtt_changed =
        (old->config.mqtt.has_value() != next->config.mqtt.has_value()) ||
        (next->config.mqtt && (old->config.mqtt->url != next->config.mqtt->url ||
                               old->config.mqtt->topic_prefix != next->config.mqtt->topic_prefix));
    if (running && mqtt_changed) {
      publisher_.reset();
      StartPublisherLocked(*next);
    }
    std::lock_guard lock(timers_mu_);
    replan_all_ = true;  // the chain may have changed
  }

  std::string Metrics() const {
    std::vector<ChannelStats> stats;
    {
      std::lock_guard lock(worker_mu_);
      if (worker_) stats = worker_->Stats();
    }
    std::map<std::string, int64_t> pending;
    for (const ChannelStats& c : stats) pending[c.channel] = 0;
    auto reader = db::Database::OpenReader(db_.path());
    bool counted = false;
    if (reader.ok()) {
      try {
        SQLite::Statement q(**reader,
                            "SELECT channel, COUNT(*) FROM outbox WHERE delivered_at = '' AND "
                            "failed_at = '' GROUP BY channel");
        while (q.executeStep()) pending[q.getColumn(0).getString()] = q.getColumn(1).getInt64();
        counted = true;
      } catch (const std::exception& e) {
        spdlog::warn("metrics: outbox not readable: {}", e.what());
      }
    }
    std::string out;
    auto family = [&](const char* name, const char* type, const char* help) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    };
    auto line = [&](const char* name, const ChannelStats& c, uint64_t v) {
      out += std::string(name) + "{channel=\"" + LabelValue(c.channel) + "\",kind=\"" +
             LabelValue(c.kind) + "\"} " + std::to_string(v) + "\n";
    };
    family("liftguard_notifications_sent_total", "counter",
           "Messages a channel's receiver accepted, per channel.");
    for (const auto& c : stats) line("liftguard_notifications_sent_total", c, c.delivered);
    family("liftguard_notifications_failed_total", "counter",
           "Failed delivery attempts (each retry counts), per channel.");
    for (const auto& c : stats) line("liftguard_notifications_failed_total", c, c.failed_attempts);
    family("liftguard_notifications_given_up_total", "counter",
           "Messages given up (refused for good or expired), per channel.");
    for (const auto& c : stats) line("liftguard_notifications_given_up_total", c, c.given_up);
    family("liftguard_channel_down", "gauge", "1 while a channel is reported down (CHANNEL_DOWN).");
    for (const auto& c : stats) line("liftguard_channel_down", c, c.down ? 1 : 0);
    if (counted) {
      family("liftguard_outbox_pending", "gauge",
             "Outbox messages neither delivered nor given up, per channel.");
      for (const auto& [channel, n] : pending) {
        out += "liftguard_outbox_pending{channel=\"" + LabelValue(channel) + "\"} " +
               std::to_string(n) + "\n";
      }
    }
    uint64_t published = states_published_;
    family("liftguard_mqtt_states_published_total", "counter",
           "Car states published (retained) to MQTT.");
    out += "liftguard_mqtt_states_published_total " + std::to_string(published) + "\n";
    return out;
  }
};

Notifier::Notifier(db::Database& db, const Clock& clock, const Config& config, NotifierDeps deps,
                   NotifierOptions options)
    : impl_(std::make_unique<Impl>(db, clock, config, std::move(deps), options)) {}

Notifier::~Notifier() { impl_->Stop(); }

namespace {

// A failure of the database rolls the change back, to be retried with its
// messages; anything else thrown here is a bug that must not keep an alarm
// or an incident from being stored, so the change goes on without them.
template <typename F>
Status Guarded(const char* what, F&& f) {
  try {
    return f();
  } catch (const SQLite::Exception&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::critical("notifications about {} not queued: {}", what, e.what());
    return Status::Ok();
  }
}

}  // namespace

Status Notifier::OnAlarmCommit(SQLite::Database& tx, const rules::Update& u) {
  return Guarded("an alarm change", [&] { return impl_->OnAlarmCommit(tx, u); });
}

void Notifier::AlarmCommitted(const rules::Transition&) {
  if (impl_->wake_.exchange(false)) impl_->Wake();
}

Status Notifier::OnIncidentCommit(SQLite::Database& tx, const IncidentChange& c) {
  return Guarded("an incident change", [&] { return impl_->OnIncidentCommit(tx, c); });
}

void Notifier::IncidentCommitted(const IncidentChange& c) { impl_->IncidentCommitted(c); }
void Notifier::Start() { impl_->Start(); }
void Notifier::Stop() { impl_->Stop(); }
void Notifier::Apply(const Config& config) { impl_->Apply(config); }
void Notifier::Tick() { impl_->Tick(); }

std::vector<std::string> Notifier::ChannelAlarmKeys() const {
  std::vector<std::string> out;
  for (const std::string& id : impl_->settings()->channel_ids) {
    out.push_back(std::string(kChannelKey) + id);
  }
  return out;
}

std::string Notifier::Metrics() const { return impl_->Metrics(); }

int Notifier::RunOnce() {
  std::lock_guard lock(impl_->worker_mu_);
  return impl_->worker_ ? impl_->worker_->RunOnce() : 0;
}

}  // namespace lg
