// Compliance dates: the pure date rules of shared/spec/records.md for
// maintenance, periodic inspection and self-test (TSG T7001-2023),
// personnel certificates and emergency drills.
//
// Everything here is a function of civil dates passed in: no database, no
// I/O, no clock, no time zone. The caller decides what "today" is (the
// site's local date) and loads the records; these functions only say what is
// due when, in what state, and which compliance findings hold today.
//
// Dates are std::chrono::year_month_day; every function expects valid dates
// (ymd.ok()). Spans are counted in whole calendar days.
//
// The rules, exactly (docs/records.md says the same in plain words):
//
//   Calendar steps. Adding years or months to a date keeps the day of the
//   month; when that day does not exist in the target month it becomes the
//   last day of that month (29 Feb + 1 year = 28 Feb; 31 Dec - 2 months =
//   31 Oct; 30 Apr - 2 months = 28 Feb, or 29 Feb in a leap year). Rolling
//   back into the month, rather than forward to 1 Mar, keeps every period at
//   most its nominal length, so a deadline never falls later than the rule
//   allows.
//
//   Maintenance. Due = last record of that kind + 15 / 90 / 180 / 365 days.
//   Doing it on the due date is on time; overdue from the day after. Due
//   soon when 0..3 days are left. No record at all: overdue (pass the
//   contract start as `last` to give a new contract its first period).
//
//   Inspection years. Year N from first use is
//   [first_use + (N-1) years, first_use + N years). Each year ends with one
//   check, due on the N-th anniversary (first_use + N years): a periodic
//   inspection in years 1, 4, 7, 9, 11, 13, 15 and every year from 16 on; a
//   self-test in years 2, 3, 5, 6, 8, 10, 12, 14. The schedule is anchored
//   on first use, so a check done early or late never moves later due
//   dates; after a pass the next due date is the next anniversary.
//
//   Which check covers a due date D. A passed check done on a day d covers
//   D when D - 2 months <= d < D' - 2 months (D' the next due date): done
//   up to 2 months early, on the day, or late (catching up a missed one)
//   until the next early window opens. An inspection also covers a
//   self-test year (it is the stronger check); a self-test never covers an
//   inspection year. A failed check covers nothing.
//
//   Marks and findings. The inspection mark carries the next due date and
//   is valid through that date. INSPECTION_DUE (minor) when 0..60 days are
//   left; INSPECTION_OVERDUE (critical) from the day after.
//
//   Certificates. Expiry = issued + 4 years. Valid through the expiry date
//   inclusive (that is how the date printed on the card is read);
//   CERTIFICATE_EXPIRING (minor) when 0..90 days are left, including the
//   expiry day; CERTIFICATE_EXPIRED (major) from the day after.
//
//   Drills. The user unit at most 1 year apart, a contractor at most 6
//   months apart (calendar steps, above). Due on last + period inclusive;
//   DRILL_OVERDUE (minor) from the day after; none at all is overdue.
//
// Findings: core/alarm_type.h does not know the compliance types yet, so
// they come out as ComplianceFinding (type by name). The daemon maps them
// into the alarm book. A finding is returned while its condition holds on
// `today`; the caller raises what is new and clears what is gone.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alarm_type.h"
#include "core/result.h"

