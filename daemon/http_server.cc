// The HTTP API. All of Beast lives in this one translation unit: it is slow
// to compile.
#include "daemon/http_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/rfc3339.h"
#include "daemon/records_api.h"
#include "daemon/reports_api.h"
#include "daemon/web_assets.h"
#include "db/alarm_store.h"
#include "db/audit_log.h"
#include "db/database.h"

namespace lg {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using auth::Role;

namespace {

// ---- small helpers ---------------------------------------------------------

void SecurityHeaders(Response& r) {
  r.set("Content-Security-Policy", "default-src 'self'");
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set(http::field::cache_control, "no-store");
}

Response Make(http::status status, std::string body, std::string_view type) {
  Response r{status, 11};
  r.set(http::field::content_type, std::string(type));
  SecurityHeaders(r);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Response Json(http::status status, const json& j) {
  return Make(status, j.dump() + "\n", "application/json");
}

Response Err(http::status status, std::string code, std::string message) {
  return Json(status,
              json{{"error", {{"code", std::move(code)}, {"message", std::move(message)}}}});
}

std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
      } else {
        out.push_back('%');
      }
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};

Target SplitTarget(beast::string_view target) {
  std::string_view t(target.data(), target.size());
  Target out;
  size_t q = t.find('?');
  out.path = Decode(t.substr(0, q));
  if (q == std::string_view::npos) return out;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    size_t eq = kv.find('=');
    if (!kv.empty()) {
      out.query[Decode(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : Decode(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return out;
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

json TimeOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json TimeOrNull(std::optional<WallTime> t) { return t ? json(db::FormatTime(*t)) : json(nullptr); }

// Validates a JSON object body against the fields it may have.
enum class Kind { kString, kInt };
struct FieldSpec {
  const char* name;
  Kind kind;
  bool required;
};

std::optional<Response> ParseBody(const Request& req, std::initializer_list<FieldSpec> fields,
                                  json& out) {
  out = json::parse(req.body(), nullptr, false);
  if (out.is_discarded()) {
    return Err(http::status::bad_request, "invalid_json",
               "the request body is not valid JSON; send a JSON object");
  }
  if (!out.is_object()) {
    return Err(http::status::bad_request, "invalid_json", "the request body must be a JSON object");
  }
  for (auto it = out.begin(); it != out.end(); ++it) {
    const FieldSpec* spec = nullptr;
    for (const auto& f : fields) {
      if (it.key() == f.name) spec = &f;
    }
    if (!spec) {
      std::string known;
      for (const auto& f : fields) known += std::string(known.empty() ? "" : ", ") + f.name;
      return Err(http::status::bad_request, "unknown_field",
                 "unknown field \"" + it.key() + "\"; this call takes: " + known);
    }
    bool ok = spec->kind == Kind::kString ? it->is_string() : it->is_number_integer();
    if (!ok) {
      return Err(http::status::bad_request, "wrong_type",
                 "field \"" + it.key() + "\" must be " +
                     (spec->kind == Kind::kString ? "a string" : "an integer"));
    }
  }
  for (const auto& f : fields) {
    if (f.required && !out.contains(f.name)) {
      return Err(http::status::bad_request, "missing_field",
                 std::string("field \"") + f.name + "\" is required");
    }
  }
  return std::nullopt;
}

http::status StatusForError(const Error& e) {
  const std::string& c = e.code;
  if (c == "not_found") return http::status::not_found;
  if (c == "closed" || c == "suppressed" || c == "already_acknowledged" || c == "already_shelved" ||
      c == "not_shelvable" || c == "not_shelved" || c == "out_of_order" || c == "incident_open") {
    return http::status::conflict;
  }
  if (c == "forbidden") return http::status::forbidden;
  if (c == "database") return http::status::service_unavailable;
  if (e.recoverable) return http::status::service_unavailable;
  return http::status::bad_request;
}

// docs/incidents.md "The incident object". `name`/`building`: the car's as
// configured now.
json IncidentJson(const rules::Incident& inc, WallTime now, const std::string& name,
                  const std::string& building) {
  json steps = json::array();
  for (const auto& s : inc.steps) {
    steps.push_back({{"step", std::string(rules::IncidentStepName(s.step))},
                     {"at", db::FormatTime(s.at)},
                     {"by", s.by},
                     {"note", s.note}});
  }
  json elapsed = json::object(), over = json::array();
  for (const auto& t : rules::Timings(inc, now)) {
    std::string step(rules::IncidentStepName(t.step));
    elapsed[step + "_s"] = t.elapsed_s ? json(*t.elapsed_s) : json(nullptr);
    if (t.over) over.push_back(step);
  }
  return {{"id", inc.id},
          {"elevator", inc.elevator},
          {"elevator_name", name},
          {"building", building},
          {"alarm_id", inc.alarm_id ? json(*inc.alarm_id) : json(nullptr)},
          {"state", std::string(rules::IncidentStateName(inc.state()))},
          {"step", std::string(rules::IncidentStepName(inc.latest()))},
          {"opened_at", db::FormatTime(inc.opened_at())},
          {"closed_at", TimeOrNull(inc.closed_at())},
          {"eta_min", inc.eta_min ? json(*inc.eta_min) : json(nullptr)},
          {"cause", inc.cause ? json(*inc.cause) : json(nullptr)},
          {"steps", std::move(steps)},
          {"targets",
           {{"acknowledged_min", inc.targets.acknowledged_min},
            {"accepted_min", inc.targets.accepted_min},
            {"on_site_min", inc.targets.on_site_min}}},
          {"elapsed", std::move(elapsed)},
          {"over_target", std::move(over)}};
}

json AlarmJson(const rules::Alarm& a) {
  json j = {{"id", a.id},
            {"elevator", a.elevator},
            {"type", std::string(AlarmTypeName(a.type))},
            {"severity", std::string(SeverityName(a.severity))},
            {"subtype", a.subtype},
            {"state", std::string(rules::AlarmStateName(a.state))},
            {"active", a.active},
            {"acked", a.acked},
            {"raised_at", db::FormatTime(a.raised_at)},
            {"cleared_at", TimeOrNull(a.cleared_at)},
            {"acked_at", TimeOrNull(a.acked_at)},
            {"acked_by", a.acked_by},
            {"closed_at", TimeOrNull(a.closed_at)},
            {"message", a.message},
            {"revision", a.revision}};
  if (a.shelve) {
    j["shelved"] = {{"by", a.shelve->by},
                    {"reason", a.shelve->reason},
                    {"at", db::FormatTime(a.shelve->at)},
                    {"until", db::FormatTime(a.shelve->until)}};
  }
  if (a.suppressed_by)
    j["suppressed_by"] = std::string(rules::SuppressionCauseName(*a.suppressed_by));
  return j;
}

json AlarmRowJson(const db::AlarmRow& a) {
  json j = {{"id", a.id},
            {"elevator", a.elevator},
            {"type", a.type},
            {"severity", a.severity},
            {"subtype", a.subtype},
            {"state", a.state},
            {"active", a.active},
            {"acked", a.acked},
            {"raised_at", TimeOrNull(a.raised_at)},
            {"cleared_at", TimeOrNull(a.cleared_at)},
            {"acked_at", TimeOrNull(a.acked_at)},
            {"acked_by", a.acked_by},
            {"closed_at", TimeOrNull(a.closed_at)},
            {"message", a.message},
            {"revision", a.revision}};
  if (!a.shelved_by.empty()) {
    j["shelved"] = {{"by", a.shelved_by},
                    {"reason", a.shelve_reason},
                    {"at", TimeOrNull(a.shelved_at)},
                    {"until", TimeOrNull(a.shelved_until)}};
  }
  if (!a.suppressed_by.empty()) j["suppressed_by"] = a.suppressed_by;
  return j;
}

json HistoryJson(const db::HistoryRow& h) {
  return {{"revision", h.revision},
          {"at", h.at},
          {"from", h.from_state.empty() ? json(nullptr) : json(h.from_state)},
          {"to", h.to_state},
          {"kind", h.kind},
          {"who", h.who},
          {"note", h.note}};
}

// What a `state` event and the elevator list show of a car, updated_at
// aside (it moves with every sample): a state event goes out when this
// changes.
struct ShownCar {
  std::string id, name, building;
  bool online = false;
  std::string_view mode, direction, door;
  std::optional<int> floor;
  bool moving = false;
  std::optional<bool> occupied;
  bool operator==(const ShownCar&) const = default;
};

ShownCar Shown(const CarState& c) {
  const Sample& s = c.last;
  ShownCar out;
  out.id = c.id;
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

// As nlohmann::json writes a string.
void AppendJsonString(std::string& out, std::string_view v) {
  static constexpr std::string_view kNamed = "\b\f\n\r\t", kLetter = "bfnrt";
  out.push_back('"');
  for (char ch : v) {
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (static_cast<unsigned char>(ch) >= 0x20) {
      out.push_back(ch);
    } else if (size_t k = kNamed.find(ch); k != std::string_view::npos) {
      out.push_back('\\');
      out.push_back(kLetter[k]);
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(ch));
      out += esc;
    }
  }
  out.push_back('"');
}

// A car as the list (with `alarms`, its active_alarms) and the state events
// show it, byte for byte what nlohmann::json would write (keys sorted).
// Written directly: building nlohmann's tree for 2,000 cars took most of a
// list request's time (bench/api).
void AppendCarJson(std::string& out, const ShownCar& s, WallTime updated_at,
                   const std::set<std::string>* alarms) {
  auto flag = [&](bool b) { out += b ? "true" : "false"; };
  out += '{';
  if (alarms) {
    out += "\"active_alarms\":[";
    for (const auto& t : *alarms) {
      if (out.back() != '[') out += ',';
      AppendJsonString(out, t);
    }
    out += "],";
  }
  out += "\"building\":";
  AppendJsonString(out, s.building);
  out += ",\"direction\":";
  AppendJsonString(out, s.direction);
  out += ",\"door\":";
  AppendJsonString(out, s.door);
  out += ",\"floor\":";
  out += s.floor ? std::to_string(*s.floor) : "null";
  out += ",\"id\":";
  AppendJsonString(out, s.id);
  out += ",\"mode\":";
  AppendJsonString(out, s.mode);
  out += ",\"moving\":";
  flag(s.moving);
  out += ",\"name\":";
  AppendJsonString(out, s.name);
  out += ",\"occupied\":";
  if (s.occupied) {
    flag(*s.occupied);
  } else {
    out += "null";
  }
  out += ",\"online\":";
  flag(s.online);
  out += ",\"updated_at\":";
  out += updated_at == WallTime{} ? "null" : "\"" + db::FormatTime(updated_at) + "\"";
  out += '}';
}

json CarJson(const CarState& c) {
  std::string text;
  AppendCarJson(text, Shown(c), c.updated_at, nullptr);
  return json::parse(text);
}

// The last state event of a car (io thread only).
struct SentState {
  ShownCar shown;
  std::chrono::steady_clock::time_point at{};
};

std::string LabelValue(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out.push_back('\\');
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(ch);
  }
  return out;
}

// Whose elevators a user may see: "" for all; a contractor's id; for a
// contractor user without one (only by editing the database), an id no
// elevator has, so it sees nothing rather than everything.
std::string ScopeOf(const auth::User& u) {
  if (u.role != Role::kContractor) return "";
  return u.contractor.empty() ? std::string(1, '\0') : u.contractor;
}

bool RoleIn(Role r, std::initializer_list<Role> roles) {
  for (Role x : roles) {
    if (x == r) return true;
  }
  return false;
}

}  // namespace

// ---- the server --------------------------------------------------------------

class Session;

class HttpServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, HttpDeps deps, HttpOptions options)
      : io_(io),
        deps_(std::move(deps)),
        opts_(std::move(options)),
        acceptor_(io),
        timer_(io),
        pool_(static_cast<size_t>(std::max(1, opts_.workers))) {}

  Status Start();
  void Stop();
  void Accept();

  // Worker pool: the whole answer to one request (not the stream).
  Response Handle(const Request& req, const std::string& address);
  // Worker pool: who may open the stream; the user, or the error to send.
  std::variant<auth::User, Response> AuthorizeStream(const Request& req);

  void Publish(const std::string& elevator, std::shared_ptr<const std::string> event);
  size_t PublishNotice(const std::string& elevator, const std::string& data);
  // (elevator, event) pairs, sent to each client as one write.
  void PublishStates(const std::vector<std::pair<std::string, std::string>>& events);
  void Register(const std::shared_ptr<Session>& s);
  void AddSubscriber(const std::shared_ptr<Session>& s);
  void Forget(uint64_t id);
  bool CanSee(const std::string& contractor, const std::string& elevator) const;
  // The incident as the API shows it, measured now, with the car's name.
  json IncidentJsonNow(const rules::Incident& inc) const;

  asio::io_context& io_;
  HttpDeps deps_;
  HttpOptions opts_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_;
  asio::thread_pool pool_;
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> connections_{0};
  std::atomic<uint16_t> port_{0};

  mutable std::mutex contractors_mu_;
  std::unordered_map<std::string, std::string> contractors_;  // filled through deps_.contractor_of

 private:
  std::optional<auth::User> TokenUser(const std::string& token);
  void Audit(const auth::User* user, const std::string& who, const std::string& address,
             const Request& req, const std::string& path, int status, const std::string& detail);
  Response Login(const Request& req, const std::string& address);
  Response Healthz();
  Response Metrics();
  Response Elevators(const auth::User& u, const std::string* id);
  Response Alarms(const auth::User& u, const Target& t);
  Response AlarmAction(const auth::User& u, const Request& req, const std::string& address,
                       const std::string& path, int64_t id, bool shelve);
  Response Incidents(const auth::User& u, const Target& t);
  Response OpenIncident(const auth::User& u, const Request& req, const std::string& address,
                        const std::string& path);
  Response RecordStep(const auth::User& u, const Request& req, const std::string& address,
                      const std::string& path, int64_t id);
  Response AuditLog(const auth::User& u, const Target& t);
  Response Windows(const auth::User& u, const Target& t);
  Response AddWindow(const auth::User& u, const Request& req, const std::string& address,
                     const std::string& path);
  // daemon/records_api.h; audits every call but a GET.
  Response Records(const auth::User& u, const Request& req, const std::string& address,
                   const Target& t);

  void Tick();

  std::mutex db_mu_;  // guards db_
  std::unique_ptr<db::Database> db_;

  std::mutex sessions_mu_;
  uint64_t next_session_ = 1;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;
  std::map<uint64_t, std::weak_ptr<Session>> subscribers_;

  // io thread only: the last state sent per car.
  std::unordered_map<std::string, SentState> last_state_;
  std::chrono::steady_clock::time_point last_heartbeat_{};
};

// One connection: HTTP/1.1 request-response with keep-alive, or, once
// /api/v1/stream is asked for, a Server-Sent Events stream.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> srv)
      : stream_(std::move(socket)), srv_(std::move(srv)) {
    boost::system::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) address_ = ep.address().to_string();
  }
  ~Session() {
    if (counted_) --srv_->connections_;
    srv_->Forget(id_);
  }

