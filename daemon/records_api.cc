#include "daemon/records_api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/rfc3339.h"

namespace lg {

using json = nlohmann::json;
using auth::Role;

namespace {

// ---- replies -------------------------------------------------------------------

struct Reply {
  int status = 200;
  json body;
};

Reply Err(int status, const std::string& code, const std::string& message) {
  return {status, json{{"error", {{"code", code}, {"message", message}}}}};
}

int StatusFor(const Error& e) {
  const std::string& c = e.code;
  if (c == "not_found") return 404;
  if (c == "forbidden") return 403;
  if (c == "confirmed" || c == "already_confirmed" || c == "retention" || c == "amended" ||
      c == "superseded" || c == "already_closed" || c == "not_confirmed" || c == "exists" ||
      c == "not_planned") {
    return 409;
  }
  if (c == "database" || e.recoverable) return 503;
  return 400;
}

Reply FromError(const Error& e) { return Err(StatusFor(e), e.code, e.message); }

// ---- request bodies --------------------------------------------------------------

enum class Kind { kString, kInt, kObjects, kStrings };

struct Field {
  const char* name;
  Kind kind;
  bool required;
  std::vector<Field> fields = {};  // kObjects: each element's fields
};

std::string KindText(Kind k) {
  switch (k) {
    case Kind::kString:
      return "a string";
    case Kind::kInt:
      return "an integer";
    case Kind::kObjects:
      return "an array of objects";
    case Kind::kStrings:
      return "an array of strings";
  }
  return "?";
}

bool Matches(const json& v, Kind k) {
  switch (k) {
    case Kind::kString:
      return v.is_string();
    case Kind::kInt:
      return v.is_number_integer();
    case Kind::kObjects:
    case Kind::kStrings:
      return v.is_array();
  }
  return false;
}

// Checks `obj` against `fields`; `where` prefixes the field names in
// messages ("items[2].").
std::optional<Reply> Check(const json& obj, const std::vector<Field>& fields,
                           const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const Field* spec = nullptr;
    for (const auto& f : fields) {
      if (it.key() == f.name) spec = &f;
    }
    if (!spec) {
      std::string known;
      for (const auto& f : fields) known += std::string(known.empty() ? "" : ", ") + f.name;
      return Err(400, "unknown_field",
                 "unknown field \"" + where + it.key() + "\"; " +
                     (where.empty() ? "this call"
                                    : "each " + where.substr(0, where.find('[')) + " element") +
                     " takes: " + known);
    }
    if (!Matches(*it, spec->kind)) {
      return Err(400, "wrong_type",
                 "field \"" + where + it.key() + "\" must be " + KindText(spec->kind));
    }
    if (spec->kind == Kind::kStrings) {
      for (size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) {
          return Err(
              400, "wrong_type",
              "field \"" + where + it.key() + "[" + std::to_string(i) + "]\" must be a string");
        }
      }
    }
    if (spec->kind == Kind::kObjects) {
      for (size_t i = 0; i < it->size(); ++i) {
        std::string inner = where + it.key() + "[" + std::to_string(i) + "]";
        if (!(*it)[i].is_object()) {
          return Err(400, "wrong_type", "field \"" + inner + "\" must be an object");
        }
        if (auto bad = Check((*it)[i], spec->fields, inner + ".")) return bad;
      }
    }
  }
  for (const auto& f : fields) {
    if (f.required && !obj.contains(f.name)) {
      return Err(400, "missing_field", std::string("field \"") + where + f.name + "\" is required");
    }
  }
  return std::nullopt;
}

std::optional<Reply> ParseBody(const std::string& text, const std::vector<Field>& fields,
                               json& out) {
  out = json::parse(text.empty() ? "{}" : text, nullptr, false);
  if (out.is_discarded()) {
    return Err(400, "invalid_json", "the request body is not valid JSON; send a JSON object");
  }
  if (!out.is_object()) {
    return Err(400, "invalid_json", "the request body must be a JSON object");
  }
  return Check(out, fields, "");
}

std::string Str(const json& j, const char* key) {
  return j.contains(key) ? j[key].get<std::string>() : std::string();
}

std::optional<int64_t> Int(const json& j, const char* key) {
  if (!j.contains(key)) return std::nullopt;
  return j[key].get<int64_t>();
}

