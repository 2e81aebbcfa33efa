#include "daemon/app.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/alarm_service.h"
#include "daemon/http_server.h"
#include "daemon/incident_service.h"
#include "daemon/notifier.h"
#include "daemon/records_service.h"
#include "db/database.h"
#include "db/event_store.h"
#include "drivers/poll_engine.h"

namespace lg {

namespace asio = boost::asio;

void SetUpLogging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr) {
    // Under systemd: straight to the journal, with priorities intact.
    logger = std::make_shared<spdlog::logger>(
        "liftguard", std::make_shared<spdlog::sinks::systemd_sink_mt>("liftguardd"));
  } else {
    logger = spdlog::stderr_color_mt("liftguard");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::warn);
}

class App::Impl : public drivers::PollSink {
 public:
  Impl(Config config, const Clock& clock, std::unique_ptr<db::Database> db)
      : config_(std::move(config)),
        clock_(clock),
        db_(std::move(db)),
        events_(std::make_unique<db::EventLog>(*db_)),
        strand_(asio::make_strand(io_)),
        alarms_(std::make_unique<AlarmService>(strand_, *db_, clock_, config_.rules)),
        incidents_(std::make_unique<IncidentService>(*db_, clock_, IncidentTargetsOf(config_))),
        sweep_(strand_),
        watchdog_(io_),
        signals_(io_) {}

  ~Impl() { Stop(); }

  // The site's targets ([site]; faults.md defaults).
  static rules::IncidentTargets IncidentTargetsOf(const Config& c) {
    rules::IncidentTargets t;
    t.acknowledged_min = c.site.acknowledge_target_min;
    t.accepted_min = c.site.accept_target_min;
    t.on_site_min = c.site.arrival_target_min;
    return t;
  }

  Status Start() {
    std::lock_guard lock(mu_);
    if (started_) return Status::Ok();
    drivers::EngineSettings es;
    es.io_threads = config_.polling.io_threads;
    es.serial_threads = config_.polling.serial_threads;
    engine_ = std::make_unique<drivers::PollEngine>(es, *this, clock_);
    MakeNotifier();  // before the HTTP server, whose /metrics reads it
    records_ = std::make_unique<RecordsService>(
        *db_, clock_, SiteTime::Fixed(std::chrono::minutes(config_.site.utc_offset_min)));
    records_->SetSink([this](std::vector<ComplianceAlarm> holding) {
      alarms_->PostCompliance(std::move(holding));
    });
    StartHttp();  // before the strand runs: it adds an alarm listener
    alarms_->AddListener([this](const rules::Transition& t) { incidents_->OnAlarm(t); });
    // Notifications commit with the change they are about; the worker is
    // woken once it is committed.
    alarms_->SetCommitHook([this](SQLite::Database& tx, const rules::Update& u) {
      return notifier_->OnAlarmCommit(tx, u);
    });
    alarms_->AddListener([this](const rules::Transition& t) { notifier_->AlarmCommitted(t); });
    incidents_->SetCommitHook([this](SQLite::Database& tx, const IncidentChange& c) {
      return notifier_->OnIncidentCommit(tx, c);
    });
    incidents_->AddListener([this](const IncidentChange& c) { notifier_->IncidentCommitted(c); });
    if (Status st = alarms_->Start([this](const std::string& id) { return Redetected(id); }); !st) {
      return st;
    }
    // After the alarms: it opens incidents for TRAPPED alarms that lack one.
    if (Status st = incidents_->Start(); !st) return st;
    notifier_->Start();  // the escalation of open incidents is planned at the first sweep
    if (Status st = ApplyLocked(config_); !st) return st;
    // After the alarms are restored: its first evaluation confirms or clears
    // the compliance alarms they hold.
    records_->Start();
    // The sweep timer is the work that keeps io_ running until Stop().
    asio::post(strand_, [this] { Sweep(); });
    thread_ = std::thread([this] { io_.run(); });
    started_ = true;
    spdlog::info("liftguardd: polling {} elevators on {} links", config_.elevators.size(),
                 config_.links.size());
    return Status::Ok();
  }

