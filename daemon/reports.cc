#include "daemon/reports.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>

#include "daemon/csv.h"
#include "db/database.h"
#include "db/incident_store.h"
#include "db/records_store.h"
#include "rules/incident.h"

namespace lg::reports {
namespace {

namespace chr = std::chrono;
using json = nlohmann::json;
using rules::Date;

constexpr int kExpiringDays = rules::kCertificateExpiringDays;  // 90

constexpr rules::MaintenanceKind kPeriodic[] = {
    rules::MaintenanceKind::kHalfMonthly, rules::MaintenanceKind::kQuarterly,
    rules::MaintenanceKind::kHalfYearly, rules::MaintenanceKind::kAnnual};

constexpr const char* kTargetLabels[3] = {"response", "acceptance", "arrival"};

std::optional<Date> ParseD(const std::string& s) {
  if (s.empty()) return std::nullopt;
  auto d = rules::ParseDate(s);
  if (!d.ok()) return std::nullopt;
  return *d;
}

Date FirstOfMonth(Date d) { return Date{d.year(), d.month(), chr::day(1)}; }

std::string MonthText(Date d) { return rules::FormatDate(d).substr(0, 7); }

// 1 decimal, rounded half away from zero.
double Pct(int64_t part, int64_t whole) {
  return std::round(1000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 10.0;
}

std::optional<rules::Incident> ToIncident(const db::IncidentRow& r) {
  rules::Incident inc;
  inc.id = r.id;
  inc.elevator = r.elevator;
  inc.alarm_id = r.alarm_id;
  inc.targets.acknowledged_min = static_cast<int>(r.acknowledged_target_min);
  inc.targets.accepted_min = static_cast<int>(r.accepted_target_min);
  inc.targets.on_site_min = static_cast<int>(r.on_site_target_min);
  for (const auto& s : r.steps) {
    auto step = rules::IncidentStepFromName(s.step);
    auto at = db::ParseTime(s.at);
    if (!step || !at) return std::nullopt;
    inc.steps.push_back({*step, *at, s.who, s.note});
  }
  if (!inc.Has(rules::IncidentStep::kOpen)) return std::nullopt;
  return inc;
}

// The name shown for an alarm's subject.
struct Names {
  std::map<std::string, std::string> elevators;
  std::map<std::string, std::string> people;  // "person:ID" -> name
  std::map<std::string, std::string> contractors;

  std::string Of(const std::string& subject) const {
    if (auto it = elevators.find(subject); it != elevators.end()) return it->second;
    if (auto it = people.find(subject); it != people.end()) return it->second;
    if (subject.starts_with("contractor:")) {
      std::string id = subject.substr(11);
      auto it = contractors.find(id);
      return "contractor " + (it != contractors.end() && !it->second.empty() ? it->second : id);
    }
    if (subject == "unit:site") return "user unit";
    if (subject.starts_with("channel:")) return "notification channel " + subject.substr(8);
    return subject;
  }
};

// ---- the figures ---------------------------------------------------------------

void CountAlarms(SQLite::Database& r, const Period& p, const Options& o, const Names& names,
                 Report& out) {
  const Date chart_first = rules::AddMonths(FirstOfMonth(p.to), -11);
  const std::string lo = db::FormatTime(o.site_time.At(p.from, 0));
  const std::string hi = db::FormatTime(o.site_time.At(rules::AddDays(p.to, 1), 0));
  const std::string chart_lo = db::FormatTime(o.site_time.At(chart_first, 0));
  std::vector<std::string> months;
  for (int i = 0; i < 12; ++i) months.push_back(MonthText(rules::AddMonths(chart_first, i)));
  std::map<std::string, int64_t> per_month;

  std::map<std::pair<std::string, std::string>, TypeCount> by_type;
  std::map<std::string, SubjectCount> by_subject;
  SQLite::Statement q(r,
                      "SELECT type, severity, elevator, raised_at, suppressed_by FROM alarms "
                      "WHERE raised_at >= ? AND raised_at < ?");
  q.bind(1, std::min(lo, chart_lo));
  q.bind(2, hi);
  while (q.executeStep()) {
    std::string type = q.getColumn(0).getString();
    std::string severity = q.getColumn(1).getString();
    std::string subject = q.getColumn(2).getString();
    std::string raised = q.getColumn(3).getString();
    bool suppressed = !q.getColumn(4).getString().empty();
    if (raised >= chart_lo) {
      if (auto t = db::ParseTime(raised)) {
        ++per_month[MonthText(o.site_time.LocalDate(*t))];
      }
    }
    if (raised < lo) continue;
    ++out.alarms_total;
    auto& t = by_type[{type, severity}];
    t.type = type;
    t.severity = severity;
    ++t.count;
    if (suppressed) ++t.suppressed;
    auto& s = by_subject[subject];
    s.subject = subject;
    ++s.total;
    if (severity == "critical") ++s.critical;
    if (severity == "major") ++s.major;
    if (severity == "minor") ++s.minor;
  }
  for (const auto& m : months) out.alarms_per_month.push_back({m, per_month[m]});
  for (auto& [k, t] : by_type) out.alarms_by_type.push_back(t);
  std::stable_sort(out.alarms_by_type.begin(), out.alarms_by_type.end(),
                   [](const TypeCount& a, const TypeCount& b) { return a.count > b.count; });
  // Every configured car, in the configuration's order (a quiet car is worth
  // seeing too), then whatever else raised alarms.
  for (const auto& e : o.elevators) {
    SubjectCount s = by_subject.count(e.id) ? by_subject[e.id] : SubjectCount{};
    s.subject = e.id;
    s.name = e.name;
    out.alarms_by_subject.push_back(s);
    by_subject.erase(e.id);
  }
  for (auto& [id, s] : by_subject) {
    s.name = names.Of(id);
    out.alarms_by_subject.push_back(s);
  }
}

Status CountEntrapments(SQLite::Database& r, const Period& p, const Options& o, const Names& names,
                        Report& out) {
  const std::string lo = db::FormatTime(o.site_time.At(p.from, 0));
  const std::string hi = db::FormatTime(o.site_time.At(rules::AddDays(p.to, 1), 0));
  std::vector<int64_t> ids;
  SQLite::Statement q(r,
                      "SELECT id FROM incidents WHERE opened_at >= ? AND opened_at < ? ORDER BY "
                      "opened_at, id");
  q.bind(1, lo);
  q.bind(2, hi);
  while (q.executeStep()) ids.push_back(q.getColumn(0).getInt64());

  out.targets.resize(3);
  int64_t sum[3] = {0, 0, 0}, reached[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    out.targets[k].step = std::string(rules::IncidentStepName(rules::kTargetSteps[k]));
    out.targets[k].label = kTargetLabels[k];
  }
  for (int64_t id : ids) {
    auto row = db::IncidentStore::Get(r, id);
    if (!row.ok()) return row.error();
    if (!*row) continue;
    if ((*row)->state == "false_alarm") {
      ++out.false_alarms;
      continue;
    }
    auto inc = ToIncident(**row);
    if (!inc) continue;  // a damaged row: the incident views say so; it cannot be measured
    ++out.entrapments;
    if ((*row)->state == "open") ++out.open_incidents;
    Entrapment e;
    e.id = id;
    e.elevator = (*row)->elevator;
    e.name = names.Of(e.elevator);
    e.opened_at = (*row)->opened_at;
    e.state = (*row)->state;
    auto timings = rules::Timings(*inc, o.now);
    for (int k = 0; k < 3 && k < static_cast<int>(timings.size()); ++k) {
      const auto& t = timings[k];
      auto& share = out.targets[k];
      e.elapsed_s[k] = t.elapsed_s;
      e.target_min[k] = t.target_min;
      if (t.over) {
        ++share.missed;
        e.over.push_back(share.step);
      } else if (t.elapsed_s) {
        ++share.within;
      } else {
        ++share.pending;
      }
      if (t.elapsed_s) {
        sum[k] += *t.elapsed_s;
        ++reached[k];
        share.max_s = std::max(share.max_s.value_or(0), *t.elapsed_s);
      }
    }
    out.incidents.push_back(std::move(e));
  }
  for (int k = 0; k < 3; ++k) {
    auto& s = out.targets[k];
    if (s.within + s.missed > 0) s.within_pct = Pct(s.within, s.within + s.missed);
    if (reached[k] > 0) {
      s.mean_s = std::llround(static_cast<double>(sum[k]) / static_cast<double>(reached[k]));
    }
  }
  return Status::Ok();
}

// The day a kind's clock starts on `d` when no record came before it: the
// start of the contract in force that day, else the day records began.
std::optional<Date> BaselineOn(const std::vector<db::AssignmentRow>& assignments,
                               std::optional<Date> records_since, Date d) {
  std::optional<Date> start;
  bool covered = false;
  for (const auto& a : assignments) {
    auto s = ParseD(a.starts_on);
    auto e = ParseD(a.ends_on);
    if ((!s || rules::DaysBetween(*s, d) >= 0) && (!e || rules::DaysBetween(d, *e) >= 0)) {
      covered = true;
      start = s;  // assignments come by start: the latest covering one wins
    }
  }
  if (covered && start) return start;
  if (records_since && rules::DaysBetween(*records_since, d) >= 0) return records_since;
  return std::nullopt;
}

Status CountMaintenance(SQLite::Database& r, const Period& p, const Options& o, const Names& names,
                        Report& out) {
  const Date today = o.site_time.LocalDate(o.now);
  std::vector<std::string> elevators;
  for (const auto& e : o.elevators) elevators.push_back(e.id);
  // Per elevator, per kind index: the days with a record of that kind.
  std::map<std::string, std::array<std::set<int>, 4>> days;
  SQLite::Statement q(r,
                      "SELECT m.elevator, m.kind, m.local_date FROM maintenance_records m WHERE "
                      "NOT EXISTS (SELECT 1 FROM maintenance_records a WHERE a.amends = m.id)");
  while (q.executeStep()) {
    std::string kind = q.getColumn(1).getString();
    auto d = ParseD(q.getColumn(2).getString());
    if (!d) continue;
    for (int k = 0; k < 4; ++k) {
      if (rules::MaintenanceKindName(kPeriodic[k]) == kind) {
        days[q.getColumn(0).getString()][k].insert(
            static_cast<int>(chr::sys_days(*d).time_since_epoch().count()));
      }
    }
  }
  auto assignments = db::RecordsStore::Assignments(r, "");
  if (!assignments.ok()) return assignments.error();
  std::map<std::string, std::vector<db::AssignmentRow>> by_elevator;
  for (const auto& a : *assignments) by_elevator[a.elevator].push_back(a);
  if (elevators.empty()) {
    std::set<std::string> all;
    for (const auto& [e, x] : days) all.insert(e);
    for (const auto& [e, x] : by_elevator) all.insert(e);
    elevators.assign(all.begin(), all.end());
  }
  auto since_text = db::RecordsStore::Meta(r, "records_since");
  if (!since_text.ok()) return since_text.error();
  const std::optional<Date> records_since = ParseD(*since_text);

  const int from = static_cast<int>(chr::sys_days(p.from).time_since_epoch().count());
  const int to = static_cast<int>(chr::sys_days(p.to).time_since_epoch().count());
  const int last_counted =
      std::min(to, static_cast<int>(chr::sys_days(today).time_since_epoch().count()));
  if (last_counted >= from)
    out.counted_to = rules::FormatDate(Date{chr::sys_days(chr::days(last_counted))});
  auto to_date = [](int n) { return Date{chr::sys_days(chr::days(n))}; };

  for (const auto& id : elevators) {
    const auto& assigned = by_elevator[id];
    const auto& mine = days[id];
    for (int k = 0; k < 4; ++k) {
      const int interval = rules::MaintenanceIntervalDays(kPeriodic[k]);
      // A longer kind includes the shorter kinds' items: its days count here.
      std::set<int> counted;
      for (int j = k; j < 4; ++j) counted.insert(mine[j].begin(), mine[j].end());
      // The day the clock runs from on day n: the latest record on or before
      // it (strictly before, for judging the record of day n itself).
      auto anchor = [&](int n, bool strictly) -> std::optional<int> {
        auto it = strictly ? counted.lower_bound(n) : counted.upper_bound(n);
        if (it != counted.begin()) return *std::prev(it);
        if (auto b = BaselineOn(assigned, records_since, to_date(n))) {
          return static_cast<int>(chr::sys_days(*b).time_since_epoch().count());
        }
        return std::nullopt;
      };
      MaintenanceLine line;
      line.elevator = id;
      line.name = names.Of(id);
      line.kind = std::string(rules::MaintenanceKindName(kPeriodic[k]));
      for (auto it = counted.lower_bound(from); it != counted.end() && *it <= to; ++it) {
        ++line.visits;
        auto a = anchor(*it, /*strictly=*/true);
        if (!a || *it - *a <= interval) {
          ++line.on_time;
        } else {
          ++line.late;
        }
      }
      for (int n = from; n <= last_counted; ++n) {
        auto a = anchor(n, /*strictly=*/false);
        bool overdue = a && n - *a > interval;
        if (overdue) ++line.days_overdue;
        if (n == last_counted) line.overdue_at_end = overdue;
      }
      if (line.visits > 0) line.on_time_pct = Pct(line.on_time, line.visits);
      out.maintenance_visits += line.visits;
      out.maintenance_on_time += line.on_time;
      out.maintenance.push_back(std::move(line));
    }
  }
  if (out.maintenance_visits > 0) {
    out.maintenance_on_time_pct = Pct(out.maintenance_on_time, out.maintenance_visits);
  }
  return Status::Ok();
}

Status CountInspections(SQLite::Database& r, const Period& p, const Names& names, Report& out) {
  db::RecordFilter f;
  f.from = rules::FormatDate(p.from);
  f.to = rules::FormatDate(p.to);
  f.limit = 1000000;
  f.state = "done";
  auto done = db::RecordsStore::Inspections(r, f);
  if (!done.ok()) return done.error();
  db::RecordFilter open;
  open.state = "open";
  open.limit = 1000000;
  auto tasks = db::RecordsStore::Rectifications(r, open);
  if (!tasks.ok()) return tasks.error();
  std::map<int64_t, int64_t> open_by_inspection;
  for (const auto& t : *tasks) {
    if (t.inspection_id) ++open_by_inspection[*t.inspection_id];
  }
  for (const char* res : {"pass", "pass_with_rectification", "fail"}) out.inspection_results[res];
  for (auto it = done->rbegin(); it != done->rend(); ++it) {
    InspectionLine l;
    l.id = it->id;
    l.elevator = it->elevator;
    l.name = names.Of(it->elevator);
    l.kind = it->kind;
    l.done_on = it->done_on;
    l.result = it->result;
    l.agency = it->agency;
    l.report_number = it->report_number;
    l.next_due = it->next_due;
    l.items = static_cast<int64_t>(it->items.size());
    l.open_rectifications = open_by_inspection[it->id];
    ++out.inspection_results[l.result];
    out.inspections.push_back(std::move(l));
  }
  f.state = "planned";
  auto planned = db::RecordsStore::Inspections(r, f);
  if (!planned.ok()) return planned.error();
  for (auto it = planned->rbegin(); it != planned->rend(); ++it) {
    out.planned.push_back({it->id, it->elevator, names.Of(it->elevator), it->kind, it->agreed_on});
  }
  return Status::Ok();
}

Status CountCertificates(SQLite::Database& r, const Period& p, const Names& names, Report& out) {
  const Date ref = p.to;
  auto judge = [&](CertificateLine l, Date expires) {
    l.expires_on = rules::FormatDate(expires);
    l.days_left = rules::DaysBetween(ref, expires);
    if (l.days_left < 0) {
      l.state = "expired";
      ++out.certificates_expired;
    } else if (l.days_left <= kExpiringDays) {
      l.state = "expiring";
      ++out.certificates_expiring;
    } else {
      return;
    }
    out.certificates.push_back(std::move(l));
  };
  auto certs = db::RecordsStore::PersonnelCerts(r);
  if (!certs.ok()) return certs.error();
  // The newest certificate of each holder and category issued by the
  // period's end: a renewal replaces the old card.
  std::map<std::pair<int64_t, std::string>, db::PersonnelCertRow> newest;
  for (const auto& c : *certs) {
    auto issued = ParseD(c.issued_on);
    if (!c.person_active || !issued || rules::DaysBetween(*issued, ref) < 0) continue;
    auto key = std::make_pair(c.person_id, c.category);
    auto it = newest.find(key);
    if (it == newest.end() || it->second.issued_on < c.issued_on ||
        (it->second.issued_on == c.issued_on && it->second.id < c.id)) {
      newest[key] = c;
    }
  }
  for (const auto& [key, c] : newest) {
    auto expires = ParseD(c.expires_on);
    if (!expires) expires = rules::CertificateStatus(*ParseD(c.issued_on), ref).expires;
    CertificateLine l;
    l.kind = "personnel";
    l.subject = "person:" + std::to_string(c.person_id);
    l.name = c.person_name;
    l.contractor = c.person_contractor;
    l.category = c.category;
    l.number = c.number;
    judge(l, *expires);
  }
  db::RecordFilter m;
  m.kind = "inspection_mark";
  auto marks = db::RecordsStore::ElevatorCerts(r, m);
  if (!marks.ok()) return marks.error();
  // The latest entered mark of each car (as for INSPECTION_DUE), among those
  // issued by the period's end.
  std::map<std::string, db::ElevatorCertRow> latest;
  for (const auto& c : *marks) {
    auto issued = ParseD(c.issued_on);
    if (issued && rules::DaysBetween(*issued, ref) < 0) continue;
    if (!ParseD(c.expires_on)) continue;
    latest[c.elevator] = c;  // by id within the car
  }
  for (const auto& [car, c] : latest) {
    CertificateLine l;
    l.kind = "inspection_mark";
    l.subject = car;
    l.name = names.Of(car);
    l.number = c.number;
    judge(l, *ParseD(c.expires_on));
  }
  std::stable_sort(
      out.certificates.begin(), out.certificates.end(),
      [](const CertificateLine& a, const CertificateLine& b) { return a.days_left < b.days_left; });
  return Status::Ok();
}

Result<Names> LoadNames(SQLite::Database& r, const Options& o) {
  Names n;
  for (const auto& e : o.elevators) n.elevators[e.id] = e.name.empty() ? e.id : e.name;
  auto people = db::RecordsStore::People(r);
  if (!people.ok()) return people.error();
  for (const auto& p : *people) n.people["person:" + std::to_string(p.id)] = p.name;
  auto cs = db::RecordsStore::Contractors(r);
  if (!cs.ok()) return cs.error();
  for (const auto& c : *cs) n.contractors[c.id] = c.name;
  return n;
}

// ---- output helpers --------------------------------------------------------------

json Opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json Opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

std::string PctText(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v);
  return buf;
}

std::string Duration(const std::optional<int64_t>& s) {
  if (!s) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(*s / 60),
                static_cast<long long>(*s % 60));
  return buf;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

constexpr const char* kMonthNames[12] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};

std::string Title(const Period& p) {
  if (p.kind == PeriodKind::kYear) return "Safety report " + p.text;
  unsigned m = static_cast<unsigned>(p.from.month());
  return "Safety report " + std::string(kMonthNames[m - 1]) + " " +
         std::to_string(static_cast<int>(p.from.year()));
}

// The page's only styling. Its SHA-256 goes into the page's CSP, so any
// change here is allowed automatically.
constexpr std::string_view kCss = R"css(
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #111;
  margin: 2em auto; max-width: 60em; padding: 0 1em; font-size: 11pt; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #999; margin-top: 1.6em; }
p.meta { color: #444; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.45em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #a00; font-weight: bold; }
.none { color: #666; font-style: italic; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.summary dt { font-weight: bold; }
dl.summary dd { margin: 0; }
svg.chart { width: 100%; max-width: 40em; height: auto; }
svg.chart .bar { fill: #3a6ea5; }
svg.chart .axis { stroke: #555; stroke-width: 1; }
svg.chart text { font-size: 11px; fill: #222; }
svg.chart text.label { text-anchor: middle; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; }
  h2 { break-after: avoid; }
  tr, svg.chart { break-inside: avoid; }
}
)css";

std::string Sha256Base64(std::string_view text) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
  return b64;
}

std::string Chart(const std::vector<MonthCount>& months) {
  // 12 bars in a 600 x 200 box: counts above the bars, months below.
  const int left = 30, top = 20, plot_h = 140, bar_w = 34, step = 46;
  int64_t max = 0;
  for (const auto& m : months) max = std::max(max, m.count);
  std::string s =
      "<svg class=\"chart\" viewBox=\"0 0 600 200\" role=\"img\" "
      "aria-label=\"Alarms per month\" xmlns=\"http://www.w3.org/2000/svg\">"
      "<title>Alarms per month</title>";
  const int base = top + plot_h;
  s += "<line class=\"axis\" x1=\"" + std::to_string(left - 4) + "\" y1=\"" + std::to_string(base) +
       "\" x2=\"" + std::to_string(left + 12 * step) + "\" y2=\"" + std::to_string(base) + "\"/>";
  for (size_t i = 0; i < months.size(); ++i) {
    const auto& m = months[i];
    int h = max > 0 ? static_cast<int>(std::llround(static_cast<double>(m.count) * plot_h /
                                                    static_cast<double>(max)))
                    : 0;
    int x = left + static_cast<int>(i) * step;
    int cx = x + bar_w / 2;
    s += "<rect class=\"bar\" x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(base - h) +
         "\" width=\"" + std::to_string(bar_w) + "\" height=\"" + std::to_string(h) + "\"><title>" +
         m.month + ": " + std::to_string(m.count) + "</title></rect>";
    s += "<text class=\"label\" x=\"" + std::to_string(cx) + "\" y=\"" +
         std::to_string(base - h - 4) + "\">" + std::to_string(m.count) + "</text>";
    unsigned mon = static_cast<unsigned>(std::stoi(m.month.substr(5, 2)));
    s += "<text class=\"label\" x=\"" + std::to_string(cx) + "\" y=\"" + std::to_string(base + 16) +
         "\">" + std::string(kMonthNames[mon - 1]).substr(0, 3) + "</text>";
    if (i == 0 || mon == 1) {
      s += "<text class=\"label\" x=\"" + std::to_string(cx) + "\" y=\"" +
           std::to_string(base + 32) + "\">" + m.month.substr(0, 4) + "</text>";
    }
  }
  s += "</svg>";
  return s;
}

// A table: header cells starting with '#' are right-aligned numbers.
struct Html {
  std::string s;
  void Table(const std::vector<std::string>& head,
             const std::vector<std::vector<std::string>>& rows,
             const std::vector<bool>& bad_rows = {}) {
    if (rows.empty()) {
      s += "<p class=\"none\">None.</p>\n";
      return;
    }
    std::vector<bool> num;
    s += "<table><thead><tr>";
    for (const auto& h : head) {
      bool n = !h.empty() && h[0] == '#';
      num.push_back(n);
      s += n ? "<th class=\"n\">" + Esc(h.substr(1)) + "</th>" : "<th>" + Esc(h) + "</th>";
    }
    s += "</tr></thead><tbody>\n";
    for (size_t i = 0; i < rows.size(); ++i) {
      bool bad = i < bad_rows.size() && bad_rows[i];
      s += bad ? "<tr class=\"bad\">" : "<tr>";
      for (size_t c = 0; c < rows[i].size(); ++c) {
        s += c < num.size() && num[c] ? "<td class=\"n\">" : "<td>";
        s += Esc(rows[i][c]) + "</td>";
      }
      s += "</tr>\n";
    }
    s += "</tbody></table>\n";
  }
};

std::string I(int64_t v) { return std::to_string(v); }

// A stored UTC time as the site's "YYYY-MM-DD HH:MM", for people.
std::string LocalText(const std::string& utc, int offset_min) {
  auto t = db::ParseTime(utc);
  if (!t) return utc;
  auto local = *t + std::chrono::minutes(offset_min);
  auto day = std::chrono::floor<std::chrono::days>(local);
  auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s %02d:%02d", rules::FormatDate(Date{day}).c_str(),
                static_cast<int>(minutes / 60), static_cast<int>(minutes % 60));
  return buf;
}

}  // namespace

std::string_view PeriodKindName(PeriodKind k) { return k == PeriodKind::kYear ? "year" : "month"; }

Result<Period> ParsePeriod(std::string_view kind, std::string_view text) {
  auto digits = [&](size_t from, size_t n, int& v) {
    v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    return true;
  };
  Period p;
  p.text = std::string(text);
  int year = 0, month = 0;
  if (kind == "month") {
    if (text.size() != 7 || text[4] != '-' || !digits(0, 4, year) || !digits(5, 2, month) ||
        month < 1 || month > 12 || year < 2000 || year > 2200) {
      return Error::Permanent("bad_parameter",
                              "period must be a month written YYYY-MM (2000-01 to 2200-12), e.g. "
                              "2026-11; got \"" +
                                  std::string(text) + "\"");
    }
    p.kind = PeriodKind::kMonth;
    p.from = Date{chr::year(year), chr::month(static_cast<unsigned>(month)), chr::day(1)};
    p.to = Date{chr::year_month_day_last(
        chr::year(year), chr::month_day_last(chr::month(static_cast<unsigned>(month))))};
    return p;
  }
  if (kind == "year") {
    if (text.size() != 4 || !digits(0, 4, year) || year < 2000 || year > 2200) {
      return Error::Permanent("bad_parameter",
                              "period must be a year written YYYY (2000 to 2200), e.g. 2026; got "
                              "\"" +
                                  std::string(text) + "\"");
    }
    p.kind = PeriodKind::kYear;
    p.from = Date{chr::year(year), chr::January, chr::day(1)};
    p.to = Date{chr::year(year), chr::December, chr::day(31)};
    return p;
  }
  return Error::Permanent("bad_parameter",
                          "a report is for a month or a year, not \"" + std::string(kind) + "\"");
}

std::string FileStem(const Period& p) { return "liftguard-report-" + p.text; }

Result<Report> Compute(SQLite::Database& reader, const Period& period, const Options& o) {
  Report out;
  out.period = period;
  out.generated_at = db::FormatTime(o.now);
  out.utc_offset_min = static_cast<int>(o.site_time.offset().count());
  try {
    auto names = LoadNames(reader, o);
    if (!names.ok()) return names.error();
    CountAlarms(reader, period, o, *names, out);
    if (Status st = CountEntrapments(reader, period, o, *names, out); !st) return st.error();
    if (Status st = CountMaintenance(reader, period, o, *names, out); !st) return st.error();
    if (Status st = CountInspections(reader, period, *names, out); !st) return st.error();
    if (Status st = CountCertificates(reader, period, *names, out); !st) return st.error();
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("report query failed: ") + e.what());
  }
  return out;
}