// A date field, or the 400 that names it.
std::optional<Reply> DateField(const json& j, const char* key, std::optional<rules::Date>& out) {
  if (!j.contains(key)) return std::nullopt;
  auto d = rules::ParseDate(j[key].get<std::string>());
  if (!d.ok()) {
    return Err(400, "bad_field", std::string("field \"") + key + "\": " + d.error().message);
  }
  out = *d;
  return std::nullopt;
}

std::optional<Reply> InstantField(const json& j, const char* key, WallTime& out) {
  auto t = ParseRfc3339(j[key].get<std::string>());
  if (!t) {
    return Err(400, "bad_field",
               std::string("field \"") + key +
                   "\" must be an RFC 3339 time with its offset, e.g. 2026-11-22T09:30:00+08:00");
  }
  out = *t;
  return std::nullopt;
}

std::optional<int64_t> ParseId(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

// ---- query parameters ------------------------------------------------------------

std::optional<Reply> OnlyParameters(const RecordsRequest& r,
                                    std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : r.query) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || k == a;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    if (!ok) {
      return Err(400, "unknown_parameter",
                 "unknown parameter \"" + k + "\"; use " + (list.empty() ? "none" : list));
    }
  }
  return std::nullopt;
}

std::string Param(const RecordsRequest& r, const char* key) {
  auto it = r.query.find(key);
  return it == r.query.end() ? std::string() : it->second;
}

// The common list filter: elevator, kind, state, from, to, limit.
std::optional<Reply> FilterOf(const RecordsRequest& r, db::RecordFilter& f) {
  f.elevator = Param(r, "elevator");
  f.kind = Param(r, "kind");
  f.state = Param(r, "state");
  for (const char* key : {"from", "to"}) {
    std::string v = Param(r, key);
    if (v.empty()) continue;
    auto d = rules::ParseDate(v);
    if (!d.ok()) {
      return Err(400, "bad_parameter",
                 std::string("parameter \"") + key + "\": " + d.error().message);
    }
    (std::string(key) == "from" ? f.from : f.to) = rules::FormatDate(*d);
  }
  if (r.query.count("limit")) {
    auto l = ParseId(Param(r, "limit"));
    if (!l || *l > 10000) return Err(400, "bad_parameter", "limit must be 1..10000");
    f.limit = static_cast<int>(*l);
  }
  return std::nullopt;
}

