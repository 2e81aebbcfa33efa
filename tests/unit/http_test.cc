// The HTTP API over real loopback sockets, with a real SQLite file, a real
// AlarmService on its strand and a LiveState the test drives.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "daemon/alarm_service.h"
#include "daemon/auth.h"
#include "daemon/http_server.h"
#include "daemon/incident_service.h"
#include "daemon/live_state.h"
#include "daemon/records_service.h"
#include "db/database.h"
#include "rules/detector.h"

namespace lg {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const std::string& n) const {
    auto it = headers.find(n);
    return it == headers.end() ? "" : it->second;
  }
};

int Connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads until EOF or `until` appears or the deadline passes.
std::string ReadSome(int fd, std::chrono::milliseconds timeout, const std::string& until = "") {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!until.empty() && out.find(until) != std::string::npos) break;
  }
  return out;
}

Reply Parse(const std::string& raw) {
  Reply r;
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  std::sscanf(raw.c_str(), "HTTP/1.1 %d", &r.status);
  size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    r.headers[name] = value;
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

Reply Call(uint16_t port, const std::string& method, const std::string& target,
           const std::string& token = "", const std::string& body = "",
           const std::string& extra_headers = "") {
  int fd = Connect(port);
  if (fd < 0) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += extra_headers + "\r\n" + body;
  SendAll(fd, req);
  std::string raw = ReadSome(fd, 10s);
  ::close(fd);
  return Parse(raw);
}

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "http";
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

constexpr char kPassword[] = "correct horse battery";

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto db = db::Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    auto admin = db::Database::Open(path_);
    ASSERT_TRUE(admin.ok());
    admin_ = std::move(admin).value();

    std::vector<CarState> cars;
    for (auto [h, id] : {std::pair<uint32_t, const char*>{1, "A1"}, {2, "A2"}, {3, "B1"}}) {
      CarState c;
      c.handle = h;
      c.id = id;
      c.name = std::string("Car ") + id;
      c.building = "Tower";
      c.link = "gw1";
      if (c.id == "A1") {
        // A make whose map has no `occupied`: TRAPPED's passenger paths
        // cannot be evaluated, and the status must say so.
        rules::CarProfile p;
        p.provided = rules::AllFields();
        p.provided.reset(static_cast<int>(Field::kOccupied));
        p.rated_speed_mm_s = 1750;
        rules::CarDetector d(p, RulesConfig{}, std::chrono::steady_clock::now());
        c.disabled_rules = d.disabled();
      }
      cars.push_back(c);
    }
    state_.SetCars(cars);

    alarms_ = std::make_unique<AlarmService>(strand_, *db_, SystemClock::Instance(), RulesConfig{});
    incidents_ = std::make_unique<IncidentService>(*db_, SystemClock::Instance(),
                                                   rules::IncidentTargets{3, 5, 15});
    HttpDeps deps;
    deps.state = &state_;
    deps.alarms = alarms_.get();
    deps.incidents = incidents_.get();
    deps.db_path = path_;
    deps.link_stats = [] {
      drivers::LinkStats s;
      s.requests = 10;
      s.replies = 9;
      s.timeouts = 1;
      s.latency_us_sum = 9000;
      s.status = drivers::LinkStatus::kUp;
      return std::vector<std::pair<std::string, drivers::LinkStats>>{{"gw1", s}};
    };
    deps.contractor_of = [](const std::string& e) -> std::string {
      if (e == "A1" || e == "A2") return "acme";
      if (e == "B1") return "beta";
      return "";
    };
    deps.polling = [this] { return polling_.load(); };
    records_ = std::make_unique<RecordsService>(*db_, SystemClock::Instance(),
                                                SiteTime::Fixed(std::chrono::hours(8)));
    ASSERT_TRUE(records_
                    ->SetConfig({{"A1", "Car A1", "2018-06-01", "acme"},
                                 {"A2", "Car A2", "", "acme"},
                                 {"B1", "Car B1", "", "beta"}},
                                {{"acme", "Acme", "+86 1", true}, {"beta", "Beta", "+86 2", true}},
                                6 * 60)
                    .ok());
    records_->SetSink(
        [this](std::vector<ComplianceAlarm> v) { alarms_->PostCompliance(std::move(v)); });
    deps.records = records_.get();
    HttpOptions opts;
    opts.listen = "127.0.0.1:0";
    opts.body_limit = 64 * 1024;
    Tune(opts);
    server_ = std::make_unique<HttpServer>(io_, deps, opts);
    alarms_->AddListener(server_->AlarmListener());
    alarms_->AddListener([this](const rules::Transition& t) { incidents_->OnAlarm(t); });
    incidents_->AddListener(server_->IncidentListener());
    ASSERT_TRUE(alarms_->Start([](const std::string&) { return std::nullopt; }).ok());
    ASSERT_TRUE(incidents_->Start().ok());
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { io_.run(); });

    for (auto [name, role, contractor] :
         {std::tuple<const char*, auth::Role, const char*>{"olga", auth::Role::kOperator, ""},
          {"sam", auth::Role::kSafetyManager, ""},
          {"carl", auth::Role::kContractor, "acme"},
          {"bea", auth::Role::kContractor, "beta"},
          {"ivan", auth::Role::kInspector, ""},
          {"ada", auth::Role::kAdmin, ""}}) {
      ASSERT_TRUE(auth::CreateUser(*admin_, name, kPassword, role, contractor).ok()) << name;
    }
  }

  virtual void Tune(HttpOptions&) {}

  void TearDown() override {
    if (server_) server_->Stop();
    if (records_) records_->Stop();
    work_.reset();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::string Login(const std::string& user) {
    Reply r = Call(port_, "POST", "/api/v1/login", "",
                   json{{"username", user}, {"password", kPassword}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json().value("token", "");
  }

  // Raises an alarm on `car` and waits until it is stored; returns its id.
  int64_t Raise(const std::string& car, AlarmType type = AlarmType::kDoorLockFault) {
    rules::Finding f;
    f.type = type;
    f.active = true;
    f.severity = Severity::kMajor;
    f.message = "test fault";
    f.at = SystemClock::Instance().Now();
    f.wall_at = SystemClock::Instance().WallNow();
    Sample s;
    s.wall_at = f.wall_at;
    alarms_->PostFindings(car, {f}, s);
    std::string token = Login("sam");
    for (int i = 0; i < 200; ++i) {
      Reply r = Call(port_, "GET", "/api/v1/alarms?elevator=" + car, token);
      if (r.status == 200 && r.Json().is_array() && !r.Json().empty()) {
        return r.Json()[0]["id"].get<int64_t>();
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "alarm not stored";
    return 0;
  }

  std::string path_;
  std::unique_ptr<db::Database> db_, admin_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  AlarmService::Strand strand_{boost::asio::make_strand(io_)};
  LiveState state_;
  std::unique_ptr<AlarmService> alarms_;
  std::unique_ptr<IncidentService> incidents_;
  std::unique_ptr<RecordsService> records_;  // started by the tests that want its thread
  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> polling_{true};
  std::thread thread_;
  uint16_t port_ = 0;
};

void ExpectSecurityHeaders(const Reply& r) {
  EXPECT_EQ(r.Header("content-security-policy"), "default-src 'self'");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.Header("x-frame-options"), "DENY");
  EXPECT_EQ(r.Header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.Header("cache-control"), "no-store");
}

TEST_F(HttpTest, LoginGivesATokenThatOpensTheApi) {
  Reply r = Call(port_, "POST", "/api/v1/login", "",
                 json{{"username", "olga"}, {"password", kPassword}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectSecurityHeaders(r);
  json j = r.Json();
  EXPECT_EQ(j["role"], "operator");
  EXPECT_EQ(j["token"].get<std::string>().size(), 64u);
  EXPECT_TRUE(db::ParseTime(j["expires_at"].get<std::string>()).has_value());
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", j["token"]).status, 200);
  // The token is stored hashed only.
  EXPECT_EQ(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM tokens WHERE token_hash = '" +
                            j["token"].get<std::string>() + "'")
                .getInt(),
            0);
}

TEST_F(HttpTest, BadPasswordsAreRefusedThenThrottled) {
  for (int i = 0; i < 5; ++i) {
    Reply r = Call(port_, "POST", "/api/v1/login", "",
                   json{{"username", "olga"}, {"password", "wrong password!"}}.dump());
    EXPECT_EQ(r.status, 401) << i;
    EXPECT_EQ(r.Json()["error"]["code"], "unauthorized");
  }
  // Now even the right password waits.
  Reply r = Call(port_, "POST", "/api/v1/login", "",
                 json{{"username", "olga"}, {"password", kPassword}}.dump());
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "throttled");
  int retry = std::atoi(r.Header("retry-after").c_str());
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 30);
  // Another user is not affected.
  EXPECT_FALSE(Login("sam").empty());
  // Unknown users are refused the same way.
  EXPECT_EQ(Call(port_, "POST", "/api/v1/login", "",
                 json{{"username", "nobody"}, {"password", kPassword}}.dump())
                .status,
            401);
  // Every attempt is in the audit log.
  EXPECT_GE(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM audit_log WHERE who = 'olga' AND path = "
                            "'/api/v1/login' AND address = '127.0.0.1'")
                .getInt(),
            6);
}

TEST_F(HttpTest, ExpiredAndDisabledTokensAreRefused) {
  auto old = auth::Login(*admin_, "ivan", kPassword, std::chrono::system_clock::now() - 13h,
                         std::chrono::hours(12));
  ASSERT_TRUE(old.session.has_value());
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", old.session->token).status, 401);
  std::string token = Login("ivan");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", token).status, 200);
  ASSERT_TRUE(auth::Disable(*admin_, "ivan").ok());
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", token).status, 401);
  EXPECT_EQ(Call(port_, "POST", "/api/v1/login", "",
                 json{{"username", "ivan"}, {"password", kPassword}}.dump())
                .status,
            401);
}

TEST_F(HttpTest, UserManagementChecksItsInput) {
  EXPECT_FALSE(auth::CreateUser(*admin_, "short", "123456789", auth::Role::kOperator).ok());
  EXPECT_FALSE(auth::CreateUser(*admin_, "olga", kPassword, auth::Role::kOperator).ok());
  EXPECT_FALSE(auth::CreateUser(*admin_, "c", kPassword, auth::Role::kContractor, "").ok());
  EXPECT_FALSE(auth::SetPassword(*admin_, "nobody", kPassword).ok());
  std::string token = Login("olga");
  ASSERT_TRUE(auth::SetPassword(*admin_, "olga", "a new long password").ok());
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", token).status, 401);  // revoked
  EXPECT_EQ(Call(port_, "POST", "/api/v1/login", "",
                 json{{"username", "olga"}, {"password", "a new long password"}}.dump())
                .status,
            200);
}

TEST_F(HttpTest, RoleMatrix) {
  std::map<std::string, std::string> tokens;
  for (auto u : {"olga", "sam", "carl", "ivan", "ada"}) tokens[u] = Login(u);
  struct Case {
    std::string method, target, body;
    std::map<std::string, int> want;  // by user
  };
  std::vector<Case> cases = {
      {"GET",
       "/api/v1/elevators",
       "",
       {{"olga", 200}, {"sam", 200}, {"carl", 200}, {"ivan", 200}, {"ada", 200}}},
      {"GET",
       "/api/v1/elevators/A1",
       "",
       {{"olga", 200}, {"sam", 200}, {"carl", 200}, {"ivan", 200}, {"ada", 200}}},
      {"GET",
       "/api/v1/alarms?state=all",
       "",
       {{"olga", 200}, {"sam", 200}, {"carl", 200}, {"ivan", 200}, {"ada", 200}}},
      // No such alarm: a role that may ack learns that (404); others are refused (403).
      {"POST",
       "/api/v1/alarms/999999/ack",
       "{\"note\":\"x\"}",
       {{"olga", 404}, {"sam", 404}, {"carl", 403}, {"ivan", 403}, {"ada", 403}}},
      {"POST",
       "/api/v1/alarms/999999/shelve",
       "{\"minutes\":30,\"reason\":\"x\"}",
       {{"olga", 403}, {"sam", 404}, {"carl", 403}, {"ivan", 403}, {"ada", 403}}},
      {"GET",
       "/api/v1/incidents?state=all",
       "",
       {{"olga", 200}, {"sam", 200}, {"carl", 200}, {"ivan", 200}, {"ada", 200}}},
      // No such car / incident: as above, 404 tells a role that may write it.
      {"POST",
       "/api/v1/incidents",
       "{\"elevator\":\"ZZ\",\"note\":\"x\"}",
       {{"olga", 404}, {"sam", 404}, {"carl", 403}, {"ivan", 403}, {"ada", 403}}},
      {"POST",
       "/api/v1/incidents/999999/steps",
       "{\"step\":\"on_site\"}",
       {{"olga", 404}, {"sam", 404}, {"carl", 404}, {"ivan", 403}, {"ada", 403}}},
      {"GET",
       "/api/v1/audit?limit=5",
       "",
       {{"olga", 403}, {"sam", 200}, {"carl", 403}, {"ivan", 403}, {"ada", 200}}},
      {"GET",
       "/api/v1/maintenance-windows",
       "",
       {{"olga", 403}, {"sam", 200}, {"carl", 200}, {"ivan", 403}, {"ada", 403}}},
      {"POST",
       "/api/v1/maintenance-windows",
       "{\"elevator\":\"ZZ\",\"starts_at\":\"2199-01-01T08:00:00Z\",\"ends_at\":"
       "\"2199-01-01T09:00:00Z\",\"reason\":\"x\"}",
       {{"olga", 403}, {"sam", 404}, {"carl", 404}, {"ivan", 403}, {"ada", 403}}},
  };
  for (const auto& c : cases) {
    Reply none = Call(port_, c.method, c.target, "", c.body);
    EXPECT_EQ(none.status, 401) << c.target;
    EXPECT_EQ(none.Json()["error"]["code"], "unauthorized");
    ExpectSecurityHeaders(none);
    EXPECT_EQ(Call(port_, c.method, c.target, std::string(64, 'a'), c.body).status, 401)
        << c.target;
    for (const auto& [user, want] : c.want) {
      Reply r = Call(port_, c.method, c.target, tokens[user], c.body);
      EXPECT_EQ(r.status, want) << c.method << " " << c.target << " as " << user << ": " << r.body;
      ExpectSecurityHeaders(r);
      if (want >= 400) {
        EXPECT_TRUE(r.Json()["error"].contains("message")) << r.body;
      }
    }
  }
  // The stream takes its token from the query too; every role may open it.
  EXPECT_EQ(Call(port_, "GET", "/api/v1/stream").status, 401);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/stream?token=" + std::string(64, 'a')).status, 401);
  for (const auto& [user, token] : tokens) {
    int fd = Connect(port_);
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /api/v1/stream?token=" + token + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(ReadSome(fd, 5s, "retry:").find("200 OK"), std::string::npos) << user;
    ::close(fd);
  }
  EXPECT_EQ(Call(port_, "GET", "/api/v1/nothing", tokens["ada"]).status, 404);
  EXPECT_EQ(Call(port_, "DELETE", "/api/v1/elevators", tokens["ada"]).status, 405);
}

TEST_F(HttpTest, ElevatorsShowLiveState) {
  Sample s;
  s.SetNumber(Field::kFloor, 7);
  s.SetFlag(Field::kAuto, true);
  s.SetFlag(Field::kMoving, true);
  s.SetFlag(Field::kDirUp, true);
  s.SetFlag(Field::kDoorClosed, true);
  s.SetFlag(Field::kOccupied, false);
  s.SetNumber(Field::kTrips, 1234);
  s.wall_at = std::chrono::system_clock::now();
  state_.Update(1, [&](CarState& c) {
    c.online = true;
    c.has_sample = true;
    c.last = s;
    c.mode = s.mode();
    c.updated_at = s.wall_at;
    c.link_status = drivers::LinkStatus::kUp;
  });
  Raise("A1");
  std::string token = Login("olga");
  Reply r = Call(port_, "GET", "/api/v1/elevators", token);
  ASSERT_EQ(r.status, 200);
  json list = r.Json();
  ASSERT_EQ(list.size(), 3u);
  json a1 = list[0]["id"] == "A1" ? list[0] : list[1];
  EXPECT_EQ(a1["online"], true);
  EXPECT_EQ(a1["floor"], 7);
  EXPECT_EQ(a1["mode"], "auto");
  EXPECT_EQ(a1["direction"], "up");
  EXPECT_EQ(a1["moving"], true);
  EXPECT_EQ(a1["door"], "closed");
  EXPECT_EQ(a1["occupied"], false);
  EXPECT_EQ(a1["active_alarms"], json::array({"DOOR_LOCK_FAULT"}));
  EXPECT_TRUE(a1["updated_at"].is_string());
  Reply one = Call(port_, "GET", "/api/v1/elevators/A1", token);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.Json()["counters"]["trips"], 1234);
  EXPECT_EQ(one.Json()["link"]["status"], "up");
  bool trapped_disabled = false;
  json detail = one.Json();
  for (const auto& d : detail["disabled_rules"]) {
    if (d["type"] == "TRAPPED" &&
        d["reason"].get<std::string>().find("occupied") != std::string::npos) {
      trapped_disabled = true;
    }
  }
  EXPECT_TRUE(trapped_disabled) << detail["disabled_rules"].dump();
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators/ZZ", token).status, 404);
}