  void Run(bool admitted) {
    counted_ = admitted;
    if (!admitted) {
      auto res = std::make_shared<Response>(
          Err(http::status::service_unavailable, "busy", "too many connections; try again"));
      res->set(http::field::retry_after, "1");
      res->keep_alive(false);
      return Write(res);
    }
    DoRead();
  }

  void Close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      self->stream_.close();
    });
  }

  // From any thread: queue an SSE event; drop the client if it lags.
  void Enqueue(std::shared_ptr<const std::string> event) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), event = std::move(event)] {
      if (self->closed_) return;
      if (self->queue_.size() >= self->srv_->opts_.sse_queue) {
        spdlog::info("http: dropping slow event-stream client {}", self->address_);
        // Reset rather than close: what it has not read is dropped with it,
        // instead of lingering in the kernel's buffers.
        beast::error_code ignored;
        self->stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        self->closed_ = true;
        self->stream_.close();
        return;
      }
      self->queue_.push_back(event);
      if (!self->writing_) self->WriteNext();
    });
  }

  uint64_t id_ = 0;
  std::string contractor_;  // for a contractor's stream: only its elevators

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(srv_->opts_.body_limit);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(srv_->opts_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      auto res = std::make_shared<Response>(Err(
          http::status::payload_too_large, "too_large",
          "the request body is larger than " + std::to_string(srv_->opts_.body_limit) + " bytes"));
      res->keep_alive(false);
      return Write(res);
    }
    if (ec == http::error::end_of_stream) return Shutdown();
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset) {
        auto res = std::make_shared<Response>(
            Err(http::status::bad_request, "bad_request", "malformed HTTP request"));
        res->keep_alive(false);
        return Write(res);
      }
      return;
    }
    auto req = std::make_shared<Request>(parser_->release());
    stream_.expires_never();
    Target t = SplitTarget(req->target());
    auto self = shared_from_this();
    if (t.path == "/api/v1/stream" && req->method() == http::verb::get) {
      asio::post(srv_->pool_, [self, req] {
        auto who = self->srv_->AuthorizeStream(*req);
        asio::post(self->stream_.get_executor(), [self, who = std::move(who), req]() mutable {
          if (auto* res = std::get_if<Response>(&who)) {
            res->keep_alive(req->keep_alive());
            return self->Write(std::make_shared<Response>(std::move(*res)));
          }
          self->StartStream(std::get<auth::User>(who));
        });
      });
      return;
    }
    asio::post(srv_->pool_, [self, req] {
      auto res = std::make_shared<Response>(self->srv_->Handle(*req, self->address_));
      res->keep_alive(req->keep_alive() && res->keep_alive());
      asio::post(self->stream_.get_executor(), [self, res] { self->Write(res); });
    });
  }

  void Write(std::shared_ptr<Response> res) {
    if (closed_) return;
    stream_.expires_after(srv_->opts_.write_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (res->need_eof() || self->srv_->stopped_) return self->Shutdown();
                        self->DoRead();
                      });
  }

  // Half-closes, then reads what the client still sends (e.g. the rest of a
  // refused body) so the close does not reset the answer away.
  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                self->stream_.close();
                                return;
                              }
                              self->Drain();
                            });
  }

  void StartStream(const auth::User& user) {
    contractor_ = ScopeOf(user);
    std::string head =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-store\r\n"
        "Content-Security-Policy: default-src 'self'\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "X-Accel-Buffering: no\r\n"
        "Connection: close\r\n\r\n"
        "retry: 3000\n\n";
    queue_.push_back(std::make_shared<const std::string>(std::move(head)));
    srv_->AddSubscriber(shared_from_this());
    // The pending read keeps the session alive and notices the client going.
    stream_.expires_never();
    WatchClient();
    WriteNext();
  }

  void WatchClient() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec || self->closed_) {
                                self->closed_ = true;
                                self->stream_.close();
                                return;
                              }
                              self->WatchClient();  // whatever the client sends is ignored
                            });
  }

  void WriteNext() {
    if (queue_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto msg = queue_.front();
    stream_.expires_after(srv_->opts_.write_timeout);
    asio::async_write(stream_, asio::buffer(*msg),
                      [self = shared_from_this(), msg](beast::error_code ec, size_t) {
                        if (ec) {
                          self->closed_ = true;
                          self->stream_.close();
                          return;
                        }
                        self->queue_.pop_front();
                        self->WriteNext();
                      });
  }

  beast::tcp_stream stream_;
  std::shared_ptr<HttpServer::Impl> srv_;
  std::string address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 4096> drain_{};
  bool counted_ = false;
  bool closed_ = false;
  bool writing_ = false;
  std::deque<std::shared_ptr<const std::string>> queue_;
};

