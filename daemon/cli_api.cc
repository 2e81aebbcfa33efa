#include "daemon/cli_api.h"

#include <array>
#include <nlohmann/json.hpp>

#include "daemon/cli_http.h"
#include "daemon/cli_output.h"
#include "daemon/cli_session.h"

namespace lg::cli {
namespace {

using nlohmann::json;

// A field as text for a table: "" for missing or null, arrays joined.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  if (it->is_array()) {
    std::string out;
    for (const auto& e : *it) {
      if (!out.empty()) out += ",";
      out += e.is_string() ? e.get<std::string>() : e.dump();
    }
    return out;
  }
  return it->dump();
}

std::string OrDash(std::string s) { return s.empty() ? "-" : s; }

// The list inside an answer that is either a bare array or {"key": [...]}.
const json* ListIn(const json& body, const char* key) {
  if (body.is_array()) return &body;
  if (body.is_object() && body.contains(key) && body[key].is_array()) return &body[key];
  return nullptr;
}

// Runs one call. On a 2xx answer returns true with the body in `reply`;
// otherwise prints why and sets `exit`.
bool Call(ApiClient& c, const std::string& target, const std::optional<json>& body, Streams s,
          ApiReply& reply, int& exit) {
  auto r = body ? c.Post(target, *body) : c.Get(target);
  if (!r.ok()) {
    exit = TransportExit(r.error(), s.err);
    return false;
  }
  reply = std::move(*r);
  if (!reply.ok() || reply.body.is_null()) {
    exit = FailureExit(reply, s.err);
    return false;
  }
  return true;
}

// A command that needs a login, without one, gets the same exit code as a
// 401 but says how to log in instead of asking the daemon first.
bool NeedToken(const ApiOptions& o, Streams s) {
  if (!o.token.empty()) return true;
  s.err << "liftguard: not logged in: run `liftguard login --user NAME`, or pass --token or "
           "LIFTGUARD_TOKEN\n";
  return false;
}

void PrintRaw(const ApiReply& r, std::ostream& out) {
  out << r.raw;
  if (r.raw.empty() || r.raw.back() != '\n') out << "\n";
}

std::string AlarmType(const json& a) {
  std::string t = Str(a, "type");
  std::string sub = Str(a, "subtype");
  return sub.empty() ? t : t + "/" + sub;
}

void PrintIncident(const json& i, std::ostream& out) {
  out << "incident " << Str(i, "id") << ": " << Str(i, "elevator");
  if (!Str(i, "elevator_name").empty()) out << " " << Printable(Str(i, "elevator_name"));
  if (!Str(i, "building").empty()) out << " (" << Printable(Str(i, "building")) << ")";
  out << "\n";
  out << "state " << Str(i, "state") << ", latest step " << Str(i, "step") << ", opened "
      << LocalTime(Str(i, "opened_at"));
  if (!Str(i, "closed_at").empty()) out << ", ended " << LocalTime(Str(i, "closed_at"));
  if (!Str(i, "eta_min").empty()) out << ", ETA " << Str(i, "eta_min") << " min";
  out << "\n";
  if (!Str(i, "cause").empty()) out << "cause: " << Printable(Str(i, "cause")) << "\n";
  if (i.contains("steps") && i["steps"].is_array()) {
    Table t({"STEP", "AT", "BY", "NOTE"});
    for (const auto& st : i["steps"]) {
      t.Add({Str(st, "step"), LocalTime(Str(st, "at")), Str(st, "by"), Str(st, "note")});
    }
    t.Print(out);
  }
  if (!Str(i, "over_target").empty()) out << "over target: " << Str(i, "over_target") << "\n";
}

}  // namespace

int Login(const ApiOptions& o, const std::string& user, const std::string& password, Streams s) {
  ApiClient c(o.url, "");
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, "/api/v1/login", json{{"username", user}, {"password", password}}, s, r, exit)) {
    return exit;
  }
  std::string token = Str(r.body, "token");
  if (token.empty()) {
    s.err << "liftguard: the daemon's login answer has no token\n";
    return kExitApi;
  }
  if (Status st = SaveToken(token); !st) {
    s.err << "liftguard: logged in, but " << st.error().message << "\n";
    return kExitFailed;
  }
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  auto path = TokenPath();
  s.out << "logged in as " << Printable(user) << " (" << Str(r.body, "role") << ") until "
        << LocalTime(Str(r.body, "expires_at")) << "; token saved in "
        << (path.ok() ? *path : std::string("?")) << "\n";
  return kExitOk;
}

int ShowStatus(const ApiOptions& o, Streams s) {
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, "/api/v1/elevators", std::nullopt, s, r, exit)) return exit;
  const json* cars = ListIn(r.body, "elevators");
  if (cars == nullptr) return FailureExit(ApiReply{200, nullptr, ""}, s.err);
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  Table t({"ID", "BUILDING", "FLOOR", "DIR", "DOOR", "MODE", "ONLINE", "ACTIVE ALARMS"});
  size_t online = 0, alarming = 0;
  for (const auto& e : *cars) {
    bool up = e.value("online", false);
    online += up ? 1 : 0;
    std::string alarms = Str(e, "active_alarms");
    alarming += alarms.empty() ? 0 : 1;
    std::string dir = Str(e, "direction");
    t.Add({Str(e, "id"), OrDash(Str(e, "building")), OrDash(Str(e, "floor")),
           dir == "none" || dir.empty() ? "-" : dir, OrDash(Str(e, "door")), OrDash(Str(e, "mode")),
           up ? "yes" : "NO", OrDash(alarms)});
  }
  t.Print(s.out);
  s.out << cars->size() << (cars->size() == 1 ? " car, " : " cars, ") << online << " online, "
        << alarming << " with active alarms\n";
  return kExitOk;
}