TEST_F(HttpTest, ContractorsSeeOnlyTheirElevators) {
  int64_t b_alarm = Raise("B1");
  Raise("A1");
  std::string carl = Login("carl");
  json list = Call(port_, "GET", "/api/v1/elevators", carl).Json();
  ASSERT_EQ(list.size(), 2u);
  for (const auto& e : list) EXPECT_NE(e["id"], "B1");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators/B1", carl).status, 404);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators/A1", carl).status, 200);
  json alarms = Call(port_, "GET", "/api/v1/alarms?state=all", carl).Json();
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0]["elevator"], "A1");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/alarms?elevator=B1", carl).status, 404);
  // A contractor may not acknowledge at all (and so not another's alarm).
  EXPECT_EQ(Call(port_, "POST", "/api/v1/alarms/" + std::to_string(b_alarm) + "/ack", carl,
                 "{\"note\":\"mine?\"}")
                .status,
            403);
  std::string bea = Login("bea");
  json theirs = Call(port_, "GET", "/api/v1/alarms", bea).Json();
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0]["elevator"], "B1");
  // A contractor user without a contractor id (only by editing the
  // database) sees nothing, not everything.
  admin_->handle().exec("UPDATE users SET contractor = '' WHERE username = 'bea'");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/elevators", bea).Json().size(), 0u);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/alarms?state=all", bea).Json().size(), 0u);
}