// ---- lifecycle ---------------------------------------------------------------

Status HttpServer::Impl::Start() {
  auto db = db::Database::Open(deps_.db_path);
  if (!db.ok()) return db.error();
  db_ = std::move(db).value();

  std::string host, port_text;
  const std::string& l = opts_.listen;
  if (!l.empty() && l[0] == '[') {
    size_t close = l.find("]:");
    if (close == std::string::npos) {
      return Error::Permanent("config", "listen address " + l + " is not [v6]:port");
    }
    host = l.substr(1, close - 1);
    port_text = l.substr(close + 2);
  } else {
    size_t colon = l.rfind(':');
    if (colon == std::string::npos) {
      return Error::Permanent("config", "listen address " + l + " is not host:port");
    }
    host = l.substr(0, colon);
    port_text = l.substr(colon + 1);
  }
  try {
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, port_text, tcp::resolver::passive);
    if (results.empty()) return Error::Permanent("config", "cannot resolve " + l);
    tcp::endpoint ep = results.begin()->endpoint();
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
  } catch (const std::exception& e) {
    return Error::Permanent("listen", "cannot listen on " + l + ": " + e.what());
  }
  spdlog::info("http: listening on {}:{}", host, port_.load());
  Accept();
  asio::post(io_, [self = shared_from_this()] { self->Tick(); });
  return Status::Ok();
}

void HttpServer::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec,
                                                                             tcp::socket socket) {
    if (self->stopped_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted || self->stopped_) return;
      spdlog::warn("http: accept failed: {}", ec.message());
    } else {
      auto s = std::make_shared<Session>(std::move(socket), self);
      bool admitted = self->connections_.load() < self->opts_.max_connections;
      if (admitted) ++self->connections_;
      self->Register(s);
      s->Run(admitted);
    }
    if (!self->stopped_) self->Accept();
  });
}

void HttpServer::Impl::Stop() {
  if (stopped_.exchange(true)) return;
  asio::post(io_, [self = shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
    self->timer_.cancel();
    std::vector<std::shared_ptr<Session>> all;
    {
      std::lock_guard lock(self->sessions_mu_);
      for (auto& [id, w] : self->sessions_) {
        if (auto s = w.lock()) all.push_back(s);
      }
    }
    for (auto& s : all) s->Close();
  });
  pool_.join();
}

void HttpServer::Impl::Register(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(sessions_mu_);
  s->id_ = next_session_++;
  sessions_[s->id_] = s;
}

void HttpServer::Impl::AddSubscriber(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(sessions_mu_);
  subscribers_[s->id_] = s;
}

void HttpServer::Impl::Forget(uint64_t id) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(id);
  subscribers_.erase(id);
}

bool HttpServer::Impl::CanSee(const std::string& contractor, const std::string& elevator) const {
  if (contractor.empty()) return true;
  return deps_.contractor_of && deps_.contractor_of(elevator) == contractor;
}

void HttpServer::Impl::Publish(const std::string& elevator,
                               std::shared_ptr<const std::string> event) {
  std::vector<std::shared_ptr<Session>> to;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, w] : subscribers_) {
      if (auto s = w.lock()) to.push_back(std::move(s));
    }
  }
  for (auto& s : to) {
    if (elevator.empty() || CanSee(s->contractor_, elevator)) s->Enqueue(event);
  }
}

size_t HttpServer::Impl::PublishNotice(const std::string& elevator, const std::string& data) {
  if (stopped_) return 0;
  auto event = std::make_shared<const std::string>("event: notice\ndata: " + data + "\n\n");
  std::vector<std::shared_ptr<Session>> to;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, w] : subscribers_) {
      if (auto s = w.lock()) to.push_back(std::move(s));
    }
  }
  size_t n = 0;
  for (auto& s : to) {
    // "" is a notice about several cars (a digest) or none: staff only.
    if (elevator.empty() ? !s->contractor_.empty() : !CanSee(s->contractor_, elevator)) continue;
    s->Enqueue(event);
    ++n;
  }
  return n;
}

void HttpServer::Impl::PublishStates(
    const std::vector<std::pair<std::string, std::string>>& events) {
  std::vector<std::shared_ptr<Session>> to;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, w] : subscribers_) {
      if (auto s = w.lock()) to.push_back(std::move(s));
    }
  }
  std::map<std::string, std::shared_ptr<const std::string>> by_scope;
  for (auto& s : to) {
    auto& text = by_scope[s->contractor_];
    if (!text) {
      std::string all;
      for (const auto& [elevator, event] : events) {
        if (CanSee(s->contractor_, elevator)) all += event;
      }
      text = std::make_shared<const std::string>(std::move(all));
    }
    if (!text->empty()) s->Enqueue(text);
  }
}

