// The compliance date rules (rules/compliance.h) against
// shared/spec/records.md, on real calendars: leap days, month and year ends,
// the day of expiry itself, and the boundaries of every window.
#include "rules/compliance.h"

#include <gtest/gtest.h>

namespace lg::rules {
namespace {

Date D(std::string_view s) {
  Result<Date> d = ParseDate(s);
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? *d : Date{};
}
std::string S(Date d) { return FormatDate(d); }
std::string S(std::optional<Date> d) { return d ? FormatDate(*d) : "none"; }

// ---- Dates ----------------------------------------------------------------

TEST(ComplianceDates, ParseAndFormat) {
  EXPECT_EQ(S(D("2024-02-29")), "2024-02-29");
  EXPECT_EQ(S(D("2026-12-31")), "2026-12-31");
  for (const char* bad : {"2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-2-3",
                          "2026/02/03", "", "20260203", "2026-02-03T00:00"}) {
    Result<Date> d = ParseDate(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.error().code, "date");
  }
}

TEST(ComplianceDates, CalendarStepsFallBackToMonthEnd) {
  struct Case {
    const char* from;
    int years, months;
    const char* want;
  } cases[] = {
      {"2020-02-29", 1, 0, "2021-02-28"},  {"2020-02-29", 4, 0, "2024-02-29"},
      {"2020-02-29", 3, 0, "2023-02-28"},  {"2026-12-31", 0, -2, "2026-10-31"},
      {"2026-04-30", 0, -2, "2026-02-28"}, {"2028-04-29", 0, -2, "2028-02-29"},
      {"2026-08-31", 0, -2, "2026-06-30"}, {"2026-08-31", 0, 6, "2027-02-28"},
      {"2027-08-31", 0, 6, "2028-02-29"},  {"2026-05-22", 0, 6, "2026-11-22"},
      {"2026-11-15", 0, -2, "2026-09-15"}, {"2027-01-31", 0, -2, "2026-11-30"},
  };
  for (const Case& c : cases) {
    Date got = AddMonths(AddYears(D(c.from), c.years), c.months);
    EXPECT_EQ(S(got), c.want) << c.from << " +" << c.years << "y " << c.months << "m";
  }
  EXPECT_EQ(DaysBetween(D("2026-12-20"), D("2027-01-04")), 15);
  EXPECT_EQ(DaysBetween(D("2027-01-04"), D("2026-12-20")), -15);
  EXPECT_EQ(S(AddDays(D("2028-02-28"), 1)), "2028-02-29");
}

// ---- Maintenance ----------------------------------------------------------

TEST(ComplianceMaintenance, DueDatesAndStates) {
  using K = MaintenanceKind;
  struct Case {
    K kind;
    const char* last;
    const char* today;
    const char* due;
    DueState state;
    int days_left;
  } cases[] = {
      // 15 days across the year end.
      {K::kHalfMonthly, "2026-12-20", "2026-12-31", "2027-01-04", DueState::kOk, 4},
      {K::kHalfMonthly, "2026-12-20", "2027-01-01", "2027-01-04", DueState::kDueSoon, 3},
      {K::kHalfMonthly, "2026-12-20", "2027-01-04", "2027-01-04", DueState::kDueSoon, 0},
      {K::kHalfMonthly, "2026-12-20", "2027-01-05", "2027-01-04", DueState::kOverdue, -1},
      // Across month ends, short February and leap February.
      {K::kHalfMonthly, "2027-01-25", "2027-02-05", "2027-02-09", DueState::kOk, 4},
      {K::kHalfMonthly, "2027-01-25", "2027-02-06", "2027-02-09", DueState::kDueSoon, 3},
      {K::kHalfMonthly, "2027-01-25", "2027-02-10", "2027-02-09", DueState::kOverdue, -1},
      {K::kHalfMonthly, "2027-02-20", "2027-02-20", "2027-03-07", DueState::kOk, 15},
      {K::kHalfMonthly, "2028-02-20", "2028-03-06", "2028-03-06", DueState::kDueSoon, 0},
      {K::kHalfMonthly, "2026-04-30", "2026-05-15", "2026-05-15", DueState::kDueSoon, 0},
      // The longer kinds count days, not months.
      {K::kQuarterly, "2026-01-01", "2026-03-29", "2026-04-01", DueState::kDueSoon, 3},
      {K::kQuarterly, "2026-01-01", "2026-04-02", "2026-04-01", DueState::kOverdue, -1},
      {K::kHalfYearly, "2026-01-01", "2026-06-26", "2026-06-30", DueState::kOk, 4},
      {K::kAnnual, "2027-03-01", "2028-02-29", "2028-02-29", DueState::kDueSoon, 0},
      {K::kAnnual, "2027-03-01", "2028-03-01", "2028-02-29", DueState::kOverdue, -1},
  };
  for (const Case& c : cases) {
    MaintenanceDue d = NextMaintenance(c.kind, D(c.last), D(c.today));
    SCOPED_TRACE(std::string(MaintenanceKindName(c.kind)) + " last " + c.last + " today " +
                 c.today);
    EXPECT_EQ(S(d.due), c.due);
    EXPECT_EQ(DueStateName(d.state), DueStateName(c.state));
    EXPECT_EQ(d.days_left, c.days_left);
  }
}

TEST(ComplianceMaintenance, NoRecordIsOverdue) {
  MaintenanceDue d = NextMaintenance(MaintenanceKind::kHalfMonthly, std::nullopt, D("2026-11-22"));
  EXPECT_FALSE(d.due);
  EXPECT_EQ(d.state, DueState::kOverdue);
}

TEST(ComplianceMaintenance, Finding) {
  const auto kind = MaintenanceKind::kHalfMonthly;
  EXPECT_FALSE(MaintenanceFinding("L1", kind, D("2026-12-20"), D("2027-01-04")));
  auto f = MaintenanceFinding("L1", kind, D("2026-12-20"), D("2027-01-07"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "MAINTENANCE_OVERDUE");
  EXPECT_EQ(f->severity, Severity::kMajor);
  EXPECT_EQ(f->subject, "L1");
  EXPECT_EQ(S(f->since), "2027-01-05");
  EXPECT_NE(f->message.find("2027-01-04"), std::string::npos) << f->message;
  EXPECT_NE(f->message.find("3 days late"), std::string::npos) << f->message;

  auto none = MaintenanceFinding("L2", kind, std::nullopt, D("2026-11-22"));
  ASSERT_TRUE(none);
  EXPECT_EQ(S(none->since), "2026-11-22");
}

// ---- Inspection years -----------------------------------------------------

TEST(ComplianceInspection, KindByYear) {
  const char* want = "ISSISSISISISISI";  // years 1..15
  for (int y = 1; y <= 15; ++y) {
    EXPECT_EQ(CheckKindForYear(y),
              want[y - 1] == 'I' ? CheckKind::kInspection : CheckKind::kSelfTest)
        << "year " << y;
  }
  for (int y = 16; y <= 40; ++y) EXPECT_EQ(CheckKindForYear(y), CheckKind::kInspection) << y;
}

TEST(ComplianceInspection, DueDatesOnRealCalendars) {
  struct Case {
    const char* first_use;
    int year;
    CheckKind kind;
    const char* due;
  } cases[] = {
      {"2018-06-01", 1, CheckKind::kInspection, "2019-06-01"},
      {"2018-06-01", 2, CheckKind::kSelfTest, "2020-06-01"},
      {"2018-06-01", 3, CheckKind::kSelfTest, "2021-06-01"},
      {"2018-06-01", 4, CheckKind::kInspection, "2022-06-01"},
      {"2018-06-01", 5, CheckKind::kSelfTest, "2023-06-01"},
      {"2018-06-01", 7, CheckKind::kInspection, "2025-06-01"},
      {"2018-06-01", 8, CheckKind::kSelfTest, "2026-06-01"},
      {"2018-06-01", 9, CheckKind::kInspection, "2027-06-01"},
      {"2018-06-01", 15, CheckKind::kInspection, "2033-06-01"},
      {"2018-06-01", 16, CheckKind::kInspection, "2034-06-01"},
      // Leap day: 28 Feb in common years, back to 29 Feb in leap years.
      {"2020-02-29", 1, CheckKind::kInspection, "2021-02-28"},
      {"2020-02-29", 2, CheckKind::kSelfTest, "2022-02-28"},
      {"2020-02-29", 3, CheckKind::kSelfTest, "2023-02-28"},
      {"2020-02-29", 4, CheckKind::kInspection, "2024-02-29"},
      {"2020-02-29", 5, CheckKind::kSelfTest, "2025-02-28"},
      {"2020-02-29", 6, CheckKind::kSelfTest, "2026-02-28"},
      {"2020-02-29", 7, CheckKind::kInspection, "2027-02-28"},
      {"2020-02-29", 8, CheckKind::kSelfTest, "2028-02-29"},
      // Older than 15 years: an inspection every year.
      {"2009-03-15", 14, CheckKind::kSelfTest, "2023-03-15"},
      {"2009-03-15", 15, CheckKind::kInspection, "2024-03-15"},
      {"2009-03-15", 16, CheckKind::kInspection, "2025-03-15"},
      {"2009-03-15", 17, CheckKind::kInspection, "2026-03-15"},
      {"2009-03-15", 18, CheckKind::kInspection, "2027-03-15"},
      // Year end.
      {"2011-12-31", 1, CheckKind::kInspection, "2012-12-31"},
      {"2011-12-31", 13, CheckKind::kInspection, "2024-12-31"},
      {"2011-12-31", 14, CheckKind::kSelfTest, "2025-12-31"},
      {"2011-12-31", 15, CheckKind::kInspection, "2026-12-31"},
      {"2011-12-31", 16, CheckKind::kInspection, "2027-12-31"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.first_use) + " year " + std::to_string(c.year));
    EXPECT_EQ(CheckKindForYear(c.year), c.kind);
    EXPECT_EQ(S(CheckDueDate(D(c.first_use), c.year)), c.due);
  }
}

std::string Describe(const std::vector<PlanItem>& plan) {
  std::string out;
  for (const PlanItem& p : plan) {
    if (!out.empty()) out += " | ";
    out += std::to_string(p.year) + " " + std::string(CheckKindName(p.kind)) + " " + S(p.due) +
           " " + std::string(PlanStateName(p.state));
    if (p.agreed) out += " agreed " + S(*p.agreed);
    if (p.done_on) out += " on " + S(*p.done_on);
  }
  return out;
}

TEST(ComplianceInspection, Plans) {
  const auto I = CheckKind::kInspection;
  const auto ST = CheckKind::kSelfTest;
  struct Case {
    const char* name;
    const char* first_use;
    std::vector<DoneCheck> done;
    std::optional<Date> agreed;
    const char* today;
    std::string want;
  } cases[] = {
      {"missed self-test stays overdue",
       "2018-06-01",
       {},
       std::nullopt,
       "2026-11-22",
       "8 self_test 2026-06-01 overdue | 9 inspection 2027-06-01 upcoming"},
      {"self-test done in the window",
       "2018-06-01",
       {{ST, D("2026-05-10"), true}},
       std::nullopt,
       "2026-11-22",
       "9 inspection 2027-06-01 upcoming"},
      {"failed self-test covers nothing",
       "2018-06-01",
       {{ST, D("2026-05-10"), false}},
       std::nullopt,
       "2026-11-22",
       "8 self_test 2026-06-01 overdue | 9 inspection 2027-06-01 upcoming"},
      {"late self-test catches up",
       "2018-06-01",
       {{ST, D("2026-09-01"), true}},
       std::nullopt,
       "2026-11-22",
       "9 inspection 2027-06-01 upcoming"},
      {"agreed date on an overdue item keeps it overdue",
       "2018-06-01",
       {},
       D("2026-12-01"),
       "2026-11-22",
       "8 self_test 2026-06-01 overdue agreed 2026-12-01 | 9 inspection 2027-06-01 upcoming"},
      {"older than 15: yearly",
       "2009-03-15",
       {{I, D("2026-03-01"), true}},
       std::nullopt,
       "2026-11-22",
       "18 inspection 2027-03-15 upcoming"},
      {"older than 15: self-test does not do",
       "2009-03-15",
       {{ST, D("2026-03-01"), true}},
       std::nullopt,
       "2026-11-22",
       "17 inspection 2026-03-15 overdue | 18 inspection 2027-03-15 upcoming"},
      {"year 15 due soon",
       "2011-12-31",
       {{ST, D("2025-12-01"), true}},
       std::nullopt,
       "2026-11-22",
       "15 inspection 2026-12-31 due_soon"},
      {"year 15 planned",
       "2011-12-31",
       {{ST, D("2025-12-01"), true}},
       D("2026-12-10"),
       "2026-11-22",
       "15 inspection 2026-12-31 planned agreed 2026-12-10"},
      {"year 15 done early",
       "2011-12-31",
       {{ST, D("2025-12-01"), true}, {I, D("2026-11-01"), true}},
       D("2026-12-10"),
       "2026-11-22",
       "15 inspection 2026-12-31 done on 2026-11-01"},
      {"year 16 enters the window on its day",
       "2011-12-31",
       {{ST, D("2025-12-01"), true}, {I, D("2026-11-01"), true}},
       std::nullopt,
       "2026-12-31",
       "15 inspection 2026-12-31 done on 2026-11-01 | 16 inspection 2027-12-31 upcoming"},
      {"leap-day car",
       "2020-02-29",
       {{ST, D("2026-02-28"), true}},
       std::nullopt,
       "2026-11-22",
       "7 inspection 2027-02-28 upcoming"},
      {"leap-day car, 60 days",
       "2020-02-29",
       {{ST, D("2026-02-28"), true}},
       std::nullopt,
       "2026-12-30",
       "7 inspection 2027-02-28 due_soon"},
      {"due today is due soon, not overdue",
       "2020-02-29",
       {},
       std::nullopt,
       "2024-02-29",
       "3 self_test 2023-02-28 overdue | 4 inspection 2024-02-29 due_soon | "
       "5 self_test 2025-02-28 upcoming"},
      {"new car: nothing before year 1",
       "2026-10-01",
       {},
       std::nullopt,
       "2026-11-22",
       "1 inspection 2027-10-01 upcoming"},
  };
  for (const Case& c : cases) {
    auto plan = InspectionPlan(D(c.first_use), c.done, c.agreed, D(c.today));
    EXPECT_EQ(Describe(plan), c.want) << c.name;
  }
}

TEST(ComplianceInspection, EarlyWindowBoundaries) {
  // Year 9 of a 2018-06-01 car is due 2027-06-01; its window opens
  // 2027-04-01. Year 10 is due 2028-06-01, window from 2028-04-01.
  const Date first = D("2018-06-01");
  EXPECT_EQ(S(EarlyWindowStart(D("2027-06-01"))), "2027-04-01");
  EXPECT_EQ(S(EarlyWindowStart(D("2026-12-31"))), "2026-10-31");
  EXPECT_EQ(S(EarlyWindowStart(D("2024-02-29"))), "2023-12-29");
  EXPECT_EQ(S(EarlyWindowStart(D("2026-04-30"))), "2026-02-28");
  struct Case {
    const char* done_on;
    CheckKind kind;
    const char* today;
    std::string want;
  } cases[] = {
      // First day of the window: year 9 done; year 8's miss is superseded.
      {"2027-04-01", CheckKind::kInspection, "2027-05-01",
       "9 inspection 2027-06-01 done on 2027-04-01"},
      // The day before: too early for year 9; it is a late check for year 8.
      {"2027-03-31", CheckKind::kInspection, "2027-05-01", "9 inspection 2027-06-01 due_soon"},
      // On the due date itself.
      {"2027-06-01", CheckKind::kInspection, "2027-06-01",
       "9 inspection 2027-06-01 done on 2027-06-01"},
      // Late, up to the day before year 10's window opens.
      {"2028-03-31", CheckKind::kInspection, "2028-03-31", "10 self_test 2028-06-01 upcoming"},
      // On the first day of year 10's window it counts for year 10 instead.
      {"2028-04-01", CheckKind::kInspection, "2028-04-01",
       "10 self_test 2028-06-01 done on 2028-04-01"},
      // A self-test never covers an inspection year.
      {"2027-05-01", CheckKind::kSelfTest, "2027-05-02",
       "8 self_test 2026-06-01 overdue | 9 inspection 2027-06-01 due_soon"},
  };
  for (const Case& c : cases) {
    auto plan = InspectionPlan(first, {{c.kind, D(c.done_on), true}}, std::nullopt, D(c.today));
    EXPECT_EQ(Describe(plan), c.want) << "done " << c.done_on << " today " << c.today;
  }
  // Without that late inspection year 9 would still be overdue that day.
  EXPECT_EQ(Describe(InspectionPlan(first, {}, std::nullopt, D("2028-03-31"))),
            "9 inspection 2027-06-01 overdue | 10 self_test 2028-06-01 upcoming");
}

TEST(ComplianceInspection, NextDueAndFindings) {
  const Date first = D("2018-06-01");
  EXPECT_EQ(S(NextInspectionDue(first, {}, std::nullopt, D("2026-11-22"))), "2026-06-01");
  EXPECT_EQ(S(NextInspectionDue(first, {{CheckKind::kSelfTest, D("2026-05-10"), true}},
                                std::nullopt, D("2026-11-22"))),
            "2027-06-01");
  // The mark's date wins over the schedule.
  EXPECT_EQ(S(NextInspectionDue(first, {}, D("2027-01-21"), D("2026-11-22"))), "2027-01-21");
  // Done early for every check in the window: the one after still shows.
  EXPECT_EQ(S(NextInspectionDue(D("2011-12-31"),
                                {{CheckKind::kSelfTest, D("2025-12-01"), true},
                                 {CheckKind::kInspection, D("2026-11-01"), true}},
                                std::nullopt, D("2026-11-22"))),
            "2027-12-31");

  struct Case {
    const char* today;
    const char* type;  // "" for none
    Severity severity;
    const char* since;
  } cases[] = {
      {"2026-11-21", "", Severity::kMinor, ""},                          // 61 days before
      {"2026-11-22", "INSPECTION_DUE", Severity::kMinor, "2026-11-22"},  // 60
      {"2027-01-21", "INSPECTION_DUE", Severity::kMinor, "2026-11-22"},  // the day itself
      {"2027-01-22", "INSPECTION_OVERDUE", Severity::kCritical, "2027-01-22"},
      {"2028-01-01", "INSPECTION_OVERDUE", Severity::kCritical, "2027-01-22"},
  };
  for (const Case& c : cases) {
    auto f = InspectionFinding("L3", D("2027-01-21"), D(c.today));
    if (std::string(c.type).empty()) {
      EXPECT_FALSE(f) << c.today;
      continue;
    }
    ASSERT_TRUE(f) << c.today;
    EXPECT_EQ(f->type, c.type) << c.today;
    EXPECT_EQ(f->severity, c.severity) << c.today;
    EXPECT_EQ(S(f->since), c.since) << c.today;
    EXPECT_EQ(f->subject, "L3");
  }
  EXPECT_FALSE(InspectionFinding("L3", std::nullopt, D("2026-11-22")));
}

// ---- Certificates ---------------------------------------------------------

TEST(ComplianceCertificates, ExpiryToTheDay) {
  struct Case {
    const char* issued;
    const char* today;
    const char* expires;
    CertState state;
    int days_left;
  } cases[] = {
      {"2022-11-22", "2026-08-23", "2026-11-22", CertState::kValid, 91},
      {"2022-11-22", "2026-08-24", "2026-11-22", CertState::kExpiring, 90},
      {"2022-11-22", "2026-11-21", "2026-11-22", CertState::kExpiring, 1},
      {"2022-11-22", "2026-11-22", "2026-11-22", CertState::kExpiring, 0},  // still valid
      {"2022-11-22", "2026-11-23", "2026-11-22", CertState::kExpired, -1},
      {"2024-02-29", "2028-02-29", "2028-02-29", CertState::kExpiring, 0},
      {"2024-02-29", "2028-03-01", "2028-02-29", CertState::kExpired, -1},
      {"2023-03-01", "2027-02-28", "2027-03-01", CertState::kExpiring, 1},
  };
  for (const Case& c : cases) {
    CertificateState s = CertificateStatus(D(c.issued), D(c.today));
    SCOPED_TRACE(std::string("issued ") + c.issued + " today " + c.today);
    EXPECT_EQ(S(s.expires), c.expires);
    EXPECT_EQ(CertStateName(s.state), CertStateName(c.state));
    EXPECT_EQ(s.days_left, c.days_left);
  }
}

TEST(ComplianceCertificates, Findings) {
  Certificate cert{CertCategory::kT, "TS3101-0042", D("2022-11-22")};
  EXPECT_FALSE(CertificateFinding("p7", cert, D("2026-08-23")));
  auto expiring = CertificateFinding("p7", cert, D("2026-08-24"));
  ASSERT_TRUE(expiring);
  EXPECT_EQ(expiring->type, "CERTIFICATE_EXPIRING");
  EXPECT_EQ(expiring->severity, Severity::kMinor);
  EXPECT_EQ(S(expiring->since), "2026-08-24");
  auto on_day = CertificateFinding("p7", cert, D("2026-11-22"));
  ASSERT_TRUE(on_day);
  EXPECT_EQ(on_day->type, "CERTIFICATE_EXPIRING");
  auto expired = CertificateFinding("p7", cert, D("2026-11-23"));
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->type, "CERTIFICATE_EXPIRED");
  EXPECT_EQ(expired->severity, Severity::kMajor);
  EXPECT_EQ(expired->subject, "p7");
  EXPECT_EQ(S(expired->since), "2026-11-23");
  EXPECT_NE(expired->message.find("TS3101-0042"), std::string::npos);
}

TEST(ComplianceCertificates, CanSign) {
  Certificate t{CertCategory::kT, "T-1", D("2022-11-22")};
  EXPECT_TRUE(CanSign(t, D("2022-11-22")).ok());
  EXPECT_TRUE(CanSign(t, D("2026-11-21")).ok());
  EXPECT_TRUE(CanSign(t, D("2026-11-22")).ok());  // the expiry day is still valid
  Status late = CanSign(t, D("2026-11-23"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, "certificate");
  EXPECT_NE(late.error().message.find("2026-11-22"), std::string::npos);
  EXPECT_FALSE(CanSign(t, D("2022-11-21")).ok());  // before issue

  Certificate a{CertCategory::kA, "A-1", D("2025-01-01")};
  Status wrong = CanSign(a, D("2026-01-01"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("category T"), std::string::npos);
  EXPECT_FALSE(CanSign(std::nullopt, D("2026-01-01")).ok());
}

// ---- Drills ---------------------------------------------------------------

TEST(ComplianceDrills, DueAndOverdue) {
  struct Case {
    DrillParty party;
    const char* last;
    const char* today;
    const char* due;
    DueState state;
  } cases[] = {
      {DrillParty::kUserUnit, "2025-11-22", "2026-11-22", "2026-11-22", DueState::kOk},
      {DrillParty::kUserUnit, "2025-11-22", "2026-11-23", "2026-11-22", DueState::kOverdue},
      {DrillParty::kUserUnit, "2024-02-29", "2025-02-28", "2025-02-28", DueState::kOk},
      {DrillParty::kUserUnit, "2024-02-29", "2025-03-01", "2025-02-28", DueState::kOverdue},
      {DrillParty::kContractor, "2026-05-22", "2026-11-22", "2026-11-22", DueState::kOk},
      {DrillParty::kContractor, "2026-05-22", "2026-11-23", "2026-11-22", DueState::kOverdue},
      {DrillParty::kContractor, "2026-08-31", "2027-02-28", "2027-02-28", DueState::kOk},
      {DrillParty::kContractor, "2026-08-31", "2027-03-01", "2027-02-28", DueState::kOverdue},
  };
  for (const Case& c : cases) {
    DrillDue d = NextDrill(c.party, D(c.last), D(c.today));
    SCOPED_TRACE(std::string("last ") + c.last + " today " + c.today);
    EXPECT_EQ(S(d.due), c.due);
    EXPECT_EQ(DueStateName(d.state), DueStateName(c.state));
  }
  EXPECT_EQ(NextDrill(DrillParty::kUserUnit, std::nullopt, D("2026-11-22")).state,
            DueState::kOverdue);
}

TEST(ComplianceDrills, Findings) {
  EXPECT_FALSE(DrillFinding("unit", DrillParty::kUserUnit, D("2025-11-22"), D("2026-11-22")));
  auto f = DrillFinding("c9", DrillParty::kContractor, D("2026-05-22"), D("2026-12-01"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->type, "DRILL_OVERDUE");
  EXPECT_EQ(f->severity, Severity::kMinor);
  EXPECT_EQ(f->subject, "c9");
  EXPECT_EQ(S(f->since), "2026-11-23");
  auto none = DrillFinding("unit", DrillParty::kUserUnit, std::nullopt, D("2026-11-22"));
  ASSERT_TRUE(none);
  EXPECT_EQ(S(none->since), "2026-11-22");
}

}  // namespace
}  // namespace lg::rules