TEST_F(HttpTest, AckAndShelveGoThroughTheAlarmServiceAndTheAuditLog) {
  int64_t id = Raise("A1");
  int64_t trapped = Raise("A2", AlarmType::kTrapped);
  std::string olga = Login("olga"), sam = Login("sam");
  std::string base = "/api/v1/alarms/" + std::to_string(id);
  Reply r = Call(port_, "POST", base + "/ack", olga, "{\"note\":\"on it\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "acked");
  EXPECT_EQ(r.Json()["acked_by"], "olga");
  EXPECT_EQ(Call(port_, "POST", base + "/ack", olga, "{}").status, 409);
  r = Call(port_, "POST", base + "/shelve", sam,
           "{\"minutes\":30,\"reason\":\"contractor called\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "shelved");
  // TRAPPED may not be shelved.
  r = Call(port_, "POST", "/api/v1/alarms/" + std::to_string(trapped) + "/shelve", sam,
           "{\"minutes\":30,\"reason\":\"x\"}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "not_shelvable");
  // History is in the list.
  json all = Call(port_, "GET", "/api/v1/alarms?state=all&elevator=A1", olga).Json();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["history"].size(), 3u);
  EXPECT_EQ(all[0]["history"][1]["kind"], "acked");
  // Newest first, and `since` filters.
  json both = Call(port_, "GET", "/api/v1/alarms", olga).Json();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_GT(both[0]["id"].get<int64_t>(), both[1]["id"].get<int64_t>());
  EXPECT_EQ(
      Call(port_, "GET", "/api/v1/alarms?since=2199-01-01T00:00:00.5%2B08:00", olga).Json().size(),
      0u);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/alarms?since=yesterday", olga).status, 400);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/alarms?state=maybe", olga).status, 400);
  auto& h = admin_->handle();
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log WHERE who = 'olga' AND role = 'operator' "
                         "AND path = '" +
                         base + "/ack' AND status = 200 AND detail LIKE '%on it%'")
                .getInt(),
            1);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log WHERE who = 'sam' AND method = 'POST' AND "
                         "path = '" +
                         base + "/shelve' AND status = 200")
                .getInt(),
            1);
}

TEST_F(HttpTest, BadBodiesNameTheField) {
  std::string sam = Login("sam");
  auto expect = [&](const std::string& target, const std::string& body, const std::string& code,
                    const std::string& needle) {
    Reply r = Call(port_, "POST", target, sam, body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], code) << body;
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(needle), std::string::npos)
        << r.body;
  };
  expect("/api/v1/alarms/1/ack", "{\"note\":\"x\",\"color\":1}", "unknown_field", "color");
  expect("/api/v1/alarms/1/ack", "{\"note\":5}", "wrong_type", "note");
  expect("/api/v1/alarms/1/shelve", "{\"minutes\":\"30\",\"reason\":\"r\"}", "wrong_type",
         "minutes");
  expect("/api/v1/alarms/1/shelve", "{\"minutes\":30}", "missing_field", "reason");
  expect("/api/v1/alarms/1/ack", "{\"note\":", "invalid_json", "JSON");
  expect("/api/v1/alarms/1/ack", "[1,2]", "invalid_json", "object");
  expect("/api/v1/login", "{\"username\":\"sam\"}", "missing_field", "password");
  expect("/api/v1/login", "{\"username\":\"sam\",\"password\":\"x\",\"otp\":1}", "unknown_field",
         "otp");
}

TEST_F(HttpTest, BodiesOverTheLimitAre413) {
  std::string sam = Login("sam");
  std::string big = "{\"note\":\"" + std::string(70 * 1024, 'x') + "\"}";
  Reply r = Call(port_, "POST", "/api/v1/alarms/1/ack", sam, big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "too_large");
  ExpectSecurityHeaders(r);
}