// Scans the cars often (a change waits for the next scan: bench/api's
// delivery target is 100 ms) and sends a `state` event for each car whose
// shown state changed, at most one per car per state_period (a car that
// changes again sooner is sent as it is once its period is over). The
// events of one scan go to a client as one write, so a burst (a power cut
// changes every car) does not look like a client that cannot keep up.
// Nothing is scanned while nobody listens (a scan of 10,000 cars costs
// milliseconds); the first scan after a client connects sends every car
// once, so nothing that changed between its list request and the scan is
// missed. A heartbeat comment now and then finds dead clients.
void HttpServer::Impl::Tick() {
  if (stopped_) return;
  constexpr std::chrono::milliseconds kScan{50};
  bool any;
  {
    std::lock_guard lock(sessions_mu_);
    any = !subscribers_.empty();
  }
  auto now = std::chrono::steady_clock::now();
  if (!any) last_state_.clear();
  if (deps_.state && any) {
    std::vector<std::pair<std::string, std::string>> events;
    deps_.state->ForEach([&](const CarState& c) {
      ShownCar shown = Shown(c);
      SentState& last = last_state_[c.id];
      if (last.shown == shown || now - last.at < opts_.state_period) return;
      std::string event = "event: state\ndata: ";
      AppendCarJson(event, shown, c.updated_at, nullptr);
      event += "\n\n";
      events.emplace_back(c.id, std::move(event));
      last = {std::move(shown), now};
    });
    if (!events.empty()) PublishStates(events);
  }
  if (any && now - last_heartbeat_ >= opts_.sse_heartbeat) {
    last_heartbeat_ = now;
    Publish("", std::make_shared<const std::string>(": ping\n\n"));
  }
  timer_.expires_after(any ? std::min(kScan, opts_.state_period) : opts_.state_period);
  timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->Tick();
  });
}

// ---- requests ------------------------------------------------------------------

std::optional<auth::User> HttpServer::Impl::TokenUser(const std::string& token) {
  std::lock_guard lock(db_mu_);
  auto u = auth::Authenticate(*db_, token, std::chrono::system_clock::now());
  if (!u.ok()) {
    spdlog::warn("http: token check failed: {}", u.error().message);
    return std::nullopt;
  }
  return *u;
}

void HttpServer::Impl::Audit(const auth::User* user, const std::string& who,
                             const std::string& address, const Request& req,
                             const std::string& path, int status, const std::string& detail) {
  db::AuditEntry e;
  e.at = std::chrono::system_clock::now();
  e.who = user ? user->username : who;
  e.role = user ? std::string(auth::RoleName(user->role)) : "";
  e.address = address;
  e.method = std::string(req.method_string());
  e.path = path;
  e.status = status;
  e.detail = detail;
  std::lock_guard lock(db_mu_);
  if (Status st = db::AppendAudit(*db_, e); !st) {
    spdlog::error("http: audit write failed: {}", st.error().message);
  }
}

static std::string BearerToken(const Request& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return "";
  std::string_view v(it->value().data(), it->value().size());
  constexpr std::string_view kBearer = "Bearer ";
  if (v.size() <= kBearer.size() ||
      !beast::iequals(beast::string_view(v.data(), kBearer.size()),
                      beast::string_view(kBearer.data(), kBearer.size()))) {
    return "";
  }
  return std::string(v.substr(kBearer.size()));
}

static Response Unauthorized() {
  Response r = Err(http::status::unauthorized, "unauthorized",
                   "log in (POST /api/v1/login) and send the token as \"Authorization: Bearer "
                   "TOKEN\"; a missing, unknown or expired token is refused");
  r.set(http::field::www_authenticate, "Bearer");
  return r;
}

static Response Forbidden(const auth::User& u) {
  return Err(http::status::forbidden, "forbidden",
             "the role " + std::string(auth::RoleName(u.role)) + " may not do this");
}

static Response MethodNotAllowed(std::string_view allow) {
  Response r = Err(http::status::method_not_allowed, "method_not_allowed",
                   "use " + std::string(allow) + " here");
  r.set(http::field::allow, std::string(allow));
  return r;
}

std::variant<auth::User, Response> HttpServer::Impl::AuthorizeStream(const Request& req) {
  Target t = SplitTarget(req.target());
  std::string token = BearerToken(req);
  if (token.empty() && t.query.count("token")) token = t.query["token"];
  if (token.empty()) return Unauthorized();
  auto u = TokenUser(token);
  if (!u) return Unauthorized();
  return *u;
}

Response HttpServer::Impl::Handle(const Request& req, const std::string& address) {
  try {
    Target t = SplitTarget(req.target());
    const std::string& p = t.path;
    if (p == "/healthz") {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      return Healthz();
    }
    if (p == "/metrics") {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      return Metrics();
    }
    if (p == "/api/v1/login") {
      if (req.method() != http::verb::post) return MethodNotAllowed("POST");
      return Login(req, address);
    }
    // The dashboard (web/, compiled in): any path outside /api/.
    if (p.rfind("/api/", 0) != 0) {
      if (auto a = web::FindAsset(p == "/" ? "/index.html" : p)) {
        if (req.method() != http::verb::get) return MethodNotAllowed("GET");
        Response r = Make(http::status::ok, std::string(a->body), a->content_type);
        r.set("Content-Security-Policy", std::string(web::kContentSecurityPolicy));
        // Revalidated every time: a new daemon brings a new page at once.
        r.set(http::field::cache_control, "no-cache");
        return r;
      }
    }
    if (p.rfind("/api/v1/", 0) != 0) {
      return Err(http::status::not_found, "not_found", "there is nothing at " + p);
    }
    auto user = TokenUser(BearerToken(req));
    if (!user) return Unauthorized();
    const auth::User& u = *user;
    if (p == "/api/v1/elevators") {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      return Elevators(u, nullptr);
    }
    constexpr std::string_view kElevator = "/api/v1/elevators/";
    if (p.rfind(kElevator, 0) == 0 && p.size() > kElevator.size()) {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      std::string id = p.substr(kElevator.size());
      return Elevators(u, &id);
    }
    if (p == "/api/v1/alarms") {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      return Alarms(u, t);
    }
    constexpr std::string_view kAlarm = "/api/v1/alarms/";
    if (p.rfind(kAlarm, 0) == 0) {
      std::string rest = p.substr(kAlarm.size());
      size_t slash = rest.find('/');
      std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
      if (action == "ack" || action == "shelve") {
        if (req.method() != http::verb::post) return MethodNotAllowed("POST");
        auto id = ParseId(std::string_view(rest).substr(0, slash));
        if (!id) {
          return Err(http::status::not_found, "not_found",
                     "alarm ids are positive integers; there is no alarm " + rest.substr(0, slash));
        }
        return AlarmAction(u, req, address, p, *id, action == "shelve");
      }
    }
    if (p == "/api/v1/incidents") {
      if (req.method() == http::verb::get) return Incidents(u, t);
      if (req.method() == http::verb::post) return OpenIncident(u, req, address, p);
      return MethodNotAllowed("GET, POST");
    }
    constexpr std::string_view kIncident = "/api/v1/incidents/";
    if (p.rfind(kIncident, 0) == 0) {
      std::string rest = p.substr(kIncident.size());
      size_t slash = rest.find('/');
      if (slash != std::string::npos && rest.substr(slash + 1) == "steps") {
        if (req.method() != http::verb::post) return MethodNotAllowed("POST");
        auto id = ParseId(std::string_view(rest).substr(0, slash));
        if (!id) {
          return Err(
              http::status::not_found, "not_found",
              "incident ids are positive integers; there is no incident " + rest.substr(0, slash));
        }
        return RecordStep(u, req, address, p, *id);
      }
    }
    if (p == "/api/v1/audit") {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      return AuditLog(u, t);
    }
    if (p == "/api/v1/maintenance-windows") {
      if (req.method() == http::verb::get) return Windows(u, t);
      if (req.method() == http::verb::post) return AddWindow(u, req, address, p);
      return MethodNotAllowed("GET, POST");
    }
    if (IsRecordsPath(p)) return Records(u, req, address, t);
    constexpr std::string_view kReports = "/api/v1/reports/";
    if (p.rfind(kReports, 0) == 0) {
      if (req.method() != http::verb::get) return MethodNotAllowed("GET");
      if (!deps_.records) {
        return Err(http::status::service_unavailable, "unavailable", "the records are not running");
      }
      ReportRequest rr{.which = p.substr(kReports.size()),
                       .query = t.query,
                       .user = u,
                       .db_path = deps_.db_path,
                       .site_time = deps_.records->site_time(),
                       .now = std::chrono::system_clock::now(),
                       .elevators = {}};
      if (deps_.state) {
        for (const auto& c : deps_.state->Snapshot()) rr.elevators.push_back({c.id, c.name});
      }
      ReportReply out = HandleReport(rr);
      Response res =
          Make(static_cast<http::status>(out.status), std::move(out.body), out.content_type);
      if (!out.content_disposition.empty()) {
        res.set(http::field::content_disposition, out.content_disposition);
      }
      if (!out.csp.empty()) res.set("Content-Security-Policy", out.csp);
      return res;
    }
    return Err(http::status::not_found, "not_found", "there is no API call " + p);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: {}", std::string(req.method_string()), std::string(req.target()),
                  e.what());
    return Err(http::status::internal_server_error, "internal", "internal error; see the log");
  }
}