namespace lg::rules {

using Date = std::chrono::year_month_day;

// "2026-11-22". Anything else (or an impossible date such as 2026-02-30) is
// an Error with code "date".
Result<Date> ParseDate(std::string_view text);
std::string FormatDate(Date d);

// Whole days from `from` to `to` (negative when `to` is earlier).
int DaysBetween(Date from, Date to);
Date AddDays(Date d, int days);
// Calendar steps; a day that does not exist becomes the month's last day.
Date AddMonths(Date d, int months);
Date AddYears(Date d, int years);

// How a deadline stands on a given day.
enum class DueState : uint8_t { kOk, kDueSoon, kOverdue };
std::string_view DueStateName(DueState s);  // "ok" | "due_soon" | "overdue"

// ---- Maintenance ----------------------------------------------------------

enum class MaintenanceKind : uint8_t { kHalfMonthly, kQuarterly, kHalfYearly, kAnnual };
std::string_view MaintenanceKindName(MaintenanceKind k);  // "half_monthly", ...
int MaintenanceIntervalDays(MaintenanceKind k);           // 15, 90, 180, 365
inline constexpr int kMaintenanceDueSoonDays = 3;

struct MaintenanceDue {
  std::optional<Date> due;  // empty when there has never been a record
  DueState state = DueState::kOverdue;
  int days_left = 0;  // due - today; negative when overdue; 0 without a record
};
MaintenanceDue NextMaintenance(MaintenanceKind kind, std::optional<Date> last, Date today);

// ---- Periodic inspection and self-test ------------------------------------

enum class CheckKind : uint8_t { kInspection, kSelfTest };
std::string_view CheckKindName(CheckKind k);  // "inspection" | "self_test"

// Year N counts from 1. Years up to 15 follow the 1, 4, 7, 9, 11, 13, 15
// pattern; from 16 on every year is an inspection.
CheckKind CheckKindForYear(int year);
// The due date of year N's check: the N-th anniversary of first use.
Date CheckDueDate(Date first_use, int year);
// The first day a check may be done for a check due on `due`.
Date EarlyWindowStart(Date due);
inline constexpr int kInspectionEarlyMonths = 2;
inline constexpr int kInspectionDueSoonDays = 60;

// A check on record. Map pass and pass_with_rectification to passed=true.
struct DoneCheck {
  CheckKind kind = CheckKind::kInspection;
  Date on{};
  bool passed = true;
};

enum class PlanState : uint8_t {
  kDone,      // covered by a passed check (see the rules above)
  kOverdue,   // due date passed, not covered
  kPlanned,   // not covered, a date is agreed with the agency
  kDueSoon,   // not covered, 0..60 days left, no agreed date
  kUpcoming,  // not covered, more than 60 days left, no agreed date
};
std::string_view PlanStateName(PlanState s);  // "done", "overdue", "planned", ...

struct PlanItem {
  int year = 0;  // year N from first use
  CheckKind kind = CheckKind::kInspection;
  Date due{};
  Date window_start{};  // due - 2 months
  PlanState state = PlanState::kUpcoming;
  std::optional<Date> agreed;   // only on the item the agreed date is for
  std::optional<Date> done_on;  // the check that covered it
};

// The checks of one elevator that matter today, by due date:
//   - the last check due before today, if it was not covered (overdue) and
//     the next check is not already done early; older misses are history
//     and are not listed;
//   - every check due from today to today + `days` inclusive.
// `agreed_date` (the date agreed with the agency) belongs to the first item
// that is not done; it makes that item `planned` unless it is overdue.
// Nothing is listed before the first anniversary falls in the window.
std::vector<PlanItem> InspectionPlan(Date first_use, const std::vector<DoneCheck>& done,
                                     std::optional<Date> agreed_date, Date today, int days = 365);

// The next due date the elevator answers for: the mark's date when known
// (it is what the agency wrote and what the law reads), else the first item
// of InspectionPlan that is not done. Empty if neither gives one.
std::optional<Date> NextInspectionDue(Date first_use, const std::vector<DoneCheck>& done,
                                      std::optional<Date> mark_expiry, Date today);

// ---- Personnel certificates -----------------------------------------------

enum class CertCategory : uint8_t { kA, kT, kOther };  // A: safety management; T: maintenance
inline constexpr int kCertificateValidYears = 4;
inline constexpr int kCertificateExpiringDays = 90;

enum class CertState : uint8_t { kValid, kExpiring, kExpired };
std::string_view CertStateName(CertState s);  // "valid" | "expiring" | "expired"

struct CertificateState {
  Date expires{};  // issued + 4 years; the last valid day
  CertState state = CertState::kValid;
  int days_left = 0;  // expires - today; 0 on the expiry day, negative after
};
CertificateState CertificateStatus(Date issued, Date today);

struct Certificate {
  CertCategory category = CertCategory::kOther;
  std::string number;
  Date issued{};
};

// Whether a technician may sign a maintenance record dated `on`: they need a
// category-T certificate valid on that date. The Error (code "certificate")
// says why not, for the person entering the record.
Status CanSign(const std::optional<Certificate>& cert, Date on);

// ---- Emergency drills -----------------------------------------------------

enum class DrillParty : uint8_t { kUserUnit, kContractor };
int DrillIntervalMonths(DrillParty p);  // 12 | 6

struct DrillDue {
  std::optional<Date> due;              // empty when there has never been a drill
  DueState state = DueState::kOverdue;  // kOk or kOverdue (no due-soon rule)
  int days_left = 0;
};
DrillDue NextDrill(DrillParty party, std::optional<Date> last, Date today);

// ---- Findings -------------------------------------------------------------

// One compliance condition that holds today, for the alarm book.
struct ComplianceFinding {
  std::string type;  // "MAINTENANCE_OVERDUE", "INSPECTION_DUE", ...
  Severity severity = Severity::kMinor;
  std::string subject;  // elevator id, person id, or the drilling party's id
  std::string message;  // for people, with the dates
  Date since{};         // first day the condition held
};

// MAINTENANCE_OVERDUE (major). Without any record `since` is `today`.
std::optional<ComplianceFinding> MaintenanceFinding(std::string_view elevator_id,
                                                    MaintenanceKind kind, std::optional<Date> last,
                                                    Date today);
// INSPECTION_DUE (minor) or INSPECTION_OVERDUE (critical) on `due`
// (normally NextInspectionDue()).
std::optional<ComplianceFinding> InspectionFinding(std::string_view elevator_id,
                                                   std::optional<Date> due, Date today);
// CERTIFICATE_EXPIRING (minor) or CERTIFICATE_EXPIRED (major).
std::optional<ComplianceFinding> CertificateFinding(std::string_view person_id,
                                                    const Certificate& cert, Date today);
// DRILL_OVERDUE (minor). Without any drill `since` is `today`.
std::optional<ComplianceFinding> DrillFinding(std::string_view party_id, DrillParty party,
                                              std::optional<Date> last, Date today);

}  // namespace lg::rules