TEST_F(HttpTest, HealthzFollowsPollingAndTheDatabase) {
  Reply r = Call(port_, "GET", "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Json()["status"], "ok");
  ExpectSecurityHeaders(r);
  polling_ = false;
  r = Call(port_, "GET", "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["status"], "unhealthy");
  EXPECT_NE(r.Json()["reason"].get<std::string>().find("polling"), std::string::npos);
}

TEST_F(HttpTest, MetricsHaveTheSeries) {
  Raise("A1");
  Reply r = Call(port_, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("content-type").find("text/plain"), std::string::npos);
  for (auto s : {"liftguard_polls_total{link=\"gw1\"} 10",
                 "liftguard_poll_failures_total{link=\"gw1\",kind=\"timeout\"} 1",
                 "liftguard_poll_latency_seconds_sum{link=\"gw1\"} 0.009",
                 "liftguard_poll_latency_seconds_count{link=\"gw1\"} 9",
                 "liftguard_alarms{state=\"unack\"} 1", "liftguard_link_up{link=\"gw1\"} 1",
                 "liftguard_incidents_open 0", "liftguard_incident_write_failures_total 0"}) {
    EXPECT_NE(r.body.find(s), std::string::npos) << s << "\n" << r.body;
  }
}

TEST_F(HttpTest, StreamSendsAlarmAndStateEvents) {
  std::string carl = Login("carl");
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /api/v1/stream?token=" + carl + " HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head = ReadSome(fd, 5s, "retry:");
  ASSERT_NE(head.find("200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("text/event-stream"), std::string::npos);
  EXPECT_NE(head.find("X-Frame-Options: DENY"), std::string::npos);
  // A state change of one of carl's cars...
  state_.Update(2, [](CarState& c) {
    c.online = true;
    c.has_sample = true;
    c.last.SetNumber(Field::kFloor, 3);
  });
  std::string got = ReadSome(fd, 5s, "\"floor\":3");
  EXPECT_NE(got.find("event: state"), std::string::npos) << got;
  EXPECT_NE(got.find("\"floor\":3"), std::string::npos) << got;
  // ...and an alarm on another contractor's car is not sent; one on carl's is.
  Raise("B1");
  Raise("A1");
  got = ReadSome(fd, 5s, "\"elevator\":\"A1\"");
  EXPECT_NE(got.find("event: alarm"), std::string::npos) << got;
  EXPECT_NE(got.find("\"kind\":\"raised\""), std::string::npos) << got;
  EXPECT_EQ(got.find("\"elevator\":\"B1\""), std::string::npos) << got;
  ::close(fd);
}

TEST_F(HttpTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ReadSome(fd, 5s, "\"ok\"").find("200 OK"), std::string::npos);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(ReadSome(fd, 5s, "\"ok\"").find("200 OK"), std::string::npos);
  ::close(fd);
}

// ---- rescue incidents, audit log, maintenance windows -------------------------

// POSTs a JSON body; the reply.
Reply Post(uint16_t port, const std::string& token, const std::string& target, const json& body) {
  return Call(port, "POST", target, token, body.dump());
}

std::string Steps(int64_t id) { return "/api/v1/incidents/" + std::to_string(id) + "/steps"; }

TEST_F(HttpTest, AnIncidentIsWalkedThroughEveryStep) {
  std::string olga = Login("olga"), carl = Login("carl"), sam = Login("sam");
  Reply r = Post(port_, olga, "/api/v1/incidents",
                 {{"elevator", "A1"}, {"note", "intercom: two people in the car"}});
  ASSERT_EQ(r.status, 201) << r.body;
  ExpectSecurityHeaders(r);
  json inc = r.Json();
  int64_t id = inc["id"].get<int64_t>();
  EXPECT_EQ(inc["elevator"], "A1");
  EXPECT_EQ(inc["elevator_name"], "Car A1");
  EXPECT_EQ(inc["building"], "Tower");
  EXPECT_TRUE(inc["alarm_id"].is_null());
  EXPECT_EQ(inc["state"], "open");
  EXPECT_EQ(inc["step"], "dispatched");
  EXPECT_TRUE(db::ParseTime(inc["opened_at"].get<std::string>()));
  EXPECT_TRUE(inc["closed_at"].is_null());
  EXPECT_TRUE(inc["eta_min"].is_null());
  EXPECT_TRUE(inc["cause"].is_null());
  ASSERT_EQ(inc["steps"].size(), 2u);
  EXPECT_EQ(inc["steps"][0], json({{"step", "open"},
                                   {"at", inc["opened_at"]},
                                   {"by", "olga"},
                                   {"note", "intercom: two people in the car"}}));
  EXPECT_EQ(inc["steps"][1]["step"], "dispatched");
  EXPECT_EQ(inc["steps"][1]["by"], "system");
  EXPECT_EQ(inc["targets"],
            json({{"acknowledged_min", 3}, {"accepted_min", 5}, {"on_site_min", 15}}));
  EXPECT_EQ(inc["elapsed"],
            json({{"acknowledged_s", nullptr}, {"accepted_s", nullptr}, {"on_site_s", nullptr}}));
  EXPECT_EQ(inc["over_target"], json::array());
  EXPECT_NE(Call(port_, "GET", "/metrics").body.find("liftguard_incidents_open 1\n"),
            std::string::npos);

  // Who records what: olga acknowledges, the contractor accepts with an ETA
  // and arrives, olga records the release, sam closes with the cause.
  r = Post(port_, olga, Steps(id), {{"step", "acknowledged"}, {"note", "spoke to them"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["step"], "acknowledged");
  EXPECT_TRUE(r.Json()["elapsed"]["acknowledged_s"].is_number_integer());
  r = Post(port_, carl, Steps(id), {{"step", "accepted"}, {"eta_min", 20}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["eta_min"], 20);
  EXPECT_EQ(r.Json()["step"], "accepted");
  r = Post(port_, carl, Steps(id), {{"step", "on_site"}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = Post(port_, olga, Steps(id), {{"step", "released"}, {"note", "both out, unhurt"}});
  ASSERT_EQ(r.status, 200) << r.body;
  r = Post(port_, sam, Steps(id),
           {{"step", "closed"}, {"cause", "door lock relay"}, {"note", "relay replaced"}});
  ASSERT_EQ(r.status, 200) << r.body;
  inc = r.Json();
  EXPECT_EQ(inc["state"], "closed");
  EXPECT_EQ(inc["step"], "closed");
  EXPECT_EQ(inc["cause"], "door lock relay");
  EXPECT_TRUE(inc["closed_at"].is_string());
  std::vector<std::string> by;
  for (const auto& s : inc["steps"])
    by.push_back(s["step"].get<std::string>() + ":" + s["by"].get<std::string>());
  EXPECT_EQ(by, (std::vector<std::string>{"open:olga", "dispatched:system", "acknowledged:olga",
                                          "accepted:carl", "on_site:carl", "released:olga",
                                          "closed:sam"}));
  EXPECT_EQ(inc["over_target"], json::array());
  // Nothing more after closed.
  r = Post(port_, sam, Steps(id), {{"step", "false_alarm"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "out_of_order");
  // The lists: open ones by default, all with state=all.
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents", olga).Json()["incidents"].size(), 0u);
  json all = Call(port_, "GET", "/api/v1/incidents?state=all", olga).Json();
  ASSERT_EQ(all["incidents"].size(), 1u);
  EXPECT_EQ(all["incidents"][0]["steps"].size(), 7u);
  // Every write is in the audit log, with who and what.
  auto& h = admin_->handle();
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log WHERE path LIKE '/api/v1/incidents%' "
                         "AND method = 'POST' AND status = 200")
                .getInt(),
            5);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log WHERE who = 'carl' AND role = "
                         "'contractor' AND detail LIKE '%accepted (eta 20 min)%'")
                .getInt(),
            1);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log WHERE who = 'olga' AND status = 201 AND "
                         "detail LIKE 'incident " +
                         std::to_string(id) + ": open incident on A1%'")
                .getInt(),
            1);
}

TEST_F(HttpTest, ATrappedAlarmOpensAnIncident) {
  int64_t alarm = Raise("A2", AlarmType::kTrapped);
  std::string olga = Login("olga");
  json list;
  ASSERT_TRUE([&] {
    for (int i = 0; i < 100; ++i) {
      list = Call(port_, "GET", "/api/v1/incidents?elevator=A2", olga).Json()["incidents"];
      if (list.size() == 1) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }());
  EXPECT_EQ(list[0]["alarm_id"], alarm);
  EXPECT_EQ(list[0]["steps"][0]["by"], "system");
  EXPECT_NE(list[0]["steps"][0]["note"].get<std::string>().find("TRAPPED"), std::string::npos);
  // A car with an open incident: a second one is refused, naming it.
  Reply r = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A2"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "incident_open");
  EXPECT_EQ(r.Json()["error"]["incident_id"], list[0]["id"]);
  EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(list[0]["id"].dump()),
            std::string::npos);
  // Other alarm types open nothing.
  Raise("B1");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents?elevator=B1", olga).Json()["incidents"].size(),
            0u);
}

TEST_F(HttpTest, OutOfOrderStepsAre409AndSayWhy) {
  std::string olga = Login("olga"), carl = Login("carl");
  int64_t id = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A1"}}).Json()["id"];
  struct Case {
    json body;
    std::string needle;
  };
  for (const auto& c : std::vector<Case>{{{{"step", "on_site"}}, "on_site needs accepted"},
                                         {{{"step", "released"}}, "released needs on_site"},
                                         {{{"step", "closed"}}, "closed needs released"}}) {
    Reply r = Post(port_, olga, Steps(id), c.body);
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "out_of_order");
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(c.needle), std::string::npos)
        << r.body;
  }
  ASSERT_EQ(Post(port_, olga, Steps(id), {{"step", "acknowledged"}}).status, 200);
  Reply twice = Post(port_, olga, Steps(id), {{"step", "acknowledged"}});
  EXPECT_EQ(twice.status, 409);
  EXPECT_NE(twice.Json()["error"]["message"].get<std::string>().find("recorded already"),
            std::string::npos);
  // A contractor may not acknowledge (403), but may call it a false alarm.
  int64_t other = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A2"}}).Json()["id"];
  Reply ack = Post(port_, carl, Steps(other), {{"step", "acknowledged"}});
  EXPECT_EQ(ack.status, 403) << ack.body;
  EXPECT_NE(ack.Json()["error"]["message"].get<std::string>().find("security room"),
            std::string::npos);
  Reply fa = Post(port_, carl, Steps(other), {{"step", "false_alarm"}, {"note", "test button"}});
  ASSERT_EQ(fa.status, 200) << fa.body;
  EXPECT_EQ(fa.Json()["state"], "false_alarm");
  EXPECT_TRUE(fa.Json()["closed_at"].is_string());
  EXPECT_EQ(Post(port_, olga, Steps(other), {{"step", "acknowledged"}}).status, 409);
  // The refusals are audited too.
  EXPECT_GE(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM audit_log WHERE status = 409 AND path = '" +
                            Steps(id) + "'")
                .getInt(),
            4);
}