// ---- JSON of records -------------------------------------------------------------

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json OrNull(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json OrNull(const std::optional<rules::Date>& d) {
  return d ? json(rules::FormatDate(*d)) : json(nullptr);
}

json MaintenanceJson(const db::MaintenanceRow& m) {
  json techs = json::array(), items = json::array(), parts = json::array();
  for (const auto& t : m.technicians) {
    techs.push_back(
        {{"name", t.name}, {"certificate", t.certificate}, {"person_id", OrNull(t.person_id)}});
  }
  for (const auto& i : m.items) {
    items.push_back({{"item", i.item}, {"result", i.result}, {"note", i.note}});
  }
  for (const auto& p : m.parts) {
    parts.push_back({{"name", p.name}, {"quantity", p.quantity}, {"note", p.note}});
  }
  return {{"id", m.id},
          {"elevator", m.elevator},
          {"kind", m.kind},
          {"contractor", m.contractor},
          {"started_at", m.started_at},
          {"ended_at", m.ended_at},
          {"date", m.local_date},
          {"technicians", std::move(techs)},
          {"items", std::move(items)},
          {"parts", std::move(parts)},
          {"findings", m.findings},
          {"alarm_id", OrNull(m.alarm_id)},
          {"incident_id", OrNull(m.incident_id)},
          {"amends", OrNull(m.amends)},
          {"amended_by", OrNull(m.amended_by)},
          {"confirmed", !m.confirmed_by.empty()},
          {"confirmed_by", OrNull(m.confirmed_by)},
          {"confirmed_at", OrNull(m.confirmed_at)},
          {"created_by", m.created_by},
          {"created_at", m.created_at},
          {"updated_at", m.updated_at}};
}

json InspectionJson(const db::InspectionRow& i) {
  json items = json::array();
  for (const auto& x : i.items) items.push_back({{"item", x.item}, {"note", x.note}});
  return {{"id", i.id},
          {"elevator", i.elevator},
          {"kind", i.kind},
          {"state", i.state},
          {"agreed_date", OrNull(i.agreed_on)},
          {"date", OrNull(i.done_on)},
          {"result", OrNull(i.result)},
          {"items", std::move(items)},
          {"next_due", OrNull(i.next_due)},
          {"agency", i.agency},
          {"report_number", i.report_number},
          {"note", i.note},
          {"created_by", i.created_by},
          {"created_at", i.created_at},
          {"updated_at", i.updated_at}};
}

json RectificationJson(const db::RectificationRow& r) {
  return {{"id", r.id},
          {"elevator", r.elevator},
          {"inspection_id", OrNull(r.inspection_id)},
          {"item", r.item},
          {"note", r.note},
          {"due", OrNull(r.due_on)},
          {"state", r.state},
          {"opened_at", r.opened_at},
          {"opened_by", r.opened_by},
          {"closed_at", OrNull(r.closed_at)},
          {"closed_by", OrNull(r.closed_by)},
          {"close_note", r.close_note}};
}

json DrillJson(const db::DrillRow& d) {
  return {{"id", d.id},
          {"party", d.party},
          {"contractor", OrNull(d.contractor)},
          {"date", d.held_on},
          {"elevators", d.elevators},
          {"participants", d.participants},
          {"scenario", d.scenario},
          {"duration_min", d.duration_min},
          {"findings", d.findings},
          {"created_by", d.created_by},
          {"created_at", d.created_at}};
}

// ---- the calls ---------------------------------------------------------------------

const std::vector<Field>& MaintenanceFields() {
  static const std::vector<Field> f = {
      {"elevator", Kind::kString, true},
      {"kind", Kind::kString, true},
      {"contractor", Kind::kString, false},
      {"started_at", Kind::kString, true},
      {"ended_at", Kind::kString, true},
      {"technicians",
       Kind::kObjects,
       true,
       {{"name", Kind::kString, false}, {"certificate", Kind::kString, true}}},
      {"items",
       Kind::kObjects,
       false,
       {{"item", Kind::kString, true},
        {"result", Kind::kString, true},
        {"note", Kind::kString, false}}},
      {"parts",
       Kind::kObjects,
       false,
       {{"name", Kind::kString, true},
        {"quantity", Kind::kInt, false},
        {"note", Kind::kString, false}}},
      {"findings", Kind::kString, false},
      {"alarm_id", Kind::kInt, false},
      {"incident_id", Kind::kInt, false},
  };
  return f;
}

std::optional<Reply> MaintenanceFrom(const std::string& body, MaintenanceInput& in) {
  json j;
  if (auto bad = ParseBody(body, MaintenanceFields(), j)) return bad;
  in.elevator = Str(j, "elevator");
  in.kind = Str(j, "kind");
  in.contractor = Str(j, "contractor");
  if (auto bad = InstantField(j, "started_at", in.started_at)) return bad;
  if (auto bad = InstantField(j, "ended_at", in.ended_at)) return bad;
  for (const auto& t : j["technicians"]) {
    in.technicians.push_back({Str(t, "name"), Str(t, "certificate"), std::nullopt});
  }
  if (j.contains("items")) {
    for (const auto& i : j["items"]) {
      in.items.push_back({Str(i, "item"), Str(i, "result"), Str(i, "note")});
    }
  }
  if (j.contains("parts")) {
    for (const auto& p : j["parts"]) {
      in.parts.push_back({Str(p, "name"), Int(p, "quantity").value_or(1), Str(p, "note")});
    }
  }
  in.findings = Str(j, "findings");
  in.alarm_id = Int(j, "alarm_id");
  in.incident_id = Int(j, "incident_id");
  return std::nullopt;
}

std::string MaintenanceWhat(const MaintenanceInput& in) {
  return in.kind + " on " + in.elevator + " " + db::FormatTime(in.started_at);
}

struct Ctx {
  RecordsService& s;
  const RecordsRequest& r;
  std::string& detail;
};

Reply Maintenance(Ctx c) {
  const auth::User& u = c.r.user;
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {"elevator", "kind", "state", "from", "to", "limit"})) {
      return *bad;
    }
    db::RecordFilter f;
    if (auto bad = FilterOf(c.r, f)) return *bad;
    if (!f.state.empty() && f.state != "confirmed" && f.state != "unconfirmed") {
      return Err(400, "bad_parameter", "state must be confirmed or unconfirmed");
    }
    auto rows = c.s.ListMaintenance(u, f);
    if (!rows.ok()) return FromError(rows.error());
    json list = json::array();
    for (const auto& m : *rows) list.push_back(MaintenanceJson(m));
    return {200, {{"records", std::move(list)}}};
  }
  MaintenanceInput in;
  if (auto bad = MaintenanceFrom(c.r.body, in)) return *bad;
  c.detail = "maintenance " + MaintenanceWhat(in);
  auto row = c.s.AddMaintenance(u, in);
  if (!row.ok()) return FromError(row.error());
  c.detail = "maintenance " + std::to_string(row->id) + ": " + MaintenanceWhat(in);
  return {201, MaintenanceJson(*row)};
}