Response HttpServer::Impl::Login(const Request& req, const std::string& address) {
  json body;
  if (auto bad = ParseBody(
          req, {{"username", Kind::kString, true}, {"password", Kind::kString, true}}, body)) {
    Audit(nullptr, "", address, req, "/api/v1/login", bad->result_int(), "bad request");
    return std::move(*bad);
  }
  std::string username = body["username"].get<std::string>();
  std::string password = body["password"].get<std::string>();
  auth::LoginOutcome out;
  {
    std::lock_guard lock(db_mu_);
    out = auth::Login(*db_, username, password, std::chrono::system_clock::now(), opts_.token_ttl,
                      opts_.throttle);
  }
  Response res;
  std::string detail;
  if (out.session) {
    res = Json(http::status::ok, {{"token", out.session->token},
                                  {"role", std::string(auth::RoleName(out.session->user.role))},
                                  {"expires_at", db::FormatTime(out.session->expires_at)}});
    detail = "login";
    Audit(&out.session->user, username, address, req, "/api/v1/login", 200, detail);
    return res;
  }
  if (out.error.code == "throttled") {
    res = Err(http::status::too_many_requests, "throttled",
              out.error.message + " (in " + std::to_string(out.retry_after.count()) + " s)");
    res.set(http::field::retry_after, std::to_string(out.retry_after.count()));
    detail = "throttled";
  } else if (out.error.code == "unauthorized") {
    res = Err(http::status::unauthorized, "unauthorized", "wrong username or password");
    detail = "failed: " + out.error.message;
  } else {
    res = Err(http::status::service_unavailable, out.error.code, out.error.message);
    detail = "error: " + out.error.message;
  }
  Audit(nullptr, username, address, req, "/api/v1/login", res.result_int(), detail);
  return res;
}

Response HttpServer::Impl::Healthz() {
  std::string reason;
  if (deps_.polling && !deps_.polling()) reason = "polling is not running";
  if (reason.empty()) {
    std::lock_guard lock(db_mu_);
    if (Status st = db_->CheckWritable(); !st)
      reason = "database not writable: " + st.error().message;
  }
  if (!reason.empty()) {
    return Json(http::status::service_unavailable, {{"status", "unhealthy"}, {"reason", reason}});
  }
  return Json(http::status::ok, {{"status", "ok"}});
}

