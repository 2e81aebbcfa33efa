#include "rules/compliance.h"

#include <algorithm>
#include <cstdio>

namespace lg::rules {

namespace chr = std::chrono;

namespace {

// year_month_day + months/years leaves an impossible day (2021-02-29) as is;
// the rule is to fall back to the month's last day.
Date ClampToMonth(Date d) {
  if (d.ok()) return d;
  return Date{d.year() / d.month() / chr::last};
}

std::string Plural(int n, std::string_view unit) {
  return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s");
}

}  // namespace

Result<Date> ParseDate(std::string_view text) {
  auto bad = [&] {
    return Error::Permanent("date", "not a date (want YYYY-MM-DD): \"" + std::string(text) + "\"");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lens[3] = {4, 2, 2};
  for (int i = 0; i < 3; ++i) {
    for (size_t j = 0; j < lens[i]; ++j) {
      char c = text[starts[i] + j];
      if (c < '0' || c > '9') return bad();
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  Date d{chr::year(parts[0]), chr::month(static_cast<unsigned>(parts[1])),
         chr::day(static_cast<unsigned>(parts[2]))};
  if (!d.ok()) return bad();
  return d;
}

std::string FormatDate(Date d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

int DaysBetween(Date from, Date to) {
  return static_cast<int>((chr::sys_days(to) - chr::sys_days(from)).count());
}

Date AddDays(Date d, int days) { return Date{chr::sys_days(d) + chr::days(days)}; }
Date AddMonths(Date d, int months) { return ClampToMonth(d + chr::months(months)); }
Date AddYears(Date d, int years) { return ClampToMonth(d + chr::years(years)); }

std::string_view DueStateName(DueState s) {
  switch (s) {
    case DueState::kOk:
      return "ok";
    case DueState::kDueSoon:
      return "due_soon";
    case DueState::kOverdue:
      return "overdue";
  }
  return "?";
}

// ---- Maintenance ----------------------------------------------------------

std::string_view MaintenanceKindName(MaintenanceKind k) {
  switch (k) {
    case MaintenanceKind::kHalfMonthly:
      return "half_monthly";
    case MaintenanceKind::kQuarterly:
      return "quarterly";
    case MaintenanceKind::kHalfYearly:
      return "half_yearly";
    case MaintenanceKind::kAnnual:
      return "annual";
  }
  return "?";
}

int MaintenanceIntervalDays(MaintenanceKind k) {
  switch (k) {
    case MaintenanceKind::kHalfMonthly:
      return 15;
    case MaintenanceKind::kQuarterly:
      return 90;
    case MaintenanceKind::kHalfYearly:
      return 180;
    case MaintenanceKind::kAnnual:
      return 365;
  }
  return 15;
}

MaintenanceDue NextMaintenance(MaintenanceKind kind, std::optional<Date> last, Date today) {
  MaintenanceDue r;
  if (!last) return r;  // never done: overdue, no date to count from
  r.due = AddDays(*last, MaintenanceIntervalDays(kind));
  r.days_left = DaysBetween(today, *r.due);
  r.state = r.days_left < 0                          ? DueState::kOverdue
            : r.days_left <= kMaintenanceDueSoonDays ? DueState::kDueSoon
                                                     : DueState::kOk;
  return r;
}

// ---- Periodic inspection and self-test ------------------------------------

std::string_view CheckKindName(CheckKind k) {
  return k == CheckKind::kInspection ? "inspection" : "self_test";
}

CheckKind CheckKindForYear(int year) {
  switch (year) {
    case 2:
    case 3:
    case 5:
    case 6:
    case 8:
    case 10:
    case 12:
    case 14:
      return CheckKind::kSelfTest;
    default:
      return CheckKind::kInspection;
  }
}

// Always from first use, never chained from the previous anniversary, so a
// 29 Feb start comes back to 29 Feb in leap years.
Date CheckDueDate(Date first_use, int year) { return AddYears(first_use, year); }

Date EarlyWindowStart(Date due) { return AddMonths(due, -kInspectionEarlyMonths); }

std::string_view PlanStateName(PlanState s) {
  switch (s) {
    case PlanState::kDone:
      return "done";
    case PlanState::kOverdue:
      return "overdue";
    case PlanState::kPlanned:
      return "planned";
    case PlanState::kDueSoon:
      return "due_soon";
    case PlanState::kUpcoming:
      return "upcoming";
  }
  return "?";
}

namespace {

// The passed check that covers year N's due date, if any (see the header:
// from the year's early window up to the next year's early window).
std::optional<Date> CoveredOn(Date first_use, int year, const std::vector<DoneCheck>& done) {
  const CheckKind need = CheckKindForYear(year);
  const auto from = chr::sys_days(EarlyWindowStart(CheckDueDate(first_use, year)));
  const auto until = chr::sys_days(EarlyWindowStart(CheckDueDate(first_use, year + 1)));
  std::optional<Date> best;
  for (const DoneCheck& c : done) {
    if (!c.passed) continue;
    if (need == CheckKind::kInspection && c.kind != CheckKind::kInspection) continue;
    const auto on = chr::sys_days(c.on);
    if (on < from || on >= until) continue;
    if (!best || on < chr::sys_days(*best)) best = c.on;  // the first one did it
  }
  return best;
}

PlanItem MakeItem(Date first_use, int year, const std::vector<DoneCheck>& done, Date today) {
  PlanItem it;
  it.year = year;
  it.kind = CheckKindForYear(year);
  it.due = CheckDueDate(first_use, year);
  it.window_start = EarlyWindowStart(it.due);
  it.done_on = CoveredOn(first_use, year, done);
  const int left = DaysBetween(today, it.due);
  it.state = it.done_on                       ? PlanState::kDone
             : left < 0                       ? PlanState::kOverdue
             : left <= kInspectionDueSoonDays ? PlanState::kDueSoon
                                              : PlanState::kUpcoming;
  return it;
}

}  // namespace

std::vector<PlanItem> InspectionPlan(Date first_use, const std::vector<DoneCheck>& done,
                                     std::optional<Date> agreed_date, Date today, int days) {
  std::vector<PlanItem> plan;
  const auto t = chr::sys_days(today);
  const auto end = t + chr::days(days);
  // The last year whose due date is before today (0: none yet).
  int last_past = 0;
  while (chr::sys_days(CheckDueDate(first_use, last_past + 1)) < t) ++last_past;
  for (int year = last_past + 1; chr::sys_days(CheckDueDate(first_use, year)) <= end; ++year) {
    plan.push_back(MakeItem(first_use, year, done, today));
  }
  // A missed check stops mattering once the next one is already done early
  // (its early window opened after the missed due date).
  if (last_past > 0) {
    PlanItem missed = MakeItem(first_use, last_past, done, today);
    const bool superseded =
        MakeItem(first_use, last_past + 1, done, today).state == PlanState::kDone;
    if (missed.state == PlanState::kOverdue && !superseded) plan.insert(plan.begin(), missed);
  }
  if (agreed_date) {
    auto it = std::find_if(plan.begin(), plan.end(),
                           [](const PlanItem& p) { return p.state != PlanState::kDone; });
    if (it != plan.end()) {
      it->agreed = agreed_date;
      if (it->state != PlanState::kOverdue) it->state = PlanState::kPlanned;
    }
  }
  return plan;
}

std::optional<Date> NextInspectionDue(Date first_use, const std::vector<DoneCheck>& done,
                                      std::optional<Date> mark_expiry, Date today) {
  if (mark_expiry) return mark_expiry;
  // Long enough to reach the next check even when every one in the window
  // was done early.
  for (const PlanItem& it : InspectionPlan(first_use, done, std::nullopt, today, 2 * 366)) {
    if (it.state != PlanState::kDone) return it.due;
  }
  return std::nullopt;
}

// ---- Personnel certificates -----------------------------------------------

std::string_view CertStateName(CertState s) {
  switch (s) {
    case CertState::kValid:
      return "valid";
    case CertState::kExpiring:
      return "expiring";
    case CertState::kExpired:
      return "expired";
  }
  return "?";
}

CertificateState CertificateStatus(Date issued, Date today) {
  CertificateState r;
  r.expires = AddYears(issued, kCertificateValidYears);
  r.days_left = DaysBetween(today, r.expires);
  r.state = r.days_left < 0                           ? CertState::kExpired
            : r.days_left <= kCertificateExpiringDays ? CertState::kExpiring
                                                      : CertState::kValid;
  return r;
}

Status CanSign(const std::optional<Certificate>& cert, Date on) {
  if (!cert) {
    return Error::Permanent("certificate",
                            "the technician has no certificate on record; a category T "
                            "certificate is needed to sign maintenance");
  }
  if (cert->category != CertCategory::kT) {
    return Error::Permanent(
        "certificate", "certificate " + cert->number + " is not category T (elevator maintenance)");
  }
  if (chr::sys_days(on) < chr::sys_days(cert->issued)) {
    return Error::Permanent("certificate", "certificate " + cert->number + " was issued on " +
                                               FormatDate(cert->issued) + ", after " +
                                               FormatDate(on));
  }
  CertificateState s = CertificateStatus(cert->issued, on);
  if (s.state == CertState::kExpired) {
    return Error::Permanent("certificate",
                            "certificate " + cert->number + " expired on " + FormatDate(s.expires) +
                                " (valid through that day), before " + FormatDate(on));
  }
  return Status::Ok();
}

// ---- Emergency drills -----------------------------------------------------

int DrillIntervalMonths(DrillParty p) { return p == DrillParty::kUserUnit ? 12 : 6; }

DrillDue NextDrill(DrillParty party, std::optional<Date> last, Date today) {
  DrillDue r;
  if (!last) return r;
  r.due = AddMonths(*last, DrillIntervalMonths(party));
  r.days_left = DaysBetween(today, *r.due);
  r.state = r.days_left < 0 ? DueState::kOverdue : DueState::kOk;
  return r;
}

// ---- Findings -------------------------------------------------------------

std::optional<ComplianceFinding> MaintenanceFinding(std::string_view elevator_id,
                                                    MaintenanceKind kind, std::optional<Date> last,
                                                    Date today) {
  MaintenanceDue d = NextMaintenance(kind, last, today);
  if (d.state != DueState::kOverdue) return std::nullopt;
  ComplianceFinding f;
  f.type = "MAINTENANCE_OVERDUE";
  f.severity = Severity::kMajor;
  f.subject = std::string(elevator_id);
  const std::string k(MaintenanceKindName(kind));
  if (!d.due) {
    f.message = k + " maintenance: no record";
    f.since = today;
  } else {
    f.message = k + " maintenance overdue: last " + FormatDate(*last) + ", due " +
                FormatDate(*d.due) + " (" + Plural(-d.days_left, "day") + " late)";
    f.since = AddDays(*d.due, 1);
  }
  return f;
}

std::optional<ComplianceFinding> InspectionFinding(std::string_view elevator_id,
                                                   std::optional<Date> due, Date today) {
  if (!due) return std::nullopt;
  const int left = DaysBetween(today, *due);
  if (left > kInspectionDueSoonDays) return std::nullopt;
  ComplianceFinding f;
  f.subject = std::string(elevator_id);
  if (left < 0) {
    f.type = "INSPECTION_OVERDUE";
    f.severity = Severity::kCritical;
    f.message = "inspection mark expired " + FormatDate(*due) +
                "; the elevator may not be used until it is inspected";
    f.since = AddDays(*due, 1);
  } else {
    f.type = "INSPECTION_DUE";
    f.severity = Severity::kMinor;
    f.message = "inspection due " + FormatDate(*due) + " (" + Plural(left, "day") +
                " left); apply to the agency 1 month before";
    f.since = AddDays(*due, -kInspectionDueSoonDays);
  }
  return f;
}

std::optional<ComplianceFinding> CertificateFinding(std::string_view person_id,
                                                    const Certificate& cert, Date today) {
  CertificateState s = CertificateStatus(cert.issued, today);
  if (s.state == CertState::kValid) return std::nullopt;
  ComplianceFinding f;
  f.subject = std::string(person_id);
  if (s.state == CertState::kExpired) {
    f.type = "CERTIFICATE_EXPIRED";
    f.severity = Severity::kMajor;
    f.message = "certificate " + cert.number + " expired " + FormatDate(s.expires);
    f.since = AddDays(s.expires, 1);
  } else {
    f.type = "CERTIFICATE_EXPIRING";
    f.severity = Severity::kMinor;
    f.message = "certificate " + cert.number + " expires " + FormatDate(s.expires) + " (" +
                Plural(s.days_left, "day") + " left)";
    f.since = AddDays(s.expires, -kCertificateExpiringDays);
  }
  return f;
}

std::optional<ComplianceFinding> DrillFinding(std::string_view party_id, DrillParty party,
                                              std::optional<Date> last, Date today) {
  DrillDue d = NextDrill(party, last, today);
  if (d.state != DueState::kOverdue) return std::nullopt;
  ComplianceFinding f;
  f.type = "DRILL_OVERDUE";
  f.severity = Severity::kMinor;
  f.subject = std::string(party_id);
  const std::string who = party == DrillParty::kUserUnit ? "user unit" : "contractor";
  if (!d.due) {
    f.message = "no rescue drill on record for the " + who;
    f.since = today;
  } else {
    f.message = "rescue drill overdue for the " + who + ": last " + FormatDate(*last) + ", due " +
                FormatDate(*d.due);
    f.since = AddDays(*d.due, 1);
  }
  return f;
}

}  // namespace lg::rules