Reply MaintenanceDue(Ctx c) {
  if (auto bad = OnlyParameters(c.r, {"elevator", "state"})) return *bad;
  std::string state = Param(c.r, "state");
  if (!state.empty() && state != "ok" && state != "due_soon" && state != "overdue") {
    return Err(400, "bad_parameter", "state must be ok, due_soon or overdue");
  }
  auto rows = c.s.MaintenanceDue(c.r.user, Param(c.r, "elevator"));
  if (!rows.ok()) return FromError(rows.error());
  json list = json::array();
  for (const auto& d : *rows) {
    std::string st(rules::DueStateName(d.due.state));
    if (!state.empty() && st != state) continue;
    list.push_back({{"elevator", d.elevator},
                    {"kind", std::string(rules::MaintenanceKindName(d.kind))},
                    {"last", OrNull(d.last)},
                    {"last_record_id", d.last_record_id ? json(d.last_record_id) : json(nullptr)},
                    {"counted_from", d.counted_from},
                    {"due", OrNull(d.due.due)},
                    {"days_left", d.due.due ? json(d.due.days_left) : json(nullptr)},
                    {"state", st}});
  }
  return {200, {{"today", rules::FormatDate(c.s.Today())}, {"due", std::move(list)}}};
}

Reply MaintenanceOne(Ctx c, int64_t id, const std::string& action) {
  const auth::User& u = c.r.user;
  const std::string what = "maintenance " + std::to_string(id);
  if (action == "confirm") {
    c.detail = what + ": confirm";
    json j;
    if (auto bad = ParseBody(c.r.body, {}, j)) return *bad;
    auto row = c.s.ConfirmMaintenance(u, id);
    if (!row.ok()) return FromError(row.error());
    return {200, MaintenanceJson(*row)};
  }
  if (action == "amend") {
    c.detail = what + ": amend";
    MaintenanceInput in;
    if (auto bad = MaintenanceFrom(c.r.body, in)) return *bad;
    auto row = c.s.AmendMaintenance(u, id, in);
    if (!row.ok()) return FromError(row.error());
    c.detail = "maintenance " + std::to_string(row->id) + " amends " + std::to_string(id) + ": " +
               MaintenanceWhat(in);
    return {201, MaintenanceJson(*row)};
  }
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {})) return *bad;
    auto row = c.s.GetMaintenance(u, id);
    if (!row.ok()) return FromError(row.error());
    return {200, MaintenanceJson(*row)};
  }
  if (c.r.method == "PUT") {
    c.detail = what + ": edit";
    MaintenanceInput in;
    if (auto bad = MaintenanceFrom(c.r.body, in)) return *bad;
    auto row = c.s.EditMaintenance(u, id, in);
    if (!row.ok()) return FromError(row.error());
    c.detail = what + ": edit: " + MaintenanceWhat(in);
    return {200, MaintenanceJson(*row)};
  }
  c.detail = what + ": delete";
  Status st = c.s.DeleteMaintenance(u, id);
  if (!st) return FromError(st.error());
  return {200, {{"deleted", id}}};
}