// ---- JSON ---------------------------------------------------------------------------

json ToJson(const Report& r) {
  json j;
  j["period"] = {{"kind", std::string(PeriodKindName(r.period.kind))},
                 {"period", r.period.text},
                 {"from", rules::FormatDate(r.period.from)},
                 {"to", rules::FormatDate(r.period.to)},
                 {"utc_offset_min", r.utc_offset_min},
                 {"counted_to", r.counted_to.empty() ? json(nullptr) : json(r.counted_to)}};
  j["generated_at"] = r.generated_at;
  json by_type = json::array(), by_subject = json::array(), per_month = json::array();
  for (const auto& t : r.alarms_by_type) {
    by_type.push_back({{"type", t.type},
                       {"severity", t.severity},
                       {"count", t.count},
                       {"suppressed", t.suppressed}});
  }
  for (const auto& s : r.alarms_by_subject) {
    by_subject.push_back({{"subject", s.subject},
                          {"name", s.name},
                          {"total", s.total},
                          {"critical", s.critical},
                          {"major", s.major},
                          {"minor", s.minor}});
  }
  for (const auto& m : r.alarms_per_month) {
    per_month.push_back({{"month", m.month}, {"count", m.count}});
  }
  j["alarms"] = {{"total", r.alarms_total},
                 {"by_type", by_type},
                 {"by_elevator", by_subject},
                 {"per_month", per_month}};
  json targets = json::array(), incidents = json::array();
  for (const auto& t : r.targets) {
    targets.push_back({{"step", t.step},
                       {"label", t.label},
                       {"within", t.within},
                       {"missed", t.missed},
                       {"pending", t.pending},
                       {"within_pct", Opt(t.within_pct)},
                       {"mean_s", Opt(t.mean_s)},
                       {"max_s", Opt(t.max_s)}});
  }
  for (const auto& e : r.incidents) {
    incidents.push_back({{"id", e.id},
                         {"elevator", e.elevator},
                         {"name", e.name},
                         {"opened_at", e.opened_at},
                         {"state", e.state},
                         {"elapsed",
                          {{"acknowledged_s", Opt(e.elapsed_s[0])},
                           {"accepted_s", Opt(e.elapsed_s[1])},
                           {"on_site_s", Opt(e.elapsed_s[2])}}},
                         {"targets",
                          {{"acknowledged_min", e.target_min[0]},
                           {"accepted_min", e.target_min[1]},
                           {"on_site_min", e.target_min[2]}}},
                         {"over_target", e.over}});
  }
  j["entrapments"] = {{"count", r.entrapments},
                      {"false_alarms", r.false_alarms},
                      {"open", r.open_incidents},
                      {"targets", targets},
                      {"incidents", incidents}};
  json lines = json::array();
  for (const auto& m : r.maintenance) {
    lines.push_back({{"elevator", m.elevator},
                     {"name", m.name},
                     {"kind", m.kind},
                     {"visits", m.visits},
                     {"on_time", m.on_time},
                     {"late", m.late},
                     {"on_time_pct", Opt(m.on_time_pct)},
                     {"days_overdue", m.days_overdue},
                     {"overdue_at_end", m.overdue_at_end}});
  }
  j["maintenance"] = {{"visits", r.maintenance_visits},
                      {"on_time", r.maintenance_on_time},
                      {"on_time_pct", Opt(r.maintenance_on_time_pct)},
                      {"lines", lines}};
  json done = json::array(), planned = json::array();
  for (const auto& i : r.inspections) {
    done.push_back({{"id", i.id},
                    {"elevator", i.elevator},
                    {"name", i.name},
                    {"kind", i.kind},
                    {"done_on", i.done_on},
                    {"result", i.result},
                    {"agency", i.agency},
                    {"report_number", i.report_number},
                    {"next_due", i.next_due.empty() ? json(nullptr) : json(i.next_due)},
                    {"items", i.items},
                    {"open_rectifications", i.open_rectifications}});
  }
  for (const auto& p : r.planned) {
    planned.push_back({{"id", p.id},
                       {"elevator", p.elevator},
                       {"name", p.name},
                       {"kind", p.kind},
                       {"agreed_on", p.agreed_on}});
  }
  j["inspections"] = {{"results", r.inspection_results}, {"done", done}, {"planned", planned}};
  json certs = json::array();
  for (const auto& c : r.certificates) {
    certs.push_back({{"kind", c.kind},
                     {"subject", c.subject},
                     {"name", c.name},
                     {"contractor", c.contractor},
                     {"category", c.category},
                     {"number", c.number},
                     {"expires_on", c.expires_on},
                     {"days_left", c.days_left},
                     {"state", c.state}});
  }
  j["certificates"] = {
      {"expiring", r.certificates_expiring}, {"expired", r.certificates_expired}, {"list", certs}};
  return j;
}