Response HttpServer::Impl::Metrics() {
  std::string out;
  auto stats = deps_.link_stats ? deps_.link_stats()
                                : std::vector<std::pair<std::string, drivers::LinkStats>>{};
  out += "# HELP liftguard_polls_total Modbus requests sent, per link.\n";
  out += "# TYPE liftguard_polls_total counter\n";
  for (const auto& [link, s] : stats) {
    out += "liftguard_polls_total{link=\"" + LabelValue(link) + "\"} " +
           std::to_string(s.requests) + "\n";
  }
  out += "# HELP liftguard_poll_failures_total Failed Modbus requests, per link and kind.\n";
  out += "# TYPE liftguard_poll_failures_total counter\n";
  for (const auto& [link, s] : stats) {
    std::string l = LabelValue(link);
    for (auto [kind, n] : {std::pair<const char*, uint64_t>{"timeout", s.timeouts},
                           {"exception", s.exceptions},
                           {"bad_frame", s.bad_frames},
                           {"io", s.io_errors}}) {
      out += "liftguard_poll_failures_total{link=\"" + l + "\",kind=\"" + kind + "\"} " +
             std::to_string(n) + "\n";
    }
  }
  out += "# HELP liftguard_poll_latency_seconds Request to decoded reply, per link.\n";
  out += "# TYPE liftguard_poll_latency_seconds summary\n";
  for (const auto& [link, s] : stats) {
    std::string l = LabelValue(link);
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(s.latency_us_sum) / 1e6);
    out += "liftguard_poll_latency_seconds_sum{link=\"" + l + "\"} " + sum + "\n";
    out += "liftguard_poll_latency_seconds_count{link=\"" + l + "\"} " + std::to_string(s.replies) +
           "\n";
  }
  out += "# HELP liftguard_link_up 1 when the link is connected.\n";
  out += "# TYPE liftguard_link_up gauge\n";
  for (const auto& [link, s] : stats) {
    out += "liftguard_link_up{link=\"" + LabelValue(link) + "\"} " +
           (s.status == drivers::LinkStatus::kUp ? "1" : "0") + "\n";
  }
  if (deps_.alarms) {
    rules::AlarmCounts c = deps_.alarms->Counts();
    out += "# HELP liftguard_alarms Open alarms by state.\n";
    out += "# TYPE liftguard_alarms gauge\n";
    for (auto [state, n] : {std::pair<const char*, size_t>{"unack", c.unack},
                            {"acked", c.acked},
                            {"rtn_unack", c.rtn_unack},
                            {"shelved", c.shelved},
                            {"suppressed", c.suppressed}}) {
      out += std::string("liftguard_alarms{state=\"") + state + "\"} " + std::to_string(n) + "\n";
    }
    out += "# HELP liftguard_alarms_raised_total Alarms raised since the daemon started.\n";
    out += "# TYPE liftguard_alarms_raised_total counter\n";
    out += "liftguard_alarms_raised_total " + std::to_string(c.raised) + "\n";
    out += "# HELP liftguard_alarm_write_failures_total Failed alarm writes to the database.\n";
    out += "# TYPE liftguard_alarm_write_failures_total counter\n";
    out += "liftguard_alarm_write_failures_total " +
           std::to_string(deps_.alarms->write_failures()) + "\n";
  }
  if (deps_.incidents) {
    out += "# HELP liftguard_incidents_open Rescue incidents not closed yet.\n";
    out += "# TYPE liftguard_incidents_open gauge\n";
    out += "liftguard_incidents_open " + std::to_string(deps_.incidents->OpenIncidents().size()) +
           "\n";
    out +=
        "# HELP liftguard_incident_write_failures_total Failed incident writes to the "
        "database.\n";
    out += "# TYPE liftguard_incident_write_failures_total counter\n";
    out += "liftguard_incident_write_failures_total " +
           std::to_string(deps_.incidents->write_failures()) + "\n";
  }
  if (deps_.more_metrics) out += deps_.more_metrics();
  return Make(http::status::ok, std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

Response HttpServer::Impl::Elevators(const auth::User& u, const std::string* id) {
  std::string contractor = ScopeOf(u);
  std::vector<CarState> cars;
  if (id) {
    auto c = deps_.state ? deps_.state->Get(*id) : std::nullopt;
    if (!c || !CanSee(contractor, *id)) {
      return Err(http::status::not_found, "not_found", "there is no elevator " + *id);
    }
    cars.push_back(std::move(*c));
  } else if (deps_.state) {
    for (auto& c : deps_.state->Snapshot()) {
      if (CanSee(contractor, c.id)) cars.push_back(std::move(c));
    }
  }
  auto reader = db::Database::OpenReader(deps_.db_path);
  if (!reader.ok())
    return Err(http::status::service_unavailable, "database", reader.error().message);
  auto open = db::AlarmStore::QueryAlarms(**reader, id ? *id : "", true, 1000000);
  if (!open.ok()) return Err(http::status::service_unavailable, "database", open.error().message);
  std::unordered_map<std::string, std::set<std::string>> active;
  for (const auto& a : *open) active[a.elevator].insert(a.type);
  if (!id) {
    static const std::set<std::string> kNone;
    std::string body = "[";
    body.reserve(cars.size() * 256);
    for (const auto& c : cars) {
      if (body.size() > 1) body += ',';
      auto it = active.find(c.id);
      AppendCarJson(body, Shown(c), c.updated_at, it == active.end() ? &kNone : &it->second);
    }
    body += "]\n";
    return Make(http::status::ok, std::move(body), "application/json");
  }
  json list = json::array();
  for (const auto& c : cars) {
    json j = CarJson(c);
    j["active_alarms"] = json::array();
    for (const auto& t : active[c.id]) j["active_alarms"].push_back(t);
    if (id) {
      const Sample& s = c.last;
      auto num = [&](Field f) {
        return c.has_sample && s.Has(f) ? json(s.Number(f)) : json(nullptr);
      };
      j["counters"] = {{"trips", num(Field::kTrips)},
                       {"door_cycles", num(Field::kDoorCycles)},
                       {"run_hours", num(Field::kRunHours)}};
      j["link"] = {{"id", c.link},
                   {"unit", c.unit},
                   {"status", std::string(drivers::LinkStatusName(c.link_status))},
                   {"polls_ok", c.polls_ok},
                   {"polls_failed", c.polls_failed}};
      j["last_error"] =
          c.last_error ? json{{"kind", std::string(drivers::LinkErrorKindName(c.last_error->kind))},
                              {"detail", c.last_error->detail}}
                       : json(nullptr);
      j["contractor"] = deps_.contractor_of ? deps_.contractor_of(c.id) : "";
      // Rules this car cannot evaluate are shown, never silently skipped.
      j["disabled_rules"] = json::array();
      for (const auto& d : c.disabled_rules) {
        j["disabled_rules"].push_back({{"type", std::string(AlarmTypeName(d.type))},
                                       {"path", d.subtype},
                                       {"reason", d.reason}});
      }
      return Json(http::status::ok, j);
    }
    list.push_back(std::move(j));
  }
  return Json(http::status::ok, list);
}

Response HttpServer::Impl::Alarms(const auth::User& u, const Target& t) {
  for (const auto& [k, v] : t.query) {
    if (k != "state" && k != "elevator" && k != "since" && k != "limit") {
      return Err(http::status::bad_request, "unknown_parameter",
                 "unknown parameter \"" + k + "\"; use state, elevator, since, limit");
    }
  }
  std::string state = t.query.count("state") ? t.query.at("state") : "active";
  if (state != "active" && state != "all") {
    return Err(http::status::bad_request, "bad_parameter", "state must be active or all");
  }
  std::string elevator = t.query.count("elevator") ? t.query.at("elevator") : "";
  std::optional<WallTime> since;
  if (t.query.count("since")) {
    since = ParseRfc3339(t.query.at("since"));
    if (!since) {
      return Err(http::status::bad_request, "bad_parameter",
                 "since must be an RFC 3339 time between 1970 and 2200, e.g. 2026-11-22T08:00:00Z");
    }
  }
  int limit = 500;
  if (t.query.count("limit")) {
    auto l = ParseId(t.query.at("limit"));
    if (!l || *l > 10000) {
      return Err(http::status::bad_request, "bad_parameter", "limit must be 1..10000");
    }
    limit = static_cast<int>(*l);
  }
  std::string contractor = ScopeOf(u);
  if (!elevator.empty() && !CanSee(contractor, elevator)) {
    return Err(http::status::not_found, "not_found", "there is no elevator " + elevator);
  }
  auto reader = db::Database::OpenReader(deps_.db_path);
  if (!reader.ok())
    return Err(http::status::service_unavailable, "database", reader.error().message);
  std::vector<db::AlarmRow> rows;
  // A contractor without an elevator filter: its own cars only.
  std::vector<std::string> which;
  if (elevator.empty() && !contractor.empty()) {
    if (deps_.state) {
      for (const auto& c : deps_.state->Snapshot()) {
        if (CanSee(contractor, c.id)) which.push_back(c.id);
      }
    }
  } else {
    which.push_back(elevator);
  }
  for (const auto& e : which) {
    auto r = db::AlarmStore::QueryAlarms(**reader, e, state == "active", 1000000);
    if (!r.ok()) return Err(http::status::service_unavailable, "database", r.error().message);
    for (auto& a : *r) {
      if (since) {
        auto updated = db::ParseTime(a.updated_at);
        if (updated && *updated < *since) continue;
      }
      rows.push_back(std::move(a));
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  if (rows.size() > static_cast<size_t>(limit)) rows.resize(static_cast<size_t>(limit));
  json list = json::array();
  for (const auto& a : rows) {
    json j = AlarmRowJson(a);
    auto h = db::AlarmStore::QueryHistory(**reader, a.id);
    if (!h.ok()) return Err(http::status::service_unavailable, "database", h.error().message);
    j["history"] = json::array();
    for (const auto& x : *h) j["history"].push_back(HistoryJson(x));
    list.push_back(std::move(j));
  }
  return Json(http::status::ok, list);
}

Response HttpServer::Impl::AlarmAction(const auth::User& u, const Request& req,
                                       const std::string& address, const std::string& path,
                                       int64_t id, bool shelve) {
  Response res;
  std::string detail = "alarm " + std::to_string(id);
  auto done = [&](Response r) {
    Audit(&u, "", address, req, path, r.result_int(), detail);
    return r;
  };
  bool allowed = shelve ? u.role == Role::kSafetyManager
                        : RoleIn(u.role, {Role::kOperator, Role::kSafetyManager});
  if (!allowed) return done(Forbidden(u));
  json body;
  if (shelve) {
    if (auto bad = ParseBody(req, {{"minutes", Kind::kInt, true}, {"reason", Kind::kString, true}},
                             body)) {
      return done(std::move(*bad));
    }
  } else if (auto bad = ParseBody(req, {{"note", Kind::kString, false}}, body)) {
    return done(std::move(*bad));
  }
  if (!deps_.alarms) {
    return done(Err(http::status::service_unavailable, "unavailable", "alarms are not running"));
  }
  Result<rules::Transition> t = Error::Permanent("internal", "");
  if (shelve) {
    int64_t minutes = body["minutes"].get<int64_t>();
    std::string reason = body["reason"].get<std::string>();
    detail += ": shelve " + std::to_string(minutes) + " min: " + reason;
    if (minutes < 1 || minutes > 24 * 60) {
      return done(Err(http::status::bad_request, "bad_field",
                      "field \"minutes\" must be 1..1440 (at most 24 hours)"));
    }
    if (reason.empty()) {
      return done(Err(http::status::bad_request, "bad_field", "field \"reason\" may not be empty"));
    }
    t = deps_.alarms->Shelve(static_cast<rules::AlarmId>(id), u.username, reason,
                             std::chrono::minutes(minutes));
  } else {
    std::string note = body.contains("note") ? body["note"].get<std::string>() : "";
    detail += ": ack" + (note.empty() ? "" : ": " + note);
    t = deps_.alarms->Ack(static_cast<rules::AlarmId>(id), u.username, note);
  }
  if (!t.ok()) return done(Err(StatusForError(t.error()), t.error().code, t.error().message));
  return done(Json(http::status::ok, AlarmJson(t->alarm)));
}

// ---- incidents, audit log, maintenance windows --------------------------------

json HttpServer::Impl::IncidentJsonNow(const rules::Incident& inc) const {
  std::string name = inc.elevator, building;
  if (auto c = deps_.state ? deps_.state->Get(inc.elevator) : std::nullopt) {
    name = c->name;
    building = c->building;
  }
  return IncidentJson(inc, std::chrono::system_clock::now(), name, building);
}

// Query parameters: only `allowed`, each at most once (SplitTarget keeps
// the last); the message lists what is taken.
static std::optional<Response> OnlyParameters(const Target& t,
                                              std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : t.query) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || k == a;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    if (!ok) {
      return Err(http::status::bad_request, "unknown_parameter",
                 "unknown parameter \"" + k + "\"; use " + list);
    }
  }
  return std::nullopt;
}

// Longer work sets the car out of service, which the controller reports:
// a window is declared in Liftguard only and a forgotten one would hide
// COMMS_LOST and the other suppressible alarms for as long as it runs.
constexpr std::chrono::hours kMaxWindow{7 * 24};

static std::variant<int, Response> LimitOf(const Target& t, int fallback) {
  if (!t.query.count("limit")) return fallback;
  auto l = ParseId(t.query.at("limit"));
  if (!l || *l > 10000) {
    return Err(http::status::bad_request, "bad_parameter", "limit must be 1..10000");
  }
  return static_cast<int>(*l);
}

Response HttpServer::Impl::Incidents(const auth::User& u, const Target& t) {
  if (auto bad = OnlyParameters(t, {"state", "elevator", "limit"})) return std::move(*bad);
  std::string state = t.query.count("state") ? t.query.at("state") : "open";
  if (state != "open" && state != "all") {
    return Err(http::status::bad_request, "bad_parameter", "state must be open or all");
  }
  auto limit = LimitOf(t, 500);
  if (auto* r = std::get_if<Response>(&limit)) return std::move(*r);
  std::string elevator = t.query.count("elevator") ? t.query.at("elevator") : "";
  std::string contractor = ScopeOf(u);
  if (!elevator.empty() && !CanSee(contractor, elevator)) {
    return Err(http::status::not_found, "not_found", "there is no elevator " + elevator);
  }
  if (!deps_.incidents) {
    return Err(http::status::service_unavailable, "unavailable", "incidents are not running");
  }
  int n = std::get<int>(limit);
  // A contractor's list is filtered after the query; incidents are few.
  auto rows = deps_.incidents->List(elevator, state == "open", contractor.empty() ? n : 1000000);
  if (!rows.ok()) return Err(http::status::service_unavailable, "database", rows.error().message);
  json list = json::array();
  for (const auto& inc : *rows) {
    if (!CanSee(contractor, inc.elevator)) continue;
    if (list.size() >= static_cast<size_t>(n)) break;
    list.push_back(IncidentJsonNow(inc));
  }
  return Json(http::status::ok, {{"incidents", std::move(list)}});
}

Response HttpServer::Impl::OpenIncident(const auth::User& u, const Request& req,
                                        const std::string& address, const std::string& path) {
  std::string detail = "open incident";
  auto done = [&](Response r) {
    Audit(&u, "", address, req, path, r.result_int(), detail);
    return r;
  };
  if (!RoleIn(u.role, {Role::kOperator, Role::kSafetyManager})) return done(Forbidden(u));
  json body;
  if (auto bad = ParseBody(req, {{"elevator", Kind::kString, true}, {"note", Kind::kString, false}},
                           body)) {
    return done(std::move(*bad));
  }
  std::string elevator = body["elevator"].get<std::string>();
  std::string note = body.value("note", "");
  detail += " on " + elevator + (note.empty() ? "" : ": " + note);
  if (!deps_.state || !deps_.state->Get(elevator)) {
    return done(Err(http::status::not_found, "not_found",
                    "field \"elevator\": there is no elevator " + elevator));
  }
  if (!deps_.incidents) {
    return done(Err(http::status::service_unavailable, "unavailable", "incidents are not running"));
  }
  auto inc = deps_.incidents->Open(elevator, u.username, note);
  if (!inc.ok()) {
    Response r = Err(StatusForError(inc.error()), inc.error().code, inc.error().message);
    if (inc.error().code == "incident_open") {
      if (auto open = deps_.incidents->OpenFor(elevator)) {
        json j = json::parse(r.body());
        j["error"]["incident_id"] = open->id;
        r = Json(http::status::conflict, j);
      }
    }
    return done(std::move(r));
  }
  detail = "incident " + std::to_string(inc->id) + ": " + detail;
  return done(Json(http::status::created, IncidentJsonNow(*inc)));
}

Response HttpServer::Impl::RecordStep(const auth::User& u, const Request& req,
                                      const std::string& address, const std::string& path,
                                      int64_t id) {
  std::string detail = "incident " + std::to_string(id);
  auto done = [&](Response r) {
    Audit(&u, "", address, req, path, r.result_int(), detail);
    return r;
  };
  if (!RoleIn(u.role, {Role::kOperator, Role::kSafetyManager, Role::kContractor})) {
    return done(Forbidden(u));
  }
  json body;
  if (auto bad = ParseBody(req,
                           {{"step", Kind::kString, true},
                            {"note", Kind::kString, false},
                            {"eta_min", Kind::kInt, false},
                            {"cause", Kind::kString, false}},
                           body)) {
    return done(std::move(*bad));
  }
  std::string name = body["step"].get<std::string>();
  auto step = rules::IncidentStepFromName(name);
  detail += ": " + name;
  if (!step || *step == rules::IncidentStep::kOpen || *step == rules::IncidentStep::kDispatched) {
    std::string why = !step ? "field \"step\" is \"" + name + "\"; "
                            : "field \"step\": " + name +
                                  " is recorded by Liftguard, not by "
                                  "hand; ";
    return done(Err(http::status::bad_request, "bad_field",
                    why + "use acknowledged, accepted, on_site, released, closed or "
                          "false_alarm"));
  }
  rules::StepDetails d;
  d.note = body.value("note", "");
  if (body.contains("eta_min")) {
    // Out of int range is out of 1..240 all the same.
    int64_t eta = body["eta_min"].get<int64_t>();
    d.eta_min = static_cast<int>(std::clamp<int64_t>(eta, -1, 100000));
    detail += " (eta " + std::to_string(eta) + " min)";
  }
  if (body.contains("cause")) {
    d.cause = body["cause"].get<std::string>();
    detail += " (cause: " + *d.cause + ")";
  }
  if (!d.note.empty()) detail += ": " + d.note;
  if (!deps_.incidents) {
    return done(Err(http::status::service_unavailable, "unavailable", "incidents are not running"));
  }
  auto found = deps_.incidents->Find(id);
  if (!found.ok()) {
    return done(Err(http::status::service_unavailable, "database", found.error().message));
  }
  if (!*found || !CanSee(ScopeOf(u), (*found)->elevator)) {
    return done(
        Err(http::status::not_found, "not_found", "there is no incident " + std::to_string(id)));
  }
  rules::Recorder who =
      u.role == Role::kContractor ? rules::Recorder::kContractor : rules::Recorder::kStaff;
  auto inc = deps_.incidents->RecordStep(id, *step, u.username, who, d);
  if (!inc.ok()) {
    return done(Err(StatusForError(inc.error()), inc.error().code, inc.error().message));
  }
  return done(Json(http::status::ok, IncidentJsonNow(*inc)));
}

Response HttpServer::Impl::AuditLog(const auth::User& u, const Target& t) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kAdmin})) return Forbidden(u);
  if (auto bad = OnlyParameters(t, {"limit", "since"})) return std::move(*bad);
  auto limit = LimitOf(t, 100);
  if (auto* r = std::get_if<Response>(&limit)) return std::move(*r);
  std::string since;
  if (t.query.count("since")) {
    auto s = ParseRfc3339(t.query.at("since"));
    if (!s) {
      return Err(http::status::bad_request, "bad_parameter",
                 "since must be an RFC 3339 time between 1970 and 2200, e.g. 2026-11-22T08:00:00Z");
    }
    since = db::FormatTime(*s);  // stored times compare as text in this form
  }
  auto reader = db::Database::OpenReader(deps_.db_path);
  if (!reader.ok()) {
    return Err(http::status::service_unavailable, "database", reader.error().message);
  }
  auto rows = db::ReadAudit(**reader, {.limit = std::get<int>(limit), .since = since});
  if (!rows.ok()) return Err(http::status::service_unavailable, "database", rows.error().message);
  json list = json::array();
  for (const auto& r : *rows) {
    list.push_back({{"id", r.id},
                    {"at", r.at},
                    {"who", r.who},
                    {"role", r.role},
                    {"address", r.address},
                    {"method", r.method},
                    {"path", r.path},
                    {"status", r.status},
                    {"detail", r.detail},
                    {"prev_hash", r.prev_hash},
                    {"hash", r.hash}});
  }
  return Json(http::status::ok, {{"entries", std::move(list)}});
}