Reply Inspections(Ctx c) {
  const auth::User& u = c.r.user;
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {"elevator", "kind", "state", "from", "to", "limit"})) {
      return *bad;
    }
    db::RecordFilter f;
    if (auto bad = FilterOf(c.r, f)) return *bad;
    auto rows = c.s.ListInspections(u, f);
    if (!rows.ok()) return FromError(rows.error());
    json list = json::array();
    for (const auto& i : *rows) list.push_back(InspectionJson(i));
    return {200, {{"inspections", std::move(list)}}};
  }
  json j;
  if (auto bad = ParseBody(c.r.body,
                           {{"elevator", Kind::kString, true},
                            {"kind", Kind::kString, false},
                            {"state", Kind::kString, true},
                            {"agreed_date", Kind::kString, false},
                            {"date", Kind::kString, false},
                            {"result", Kind::kString, false},
                            {"items",
                             Kind::kObjects,
                             false,
                             {{"item", Kind::kString, true}, {"note", Kind::kString, false}}},
                            {"next_due", Kind::kString, false},
                            {"rectify_by", Kind::kString, false},
                            {"agency", Kind::kString, false},
                            {"report_number", Kind::kString, false},
                            {"note", Kind::kString, false}},
                           j)) {
    return *bad;
  }
  InspectionInput in;
  in.elevator = Str(j, "elevator");
  in.kind = Str(j, "kind");
  in.state = Str(j, "state");
  in.result = Str(j, "result");
  in.agency = Str(j, "agency");
  in.report_number = Str(j, "report_number");
  in.note = Str(j, "note");
  for (auto [key, out] :
       {std::pair<const char*, std::optional<rules::Date>*>{"agreed_date", &in.agreed_date},
        {"date", &in.date},
        {"next_due", &in.next_due},
        {"rectify_by", &in.rectify_by}}) {
    if (auto bad = DateField(j, key, *out)) return *bad;
  }
  if (j.contains("items")) {
    for (const auto& i : j["items"]) in.items.push_back({Str(i, "item"), Str(i, "note")});
  }
  c.detail =
      "inspection on " + in.elevator + ": " + in.state + (in.result.empty() ? "" : " " + in.result);
  auto row = c.s.AddInspection(u, in);
  if (!row.ok()) return FromError(row.error());
  c.detail = "inspection " + std::to_string(row->id) + " on " + in.elevator + ": " + row->state +
             (row->result.empty() ? " " + row->agreed_on
                                  : " " + row->done_on + " " + row->result + ", " +
                                        std::to_string(row->items.size()) + " items");
  json out = InspectionJson(*row);
  return {201, out};
}

Reply Plan(Ctx c) {
  if (auto bad = OnlyParameters(c.r, {"elevator", "days"})) return *bad;
  int days = 365;
  if (c.r.query.count("days")) {
    auto d = ParseId(Param(c.r, "days"));
    if (!d || *d > 3660) return Err(400, "bad_parameter", "days must be 1..3660");
    days = static_cast<int>(*d);
  }
  auto rows = c.s.Plan(c.r.user, Param(c.r, "elevator"), days);
  if (!rows.ok()) return FromError(rows.error());
  json list = json::array();
  for (const auto& p : *rows) {
    json items = json::array();
    for (const auto& it : p.items) {
      items.push_back({{"year", it.year},
                       {"kind", std::string(rules::CheckKindName(it.kind))},
                       {"due", rules::FormatDate(it.due)},
                       {"window_start", rules::FormatDate(it.window_start)},
                       {"state", std::string(rules::PlanStateName(it.state))},
                       {"agreed_date", OrNull(it.agreed)},
                       {"done_on", OrNull(it.done_on)}});
    }
    list.push_back({{"elevator", p.elevator},
                    {"name", p.name},
                    {"first_use", OrNull(p.first_use)},
                    {"mark_expires", OrNull(p.mark_expires)},
                    {"next_due", OrNull(p.next_due)},
                    {"planned_id", OrNull(p.planned_id)},
                    {"items", std::move(items)},
                    {"note", p.note}});
  }
  return {200, {{"today", rules::FormatDate(c.s.Today())}, {"days", days}, {"plan", list}}};
}