// ---- CSV ----------------------------------------------------------------------------

std::string ToCsv(const Report& r) {
  csv::Writer w;
  auto section = [&](const char* name, const std::vector<std::string>& header) {
    w.Row({std::string("[") + name + "]"});
    w.Row(header);
  };
  auto opt = [&](const std::optional<int64_t>& v) -> csv::Writer& {
    return v ? w.Int(*v) : w.Empty();
  };
  auto pct = [&](const std::optional<double>& v) -> csv::Writer& {
    return v ? w.Fixed(*v, 1) : w.Empty();
  };

  section("report",
          {"kind", "period", "from", "to", "counted_to", "utc_offset_min", "generated_at"});
  w.Text(PeriodKindName(r.period.kind)).Text(r.period.text).Text(rules::FormatDate(r.period.from));
  w.Text(rules::FormatDate(r.period.to)).Text(r.counted_to).Int(r.utc_offset_min);
  w.Text(r.generated_at).EndRow();
  w.EndRow();

  section("summary", {"figure", "value"});
  auto fig = [&](const char* name, int64_t v) { w.Text(name).Int(v).EndRow(); };
  fig("alarms", r.alarms_total);
  fig("entrapments", r.entrapments);
  fig("false_alarms", r.false_alarms);
  fig("entrapments_open", r.open_incidents);
  fig("maintenance_visits", r.maintenance_visits);
  fig("maintenance_on_time", r.maintenance_on_time);
  w.Text("maintenance_on_time_pct");
  pct(r.maintenance_on_time_pct).EndRow();
  fig("inspections_done", static_cast<int64_t>(r.inspections.size()));
  fig("certificates_expiring", r.certificates_expiring);
  fig("certificates_expired", r.certificates_expired);
  w.EndRow();

  section("alarms_by_type", {"type", "severity", "count", "suppressed"});
  for (const auto& t : r.alarms_by_type) {
    w.Text(t.type).Text(t.severity).Int(t.count).Int(t.suppressed).EndRow();
  }
  w.EndRow();

  section("alarms_by_elevator", {"subject", "name", "total", "critical", "major", "minor"});
  for (const auto& s : r.alarms_by_subject) {
    w.Text(s.subject).Text(s.name).Int(s.total).Int(s.critical).Int(s.major).Int(s.minor).EndRow();
  }
  w.EndRow();

  section("alarms_per_month", {"month", "count"});
  for (const auto& m : r.alarms_per_month) w.Text(m.month).Int(m.count).EndRow();
  w.EndRow();

  section("entrapment_targets",
          {"target", "step", "within", "missed", "pending", "within_pct", "mean_s", "max_s"});
  for (const auto& t : r.targets) {
    w.Text(t.label).Text(t.step).Int(t.within).Int(t.missed).Int(t.pending);
    pct(t.within_pct);
    opt(t.mean_s);
    opt(t.max_s).EndRow();
  }
  w.EndRow();

  section("entrapments", {"id", "elevator", "name", "opened_at", "state", "acknowledged_s",
                          "accepted_s", "on_site_s", "acknowledged_target_min",
                          "accepted_target_min", "on_site_target_min", "over_target"});
  for (const auto& e : r.incidents) {
    w.Int(e.id).Text(e.elevator).Text(e.name).Text(e.opened_at).Text(e.state);
    for (const auto& s : e.elapsed_s) opt(s);
    for (int64_t t : e.target_min) w.Int(t);
    std::string over;
    for (const auto& o : e.over) over += (over.empty() ? "" : " ") + o;
    w.Text(over).EndRow();
  }
  w.EndRow();

  section("maintenance", {"elevator", "name", "kind", "visits", "on_time", "late", "on_time_pct",
                          "days_overdue", "overdue_at_end"});
  for (const auto& m : r.maintenance) {
    w.Text(m.elevator).Text(m.name).Text(m.kind).Int(m.visits).Int(m.on_time).Int(m.late);
    pct(m.on_time_pct).Int(m.days_overdue).Text(m.overdue_at_end ? "yes" : "no").EndRow();
  }
  w.EndRow();

  section("inspections", {"id", "elevator", "name", "kind", "done_on", "result", "agency",
                          "report_number", "next_due", "items", "open_rectifications"});
  for (const auto& i : r.inspections) {
    w.Int(i.id).Text(i.elevator).Text(i.name).Text(i.kind).Text(i.done_on).Text(i.result);
    w.Text(i.agency).Text(i.report_number).Text(i.next_due).Int(i.items);
    w.Int(i.open_rectifications).EndRow();
  }
  w.EndRow();

  section("inspections_planned", {"id", "elevator", "name", "kind", "agreed_on"});
  for (const auto& p : r.planned) {
    w.Int(p.id).Text(p.elevator).Text(p.name).Text(p.kind).Text(p.agreed_on).EndRow();
  }
  w.EndRow();

  section("certificates", {"kind", "subject", "name", "contractor", "category", "number",
                           "expires_on", "days_left", "state"});
  for (const auto& c : r.certificates) {
    w.Text(c.kind).Text(c.subject).Text(c.name).Text(c.contractor).Text(c.category);
    w.Text(c.number).Text(c.expires_on).Int(c.days_left).Text(c.state).EndRow();
  }
  return w.str();
}

