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
#include "daemon/live_state.h"
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
    HttpDeps deps;
    deps.state = &state_;
    deps.alarms = alarms_.get();
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
    HttpOptions opts;
    opts.listen = "127.0.0.1:0";
    opts.body_limit = 64 * 1024;
    Tune(opts);
    server_ = std::make_unique<HttpServer>(io_, deps, opts);
    alarms_->AddListener(server_->AlarmListener());
    ASSERT_TRUE(alarms_->Start([](const std::string&) { return std::nullopt; }).ok());
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
  // The stream takes its token from the query too.
  EXPECT_EQ(Call(port_, "GET", "/api/v1/stream").status, 401);
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
                 "liftguard_alarms{state=\"unack\"} 1", "liftguard_link_up{link=\"gw1\"} 1"}) {
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

}  // namespace
}  // namespace lg