Reply Rectifications(Ctx c) {
  const auth::User& u = c.r.user;
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {"elevator", "state", "limit"})) return *bad;
    db::RecordFilter f;
    if (auto bad = FilterOf(c.r, f)) return *bad;
    if (f.state.empty()) f.state = "open";
    if (f.state == "all") f.state.clear();
    if (!f.state.empty() && f.state != "open" && f.state != "closed") {
      return Err(400, "bad_parameter", "state must be open, closed or all");
    }
    auto rows = c.s.ListRectifications(u, f);
    if (!rows.ok()) return FromError(rows.error());
    json list = json::array();
    for (const auto& r : *rows) list.push_back(RectificationJson(r));
    return {200, {{"rectifications", std::move(list)}}};
  }
  json j;
  if (auto bad = ParseBody(c.r.body,
                           {{"elevator", Kind::kString, true},
                            {"item", Kind::kString, true},
                            {"note", Kind::kString, false},
                            {"due", Kind::kString, false},
                            {"inspection_id", Kind::kInt, false}},
                           j)) {
    return *bad;
  }
  RectificationInput in;
  in.elevator = Str(j, "elevator");
  in.item = Str(j, "item");
  in.note = Str(j, "note");
  in.inspection_id = Int(j, "inspection_id");
  if (auto bad = DateField(j, "due", in.due)) return *bad;
  c.detail = "rectification on " + in.elevator + ": " + in.item;
  auto row = c.s.AddRectification(u, in);
  if (!row.ok()) return FromError(row.error());
  c.detail = "rectification " + std::to_string(row->id) + " on " + in.elevator + ": " + in.item;
  return {201, RectificationJson(*row)};
}

Reply CloseRectification(Ctx c, int64_t id) {
  c.detail = "rectification " + std::to_string(id) + ": close";
  json j;
  if (auto bad = ParseBody(c.r.body, {{"note", Kind::kString, true}}, j)) return *bad;
  std::string note = Str(j, "note");
  c.detail += ": " + note;
  auto row = c.s.CloseRectification(c.r.user, id, note);
  if (!row.ok()) return FromError(row.error());
  return {200, RectificationJson(*row)};
}

Reply Certificates(Ctx c) {
  const auth::User& u = c.r.user;
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {"kind", "elevator", "state"})) return *bad;
    std::string kind = Param(c.r, "kind"), state = Param(c.r, "state");
    if (!kind.empty() && kind != "personnel" && kind != "use_registration" &&
        kind != "inspection_mark") {
      return Err(400, "bad_parameter",
                 "kind must be personnel, use_registration or inspection_mark");
    }
    if (!state.empty() && state != "valid" && state != "expiring" && state != "expired") {
      return Err(400, "bad_parameter", "state must be valid, expiring or expired");
    }
    json people = json::array(), elevators = json::array();
    if (kind.empty() || kind == "personnel") {
      auto rows = c.s.ListPersonnelCertificates(u);
      if (!rows.ok()) return FromError(rows.error());
      for (const auto& v : *rows) {
        std::string st(rules::CertStateName(v.status.state));
        if (!state.empty() && st != state) continue;
        people.push_back({{"id", v.row.id},
                          {"kind", "personnel"},
                          {"holder_id", v.row.person_id},
                          {"holder", v.row.person_name},
                          {"holder_contractor", OrNull(v.row.person_contractor)},
                          {"holder_active", v.row.person_active},
                          {"category", v.row.category},
                          {"number", v.row.number},
                          {"issued", v.row.issued_on},
                          {"expires", v.row.expires_on},
                          {"state", st},
                          {"days_left", v.status.days_left},
                          {"current", v.current},
                          {"created_by", v.row.created_by},
                          {"created_at", v.row.created_at}});
      }
    }
    if (kind != "personnel" && state.empty()) {
      db::RecordFilter f;
      f.elevator = Param(c.r, "elevator");
      f.kind = kind;
      auto rows = c.s.ListElevatorCertificates(u, f);
      if (!rows.ok()) return FromError(rows.error());
      const rules::Date today = c.s.Today();
      for (const auto& e : *rows) {
        json j = {{"id", e.id},
                  {"kind", e.kind},
                  {"elevator", e.elevator},
                  {"number", e.number},
                  {"registration_code", e.registration_code},
                  {"issued", OrNull(e.issued_on)},
                  {"expires", OrNull(e.expires_on)},
                  {"note", e.note},
                  {"created_by", e.created_by},
                  {"created_at", e.created_at}};
        if (auto exp = rules::ParseDate(e.expires_on); exp.ok()) {
          j["days_left"] = rules::DaysBetween(today, *exp);
        }
        elevators.push_back(std::move(j));
      }
    }
    return {200,
            {{"today", rules::FormatDate(c.s.Today())},
             {"personnel", std::move(people)},
             {"elevators", std::move(elevators)}}};
  }
  json j;
  if (auto bad = ParseBody(c.r.body,
                           {{"kind", Kind::kString, true},
                            {"holder_id", Kind::kInt, false},
                            {"holder", Kind::kString, false},
                            {"holder_contractor", Kind::kString, false},
                            {"holder_role", Kind::kString, false},
                            {"category", Kind::kString, false},
                            {"number", Kind::kString, false},
                            {"issued", Kind::kString, false},
                            {"elevator", Kind::kString, false},
                            {"registration_code", Kind::kString, false},
                            {"expires", Kind::kString, false},
                            {"note", Kind::kString, false}},
                           j)) {
    return *bad;
  }
  CertificateInput in;
  in.kind = Str(j, "kind");
  in.holder_id = Int(j, "holder_id");
  in.holder = Str(j, "holder");
  in.holder_contractor = Str(j, "holder_contractor");
  in.holder_role = Str(j, "holder_role");
  in.category = Str(j, "category");
  in.number = Str(j, "number");
  in.elevator = Str(j, "elevator");
  in.registration_code = Str(j, "registration_code");
  in.note = Str(j, "note");
  if (auto bad = DateField(j, "issued", in.issued)) return *bad;
  if (auto bad = DateField(j, "expires", in.expires)) return *bad;
  std::string who =
      in.kind == "personnel"
          ? (in.holder.empty() && in.holder_id ? "#" + std::to_string(*in.holder_id) : in.holder)
          : in.elevator;
  c.detail = "certificate " + in.kind + " " + in.number + " of " + who;
  auto id = c.s.AddCertificate(u, in);
  if (!id.ok()) return FromError(id.error());
  c.detail = "certificate " + std::to_string(*id) + ": " + in.kind + " " + in.number + " of " + who;
  json out = {{"id", *id}, {"kind", in.kind}, {"number", in.number}};
  if (in.kind == "personnel" && in.issued) {
    auto st = rules::CertificateStatus(*in.issued, c.s.Today());
    out["expires"] = rules::FormatDate(st.expires);
    out["state"] = std::string(rules::CertStateName(st.state));
    out["days_left"] = st.days_left;
  } else if (in.expires) {
    out["expires"] = rules::FormatDate(*in.expires);
  }
  return {201, out};
}