  int Run() {
    // Before Start: a SIGHUP during start-up must not kill the process.
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    WaitSignal();
    if (Status st = Start(); !st) {
      spdlog::critical("{}", st.error().message);
      return 1;
    }
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      watchdog_period_ = std::chrono::microseconds(usec / 2);
      asio::post(io_, [this] { PetWatchdog(); });
    }
    sd_notify(0, "READY=1");
    std::unique_lock lock(stop_mu_);
    stop_cv_.wait(lock, [&] { return stop_requested_; });
    lock.unlock();
    sd_notify(0, "STOPPING=1");
    spdlog::info("liftguardd: stopping");
    Stop();
    return 0;
  }

  void Stop() {
    {
      // Only the flag under mu_: handlers on the strand take mu_ (ApplyInfo),
      // and the joins below wait for them.
      std::lock_guard lock(mu_);
      if (!started_ || stopped_) return;
      stopped_ = true;
    }
    if (http_) http_->Stop();
    if (records_) records_->Stop();
    engine_->Stop();  // no sink callbacks after this
    // Let what the engine already posted run (a last mode change is worth
    // recording), then let io_ run dry.
    stopping_ = true;
    asio::post(strand_, [this] {
      sweep_.cancel();
      watchdog_.cancel();
      boost::system::error_code ignored;
      signals_.cancel(ignored);
    });
    if (thread_.joinable()) thread_.join();
    // After the strand: the last commits' messages are in the outbox, and
    // go at the next start.
    if (notifier_) notifier_->Stop();
    events_->Flush();
    std::lock_guard lock(stop_mu_);
    stop_requested_ = true;  // a Run() waiting returns
    stop_cv_.notify_all();
  }

  Status Reload() {
    auto loaded = LoadConfig(config_.path);
    if (!loaded.ok()) {
      spdlog::error("reload refused, keeping the running configuration:\n{}",
                    loaded.error().message);
      return loaded.error();
    }
    return Apply(std::move(loaded).value());
  }

  Status Apply(Config next) {
    std::lock_guard lock(mu_);
    if (next.daemon.database != config_.daemon.database) {
      spdlog::warn("reload: [daemon].database changed; that takes a restart");
    }
    if (Status st = ApplyLocked(next); !st) return st;
    config_ = std::move(next);
    spdlog::info("configuration reloaded: {} elevators on {} links", config_.elevators.size(),
                 config_.links.size());
    return Status::Ok();
  }

  // ---- PollSink (engine threads) ----------------------------------------

  // Applied on the engine thread that read it: the live state takes its own
  // lock and events go to the event log's queue, so no other thread is
  // woken per sample (a wake-up costs more than a poll at thousands of cars).
  void OnSample(uint32_t car, const Sample& sample) override { ApplySample(car, sample); }

  void OnControllerInfo(uint32_t car, const ControllerInfo& info) override {
    asio::post(strand_, [this, car, info] { ApplyInfo(car, info); });
  }

  // On the engine thread, like samples, so a car's error and its next good
  // sample are applied in the order they happened.
  void OnPollError(uint32_t car, const drivers::LinkError& error) override {
    state_.Update(car, [&](CarState& c) {
      c.last_error = error;
      ++c.polls_failed;
      if (error.kind == drivers::LinkError::Kind::kException) ++c.poll_exceptions;
    });
  }

  void OnLinkStatus(const std::string& link, drivers::LinkStatus status) override {
    asio::post(strand_, [this, link, status] {
      events_->Append({clock_.WallNow(), "", link, "link", "",
                       std::string(drivers::LinkStatusName(status)), ""});
      state_.UpdateAll([&](CarState& c) {
        if (c.link == link) c.link_status = status;
      });
    });
  }

  Config config_;
  const Clock& clock_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<db::EventLog> events_;
  LiveState state_;
  std::unique_ptr<drivers::PollEngine> engine_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_;  // the rules strand
  std::unique_ptr<AlarmService> alarms_;
  std::unique_ptr<IncidentService> incidents_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<RecordsService> records_;
  std::unique_ptr<Notifier> notifier_;

 private:
  void MakeNotifier() {
    NotifierDeps d;
    d.state = &state_;
    d.incidents = incidents_.get();
    d.security_room = [this](const std::string& elevator, const std::string& notice) -> size_t {
      return http_ ? http_->PublishNotice(elevator, notice) : 0;
    };
    d.on_health = [this](const ChannelHealthReport& r) { OnChannelHealth(r); };
    notifier_ = std::make_unique<Notifier>(*db_, clock_, config_, std::move(d));
  }

  // CHANNEL_DOWN, raised and cleared like any alarm, keyed "channel:ID".
  // On a worker's thread: only posts.
  void OnChannelHealth(const ChannelHealthReport& r) {
    rules::Finding f;
    f.type = AlarmType::kChannelDown;
    f.active = r.down;
    f.severity = DefaultSeverity(AlarmType::kChannelDown);
    f.subtype = r.test ? "test" : "";
    if (r.down) f.message = "failing since " + db::FormatTime(r.since) + ": " + r.reason;
    f.at = clock_.Now();
    f.wall_at = clock_.WallNow();
    alarms_->PostFindings("channel:" + r.channel, {f}, Sample{});
  }

  // The HTTP API on io_. A listen address that cannot be bound is logged
  // and the daemon keeps polling and alarming without its API.
  void StartHttp() {
    HttpDeps d;
    d.state = &state_;
    d.alarms = alarms_.get();
    d.incidents = incidents_.get();
    d.db_path = config_.daemon.database;
    d.link_stats = [this] { return engine_->Stats(); };
    d.contractor_of = [this](const std::string& id) {
      std::lock_guard lock(contractors_mu_);
      auto it = contractors_.find(id);
      return it == contractors_.end() ? std::string() : it->second;
    };
    d.polling = [this] { return !stopping_.load(); };
    d.records = records_.get();
    d.more_metrics = [this] { return notifier_ ? notifier_->Metrics() : std::string(); };
    HttpOptions o;
    o.listen = config_.daemon.listen;
    http_ = std::make_unique<HttpServer>(io_, std::move(d), o);
    alarms_->AddListener(http_->AlarmListener());
    incidents_->AddListener(http_->IncidentListener());
    if (Status st = http_->Start(); !st) {
      spdlog::error("HTTP API not available: {}", st.error().message);
    }
  }
  std::mutex contractors_mu_;  // guards contractors_ (read by the HTTP workers)
  std::map<std::string, std::string> contractors_;  // elevator id -> contractor id

  // Must hold mu_. Assigns stable handles, updates the live state, then
  // hands the engine the new links and units.
  Status ApplyLocked(const Config& cfg) {
    for (const auto& w : cfg.warnings) spdlog::warn("{}", w);
    std::vector<drivers::LinkSettings> links;
    for (const auto& l : cfg.links) {
      drivers::LinkSettings s;
      s.id = l.id;
      s.transport = l.transport == LinkConfig::Transport::kTcp
                        ? drivers::LinkSettings::Transport::kTcp
                        : drivers::LinkSettings::Transport::kRtu;
      s.host = l.host;
      s.port = l.port;
      s.device = l.device;
      s.baud = l.baud;
      s.parity = l.parity;
      s.data_bits = l.data_bits;
      s.stop_bits = l.stop_bits;
      s.timeout_ms = l.timeout_ms.value_or(cfg.polling.timeout_ms);
      s.gap_ms = l.gap_ms.value_or(cfg.polling.gap_ms);
      s.backoff_first_ms = cfg.polling.backoff_first_ms;
      s.backoff_cap_ms = cfg.polling.backoff_cap_ms;
      links.push_back(std::move(s));
    }
    std::vector<drivers::UnitSettings> units;
    std::vector<CarState> cars;
    std::vector<std::pair<std::string, RulesConfig>> per_elevator_rules;
    for (const auto& e : cfg.elevators) {
      auto [it, fresh] = handles_.try_emplace(e.id, next_handle_);
      if (fresh) ++next_handle_;
      drivers::UnitSettings u;
      u.car = it->second;
      u.link = e.link;
      u.unit = e.unit;
      // A map file re-read by a reload is a new object; an unchanged one is
      // swapped for the one already in use, so the unit keeps polling and
      // the car keeps its detectors.
      auto map = e.register_map ? e.register_map : drivers::RegisterMap::Ref1();
      map = maps_.try_emplace(map->fingerprint(), map).first->second;
      u.map = map;
      u.interval_ms = e.interval_ms.value_or(cfg.polling.interval_ms);
      units.push_back(std::move(u));
      CarState c;
      c.handle = it->second;
      c.id = e.id;
      c.name = e.name;
      c.building = e.building;
      c.link = e.link;
      c.unit = e.unit;
      c.rules = e.rules;
      c.configured_rated_speed_mm_s = e.rated_speed_mm_s;
      c.configured_floor_min = e.floor_min;
      c.configured_floor_max = e.floor_max;
      c.detector_key = units.back().map->fingerprint() +
                       "|rated=" + (e.rated_speed_mm_s ? std::to_string(*e.rated_speed_mm_s) : "") +
                       "|lost=" + std::to_string(cfg.polling.comms_lost_after_ms);
      c.detector = MakeDetector(e, *units.back().map, cfg.polling.comms_lost_after_ms);
      c.disabled_rules = c.detector->disabled();
      per_elevator_rules.emplace_back(e.id, e.rules);
      cars.push_back(std::move(c));
    }
    state_.SetCars(std::move(cars));
    {
      std::lock_guard lock(contractors_mu_);
      contractors_.clear();
      for (const auto& e : cfg.elevators) contractors_[e.id] = e.contractor;
    }
    alarms_->SetRules(cfg.rules, per_elevator_rules);
    incidents_->SetTargets(IncidentTargetsOf(cfg));
    if (records_) {
      std::vector<RecordsService::Elevator> elevators;
      for (const auto& e : cfg.elevators) {
        elevators.push_back({e.id, e.name, e.first_use, e.contractor});
      }
      std::vector<db::ContractorRow> contractors;
      for (const auto& c : cfg.contractors)
        contractors.push_back({c.id, c.name, c.duty_phone, true});
      if (Status st = records_->SetConfig(std::move(elevators), std::move(contractors),
                                          cfg.records.evaluate_at_min);
          !st) {
        spdlog::error("records: contractors and assignments not updated: {}", st.error().message);
      }
    }
    if (started_) notifier_->Apply(cfg);  // at start it has this configuration already
    std::set<std::string> configured;
    for (const auto& e : cfg.elevators) configured.insert(e.id);
    for (auto& key : notifier_->ChannelAlarmKeys()) configured.insert(std::move(key));
    alarms_->RetireMissing(std::move(configured));
    for (const auto& c : state_.Snapshot()) {
      if (!c.detector) continue;
      for (const auto& d : c.detector->disabled()) {
        spdlog::warn("elevator {}: {}{}{} disabled: {}", c.id, AlarmTypeName(d.type),
                     d.subtype.empty() ? "" : "/", d.subtype, d.reason);
      }
    }
    return engine_->Reconcile(links, units);
  }

  std::shared_ptr<rules::CarDetector> MakeDetector(const ElevatorConfig& e,
                                                   const drivers::RegisterMap& map,
                                                   int comms_lost_ms) {
    rules::CarProfile p;
    p.rated_speed_mm_s = e.rated_speed_mm_s;
    for (int f = 0; f < kFieldCount; ++f) {
      if (map.Provides(static_cast<Field>(f))) p.provided.set(f);
    }
    auto keep = e.register_map ? e.register_map : drivers::RegisterMap::Ref1();
    p.fault_text = [keep](uint32_t code) -> std::optional<rules::FaultInfo> {
      const drivers::FaultText* t = keep->FaultFor(code);
      if (!t) return std::nullopt;
      return rules::FaultInfo{t->text, SeverityFromName(t->severity).value_or(Severity::kMajor)};
    };
    return std::make_shared<rules::CarDetector>(std::move(p), e.rules, clock_.Now(), comms_lost_ms);
  }

  // ---- state strand -------------------------------------------------------

  // Engine threads. Events are built under the live-state lock only when
  // something changed, so the common case copies no strings.
  void ApplySample(uint32_t car, const Sample& s) {
    thread_local std::vector<rules::Finding> findings;
    findings.clear();
    std::string id;
    bool mode_changed = false;
    state_.Update(car, [&](CarState& c) {
      Mode mode = s.mode();
      if (!c.online) {
        events_->Append({s.wall_at, "", c.id, "online",
                         c.has_sample || c.offline_recorded ? "offline" : "unknown", "online", ""});
        c.offline_recorded = false;
        c.answering_since = s.read_at;
      }
      if (mode != c.mode) {
        events_->Append({s.wall_at, "", c.id, "mode", std::string(ModeName(c.mode)),
                         std::string(ModeName(mode)), ""});
        mode_changed = c.has_sample;
      }
      c.online = true;
      c.has_sample = true;
      c.last = s;
      c.mode = mode;
      c.last_reply = s.read_at;
      c.updated_at = s.wall_at;
      c.last_error.reset();
      ++c.polls_ok;
      if (c.detector) c.detector->OnSample(s, findings);
      // Posted under the lock, so the rules strand gets a car's findings in
      // the order its detector made them (the sweep posts COMMS_LOST too).
      if (mode_changed) alarms_->PostModeChange(c.id, s);
      if (!findings.empty()) alarms_->PostFindings(c.id, findings, s);
    });
  }

  // For the restart reconciliation: what the car's detectors hold raised,
  // once the car has answered longer than its longest sustained threshold.
  std::optional<std::vector<AlarmType>> Redetected(const std::string& id) {
    std::optional<std::vector<AlarmType>> out;
    // A channel's CHANNEL_DOWN is settled by its next delivery, not by a car.
    if (id.starts_with("channel:")) return out;
    SteadyTime now = clock_.Now();
    state_.UpdateAll([&](CarState& c) {
      if (c.id != id || !c.online || !c.detector) return;
      if (now - c.answering_since < std::chrono::seconds(LongestSustained(c.rules) + 1)) return;
      out.emplace();
      for (int t = 0; t < kAlarmTypeCount; ++t) {
        if (c.detector->raised(static_cast<AlarmType>(t)))
          out->push_back(static_cast<AlarmType>(t));
      }
    });
    return out;
  }

  static int LongestSustained(const RulesConfig& r) {
    return std::max({r.trapped_between_floors_s, r.trapped_at_floor_s, r.trapped_alarm_button_s,
                     r.trapped_power_loss_s, r.door_open_while_moving_s, r.overspeed_s,
                     r.stop_outside_door_zone_s, r.safety_circuit_open_s, r.door_lock_fault_s,
                     r.power_failure_s, r.brake_fault_s, r.controller_fault_s,
                     r.door_open_too_long_s, r.controller_frozen_s});
  }

  void ApplyInfo(uint32_t car, const ControllerInfo& info) {
    std::optional<int> configured_speed, floor_min, floor_max;
    std::string id;
    state_.Update(car, [&](CarState& c) {
      id = c.id;
      configured_speed = c.configured_rated_speed_mm_s;
      floor_min = c.configured_floor_min;
      floor_max = c.configured_floor_max;
      c.info = info;
      // The configuration wins; the controller's rated speed is used only
      // when the configuration gives none.
      if (!configured_speed && info.rated_speed_mm_s && c.detector) {
        c.detector->SetRatedSpeed(*info.rated_speed_mm_s);
        c.disabled_rules = c.detector->disabled();
      }
    });
    if (id.empty() || !warned_info_.insert(id).second) return;  // a warning once per car
    if (configured_speed && info.rated_speed_mm_s && *configured_speed != *info.rated_speed_mm_s) {
      spdlog::warn("elevator {}: controller reports rated speed {} mm/s, configuration says {}", id,
                   *info.rated_speed_mm_s, *configured_speed);
    }
    if (floor_min && info.bottom_floor && *floor_min != *info.bottom_floor) {
      spdlog::warn("elevator {}: controller reports bottom floor {}, configuration says {}", id,
                   *info.bottom_floor, *floor_min);
    }
    if (floor_max && info.top_floor && *floor_max != *info.top_floor) {
      spdlog::warn("elevator {}: controller reports top floor {}, configuration says {}", id,
                   *info.top_floor, *floor_max);
    }
  }

  // Marks cars offline once no valid reply came for comms_lost_after_ms.
  // Runs on a timer rather than on errors, because a backed-off unit sends
  // errors rarely.
  void Sweep() {
    SteadyTime now = clock_.Now();
    WallTime wall = clock_.WallNow();
    std::vector<rules::Finding> f;
    state_.UpdateAll([&](CarState& c) {
      if (!c.detector) return;
      f.clear();
      c.detector->OnTime(now, wall, f);
      if (f.empty()) return;
      alarms_->PostFindings(c.id, f, c.last);
      // Offline is exactly the detectors' COMMS_LOST (no valid reply for
      // comms_lost_after_ms), not a second reckoning of the same silence.
      bool lost = std::any_of(f.begin(), f.end(), [](const rules::Finding& x) {
        return x.type == AlarmType::kCommsLost && x.active;
      });
      if (!lost) return;
      if (c.online) {
        c.online = false;
        c.offline_recorded = true;
        c.updated_at = wall;
        events_->Append({wall, "", c.id, "offline", "online", "offline",
                         c.last_error ? c.last_error->detail : "no valid reply"});
      } else if (!c.has_sample && !c.offline_recorded) {
        c.offline_recorded = true;
        events_->Append({wall, "", c.id, "offline", "unknown", "offline",
                         c.last_error ? c.last_error->detail : "no reply since start"});
      }
    });
    alarms_->Tick();
    incidents_->Tick();
    notifier_->Tick();
    if (stopping_) return;
    sweep_.expires_after(kSweepPeriod);
    sweep_.async_wait([this](boost::system::error_code ec) {
      if (!ec) Sweep();
    });
  }

  void WaitSignal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        spdlog::info("SIGHUP: reloading {}", config_.path);
        (void)Reload();
        sd_notify(0, "READY=1");
        WaitSignal();
        return;
      }
      std::lock_guard lock(stop_mu_);
      stop_requested_ = true;
      stop_cv_.notify_all();
    });
  }

  void PetWatchdog() {
    if (stopping_) return;
    sd_notify(0, "WATCHDOG=1");
    watchdog_.expires_after(watchdog_period_);
    watchdog_.async_wait([this](boost::system::error_code ec) {
      if (!ec) PetWatchdog();
    });
  }

  std::mutex mu_;  // guards config_, handles_, started_/stopped_
  asio::steady_timer sweep_;
  asio::steady_timer watchdog_;
  asio::signal_set signals_;
  std::chrono::microseconds watchdog_period_{0};
  std::thread thread_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::map<std::string, uint32_t> handles_;
  std::map<std::string, std::shared_ptr<const drivers::RegisterMap>> maps_;  // by fingerprint
  uint32_t next_handle_ = 1;
  static constexpr Millis kSweepPeriod{250};
  std::set<std::string> warned_info_;  // state strand only

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
};

Result<std::unique_ptr<App>> App::Create(Config config, const Clock& clock) {
  auto db = db::Database::Open(config.daemon.database);
  if (!db.ok()) return db.error();
  auto impl = std::make_unique<Impl>(std::move(config), clock, std::move(db).value());
  return std::unique_ptr<App>(new App(std::move(impl)));
}

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() = default;
Status App::Start() { return impl_->Start(); }
int App::Run() { return impl_->Run(); }
void App::Stop() { impl_->Stop(); }
Status App::Reload() { return impl_->Reload(); }
Status App::Apply(Config config) { return impl_->Apply(std::move(config)); }
const LiveState& App::state() const { return impl_->state_; }
std::vector<std::pair<std::string, drivers::LinkStats>> App::LinkStats() const {
  return impl_->engine_ ? impl_->engine_->Stats()
                        : std::vector<std::pair<std::string, drivers::LinkStats>>{};
}
void App::FlushEvents() { impl_->events_->Flush(); }

}  // namespace lg