TEST_F(HttpTest, IncidentBodiesNameTheField) {
  std::string olga = Login("olga");
  int64_t id = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A1"}}).Json()["id"];
  auto expect = [&](const std::string& target, const std::string& body, const std::string& code,
                    const std::string& needle) {
    Reply r = Call(port_, "POST", target, olga, body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], code) << body;
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(needle), std::string::npos)
        << r.body;
  };
  expect("/api/v1/incidents", R"({"elevator":"A2","colour":1})", "unknown_field", "colour");
  expect("/api/v1/incidents", R"({"note":"x"})", "missing_field", "elevator");
  expect("/api/v1/incidents", R"({"elevator":7})", "wrong_type", "elevator");
  expect("/api/v1/incidents", R"({"elevator":"A2","note":"x",)", "invalid_json", "JSON");
  expect(Steps(id), R"({"step":"acknowledged","eta":5})", "unknown_field", "eta");
  expect(Steps(id), R"({"note":"x"})", "missing_field", "step");
  expect(Steps(id), R"({"step":3})", "wrong_type", "step");
  expect(Steps(id), R"({"step":"teleported"})", "bad_field", "\"step\"");
  expect(Steps(id), R"({"step":"dispatched"})", "bad_field", "\"step\"");
  expect(Steps(id), R"({"step":"open"})", "bad_field", "\"step\"");
  expect(Steps(id), R"({"step":"accepted"})", "bad_field", "\"eta_min\"");
  expect(Steps(id), R"({"step":"accepted","eta_min":"20"})", "wrong_type", "eta_min");
  expect(Steps(id), R"({"step":"accepted","eta_min":0})", "bad_field", "\"eta_min\"");
  expect(Steps(id), R"({"step":"accepted","eta_min":99999999999})", "bad_field", "\"eta_min\"");
  expect(Steps(id), R"({"step":"acknowledged","eta_min":10})", "bad_field", "\"eta_min\"");
  expect(Steps(id), R"({"step":"false_alarm","cause":"x"})", "bad_field", "\"cause\"");
  // None of that changed the incident.
  json inc = Call(port_, "GET", "/api/v1/incidents", olga).Json()["incidents"][0];
  EXPECT_EQ(inc["steps"].size(), 2u);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents?state=closed", olga).status, 400);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents?colour=red", olga).status, 400);
  EXPECT_EQ(Call(port_, "POST", "/api/v1/incidents/x/steps", olga, "{}").status, 404);
  EXPECT_EQ(Call(port_, "GET", Steps(id), olga).status, 405);
  EXPECT_EQ(Call(port_, "DELETE", "/api/v1/incidents", olga).status, 405);
}

TEST_F(HttpTest, ContractorsSeeAndWriteOnlyTheirIncidents) {
  std::string olga = Login("olga"), carl = Login("carl"), bea = Login("bea");
  int64_t a1 = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A1"}}).Json()["id"];
  int64_t b1 = Post(port_, olga, "/api/v1/incidents", {{"elevator", "B1"}}).Json()["id"];
  json mine = Call(port_, "GET", "/api/v1/incidents", carl).Json()["incidents"];
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["id"], a1);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents?elevator=B1", carl).status, 404);
  // Another contractor's incident does not exist for carl.
  Reply r = Post(port_, carl, Steps(b1), {{"step", "accepted"}, {"eta_min", 10}});
  EXPECT_EQ(r.status, 404) << r.body;
  r = Post(port_, bea, Steps(b1), {{"step", "accepted"}, {"eta_min", 10}});
  EXPECT_EQ(r.status, 200) << r.body;
  json theirs = Call(port_, "GET", "/api/v1/incidents?state=all", bea).Json()["incidents"];
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0]["elevator"], "B1");
  // Contractors do not open incidents; unknown cars are 404.
  EXPECT_EQ(Post(port_, carl, "/api/v1/incidents", {{"elevator", "A2"}}).status, 403);
  EXPECT_EQ(Post(port_, olga, "/api/v1/incidents", {{"elevator", "ZZ"}}).status, 404);
  // A contractor user with no contractor id sees none.
  admin_->handle().exec("UPDATE users SET contractor = '' WHERE username = 'bea'");
  EXPECT_EQ(Call(port_, "GET", "/api/v1/incidents?state=all", bea).Json()["incidents"].size(), 0u);
  EXPECT_EQ(Post(port_, bea, Steps(b1), {{"step", "on_site"}}).status, 404);
}