Reply Drills(Ctx c) {
  const auth::User& u = c.r.user;
  if (c.r.method == "GET") {
    if (auto bad = OnlyParameters(c.r, {"party", "contractor", "from", "to", "limit"})) return *bad;
    db::RecordFilter f;
    if (auto bad = FilterOf(c.r, f)) return *bad;
    f.kind = Param(c.r, "party");
    f.contractor = Param(c.r, "contractor");
    auto rows = c.s.ListDrills(u, f);
    if (!rows.ok()) return FromError(rows.error());
    auto due = c.s.DrillsDue(u);
    if (!due.ok()) return FromError(due.error());
    json list = json::array(), dues = json::array();
    for (const auto& d : *rows) list.push_back(DrillJson(d));
    for (const auto& d : *due) {
      dues.push_back({{"party", d.party},
                      {"contractor", OrNull(d.contractor)},
                      {"last", OrNull(d.last)},
                      {"counted_from", d.counted_from},
                      {"due", OrNull(d.due.due)},
                      {"days_left", d.due.due ? json(d.due.days_left) : json(nullptr)},
                      {"state", std::string(rules::DueStateName(d.due.state))}});
    }
    return {200,
            {{"today", rules::FormatDate(c.s.Today())},
             {"drills", std::move(list)},
             {"due", std::move(dues)}}};
  }
  json j;
  if (auto bad = ParseBody(c.r.body,
                           {{"party", Kind::kString, true},
                            {"contractor", Kind::kString, false},
                            {"date", Kind::kString, true},
                            {"elevators", Kind::kStrings, false},
                            {"participants", Kind::kStrings, false},
                            {"scenario", Kind::kString, true},
                            {"duration_min", Kind::kInt, false},
                            {"findings", Kind::kString, false}},
                           j)) {
    return *bad;
  }
  DrillInput in;
  in.party = Str(j, "party");
  in.contractor = Str(j, "contractor");
  if (auto bad = DateField(j, "date", in.date)) return *bad;
  if (j.contains("elevators")) in.elevators = j["elevators"].get<std::vector<std::string>>();
  if (j.contains("participants")) {
    in.participants = j["participants"].get<std::vector<std::string>>();
  }
  in.scenario = Str(j, "scenario");
  in.duration_min = Int(j, "duration_min").value_or(0);
  in.findings = Str(j, "findings");
  c.detail = "drill of " + in.party + (in.contractor.empty() ? "" : " " + in.contractor) + " " +
             Str(j, "date");
  auto row = c.s.AddDrill(u, in);
  if (!row.ok()) return FromError(row.error());
  c.detail = "drill " + std::to_string(row->id) + " of " + in.party +
             (in.contractor.empty() ? "" : " " + in.contractor) + " " + row->held_on;
  return {201, DrillJson(*row)};
}