Response HttpServer::Impl::Windows(const auth::User& u, const Target& t) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kContractor})) return Forbidden(u);
  if (auto bad = OnlyParameters(t, {"state", "elevator", "limit"})) return std::move(*bad);
  std::string state = t.query.count("state") ? t.query.at("state") : "current";
  if (state != "current" && state != "all") {
    return Err(http::status::bad_request, "bad_parameter", "state must be current or all");
  }
  auto limit = LimitOf(t, 500);
  if (auto* r = std::get_if<Response>(&limit)) return std::move(*r);
  std::string elevator = t.query.count("elevator") ? t.query.at("elevator") : "";
  std::string contractor = ScopeOf(u);
  if (!elevator.empty() && !CanSee(contractor, elevator)) {
    return Err(http::status::not_found, "not_found", "there is no elevator " + elevator);
  }
  auto reader = db::Database::OpenReader(deps_.db_path);
  if (!reader.ok()) {
    return Err(http::status::service_unavailable, "database", reader.error().message);
  }
  WallTime now = std::chrono::system_clock::now();
  std::string now_text = db::FormatTime(now);
  json list = json::array();
  try {
    SQLite::Statement q(**reader,
                        "SELECT id, elevator, starts_at, ends_at, reason, created_by, created_at "
                        "FROM maintenance_windows WHERE (?1 = '' OR elevator = ?1) AND "
                        "(?2 = 0 OR ends_at > ?3) ORDER BY starts_at DESC, id DESC");
    q.bind(1, elevator);
    q.bind(2, state == "current" ? 1 : 0);
    q.bind(3, now_text);
    while (q.executeStep() && list.size() < static_cast<size_t>(std::get<int>(limit))) {
      std::string car = q.getColumn(1).getString();
      if (!CanSee(contractor, car)) continue;
      std::string starts = q.getColumn(2).getString(), ends = q.getColumn(3).getString();
      list.push_back({{"id", q.getColumn(0).getInt64()},
                      {"elevator", car},
                      {"starts_at", starts},
                      {"ends_at", ends},
                      {"reason", q.getColumn(4).getString()},
                      {"created_by", q.getColumn(5).getString()},
                      {"created_at", q.getColumn(6).getString()},
                      {"in_force", starts <= now_text && now_text < ends}});
    }
  } catch (const std::exception& e) {
    return Err(http::status::service_unavailable, "database",
               std::string("maintenance window query failed: ") + e.what());
  }
  return Json(http::status::ok, {{"windows", std::move(list)}});
}