TEST_F(HttpTest, StreamSendsIncidentEvents) {
  std::string carl = Login("carl"), olga = Login("olga");
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  SendAll(fd, "GET /api/v1/stream?token=" + carl + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(ReadSome(fd, 5s, "retry:").find("200 OK"), std::string::npos);
  // B1 is not carl's: its incident is not sent to him; A1's are.
  int64_t b1 = Post(port_, olga, "/api/v1/incidents", {{"elevator", "B1"}}).Json()["id"];
  int64_t a1 = Post(port_, olga, "/api/v1/incidents", {{"elevator", "A1"}}).Json()["id"];
  ASSERT_EQ(Post(port_, olga, Steps(a1), {{"step", "acknowledged"}}).status, 200);
  std::string got = ReadSome(fd, 5s, "\"step\":\"acknowledged\",\"steps\"");
  EXPECT_NE(got.find("event: incident\ndata: {"), std::string::npos) << got;
  EXPECT_NE(got.find("\"id\":" + std::to_string(a1)), std::string::npos) << got;
  EXPECT_NE(got.find("\"step\":\"acknowledged\",\"steps\""), std::string::npos) << got;
  EXPECT_EQ(got.find("\"elevator\":\"B1\""), std::string::npos) << got;
  EXPECT_EQ(got.find("\"id\":" + std::to_string(b1) + ","), std::string::npos) << got;
  // A TRAPPED alarm: the alarm event, then the incident it opened.
  Raise("A2", AlarmType::kTrapped);
  got = ReadSome(fd, 5s, "\"elevator\":\"A2\",\"elevator_name\"");
  size_t alarm = got.find("event: alarm");
  size_t incident = got.find("event: incident");
  ASSERT_NE(alarm, std::string::npos) << got;
  ASSERT_NE(incident, std::string::npos) << got;
  EXPECT_LT(alarm, incident);
  ::close(fd);
}

TEST_F(HttpTest, AuditLogIsReadNewestFirst) {
  std::string sam = Login("sam"), ada = Login("ada");
  Post(port_, sam, "/api/v1/incidents", {{"elevator", "A1"}, {"note", "first"}});
  Post(port_, sam, "/api/v1/incidents", {{"elevator", "A2"}, {"note", "second"}});
  Reply r = Call(port_, "GET", "/api/v1/audit?limit=2", ada);
  ASSERT_EQ(r.status, 200) << r.body;
  json e = r.Json()["entries"];
  ASSERT_EQ(e.size(), 2u);
  EXPECT_GT(e[0]["id"].get<int64_t>(), e[1]["id"].get<int64_t>());
  EXPECT_NE(e[0]["detail"].get<std::string>().find("second"), std::string::npos) << e.dump();
  EXPECT_EQ(e[0]["who"], "sam");
  EXPECT_EQ(e[0]["role"], "safety_manager");
  EXPECT_EQ(e[0]["method"], "POST");
  EXPECT_EQ(e[0]["path"], "/api/v1/incidents");
  EXPECT_EQ(e[0]["status"], 201);
  EXPECT_EQ(e[0]["address"], "127.0.0.1");
  EXPECT_TRUE(db::ParseTime(e[0]["at"].get<std::string>()));
  // The two logins are there too.
  json all = Call(port_, "GET", "/api/v1/audit", ada).Json()["entries"];
  EXPECT_EQ(all.size(), 4u) << all.dump();
  EXPECT_EQ(
      Call(port_, "GET", "/api/v1/audit?since=2199-01-01T00:00:00Z", ada).Json()["entries"].size(),
      0u);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/audit?since=2000-01-01T08:00:00%2B08:00", ada)
                .Json()["entries"]
                .size(),
            4u);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/audit?since=today", ada).status, 400);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/audit?limit=0", ada).status, 400);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/audit?who=sam", ada).status, 400);
}

TEST_F(HttpTest, MaintenanceWindowsAreScopedAndChecked) {
  std::string sam = Login("sam"), carl = Login("carl");
  auto now = std::chrono::system_clock::now();
  auto window = [&](const std::string& car, std::chrono::minutes from, std::chrono::minutes to) {
    return json{{"elevator", car},
                {"starts_at", db::FormatTime(now + from)},
                {"ends_at", db::FormatTime(now + to)},
                {"reason", "half-monthly maintenance"}};
  };
  Reply r = Post(port_, carl, "/api/v1/maintenance-windows", window("A1", -1min, 2h));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["elevator"], "A1");
  EXPECT_EQ(r.Json()["created_by"], "carl");
  EXPECT_EQ(r.Json()["in_force"], true);
  // Not carl's car: as if it did not exist. sam may declare any.
  EXPECT_EQ(Post(port_, carl, "/api/v1/maintenance-windows", window("B1", 0min, 1h)).status, 404);
  ASSERT_EQ(Post(port_, sam, "/api/v1/maintenance-windows", window("B1", 60min, 120min)).status,
            201);
  json carls = Call(port_, "GET", "/api/v1/maintenance-windows", carl).Json()["windows"];
  ASSERT_EQ(carls.size(), 1u);
  EXPECT_EQ(carls[0]["elevator"], "A1");
  json all = Call(port_, "GET", "/api/v1/maintenance-windows", sam).Json()["windows"];
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["elevator"], "B1");  // newest start first
  EXPECT_EQ(all[0]["in_force"], false);
  EXPECT_EQ(Call(port_, "GET", "/api/v1/maintenance-windows?elevator=B1", carl).status, 404);
  // The window reached the alarm service: DOOR_LOCK_FAULT on A1 is suppressed.
  Raise("A1");
  json alarms = Call(port_, "GET", "/api/v1/alarms?elevator=A1", sam).Json();
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0]["state"], "suppressed");
  EXPECT_EQ(alarms[0]["suppressed_by"], "maintenance_window");
  // Bad bodies name the field.
  auto expect = [&](json body, const std::string& code, const std::string& needle) {
    Reply b = Post(port_, sam, "/api/v1/maintenance-windows", body);
    EXPECT_EQ(b.status, 400) << body.dump() << ": " << b.body;
    EXPECT_EQ(b.Json()["error"]["code"], code);
    EXPECT_NE(b.Json()["error"]["message"].get<std::string>().find(needle), std::string::npos)
        << b.body;
  };
  json w = window("A2", 0min, 60min);
  json bad = w;
  bad.erase("reason");
  expect(bad, "missing_field", "reason");
  bad = w;
  bad["starts_at"] = "tomorrow";
  expect(bad, "bad_field", "starts_at");
  bad = w;
  bad["ends_at"] = w["starts_at"];
  expect(bad, "bad_field", "ends_at");
  expect(window("A2", -120min, -60min), "bad_field", "ends_at");
  expect(window("A2", 0min, 8 * 24 * 60min), "bad_field", "7 days");
  bad = w;
  bad["reason"] = "";
  expect(bad, "bad_field", "reason");
  bad = w;
  bad["by"] = "me";
  expect(bad, "unknown_field", "by");
  EXPECT_EQ(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM audit_log WHERE path = "
                            "'/api/v1/maintenance-windows' AND status = 201")
                .getInt(),
            2);
  EXPECT_EQ(admin_->handle().execAndGet("SELECT COUNT(*) FROM maintenance_windows").getInt(), 2);
}

class HttpLimitsTest : public HttpTest {
 protected:
  void Tune(HttpOptions& o) override {
    o.max_connections = 2;
    o.sse_queue = 4;
  }
};