constexpr std::string_view kPrefix = "/api/v1/";

// "maintenance/12/confirm" -> {"maintenance", "12", "confirm"}
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  path.remove_prefix(kPrefix.size());
  while (!path.empty()) {
    size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.emplace_back();
  }
  return out;
}

RecordsReply Done(Reply r, std::string detail, std::string allow = "") {
  RecordsReply out;
  out.status = r.status;
  out.body = r.body.dump() + "\n";
  out.detail = std::move(detail);
  out.allow = std::move(allow);
  return out;
}

}  // namespace

bool IsRecordsPath(std::string_view path) {
  if (!path.starts_with(kPrefix)) return false;
  std::string_view rest = path.substr(kPrefix.size());
  for (std::string_view top :
       {"maintenance", "inspections", "rectifications", "certificates", "drills"}) {
    if (rest == top ||
        (rest.starts_with(top) && rest.size() > top.size() && rest[top.size()] == '/')) {
      return true;
    }
  }
  return false;
}

RecordsReply HandleRecords(RecordsService* records, const RecordsRequest& req) {
  std::string detail = req.method + " " + req.path;
  auto method = [&](std::initializer_list<const char*> allowed) -> std::optional<RecordsReply> {
    std::string list;
    for (const char* m : allowed) {
      if (req.method == m) return std::nullopt;
      list += std::string(list.empty() ? "" : ", ") + m;
    }
    return Done(Err(405, "method_not_allowed", "use " + list + " here"), detail, list);
  };
  auto seg = Segments(req.path);
  auto not_found = [&] {
    return Done(Err(404, "not_found", "there is no API call " + req.path), detail);
  };
  if (seg.empty() || seg.size() > 3) return not_found();
  if (!records) {
    return Done(Err(503, "unavailable", "the records are not running"), detail);
  }
  try {
    Ctx c{*records, req, detail};
    const std::string& top = seg[0];
    if (seg.size() == 1) {
      if (auto bad = method({"GET", "POST"})) return *bad;
      if (top == "maintenance") return Done(Maintenance(c), detail);
      if (top == "inspections") return Done(Inspections(c), detail);
      if (top == "rectifications") return Done(Rectifications(c), detail);
      if (top == "certificates") return Done(Certificates(c), detail);
      if (top == "drills") return Done(Drills(c), detail);
      return not_found();
    }
    if (seg.size() == 2 && top == "maintenance" && seg[1] == "due") {
      if (auto bad = method({"GET"})) return *bad;
      return Done(MaintenanceDue(c), detail);
    }
    if (seg.size() == 2 && top == "inspections" && seg[1] == "plan") {
      if (auto bad = method({"GET"})) return *bad;
      return Done(Plan(c), detail);
    }
    auto id = ParseId(seg[1]);
    std::string action = seg.size() == 3 ? seg[2] : "";
    if (top == "maintenance" && (action.empty() || action == "confirm" || action == "amend")) {
      if (auto bad = action.empty() ? method({"GET", "PUT", "DELETE"}) : method({"POST"})) {
        return *bad;
      }
      if (!id) {
        return Done(
            Err(404, "not_found",
                "maintenance record ids are positive integers; there is no record " + seg[1]),
            detail);
      }
      return Done(MaintenanceOne(c, *id, action), detail);
    }
    if (top == "rectifications" && action == "close") {
      if (auto bad = method({"POST"})) return *bad;
      if (!id) {
        return Done(
            Err(404, "not_found",
                "rectification ids are positive integers; there is no rectification " + seg[1]),
            detail);
      }
      return Done(CloseRectification(c, *id), detail);
    }
    return not_found();
  } catch (const std::exception& e) {
    spdlog::error("records api: {} {}: {}", req.method, req.path, e.what());
    return Done(Err(500, "internal", "internal error; see the log"), detail);
  }
}

}  // namespace lg