Response HttpServer::Impl::AddWindow(const auth::User& u, const Request& req,
                                     const std::string& address, const std::string& path) {
  std::string detail = "maintenance window";
  auto done = [&](Response r) {
    Audit(&u, "", address, req, path, r.result_int(), detail);
    return r;
  };
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kContractor})) return done(Forbidden(u));
  json body;
  if (auto bad = ParseBody(req,
                           {{"elevator", Kind::kString, true},
                            {"starts_at", Kind::kString, true},
                            {"ends_at", Kind::kString, true},
                            {"reason", Kind::kString, true}},
                           body)) {
    return done(std::move(*bad));
  }
  std::string elevator = body["elevator"].get<std::string>();
  std::string reason = body["reason"].get<std::string>();
  std::string what = " on " + elevator + " " + body["starts_at"].get<std::string>() + " to " +
                     body["ends_at"].get<std::string>() + ": " + reason;
  detail += what;
  std::optional<WallTime> times[2];
  const char* names[2] = {"starts_at", "ends_at"};
  for (int i = 0; i < 2; ++i) {
    times[i] = ParseRfc3339(body[names[i]].get<std::string>());
    if (!times[i]) {
      return done(Err(http::status::bad_request, "bad_field",
                      std::string("field \"") + names[i] +
                          "\" must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00"));
    }
  }
  WallTime starts = *times[0], ends = *times[1];
  if (ends <= starts) {
    return done(Err(http::status::bad_request, "bad_field",
                    "field \"ends_at\" must be after \"starts_at\""));
  }
  if (ends <= std::chrono::system_clock::now()) {
    return done(Err(http::status::bad_request, "bad_field",
                    "field \"ends_at\" is in the past; a window that has ended suppresses "
                    "nothing"));
  }
  if (ends - starts > kMaxWindow) {
    return done(Err(http::status::bad_request, "bad_field",
                    "field \"ends_at\": a window may last at most 7 days; for longer work "
                    "set the car out of service"));
  }
  if (reason.empty()) {
    return done(Err(http::status::bad_request, "bad_field", "field \"reason\" may not be empty"));
  }
  if (!deps_.state || !deps_.state->Get(elevator) || !CanSee(ScopeOf(u), elevator)) {
    return done(Err(http::status::not_found, "not_found",
                    "field \"elevator\": there is no elevator " + elevator));
  }
  if (!deps_.alarms) {
    return done(Err(http::status::service_unavailable, "unavailable", "alarms are not running"));
  }
  auto id = deps_.alarms->AddMaintenanceWindow(elevator, starts, ends, reason, u.username);
  if (!id.ok()) return done(Err(StatusForError(id.error()), id.error().code, id.error().message));
  detail = "maintenance window " + std::to_string(*id) + what;
  WallTime now = std::chrono::system_clock::now();
  return done(Json(http::status::created, {{"id", *id},
                                           {"elevator", elevator},
                                           {"starts_at", db::FormatTime(starts)},
                                           {"ends_at", db::FormatTime(ends)},
                                           {"reason", reason},
                                           {"created_by", u.username},
                                           {"created_at", db::FormatTime(now)},
                                           {"in_force", starts <= now && now < ends}}));
}

Response HttpServer::Impl::Records(const auth::User& u, const Request& req,
                                   const std::string& address, const Target& t) {
  RecordsRequest r;
  r.method = std::string(req.method_string());
  r.path = t.path;
  r.query = t.query;
  r.body = req.body();
  r.user = u;
  RecordsReply out = HandleRecords(deps_.records, r);
  Response res =
      Make(static_cast<http::status>(out.status), std::move(out.body), "application/json");
  if (!out.allow.empty()) res.set(http::field::allow, out.allow);
  if (req.method() != http::verb::get) {
    Audit(&u, "", address, req, t.path, out.status, out.detail);
  }
  return res;
}

// ---- HttpServer --------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, HttpDeps deps, HttpOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(deps), std::move(options))) {}
HttpServer::~HttpServer() { Stop(); }
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::port() const { return impl_->port_; }

AlarmService::Listener HttpServer::AlarmListener() {
  std::weak_ptr<Impl> weak = impl_;
  return [weak](const rules::Transition& t) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    json j = AlarmJson(t.alarm);
    j["transition"] = {
        {"kind", std::string(rules::TransitionKindName(t.kind))},
        {"from",
         t.from_state ? json(std::string(rules::AlarmStateName(*t.from_state))) : json(nullptr)},
        {"to", std::string(rules::AlarmStateName(t.to_state))},
        {"at", db::FormatTime(t.at)},
        {"who", t.who},
        {"note", t.note}};
    self->Publish(t.elevator,
                  std::make_shared<const std::string>("event: alarm\ndata: " + j.dump() + "\n\n"));
  };
}

size_t HttpServer::PublishNotice(const std::string& elevator, const std::string& data) {
  return impl_->PublishNotice(elevator, data);
}

IncidentService::Listener HttpServer::IncidentListener() {
  std::weak_ptr<Impl> weak = impl_;
  return [weak](const IncidentChange& c) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    json j = self->IncidentJsonNow(c.incident);
    self->Publish(c.incident.elevator, std::make_shared<const std::string>(
                                           "event: incident\ndata: " + j.dump() + "\n\n"));
  };
}

}  // namespace lg