// ---- HTML ---------------------------------------------------------------------------

const std::string& HtmlContentSecurityPolicy() {
  static const std::string csp =
      "default-src 'none'; style-src 'sha256-" + Sha256Base64(kCss) +
      "'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  return csp;
}

std::string ToHtml(const Report& r) {
  Html h;
  const std::string title = Title(r.period);
  char offset[16];
  int off = r.utc_offset_min;
  std::snprintf(offset, sizeof offset, "UTC%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 60,
                std::abs(off) % 60);
  h.s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         Esc(title) + "</title>\n<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n";
  h.s += "<h1>" + Esc(title) + "</h1>\n<p class=\"meta\">" + rules::FormatDate(r.period.from) +
         " to " + rules::FormatDate(r.period.to) + " (site time, " + offset + "). Generated " +
         Esc(r.generated_at) + " by Liftguard.</p>\n";

  h.s += "<h2>Summary</h2>\n<dl class=\"summary\">";
  auto dd = [&](const std::string& k, const std::string& v) {
    h.s += "<dt>" + Esc(k) + "</dt><dd>" + Esc(v) + "</dd>";
  };
  dd("Alarms", I(r.alarms_total));
  dd("Entrapments",
     I(r.entrapments) + (r.false_alarms ? " (and " + I(r.false_alarms) + " false alarms)" : ""));
  for (const auto& t : r.targets) {
    dd(std::string(1, static_cast<char>(std::toupper(t.label[0]))) + t.label.substr(1) +
           " inside target",
       PctText(t.within_pct) + " (" + I(t.within) + " of " + I(t.within + t.missed) + ")");
  }
  dd("Maintenance on time", PctText(r.maintenance_on_time_pct) + " (" + I(r.maintenance_on_time) +
                                " of " + I(r.maintenance_visits) + " visits)");
  dd("Inspections done", I(static_cast<int64_t>(r.inspections.size())));
  dd("Certificates", I(r.certificates_expired) + " expired, " + I(r.certificates_expiring) +
                         " expiring within 90 days of " + rules::FormatDate(r.period.to));
  h.s += "</dl>\n";

  h.s += "<h2>Alarms per month</h2>\n" + Chart(r.alarms_per_month) + "\n";

  h.s += "<h2>Alarms by type</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.alarms_by_type) {
      rows.push_back({t.type, t.severity, I(t.count), I(t.suppressed)});
    }
    h.Table({"Type", "Severity", "#Alarms", "#Of them suppressed"}, rows);
  }
  h.s += "<h2>Alarms by elevator</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : r.alarms_by_subject) {
      rows.push_back({s.subject, s.name, I(s.total), I(s.critical), I(s.major), I(s.minor)});
    }
    h.Table({"Elevator", "Name", "#Total", "#Critical", "#Major", "#Minor"}, rows);
  }

  h.s += "<h2>Entrapments</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.targets) {
      rows.push_back({t.label + " (" + t.step + ")", I(t.within), I(t.missed), I(t.pending),
                      PctText(t.within_pct), Duration(t.mean_s), Duration(t.max_s)});
    }
    if (r.entrapments == 0) rows.clear();
    h.Table({"Target", "#Inside", "#Missed", "#Pending", "#Inside target", "#Mean (m:ss)",
             "#Longest (m:ss)"},
            rows);
    std::vector<std::vector<std::string>> list;
    std::vector<bool> bad;
    for (const auto& e : r.incidents) {
      std::string over;
      for (const auto& o : e.over) over += (over.empty() ? "" : ", ") + o;
      list.push_back({I(e.id), e.elevator + (e.name != e.elevator ? " " + e.name : ""),
                      LocalText(e.opened_at, r.utc_offset_min), e.state,
                      Duration(e.elapsed_s[0]) + " / " + I(e.target_min[0]) + ":00",
                      Duration(e.elapsed_s[1]) + " / " + I(e.target_min[1]) + ":00",
                      Duration(e.elapsed_s[2]) + " / " + I(e.target_min[2]) + ":00",
                      over.empty() ? "-" : over});
      bad.push_back(!e.over.empty());
    }
    if (!list.empty()) {
      h.Table({"Incident", "Elevator", "Opened", "State", "#Response", "#Acceptance", "#Arrival",
               "Missed"},
              list, bad);
    }
  }

  h.s += "<h2>Maintenance on time</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> bad;
    for (const auto& m : r.maintenance) {
      rows.push_back({m.elevator + (m.name != m.elevator ? " " + m.name : ""), m.kind, I(m.visits),
                      I(m.on_time), I(m.late), PctText(m.on_time_pct), I(m.days_overdue),
                      m.overdue_at_end ? "yes" : "no"});
      bad.push_back(m.late > 0 || m.days_overdue > 0);
    }
    h.Table({"Elevator", "Kind", "#Visits", "#On time", "#Late", "#On time %", "#Days overdue",
             "Overdue at end"},
            rows, bad);
  }

  h.s += "<h2>Inspections and self-tests</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> bad;
    for (const auto& i : r.inspections) {
      rows.push_back({i.elevator + (i.name != i.elevator ? " " + i.name : ""), i.kind, i.done_on,
                      i.result, i.agency, i.report_number, i.next_due.empty() ? "-" : i.next_due,
                      I(i.items), I(i.open_rectifications)});
      bad.push_back(i.result == "fail");
    }
    h.Table({"Elevator", "Kind", "Done", "Result", "Agency", "Report", "Next due", "#Items",
             "#Open tasks"},
            rows, bad);
    if (!r.planned.empty()) {
      std::vector<std::vector<std::string>> p;
      for (const auto& x : r.planned) {
        p.push_back({x.elevator + (x.name != x.elevator ? " " + x.name : ""), x.kind, x.agreed_on});
      }
      h.s += "<p>Planned in the period (date agreed with the agency):</p>\n";
      h.Table({"Elevator", "Kind", "Agreed date"}, p);
    }
  }

  h.s += "<h2>Certificates expired or expiring</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> bad;
    for (const auto& c : r.certificates) {
      std::string what = c.kind == "personnel" ? "category " + c.category : "inspection mark";
      rows.push_back({c.name + (c.contractor.empty() ? "" : " (" + c.contractor + ")"), what,
                      c.number.empty() ? "-" : c.number, c.expires_on, I(c.days_left), c.state});
      bad.push_back(c.state == "expired");
    }
    h.Table({"Holder / elevator", "Certificate", "Number", "Expires", "#Days left", "State"}, rows,
            bad);
  }
  h.s += "</body>\n</html>\n";
  return h.s;
}

}  // namespace lg::reports