int ListAlarms(const ApiOptions& o, bool all, const std::string& elevator, Streams s) {
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  std::string target = std::string("/api/v1/alarms?state=") + (all ? "all" : "active");
  if (!elevator.empty()) target += "&elevator=" + c.Escape(elevator);
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, target, std::nullopt, s, r, exit)) return exit;
  const json* alarms = ListIn(r.body, "alarms");
  if (alarms == nullptr) return FailureExit(ApiReply{200, nullptr, ""}, s.err);
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  if (alarms->empty()) {
    s.out << (all ? "no alarms" : "no active alarms")
          << (elevator.empty() ? "" : " for " + Printable(elevator)) << "\n";
    return kExitOk;
  }
  Table t({"ID", "ELEVATOR", "TYPE", "SEVERITY", "STATE", "RAISED", "ACKED BY", "MESSAGE"});
  for (const auto& a : *alarms) {
    t.Add({Str(a, "id"), Str(a, "elevator"), AlarmType(a), Str(a, "severity"), Str(a, "state"),
           LocalTime(Str(a, "raised_at")), OrDash(Str(a, "acked_by")), Str(a, "message")});
  }
  t.Print(s.out);
  s.out << alarms->size() << (alarms->size() == 1 ? " alarm" : " alarms") << "\n";
  return kExitOk;
}

int AckAlarm(const ApiOptions& o, int64_t alarm_id, const std::optional<std::string>& note,
             Streams s) {
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  json body = json::object();
  if (note) body["note"] = *note;
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, "/api/v1/alarms/" + std::to_string(alarm_id) + "/ack", body, s, r, exit)) {
    return exit;
  }
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  s.out << "alarm " << alarm_id << " (" << AlarmType(r.body) << " on " << Str(r.body, "elevator")
        << ") acknowledged; state " << Str(r.body, "state") << "\n";
  return kExitOk;
}

int ListIncidents(const ApiOptions& o, bool all, Streams s) {
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, std::string("/api/v1/incidents?state=") + (all ? "all" : "open"), std::nullopt, s, r,
            exit)) {
    return exit;
  }
  const json* list = ListIn(r.body, "incidents");
  if (list == nullptr) return FailureExit(ApiReply{200, nullptr, ""}, s.err);
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  if (list->empty()) {
    s.out << (all ? "no incidents" : "no open incidents") << "\n";
    return kExitOk;
  }
  Table t({"ID", "ELEVATOR", "BUILDING", "STATE", "STEP", "OPENED", "ETA", "OVER TARGET"});
  for (const auto& i : *list) {
    std::string eta = Str(i, "eta_min");
    t.Add({Str(i, "id"), Str(i, "elevator"), OrDash(Str(i, "building")), Str(i, "state"),
           Str(i, "step"), LocalTime(Str(i, "opened_at")), eta.empty() ? "-" : eta + " min",
           OrDash(Str(i, "over_target"))});
  }
  t.Print(s.out);
  s.out << list->size() << (list->size() == 1 ? " incident" : " incidents") << "\n";
  return kExitOk;
}

int OpenIncident(const ApiOptions& o, const std::string& elevator,
                 const std::optional<std::string>& note, Streams s) {
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  json body{{"elevator", elevator}};
  if (note) body["note"] = *note;
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, "/api/v1/incidents", body, s, r, exit)) return exit;
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  if (r.body.contains("steps")) {
    PrintIncident(r.body, s.out);
  } else {
    s.out << "incident " << OrDash(Str(r.body, "id")) << " opened for " << Printable(elevator)
          << "\n";
  }
  return kExitOk;
}

bool IsUserStep(const std::string& step) {
  static constexpr std::array<const char*, 6> kSteps = {"acknowledged", "accepted", "on_site",
                                                        "released",     "closed",   "false_alarm"};
  for (const char* k : kSteps) {
    if (step == k) return true;
  }
  return false;
}

int RecordStep(const ApiOptions& o, const StepRequest& q, Streams s) {
  if (!IsUserStep(q.step)) {
    s.err << "liftguard: unknown step \"" << Printable(q.step)
          << "\"; one of acknowledged, accepted, on_site, released, closed, false_alarm "
             "(open and dispatched are recorded by the system)\n";
    return kExitUsage;
  }
  if (q.eta_min && q.step != "accepted") {
    s.err << "liftguard: --eta goes only with the step accepted\n";
    return kExitUsage;
  }
  if (!q.eta_min && q.step == "accepted") {
    s.err << "liftguard: accepted needs --eta MIN: minutes until the contractor is on site "
             "(1..240)\n";
    return kExitUsage;
  }
  if (q.cause && q.step != "closed") {
    s.err << "liftguard: --cause goes only with the step closed\n";
    return kExitUsage;
  }
  if (!NeedToken(o, s)) return kExitAuth;
  ApiClient c(o.url, o.token);
  json body{{"step", q.step}};
  if (q.note) body["note"] = *q.note;
  if (q.eta_min) body["eta_min"] = *q.eta_min;
  if (q.cause) body["cause"] = *q.cause;
  ApiReply r;
  int exit = kExitOk;
  if (!Call(c, "/api/v1/incidents/" + std::to_string(q.incident) + "/steps", body, s, r, exit)) {
    return exit;
  }
  if (o.json) {
    PrintRaw(r, s.out);
    return kExitOk;
  }
  if (r.body.contains("steps")) {
    PrintIncident(r.body, s.out);
  } else {
    s.out << "incident " << q.incident << ": " << q.step << " recorded\n";
  }
  return kExitOk;
}

}  // namespace lg::cli
