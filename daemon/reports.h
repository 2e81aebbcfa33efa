// Reports: the monthly and yearly safety report of shared/spec/records.md
// "Reports", computed from the daemon's SQLite file on a read-only
// connection, and written as JSON, CSV or a printable HTML page
// (docs/reports.md says what every figure means and how it is counted).
//
// A period is a month ("2026-11") or a year ("2026") of the site's local
// calendar (SiteTime): an instant belongs to the period when its local date
// does. The report holds:
//   - alarms raised in the period, by type and by elevator (or other
//     subject: a certificate holder, a drilling party, a channel), and
//     alarms per month for the 12 months ending with the period's last
//     month;
//   - entrapments (rescue incidents opened in the period, false alarms
//     apart) with, for response (acknowledged), acceptance (accepted) and
//     arrival (on_site), how many were inside the targets each incident
//     kept from when it opened, measured as rules/incident.h Timings does;
//   - periodic maintenance per elevator and kind: visits in the period, on
//     time or late against the due date of rules/compliance.h counted from
//     the visit before (a longer kind counts for the shorter ones, as for
//     due dates), and the days of the period the kind was overdue;
//   - inspections and self-tests done in the period with their results, and
//     those planned in it;
//   - certificates expired or expiring within 90 days of the period's last
//     day: personnel certificates (the newest per holder and category) and
//     elevators' inspection marks.
// Nothing here writes: a report is a function of the file and `Options`.
//
// Thread-safety: pure functions over the caller's connection.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/site_time.h"
#include "rules/compliance.h"

namespace lg::reports {

enum class PeriodKind { kMonth, kYear };
std::string_view PeriodKindName(PeriodKind k);  // "month" | "year"

struct Period {
  PeriodKind kind = PeriodKind::kMonth;
  std::string text;    // "2026-11" or "2026"
  rules::Date from{};  // first day
  rules::Date to{};    // last day (inclusive)
};

// `kind` "month" (text YYYY-MM) or "year" (text YYYY), years 2000..2200.
// Errors (code "bad_parameter") name `period`, or the kind.
Result<Period> ParsePeriod(std::string_view kind, std::string_view text);

struct Elevator {
  std::string id;
  std::string name;
};

struct Options {
  SiteTime site_time;
  WallTime now{};  // "today"; open incidents are measured up to it
  // The configured elevators in display order. Maintenance is reported for
  // these; empty: for every elevator found in the maintenance records and
  // contractor assignments.
  std::vector<Elevator> elevators;
};

struct TypeCount {
  std::string type;
  std::string severity;
  int64_t count = 0;
  int64_t suppressed = 0;  // raised while suppressed (kept, not announced)
};

struct SubjectCount {
  std::string subject;  // elevator id, or "person:ID", "contractor:ID", "unit:site", "channel:ID"
  std::string name;
  int64_t total = 0, critical = 0, major = 0, minor = 0;
};

struct MonthCount {
  std::string month;  // YYYY-MM
  int64_t count = 0;
};

// One rescue target over the period's entrapments.
struct TargetShare {
  std::string step;                  // acknowledged | accepted | on_site
  std::string label;                 // response | acceptance | arrival
  int64_t within = 0;                // reached no later than the target
  int64_t missed = 0;                // reached late, or not reached once the target had passed
  int64_t pending = 0;               // open incident, not reached, target not yet passed
  std::optional<double> within_pct;  // 100 * within / (within + missed), 1 decimal
  std::optional<int64_t> mean_s;     // over the incidents that reached the step
  std::optional<int64_t> max_s;
};

struct Entrapment {
  int64_t id = 0;
  std::string elevator;
  std::string name;
  std::string opened_at;  // RFC 3339 UTC
  std::string state;      // open | closed
  // acknowledged, accepted, on_site
  std::optional<int64_t> elapsed_s[3];
  int64_t target_min[3] = {0, 0, 0};
  std::vector<std::string> over;  // the steps whose target was missed
};

struct MaintenanceLine {
  std::string elevator;
  std::string name;
  std::string kind;  // half_monthly | quarterly | half_yearly | annual
  int64_t visits = 0;
  int64_t on_time = 0;
  int64_t late = 0;
  std::optional<double> on_time_pct;  // 100 * on_time / visits, 1 decimal
  int64_t days_overdue = 0;           // days of the period (up to today) it was overdue
  bool overdue_at_end = false;        // overdue on the last day counted
};

struct InspectionLine {
  int64_t id = 0;
  std::string elevator;
  std::string name;
  std::string kind;  // inspection | self_test
  std::string done_on;
  std::string result;
  std::string agency;
  std::string report_number;
  std::string next_due;
  int64_t items = 0;
  int64_t open_rectifications = 0;  // of the tasks its items opened, open now
};

struct PlannedLine {
  int64_t id = 0;
  std::string elevator;
  std::string name;
  std::string kind;
  std::string agreed_on;
};

struct CertificateLine {
  std::string kind;     // personnel | inspection_mark
  std::string subject;  // "person:ID" or the elevator id
  std::string name;     // the holder's or the elevator's name
  std::string contractor;
  std::string category;  // A | T | other; "" for a mark
  std::string number;
  std::string expires_on;
  int64_t days_left = 0;  // from the period's last day; negative once expired
  std::string state;      // expiring | expired
};

struct Report {
  Period period;
  std::string generated_at;  // RFC 3339 UTC
  int utc_offset_min = 0;
  std::string counted_to;  // the last day counted for overdue days: min(period end, today)

  int64_t alarms_total = 0;
  std::vector<TypeCount> alarms_by_type;        // most first
  std::vector<SubjectCount> alarms_by_subject;  // configured order, then by id
  std::vector<MonthCount> alarms_per_month;     // 12, oldest first

  int64_t entrapments = 0;
  int64_t false_alarms = 0;
  int64_t open_incidents = 0;  // of the entrapments, still open
  std::vector<TargetShare> targets;
  std::vector<Entrapment> incidents;  // oldest first

  std::vector<MaintenanceLine> maintenance;
  int64_t maintenance_visits = 0;
  int64_t maintenance_on_time = 0;
  std::optional<double> maintenance_on_time_pct;

  std::vector<InspectionLine> inspections;            // by date
  std::map<std::string, int64_t> inspection_results;  // pass, pass_with_rectification, fail
  std::vector<PlannedLine> planned;

  std::vector<CertificateLine> certificates;  // soonest expiry first
  int64_t certificates_expiring = 0;
  int64_t certificates_expired = 0;
};

// Errors: "database" (recoverable) when the file cannot be read.
Result<Report> Compute(SQLite::Database& reader, const Period& period, const Options& options);

nlohmann::json ToJson(const Report& r);
// Sections, each a line "[name]", a header line, its rows and a blank line
// (docs/reports.md lists them).
std::string ToCsv(const Report& r);
// One self-contained printable page: tables, an inline SVG bar chart of
// alarms per month, one <style> element, no script, no external resource.
std::string ToHtml(const Report& r);
// The Content-Security-Policy to serve ToHtml's page with: nothing but its
// own <style> element (allowed by its SHA-256), no script at all.
const std::string& HtmlContentSecurityPolicy();

// "liftguard-report-2026-11" (for file names).
std::string FileStem(const Period& p);

}  // namespace lg::reports