TEST_F(HttpLimitsTest, ConnectionsBeyondTheCapAre503) {
  int a = Connect(port_), b = Connect(port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(100ms);  // both accepted
  Reply r = Call(port_, "GET", "/healthz");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "busy");
  ExpectSecurityHeaders(r);
  ::close(a);
  ::close(b);
  for (int i = 0; i < 100 && r.status != 200; ++i) {
    std::this_thread::sleep_for(20ms);
    r = Call(port_, "GET", "/healthz");
  }
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpLimitsTest, ASlowStreamClientIsDroppedOthersKeepTheirs) {
  std::string token = Login("sam");
  int slow = Connect(port_);
  ASSERT_GE(slow, 0);
  SendAll(slow,
          "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n");
  ASSERT_NE(ReadSome(slow, 5s, "retry:").find("200 OK"), std::string::npos);
  // Flood events the slow client does not read.
  auto listener = server_->AlarmListener();
  rules::Transition t;
  t.elevator = "A1";
  t.alarm.elevator = "A1";
  t.alarm.message = std::string(256 * 1024, 'm');
  for (int i = 0; i < 200; ++i) {
    listener(t);
    if (i % 20 == 0) std::this_thread::sleep_for(10ms);
  }
  // The slow one is cut off (reset): reading ends well before all was sent.
  auto start = std::chrono::steady_clock::now();
  std::string rest = ReadSome(slow, 20s);
  EXPECT_LT(rest.size(), 200u * 256 * 1024);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  char c;
  EXPECT_LE(::recv(slow, &c, 1, MSG_DONTWAIT), 0);
  ::close(slow);
  // A new client is served as usual.
  int fast = Connect(port_);
  SendAll(fast, "GET /api/v1/stream?token=" + token + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(ReadSome(fast, 5s, "retry:").find("200 OK"), std::string::npos);
  t.alarm.message = "small";
  listener(t);
  EXPECT_NE(ReadSome(fast, 5s, "small").find("event: alarm"), std::string::npos);
  ::close(fast);
}

// ---- records (daemon/records_api.h) ---------------------------------------------

class RecordsHttpTest : public HttpTest {
 protected:
  Reply Post(const std::string& user, const std::string& path, const json& body) {
    return Call(port_, "POST", path, Token(user), body.dump());
  }
  Reply Get(const std::string& user, const std::string& path) {
    return Call(port_, "GET", path, Token(user));
  }
  std::string Token(const std::string& user) {
    auto it = tokens_.find(user);
    if (it != tokens_.end()) return it->second;
    return tokens_[user] = Login(user);
  }
  // A maintenance record of yesterday at the site (+08:00).
  json Maintenance(const std::string& car, const std::string& cert = "T-ACME-1") {
    WallTime y = std::chrono::system_clock::now() - std::chrono::hours(24);
    return {{"elevator", car},
            {"kind", "half_monthly"},
            {"started_at", db::FormatTime(y)},
            {"ended_at", db::FormatTime(y + std::chrono::hours(1))},
            {"technicians", {{{"name", "Li Wei"}, {"certificate", cert}}}},
            {"items", {{{"item", "brake"}, {"result", "ok"}}}},
            {"findings", "all fine"}};
  }
  void Certificate(const std::string& number, const std::string& contractor,
                   const std::string& issued) {
    Reply r = Post("sam", "/api/v1/certificates",
                   {{"kind", "personnel"},
                    {"holder", "Holder of " + number},
                    {"holder_contractor", contractor},
                    {"category", "T"},
                    {"number", number},
                    {"issued", issued}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  std::map<std::string, std::string> tokens_;
};

TEST_F(RecordsHttpTest, RolesFollowTheRecordsTable) {
  Certificate("T-ACME-1", "acme", "2025-01-01");
  Certificate("T-BETA-1", "beta", "2025-01-01");
  // Maintenance: a contractor writes for its own cars; the safety manager too.
  for (const char* who : {"olga", "ivan", "ada"}) {
    EXPECT_EQ(Post(who, "/api/v1/maintenance", Maintenance("A1")).status, 403) << who;
  }
  Reply other = Post("carl", "/api/v1/maintenance", Maintenance("B1", "T-BETA-1"));
  EXPECT_EQ(other.status, 404) << other.body;
  Reply mine = Post("carl", "/api/v1/maintenance", Maintenance("A1"));
  ASSERT_EQ(mine.status, 201) << mine.body;
  EXPECT_EQ(mine.Json()["contractor"], "acme");
  EXPECT_EQ(mine.Json()["confirmed"], false);
  const std::string id = std::to_string(mine.Json()["id"].get<int64_t>());
  EXPECT_EQ(Post("bea", "/api/v1/maintenance", Maintenance("B1", "T-BETA-1")).status, 201);
  EXPECT_EQ(Post("sam", "/api/v1/maintenance", Maintenance("A2")).status, 201);
  // Reads: any role; a contractor sees its own.
  json carl = Get("carl", "/api/v1/maintenance").Json();
  ASSERT_EQ(carl["records"].size(), 2u) << carl;
  for (const auto& r : carl["records"]) EXPECT_EQ(r["contractor"], "acme");
  EXPECT_EQ(Get("olga", "/api/v1/maintenance").Json()["records"].size(), 3u);
  EXPECT_EQ(Get("bea", "/api/v1/maintenance/" + id).status, 404);
  // Confirm: the safety manager only.
  EXPECT_EQ(Post("carl", "/api/v1/maintenance/" + id + "/confirm", json::object()).status, 403);
  EXPECT_EQ(Post("olga", "/api/v1/maintenance/" + id + "/confirm", json::object()).status, 403);
  Reply confirmed = Post("sam", "/api/v1/maintenance/" + id + "/confirm", json::object());
  ASSERT_EQ(confirmed.status, 200) << confirmed.body;
  EXPECT_EQ(confirmed.Json()["confirmed_by"], "sam");
  // Editing a confirmed record: 409, amend instead.
  Reply edit =
      Call(port_, "PUT", "/api/v1/maintenance/" + id, Token("carl"), Maintenance("A1").dump());
  EXPECT_EQ(edit.status, 409) << edit.body;
  EXPECT_NE(edit.Json()["error"]["message"].get<std::string>().find("/amend"), std::string::npos);
  Reply amend = Post("carl", "/api/v1/maintenance/" + id + "/amend", Maintenance("A1"));
  ASSERT_EQ(amend.status, 201) << amend.body;
  EXPECT_EQ(std::to_string(amend.Json()["amends"].get<int64_t>()), id);
  // Deleting a young record: 409 for the safety manager, 403 for others.
  EXPECT_EQ(Call(port_, "DELETE", "/api/v1/maintenance/" + id, Token("carl")).status, 403);
  Reply del = Call(port_, "DELETE", "/api/v1/maintenance/" + id, Token("sam"));
  EXPECT_EQ(del.status, 409) << del.body;
  EXPECT_EQ(del.Json()["error"]["code"], "retention");
  // Due: any role; scoped for a contractor.
  for (const char* who : {"olga", "ivan", "ada", "sam"}) {
    EXPECT_EQ(Get(who, "/api/v1/maintenance/due").status, 200) << who;
  }
  json due = Get("carl", "/api/v1/maintenance/due").Json();
  ASSERT_EQ(due["due"].size(), 8u) << due;  // A1, A2: four periodic kinds each
  for (const auto& d : due["due"]) EXPECT_NE(d["elevator"], "B1");
  // Inspections: the safety manager writes; anyone reads the plan.
  json plan = {{"elevator", "A1"}, {"state", "planned"}, {"agreed_date", "2099-01-10"}};
  EXPECT_EQ(Post("carl", "/api/v1/inspections", plan).status, 403);
  EXPECT_EQ(Post("olga", "/api/v1/inspections", plan).status, 403);
  EXPECT_EQ(Post("sam", "/api/v1/inspections", plan).status, 201);
  Reply p = Get("ivan", "/api/v1/inspections/plan?days=30");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.Json()["plan"].size(), 3u);
  EXPECT_EQ(Get("bea", "/api/v1/inspections/plan").Json()["plan"].size(), 1u);
  // Rectifications: safety manager and contractor (own cars).
  json task = {{"elevator", "A1"}, {"item", "pit light out"}};
  EXPECT_EQ(Post("olga", "/api/v1/rectifications", task).status, 403);
  EXPECT_EQ(Post("bea", "/api/v1/rectifications", task).status, 404);
  Reply t = Post("carl", "/api/v1/rectifications", task);
  ASSERT_EQ(t.status, 201) << t.body;
  const std::string tid = std::to_string(t.Json()["id"].get<int64_t>());
  EXPECT_EQ(Post("bea", "/api/v1/rectifications/" + tid + "/close", {{"note", "x"}}).status, 404);
  EXPECT_EQ(Post("carl", "/api/v1/rectifications/" + tid + "/close", {{"note", "bulb"}}).status,
            200);
  EXPECT_EQ(Post("carl", "/api/v1/rectifications/" + tid + "/close", {{"note", "bulb"}}).status,
            409);
  EXPECT_EQ(Get("olga", "/api/v1/rectifications").status, 403);
  EXPECT_EQ(Get("ivan", "/api/v1/rectifications?state=all").Json()["rectifications"].size(), 1u);
  // Certificates: safety manager and admin.
  json mark = {{"kind", "inspection_mark"}, {"elevator", "A2"}, {"expires", "2099-01-01"}};
  EXPECT_EQ(Post("carl", "/api/v1/certificates", mark).status, 403);
  EXPECT_EQ(Post("olga", "/api/v1/certificates", mark).status, 403);
  EXPECT_EQ(Post("ada", "/api/v1/certificates", mark).status, 201);
  EXPECT_EQ(Get("carl", "/api/v1/certificates").status, 403);
  json certs = Get("ivan", "/api/v1/certificates").Json();
  EXPECT_EQ(certs["personnel"].size(), 2u);
  EXPECT_EQ(certs["elevators"].size(), 1u);
  // Drills: the safety manager.
  json drill = {{"party", "user_unit"},
                {"date", "2026-01-15"},
                {"scenario", "passenger trapped"},
                {"elevators", {"A1"}},
                {"participants", {"security room", "Li Wei"}},
                {"duration_min", 35}};
  EXPECT_EQ(Post("ada", "/api/v1/drills", drill).status, 403);
  EXPECT_EQ(Post("carl", "/api/v1/drills", drill).status, 403);
  Reply d = Post("sam", "/api/v1/drills", drill);
  ASSERT_EQ(d.status, 201) << d.body;
  EXPECT_EQ(d.Json()["participants"].size(), 2u);
  EXPECT_EQ(Get("carl", "/api/v1/drills").status, 403);
  EXPECT_EQ(Get("ivan", "/api/v1/drills").Json()["drills"].size(), 1u);
  // Every write is audited, refused ones included.
  EXPECT_GE(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM audit_log WHERE path = '/api/v1/maintenance' "
                            "AND method = 'POST' AND status = 403")
                .getInt(),
            3);
  EXPECT_EQ(
      admin_->handle()
          .execAndGet("SELECT COUNT(*) FROM audit_log WHERE path = '/api/v1/maintenance/" + id +
                      "/confirm' AND who = 'sam' AND status = 200 AND detail LIKE "
                      "'%confirm%' AND address = '127.0.0.1'")
          .getInt(),
      1);
  EXPECT_EQ(admin_->handle()
                .execAndGet("SELECT COUNT(*) FROM audit_log WHERE method = 'GET' AND path LIKE "
                            "'/api/v1/maintenance%'")
                .getInt(),
            0);
}

TEST_F(RecordsHttpTest, BadRequestsNameTheField) {
  Certificate("T-ACME-1", "acme", "2025-01-01");
  auto expect = [&](const json& body, int status, const std::string& code,
                    const std::string& words) {
    Reply r = Post("carl", "/api/v1/maintenance", body);
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], code) << r.body;
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(words), std::string::npos)
        << r.body;
  };
  json b = Maintenance("A1");
  b["colour"] = "red";
  expect(b, 400, "unknown_field", "\"colour\"");
  b = Maintenance("A1");
  b.erase("kind");
  expect(b, 400, "missing_field", "\"kind\"");
  b = Maintenance("A1");
  b["technicians"] = "Li Wei";
  expect(b, 400, "wrong_type", "\"technicians\" must be an array of objects");
  b = Maintenance("A1");
  b["technicians"] = {{{"name", "Li Wei"}}};
  expect(b, 400, "missing_field", "\"technicians[0].certificate\"");
  b = Maintenance("A1");
  b["items"][0]["score"] = 3;
  expect(b, 400, "unknown_field", "\"items[0].score\"");
  b = Maintenance("A1");
  b["parts"] = {{{"name", "roller"}, {"quantity", "two"}}};
  expect(b, 400, "wrong_type", "\"parts[0].quantity\" must be an integer");
  b = Maintenance("A1");
  b["started_at"] = "yesterday";
  expect(b, 400, "bad_field", "\"started_at\"");
  b = Maintenance("A1", "T-NOBODY");
  expect(b, 400, "bad_field", "certificate T-NOBODY is not on record");
  b = Maintenance("A1");
  b["contractor"] = "beta";
  expect(b, 403, "forbidden", "\"contractor\"");
  Reply r = Get("sam", "/api/v1/maintenance?colour=red");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\\\"colour\\\""), std::string::npos) << r.body;
  r = Post("sam", "/api/v1/drills",
           {{"party", "user_unit"}, {"date", "2026-02-30"}, {"scenario", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\\\"date\\\""), std::string::npos) << r.body;
  r = Post("sam", "/api/v1/drills",
           {{"party", "user_unit"},
            {"date", "2026-02-03"},
            {"scenario", "x"},
            {"participants", {1, 2}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("participants[0]"), std::string::npos) << r.body;
  r = Call(port_, "PUT", "/api/v1/drills", Token("sam"), "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET, POST");
  r = Call(port_, "POST", "/api/v1/maintenance", Token("carl"), "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"]["code"], "invalid_json");
  EXPECT_EQ(Get("sam", "/api/v1/maintenance/abc").status, 404);
  EXPECT_EQ(Get("sam", "/api/v1/inspections/plan?days=0").status, 400);
}

TEST_F(RecordsHttpTest, AnExpiredCertificateBecomesAnAlarm) {
  records_->Start();
  Certificate("T-OLD", "", "2020-01-01");  // expired 2024-01-01
  std::string subject;
  json found;
  for (int i = 0; i < 300 && found.is_null(); ++i) {
    Reply r = Get("sam", "/api/v1/alarms");
    ASSERT_EQ(r.status, 200) << r.body;
    for (const auto& a : r.Json()) {
      if (a["type"] == "CERTIFICATE_EXPIRED") found = a;
    }
    if (found.is_null()) std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(found.is_null()) << "no CERTIFICATE_EXPIRED alarm";
  EXPECT_EQ(found["severity"], "major");
  EXPECT_EQ(found["state"], "unack");
  EXPECT_TRUE(found["elevator"].get<std::string>().starts_with("person:")) << found;
  EXPECT_NE(found["message"].get<std::string>().find("T-OLD"), std::string::npos) << found;
  // Not a car of any contractor's.
  for (const auto& a : Get("carl", "/api/v1/alarms").Json()) {
    EXPECT_NE(a["type"], "CERTIFICATE_EXPIRED");
  }
  // A renewal clears it.
  Certificate("T-OLD", "", "2025-06-01");
  bool cleared = false;
  for (int i = 0; i < 300 && !cleared; ++i) {
    for (const auto& a : Get("sam", "/api/v1/alarms?state=all").Json()) {
      if (a["id"] == found["id"] && a["active"] == false) cleared = true;
    }
    if (!cleared) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(cleared);
}

}  // namespace
}  // namespace lg
