// Reports (daemon/reports.h) from a seeded database, every figure checked
// against numbers worked out by hand below; the CSV and HTML shapes; and the
// CSV import and export of records (daemon/records_csv.h): all or nothing,
// line numbers, byte order mark and quotes, and export -> import -> export.
#include "daemon/reports.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>

#include "daemon/csv.h"
#include "daemon/records_csv.h"
#include "daemon/records_service.h"
#include "daemon/reports_api.h"
#include "db/database.h"
#include "db/incident_store.h"
#include "db/records_store.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using rules::Date;

Date Ymd(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

const SiteTime kSite = SiteTime::Fixed(8h);  // the site is at +08:00

// hh:mm at the site on the given date.
WallTime At(Date d, int hour, int minute = 0) { return kSite.At(d, hour * 60 + minute); }
std::string T(Date d, int hour, int minute = 0) { return db::FormatTime(At(d, hour, minute)); }

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "reports";
  std::filesystem::create_directories(dir);
  std::string path = (dir / (name + ".db")).string();
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

// ---- the seeded dataset ----------------------------------------------------------------
//
// The site is at +08:00; the report is for November 2026 and is made at
// 23:58 on 30 Nov 2026 local time ("now"), so every day of the month is
// counted. Two cars: OP-1 and OP-2, both maintained by acme.

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto db = db::Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    Seed();
    auto r = db::Database::OpenReader(path_);
    ASSERT_TRUE(r.ok());
    reader_ = std::move(r).value();
  }

  void Alarm(int64_t id, const std::string& subject, const std::string& type,
             const std::string& severity, WallTime raised, const std::string& suppressed = "") {
    SQLite::Statement q(db_->handle(),
                        "INSERT INTO alarms(id, elevator, type, severity, state, active, acked, "
                        "raised_at, suppressed_by, revision, updated_at) VALUES "
                        "(?,?,?,?,'closed',0,1,?,?,1,?)");
    q.bind(1, id);
    q.bind(2, subject);
    q.bind(3, type);
    q.bind(4, severity);
    q.bind(5, db::FormatTime(raised));
    q.bind(6, suppressed);
    q.bind(7, db::FormatTime(raised));
    q.exec();
  }

  // An incident opened at `open` with steps at the given seconds after it
  // (negative: not recorded); ended by closed or false_alarm at `end_s`.
  void Incident(const std::string& car, WallTime open, int on_site_target, int ack_s, int acc_s,
                int site_s, const std::string& end, int end_s) {
    db::IncidentRow row;
    row.elevator = car;
    row.opened_at = db::FormatTime(open);
    row.acknowledged_target_min = 3;
    row.accepted_target_min = 5;
    row.on_site_target_min = on_site_target;
    auto at = [&](int s) { return db::FormatTime(open + std::chrono::seconds(s)); };
    row.steps.push_back({"open", at(0), "system", ""});
    row.steps.push_back({"dispatched", at(0), "system", ""});
    if (ack_s >= 0) row.steps.push_back({"acknowledged", at(ack_s), "olga", ""});
    if (acc_s >= 0) row.steps.push_back({"accepted", at(acc_s), "carl", ""});
    if (site_s >= 0) row.steps.push_back({"on_site", at(site_s), "carl", ""});
    if (end == "closed") {
      row.steps.push_back({"released", at(end_s - 60), "carl", ""});
      row.steps.push_back({"closed", at(end_s), "carl", ""});
      row.state = "closed";
      row.closed_at = at(end_s);
    } else if (end == "false_alarm") {
      row.steps.push_back({"false_alarm", at(end_s), "olga", ""});
      row.state = "false_alarm";
      row.closed_at = at(end_s);
    } else {
      row.state = "open";
    }
    row.step = row.steps.back().step;
    row.updated_at = row.steps.back().at;
    db::IncidentStore store(*db_);
    auto id = store.Insert(row);
    ASSERT_TRUE(id.ok()) << id.error().message;
  }

  int64_t Maint(const std::string& car, const std::string& kind, Date d,
                std::optional<int64_t> amends = std::nullopt) {
    db::MaintenanceRow m;
    m.elevator = car;
    m.kind = kind;
    m.contractor = "acme";
    m.started_at = T(d, 9);
    m.ended_at = T(d, 10);
    m.local_date = rules::FormatDate(d);
    m.amends = amends;
    m.created_at = T(d, 11);
    auto id = db::RecordsStore(*db_).AddMaintenance(m);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  int64_t Person(const std::string& name, bool active = true) {
    db::PersonRow p;
    p.name = name;
    p.contractor = "acme";
    p.active = active;
    p.created_at = T(Ymd(2026, 1, 1), 9);
    auto id = db::RecordsStore(*db_).AddPerson(p);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  void Cert(int64_t person, const std::string& category, Date issued) {
    db::PersonnelCertRow c;
    c.person_id = person;
    c.category = category;
    c.number = category + "-" + std::to_string(person) + "-" + rules::FormatDate(issued);
    c.issued_on = rules::FormatDate(issued);
    c.expires_on = rules::FormatDate(rules::AddYears(issued, 4));
    c.created_at = T(Ymd(2026, 1, 1), 9);
    ASSERT_TRUE(db::RecordsStore(*db_).AddPersonnelCert(c).ok());
  }

  void Seed() {
    db::RecordsStore store(*db_);
    ASSERT_TRUE(store.RecordsSince("2026-01-01").ok());
    ASSERT_TRUE(store
                    .SyncConfig({{"acme", "Acme Lift Service", "+86 20 0000", true}},
                                {{"OP-1", "acme"}}, "2026-01-01", T(Ymd(2026, 1, 1), 0))
                    .ok());
    // OP-2's contract with acme starts on 20 Oct 2026.
    db::AssignmentRow a;
    a.elevator = "OP-2";
    a.contractor = "acme";
    a.starts_on = "2026-10-20";
    a.created_at = T(Ymd(2026, 10, 20), 9);
    ASSERT_TRUE(store.AddAssignment(a).ok());

    // People first, so that Li Wei is person 1 (the subject of alarm 6).
    int64_t li = Person("Li Wei");
    int64_t wang = Person("Wang Fang");
    int64_t zhao = Person("Zhao Min");
    int64_t chen = Person("Chen Jie", /*active=*/false);
    int64_t sun = Person("Sun Li");
    int64_t zhou = Person("Zhou Yi");
    ASSERT_EQ(li, 1);

    // Alarms. Local times; the month is November by the site's calendar.
    Alarm(1, "OP-1", "TRAPPED", "critical", At(Ymd(2026, 11, 1), 0, 30));  // 31 Oct 16:30 UTC
    Alarm(2, "OP-1", "DOOR_OPEN_TOO_LONG", "minor", At(Ymd(2026, 11, 10), 10));
    Alarm(3, "OP-2", "DOOR_OPEN_TOO_LONG", "minor", At(Ymd(2026, 11, 15), 10), "inspection");
    Alarm(4, "OP-2", "COMMS_LOST", "major", At(Ymd(2026, 11, 30), 23, 55));
    Alarm(5, "OP-2", "TRAPPED", "critical", At(Ymd(2026, 12, 1), 0, 10));  // 30 Nov 16:10 UTC
    Alarm(6, "person:1", "CERTIFICATE_EXPIRING", "minor", At(Ymd(2026, 11, 20), 6));
    Alarm(7, "OP-1", "DOOR_OPEN_TOO_LONG", "minor", At(Ymd(2026, 10, 31), 23, 50));
    Alarm(8, "OP-1", "TRAPPED", "critical", At(Ymd(2025, 12, 3), 10));
    Alarm(9, "OP-1", "COMMS_LOST", "major", At(Ymd(2025, 11, 30), 12));

    // Rescue incidents: (car, opened, on_site target, ack s, accepted s,
    // on_site s, how it ended, end s).
    Incident("OP-1", At(Ymd(2026, 11, 1), 0, 30), 30, 120, 270, 1500, "closed", 2700);
    Incident("OP-2", At(Ymd(2026, 11, 12), 14), 15, 180, 360, 840, "closed", 1800);
    Incident("OP-1", At(Ymd(2026, 11, 20), 9), 30, -1, -1, -1, "false_alarm", 60);
    Incident("OP-2", At(Ymd(2026, 11, 29), 22), 30, 600, 240, 2400, "closed", 3300);
    Incident("OP-1", At(Ymd(2026, 11, 30), 23, 50), 30, 60, -1, -1, "open", 0);
    Incident("OP-2", At(Ymd(2026, 10, 31), 23), 30, 60, 120, 600, "closed", 900);

    // Maintenance of OP-1.
    Maint("OP-1", "annual", Ymd(2026, 5, 10));
    Maint("OP-1", "half_monthly", Ymd(2026, 10, 25));
    int64_t orig = Maint("OP-1", "half_monthly", Ymd(2026, 11, 12));
    Maint("OP-1", "half_monthly", Ymd(2026, 11, 13), orig);  // amends the 12 Nov record
    Maint("OP-1", "quarterly", Ymd(2026, 11, 16));
    Maint("OP-1", "half_monthly", Ymd(2026, 11, 25));
    // Maintenance of OP-2: one half-monthly visit and a repair.
    Maint("OP-2", "half_monthly", Ymd(2026, 11, 20));
    Maint("OP-2", "repair", Ymd(2026, 11, 21));

    // Inspection marks and inspections.
    db::ElevatorCertRow old_mark;
    old_mark.elevator = "OP-2";
    old_mark.kind = "inspection_mark";
    old_mark.issued_on = "2025-11-10";
    old_mark.expires_on = "2026-11-10";
    old_mark.created_at = T(Ymd(2026, 1, 1), 9);
    ASSERT_TRUE(store.AddElevatorCert(old_mark).ok());
    auto inspect = [&](const std::string& car, const std::string& kind, const std::string& state,
                       const std::string& on, const std::string& result,
                       const std::string& next_due, std::vector<std::string> items) {
      db::InspectionRow row;
      row.elevator = car;
      row.kind = kind;
      row.state = state;
      (state == "planned" ? row.agreed_on : row.done_on) = on;
      row.result = result;
      row.next_due = next_due;
      row.agency = "City Institute";
      row.created_at = row.updated_at = T(Ymd(2026, 11, 1), 9);
      std::vector<db::RectificationRow> opens;
      for (const auto& i : items) {
        row.items.push_back({i, ""});
        db::RectificationRow r;
        r.elevator = car;
        r.item = i;
        r.opened_at = row.created_at;
        opens.push_back(r);
      }
      auto id = store.SaveInspection(row, opens);
      EXPECT_TRUE(id.ok());
      return id.ok() ? *id : 0;
    };
    inspect("OP-2", "inspection", "done", "2026-10-30", "pass", "2027-02-15", {});
    inspect("OP-1", "inspection", "done", "2026-11-05", "pass_with_rectification", "2027-11-05",
            {"door 3 gap", "car light"});
    inspect("OP-2", "self_test", "done", "2026-11-18", "fail", "", {});
    inspect("OP-2", "inspection", "planned", "2026-11-28", "", "", {});
    // One of OP-1's two tasks is closed again.
    db::RecordFilter open;
    open.state = "open";
    auto tasks = db::RecordsStore::Rectifications(db_->handle(), open);
    ASSERT_TRUE(tasks.ok());
    ASSERT_EQ(tasks->size(), 2u);
    ASSERT_TRUE(
        store.CloseRectification(tasks->front().id, "sam", T(Ymd(2026, 11, 9), 9), "done").ok());

    // Personnel certificates (4 years from issue).
    Cert(li, "T", Ymd(2022, 11, 22));    // expires 2026-11-22
    Cert(wang, "T", Ymd(2022, 12, 20));  // expires 2026-12-20
    Cert(wang, "T", Ymd(2026, 12, 2));   // renewal issued after the period: not yet
    Cert(zhao, "A", Ymd(2022, 11, 29));  // expires 2026-11-29, but ...
    Cert(zhao, "A", Ymd(2026, 11, 25));  // ... renewed within the period
    Cert(chen, "T", Ymd(2022, 10, 1));   // expired, but Chen Jie has left
    Cert(sun, "T", Ymd(2023, 3, 1));     // expires 2027-03-01
    Cert(zhou, "T", Ymd(2023, 2, 28));   // expires 2027-02-28
  }

  reports::Report Make(const std::string& kind, const std::string& period,
                       WallTime now = At(Ymd(2026, 11, 30), 23, 58)) {
    auto p = reports::ParsePeriod(kind, period);
    EXPECT_TRUE(p.ok());
    reports::Options o;
    o.site_time = kSite;
    o.now = now;
    o.elevators = {{"OP-1", "Outpatient 1"}, {"OP-2", "Outpatient 2"}};
    auto r = reports::Compute(*reader_, *p, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : reports::Report{};
  }

  std::string path_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<SQLite::Database> reader_;
};

TEST(ReportPeriod, ParsesMonthsAndYearsAndNamesThePeriodWhenBad) {
  auto m = reports::ParsePeriod("month", "2028-02");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(rules::FormatDate(m->from), "2028-02-01");
  EXPECT_EQ(rules::FormatDate(m->to), "2028-02-29");  // a leap year
  auto y = reports::ParsePeriod("year", "2026");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(rules::FormatDate(y->from), "2026-01-01");
  EXPECT_EQ(rules::FormatDate(y->to), "2026-12-31");
  for (auto [kind, text] : std::vector<std::pair<std::string, std::string>>{{"month", "2026-13"},
                                                                            {"month", "2026-1"},
                                                                            {"month", "2026"},
                                                                            {"month", "1999-12"},
                                                                            {"month", "2026-11x"},
                                                                            {"year", "2026-11"},
                                                                            {"year", "26"}}) {
    auto bad = reports::ParsePeriod(kind, text);
    ASSERT_FALSE(bad.ok()) << kind << " " << text;
    EXPECT_EQ(bad.error().code, "bad_parameter");
    EXPECT_NE(bad.error().message.find("period"), std::string::npos) << bad.error().message;
  }
}

TEST_F(ReportTest, AlarmsByTypeElevatorAndMonth) {
  auto r = Make("month", "2026-11");
  // In November (local): alarms 1 (00:30 on 1 Nov local, still 31 Oct in
  // UTC), 2, 3, 4 and 6. Not 5 (00:10 on 1 Dec local, though 30 Nov UTC),
  // not 7 (31 Oct local), not 8 or 9 (2025).
  EXPECT_EQ(r.alarms_total, 5);
  // By type, most first: DOOR_OPEN_TOO_LONG 2 (alarms 2 and 3; 3 was
  // suppressed), then TRAPPED, COMMS_LOST, CERTIFICATE_EXPIRING 1 each.
  ASSERT_EQ(r.alarms_by_type.size(), 4u);
  EXPECT_EQ(r.alarms_by_type[0].type, "DOOR_OPEN_TOO_LONG");
  EXPECT_EQ(r.alarms_by_type[0].count, 2);
  EXPECT_EQ(r.alarms_by_type[0].suppressed, 1);
  std::map<std::string, int64_t> counts;
  for (const auto& t : r.alarms_by_type) counts[t.type] = t.count;
  EXPECT_EQ(counts["TRAPPED"], 1);
  EXPECT_EQ(counts["COMMS_LOST"], 1);
  EXPECT_EQ(counts["CERTIFICATE_EXPIRING"], 1);
  // By elevator: the configured cars first, then person 1 by name.
  ASSERT_EQ(r.alarms_by_subject.size(), 3u);
  EXPECT_EQ(r.alarms_by_subject[0].subject, "OP-1");
  EXPECT_EQ(r.alarms_by_subject[0].name, "Outpatient 1");
  EXPECT_EQ(r.alarms_by_subject[0].total, 2);  // alarms 1 (critical) and 2 (minor)
  EXPECT_EQ(r.alarms_by_subject[0].critical, 1);
  EXPECT_EQ(r.alarms_by_subject[0].minor, 1);
  EXPECT_EQ(r.alarms_by_subject[1].total, 2);  // alarms 3 (minor) and 4 (major)
  EXPECT_EQ(r.alarms_by_subject[1].major, 1);
  EXPECT_EQ(r.alarms_by_subject[1].minor, 1);
  EXPECT_EQ(r.alarms_by_subject[2].subject, "person:1");
  EXPECT_EQ(r.alarms_by_subject[2].name, "Li Wei");
  EXPECT_EQ(r.alarms_by_subject[2].total, 1);
  // Per month: Dec 2025 .. Nov 2026. Dec 2025: alarm 8; Oct 2026: alarm 7;
  // Nov 2026: the 5 above. Alarm 9 (Nov 2025) is before the chart.
  ASSERT_EQ(r.alarms_per_month.size(), 12u);
  EXPECT_EQ(r.alarms_per_month.front().month, "2025-12");
  EXPECT_EQ(r.alarms_per_month.back().month, "2026-11");
  std::map<std::string, int64_t> per;
  int64_t sum = 0;
  for (const auto& m : r.alarms_per_month) {
    per[m.month] = m.count;
    sum += m.count;
  }
  EXPECT_EQ(per["2025-12"], 1);
  EXPECT_EQ(per["2026-10"], 1);
  EXPECT_EQ(per["2026-11"], 5);
  EXPECT_EQ(sum, 7);
}

TEST_F(ReportTest, YearReportChartsTheCalendarYear) {
  auto r = Make("year", "2026");
  // 2026 local: alarms 1, 2, 3, 4, 6 (Nov), 7 (Oct) and 5 (1 Dec local).
  EXPECT_EQ(r.alarms_total, 7);
  ASSERT_EQ(r.alarms_per_month.size(), 12u);
  EXPECT_EQ(r.alarms_per_month.front().month, "2026-01");
  EXPECT_EQ(r.alarms_per_month[9].count, 1);   // Oct
  EXPECT_EQ(r.alarms_per_month[10].count, 5);  // Nov
  EXPECT_EQ(r.alarms_per_month[11].count, 1);  // Dec
  EXPECT_EQ(r.counted_to, "2026-11-30");       // overdue days are counted up to today
}

TEST_F(ReportTest, EntrapmentsInsideTargets) {
  auto r = Make("month", "2026-11");
  // Opened in November: 4 entrapments (the OP-1 and OP-2 ones of 1, 12,
  // 29 and 30 Nov), 1 false alarm (20 Nov); the one of 31 Oct is October's.
  EXPECT_EQ(r.entrapments, 4);
  EXPECT_EQ(r.false_alarms, 1);
  EXPECT_EQ(r.open_incidents, 1);
  ASSERT_EQ(r.incidents.size(), 4u);
  ASSERT_EQ(r.targets.size(), 3u);
  // Response (acknowledged, target 3 min = 180 s): 120 in, 180 in (exactly
  // on target is in time), 600 missed, 60 in -> 3 of 4 = 75.0 %;
  // mean (120 + 180 + 600 + 60) / 4 = 240 s; longest 600 s.
  const auto& ack = r.targets[0];
  EXPECT_EQ(ack.label, "response");
  EXPECT_EQ(ack.within, 3);
  EXPECT_EQ(ack.missed, 1);
  EXPECT_EQ(ack.pending, 0);
  EXPECT_DOUBLE_EQ(ack.within_pct.value_or(-1), 75.0);
  EXPECT_EQ(ack.mean_s.value_or(-1), 240);
  EXPECT_EQ(ack.max_s.value_or(-1), 600);
  // Acceptance (accepted, 5 min = 300 s): 270 in, 360 missed, 240 in; the
  // open one has none after 8 min (23:50 -> 23:58) -> missed. 2 of 4 = 50.0 %;
  // mean over the 3 reached (270 + 360 + 240) / 3 = 290 s.
  const auto& acc = r.targets[1];
  EXPECT_EQ(acc.label, "acceptance");
  EXPECT_EQ(acc.within, 2);
  EXPECT_EQ(acc.missed, 2);
  EXPECT_EQ(acc.pending, 0);
  EXPECT_DOUBLE_EQ(acc.within_pct.value_or(-1), 50.0);
  EXPECT_EQ(acc.mean_s.value_or(-1), 290);
  EXPECT_EQ(acc.max_s.value_or(-1), 360);
  // Arrival (on_site; each incident's own target: 30, 15, 30, 30 min):
  // 1500 s <= 1800 in, 840 s <= 900 in, 2400 s > 1800 missed, the open one
  // still has 22 min to go -> pending. 2 of 3 decided = 66.7 %;
  // mean (1500 + 840 + 2400) / 3 = 1580 s.
  const auto& site = r.targets[2];
  EXPECT_EQ(site.label, "arrival");
  EXPECT_EQ(site.within, 2);
  EXPECT_EQ(site.missed, 1);
  EXPECT_EQ(site.pending, 1);
  EXPECT_DOUBLE_EQ(site.within_pct.value_or(-1), 66.7);
  EXPECT_EQ(site.mean_s.value_or(-1), 1580);
  EXPECT_EQ(site.max_s.value_or(-1), 2400);
  // The 12 Nov one kept its 15 min arrival target and missed acceptance.
  EXPECT_EQ(r.incidents[1].target_min[2], 15);
  EXPECT_EQ(r.incidents[1].over, std::vector<std::string>{"accepted"});
}

TEST_F(ReportTest, MaintenanceOnTime) {
  auto r = Make("month", "2026-11");
  auto line = [&](const std::string& car, const std::string& kind) {
    for (const auto& m : r.maintenance) {
      if (m.elevator == car && m.kind == kind) return m;
    }
    ADD_FAILURE() << "no line " << car << " " << kind;
    return reports::MaintenanceLine{};
  };
  ASSERT_EQ(r.maintenance.size(), 8u);  // 2 cars x 4 periodic kinds
  // OP-1 half-monthly. Days that count: 25 Oct, 13 Nov (the amendment; the
  // 12 Nov original it replaces does not count), 16 Nov (quarterly: a longer
  // kind counts) and 25 Nov. 13 Nov is 19 days after 25 Oct: late; 16 Nov
  // (3 days) and 25 Nov (9 days) on time -> 3 visits, 2 on time, 66.7 %.
  // Due 9 Nov after 25 Oct: overdue 10, 11 and 12 Nov -> 3 days.
  auto hm = line("OP-1", "half_monthly");
  EXPECT_EQ(hm.name, "Outpatient 1");
  EXPECT_EQ(hm.visits, 3);
  EXPECT_EQ(hm.on_time, 2);
  EXPECT_EQ(hm.late, 1);
  EXPECT_DOUBLE_EQ(hm.on_time_pct.value_or(-1), 66.7);
  EXPECT_EQ(hm.days_overdue, 3);
  EXPECT_FALSE(hm.overdue_at_end);
  // OP-1 quarterly: the annual of 10 May counts; 16 Nov is 190 days later:
  // late. Due 8 Aug, so overdue 1..15 Nov -> 15 days.
  auto q = line("OP-1", "quarterly");
  EXPECT_EQ(q.visits, 1);
  EXPECT_EQ(q.on_time, 0);
  EXPECT_EQ(q.late, 1);
  EXPECT_EQ(q.days_overdue, 15);
  EXPECT_FALSE(q.overdue_at_end);
  // OP-1 half-yearly: 10 May + 180 days = 6 Nov; overdue 7..30 Nov -> 24
  // days, still overdue at the end.
  auto hy = line("OP-1", "half_yearly");
  EXPECT_EQ(hy.visits, 0);
  EXPECT_EQ(hy.days_overdue, 24);
  EXPECT_TRUE(hy.overdue_at_end);
  EXPECT_FALSE(hy.on_time_pct.has_value());
  // OP-1 annual: due 10 May 2027.
  EXPECT_EQ(line("OP-1", "annual").days_overdue, 0);
  // OP-2 half-monthly: no record before 20 Nov, so counted from the
  // contract start, 20 Oct: due 4 Nov, overdue 5..19 Nov -> 15 days; the
  // visit of 20 Nov is 31 days after it: late. The repair counts nowhere.
  auto op2 = line("OP-2", "half_monthly");
  EXPECT_EQ(op2.visits, 1);
  EXPECT_EQ(op2.late, 1);
  EXPECT_EQ(op2.days_overdue, 15);
  EXPECT_FALSE(op2.overdue_at_end);
  // OP-2 quarterly from 20 Oct: due 18 Jan 2027.
  EXPECT_EQ(line("OP-2", "quarterly").days_overdue, 0);
  // All: 3 + 1 + 1 = 5 visits, 2 on time = 40.0 %.
  EXPECT_EQ(r.maintenance_visits, 5);
  EXPECT_EQ(r.maintenance_on_time, 2);
  EXPECT_DOUBLE_EQ(r.maintenance_on_time_pct.value_or(-1), 40.0);
}

TEST_F(ReportTest, OverdueDaysStopAtToday) {
  // Made on 10 Nov: only 1..10 Nov are counted. OP-1 half-monthly was due
  // 9 Nov: overdue on 10 Nov only, and overdue at the end.
  auto r = Make("month", "2026-11", At(Ymd(2026, 11, 10), 12));
  EXPECT_EQ(r.counted_to, "2026-11-10");
  for (const auto& m : r.maintenance) {
    if (m.elevator == "OP-1" && m.kind == "half_monthly") {
      EXPECT_EQ(m.days_overdue, 1);
      EXPECT_TRUE(m.overdue_at_end);
    }
    if (m.elevator == "OP-1" && m.kind == "half_yearly") {
      EXPECT_EQ(m.days_overdue, 4);  // 7..10 Nov
    }
  }
  // A month still to come counts no days at all.
  auto later = Make("month", "2027-01", At(Ymd(2026, 11, 10), 12));
  EXPECT_EQ(later.counted_to, "");
  for (const auto& m : later.maintenance) EXPECT_EQ(m.days_overdue, 0);
}

TEST_F(ReportTest, InspectionsAndResults) {
  auto r = Make("month", "2026-11");
  // Done in November: OP-1's inspection of 5 Nov (pass with rectification,
  // 2 items, 1 task still open) and OP-2's failed self-test of 18 Nov;
  // the inspection of 30 Oct is October's.
  ASSERT_EQ(r.inspections.size(), 2u);
  EXPECT_EQ(r.inspections[0].elevator, "OP-1");
  EXPECT_EQ(r.inspections[0].result, "pass_with_rectification");
  EXPECT_EQ(r.inspections[0].items, 2);
  EXPECT_EQ(r.inspections[0].open_rectifications, 1);
  EXPECT_EQ(r.inspections[0].next_due, "2027-11-05");
  EXPECT_EQ(r.inspections[1].elevator, "OP-2");
  EXPECT_EQ(r.inspections[1].result, "fail");
  EXPECT_EQ(r.inspection_results.at("pass"), 0);
  EXPECT_EQ(r.inspection_results.at("pass_with_rectification"), 1);
  EXPECT_EQ(r.inspection_results.at("fail"), 1);
  ASSERT_EQ(r.planned.size(), 1u);
  EXPECT_EQ(r.planned[0].agreed_on, "2026-11-28");
}

TEST_F(ReportTest, CertificatesExpiredAndExpiring) {
  auto r = Make("month", "2026-11");
  // Counted from the period's last day, 30 Nov 2026:
  //   Li Wei T, expires 22 Nov 2026: -8 days, expired;
  //   Wang Fang T, expires 20 Dec 2026: 20 days (the renewal of 2 Dec is
  //     after the period and does not count yet);
  //   OP-2's mark, expires 15 Feb 2027: 31 + 31 + 15 = 77 days (the older
  //     mark of 10 Nov 2026 was replaced by the one the 30 Oct inspection
  //     recorded);
  //   Zhou Yi T, expires 28 Feb 2027: 31 + 31 + 28 = 90 days, expiring
  //     (90 days is still "within 90 days").
  // Not listed: Sun Li (1 Mar 2027, 91 days), Zhao Min (renewed on 25 Nov),
  // Chen Jie (has left), OP-1's mark (5 Nov 2027).
  ASSERT_EQ(r.certificates.size(), 4u);
  EXPECT_EQ(r.certificates[0].name, "Li Wei");
  EXPECT_EQ(r.certificates[0].days_left, -8);
  EXPECT_EQ(r.certificates[0].state, "expired");
  EXPECT_EQ(r.certificates[1].name, "Wang Fang");
  EXPECT_EQ(r.certificates[1].days_left, 20);
  EXPECT_EQ(r.certificates[2].kind, "inspection_mark");
  EXPECT_EQ(r.certificates[2].subject, "OP-2");
  EXPECT_EQ(r.certificates[2].days_left, 77);
  EXPECT_EQ(r.certificates[3].name, "Zhou Yi");
  EXPECT_EQ(r.certificates[3].days_left, 90);
  EXPECT_EQ(r.certificates[3].state, "expiring");
  EXPECT_EQ(r.certificates_expired, 1);
  EXPECT_EQ(r.certificates_expiring, 3);
}

// The CSV, read back with the importer's own reader.
std::vector<csv::Record> Section(const std::string& text, const std::string& name) {
  auto parsed = csv::Parse(text);
  EXPECT_TRUE(parsed.errors.empty());
  std::vector<csv::Record> out;
  bool in = false;
  for (const auto& r : parsed.records) {
    if (r.fields.size() == 1 && r.fields[0].starts_with("[")) {
      in = r.fields[0] == "[" + name + "]";
      continue;
    }
    if (in) out.push_back(r);
  }
  return out;
}

TEST_F(ReportTest, CsvHasOneSectionPerTable) {
  auto text = reports::ToCsv(Make("month", "2026-11"));
  EXPECT_TRUE(text.starts_with(csv::kBom));
  EXPECT_NE(text.find("\r\n"), std::string::npos);
  std::vector<std::string> order;
  for (const auto& r : csv::Parse(text).records) {
    if (r.fields.size() == 1 && r.fields[0].starts_with("[")) order.push_back(r.fields[0]);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"[report]", "[summary]", "[alarms_by_type]",
                                      "[alarms_by_elevator]", "[alarms_per_month]",
                                      "[entrapment_targets]", "[entrapments]", "[maintenance]",
                                      "[inspections]", "[inspections_planned]", "[certificates]"}));
  auto types = Section(text, "alarms_by_type");
  ASSERT_EQ(types.size(), 5u);  // header + 4
  EXPECT_EQ(types[0].fields, (std::vector<std::string>{"type", "severity", "count", "suppressed"}));
  EXPECT_EQ(types[1].fields, (std::vector<std::string>{"DOOR_OPEN_TOO_LONG", "minor", "2", "1"}));
  auto targets = Section(text, "entrapment_targets");
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_EQ(targets[3].fields, (std::vector<std::string>{"arrival", "on_site", "2", "1", "1",
                                                         "66.7", "1580", "2400"}));
  auto months = Section(text, "alarms_per_month");
  ASSERT_EQ(months.size(), 13u);
  EXPECT_EQ(months[12].fields, (std::vector<std::string>{"2026-11", "5"}));
  auto certs = Section(text, "certificates");
  ASSERT_EQ(certs.size(), 5u);
  EXPECT_EQ(certs[1].fields[2], "Li Wei");
  EXPECT_EQ(certs[1].fields[7], "-8");  // a number, not a formula to protect
  auto summary = Section(text, "summary");
  bool found = false;
  for (const auto& r : summary) {
    if (r.fields[0] == "maintenance_on_time_pct") {
      EXPECT_EQ(r.fields[1], "40.0");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(ReportTest, CsvAndHtmlDefuseWhatTheyShow) {
  reports::Report r = Make("month", "2026-11");
  r.alarms_by_subject[0].name = "=HYPERLINK(\"http://x\")";
  r.alarms_by_subject[1].name = "<script>alert(1)</script> & \"co\"";
  auto text = reports::ToCsv(r);
  auto rows = Section(text, "alarms_by_elevator");
  ASSERT_GE(rows.size(), 3u);
  // A spreadsheet shows the text; it does not run it.
  EXPECT_EQ(rows[1].fields[1], "'=HYPERLINK(\"http://x\")");
  EXPECT_EQ(csv::Unprotect(rows[1].fields[1]), r.alarms_by_subject[0].name);
  auto html = reports::ToHtml(r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"),
            std::string::npos);
}

TEST_F(ReportTest, HtmlIsOnePrintablePageTheCspAllows) {
  auto html = reports::ToHtml(Make("month", "2026-11"));
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("<title>Safety report November 2026</title>"), std::string::npos);
  // No script, no style attributes, nothing fetched from elsewhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  // Times are the site's: the first entrapment opened 00:30 on 1 Nov local.
  EXPECT_NE(html.find("<td>2026-11-01 00:30</td>"), std::string::npos);
  // The chart: 12 bars, November's the tallest (5 alarms = the full 140 px).
  auto bars = [&] {
    size_t n = 0;
    for (size_t at = html.find("<rect class=\"bar\""); at != std::string::npos;
         at = html.find("<rect class=\"bar\"", at + 1)) {
      ++n;
    }
    return n;
  }();
  EXPECT_EQ(bars, 12u);
  EXPECT_NE(html.find("height=\"140\"><title>2026-11: 5</title>"), std::string::npos);
  EXPECT_NE(html.find("height=\"28\"><title>2026-10: 1</title>"), std::string::npos);
  // Exactly one <style>, whose SHA-256 is the one the CSP allows.
  size_t open = html.find("<style>");
  ASSERT_NE(open, std::string::npos);
  EXPECT_EQ(html.find("<style", open + 1), std::string::npos);
  size_t close = html.find("</style>", open);
  std::string css = html.substr(open + 7, close - open - 7);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(css.data()), css.size());
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
  const std::string& csp = reports::HtmlContentSecurityPolicy();
  EXPECT_NE(csp.find(std::string("style-src 'sha256-") + b64 + "'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("script-src"), std::string::npos);  // none: default-src 'none'
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
}

TEST_F(ReportTest, JsonCarriesTheSameFigures) {
  auto j = reports::ToJson(Make("month", "2026-11"));
  EXPECT_EQ(j["period"]["from"], "2026-11-01");
  EXPECT_EQ(j["period"]["to"], "2026-11-30");
  EXPECT_EQ(j["alarms"]["total"], 5);
  EXPECT_EQ(j["alarms"]["per_month"].size(), 12u);
  EXPECT_EQ(j["entrapments"]["count"], 4);
  EXPECT_EQ(j["entrapments"]["targets"][0]["within_pct"], 75.0);
  EXPECT_EQ(j["entrapments"]["targets"][2]["pending"], 1);
  EXPECT_EQ(j["maintenance"]["on_time_pct"], 40.0);
  EXPECT_EQ(j["inspections"]["results"]["fail"], 1);
  EXPECT_EQ(j["certificates"]["expired"], 1);
  EXPECT_EQ(j["certificates"]["list"][0]["days_left"], -8);
}

TEST_F(ReportTest, ApiAnswersByRoleAndFormat) {
  ReportRequest req;
  req.which = "month";
  req.db_path = path_;
  req.site_time = kSite;
  req.now = At(Ymd(2026, 11, 30), 23, 58);
  req.elevators = {{"OP-1", "Outpatient 1"}, {"OP-2", "Outpatient 2"}};
  req.query = {{"period", "2026-11"}, {"format", "csv"}};
  for (auto role : {auth::Role::kSafetyManager, auth::Role::kInspector, auth::Role::kAdmin}) {
    req.user = {0, "u", role, "", false};
    auto r = HandleReport(req);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "text/csv; charset=utf-8");
    EXPECT_EQ(r.content_disposition, "attachment; filename=\"liftguard-report-2026-11.csv\"");
    EXPECT_EQ(r.body, reports::ToCsv(Make("month", "2026-11")));
  }
  for (auto role : {auth::Role::kOperator, auth::Role::kContractor}) {
    req.user = {0, "u", role, role == auth::Role::kContractor ? "acme" : "", false};
    EXPECT_EQ(HandleReport(req).status, 403);
  }
  req.user = {0, "sam", auth::Role::kSafetyManager, "", false};
  req.query = {{"period", "2026-11"}, {"format", "html"}};
  auto html = HandleReport(req);
  EXPECT_EQ(html.status, 200);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(html.csp, reports::HtmlContentSecurityPolicy());
  req.query = {{"period", "2026-11"}};
  auto j = HandleReport(req);
  EXPECT_EQ(j.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(j.body)["alarms"]["total"], 5);
  // Bad requests name what is wrong.
  for (const auto& q : std::vector<std::map<std::string, std::string>>{
           {}, {{"period", "2026-13"}}, {{"period", "November"}}, {{"period", ""}}}) {
    req.query = q;
    auto bad = HandleReport(req);
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("period"), std::string::npos) << bad.body;
  }
  req.query = {{"period", "2026-11"}, {"format", "pdf"}};
  EXPECT_NE(HandleReport(req).body.find("format must be json, csv or html"), std::string::npos);
  req.query = {{"period", "2026-11"}, {"colour", "red"}};
  EXPECT_EQ(HandleReport(req).status, 400);
  req.which = "week";
  req.query = {{"period", "2026-11"}};
  EXPECT_EQ(HandleReport(req).status, 404);
  req.which = "year";
  req.query = {{"period", "2026"}};
  EXPECT_EQ(HandleReport(req).status, 200);
}

// ---- CSV reading ----------------------------------------------------------------------

TEST(Csv, QuotesBomCrlfAndLineNumbers) {
  auto p = csv::Parse(std::string(csv::kBom) +
                      "a,b,c\r\n"
                      "1,\"two, with a comma\",\"say \"\"hi\"\"\"\r\n"
                      "\r\n"
                      "2,\"over\nthree lines\n!\",x\n"
                      "3,,\n");
  ASSERT_TRUE(p.errors.empty());
  ASSERT_EQ(p.records.size(), 4u);
  EXPECT_EQ(p.records[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p.records[1].fields[1], "two, with a comma");
  EXPECT_EQ(p.records[1].fields[2], "say \"hi\"");
  EXPECT_EQ(p.records[2].line, 4);  // the blank line 3 is skipped
  EXPECT_EQ(p.records[2].fields[1], "over\nthree lines\n!");
  EXPECT_EQ(p.records[3].line, 7);  // the record before took lines 4-6
  EXPECT_EQ(p.records[3].fields, (std::vector<std::string>{"3", "", ""}));
}

TEST(Csv, BadLinesAreNamed) {
  auto p = csv::Parse("a,b\nok,\"fine\"\nbad\"quote,x\n\xB2\xE2\xCA\xD4,GBK\n\"never closed,x\n");
  ASSERT_EQ(p.errors.size(), 3u);
  EXPECT_EQ(p.errors[0].line, 3);
  EXPECT_NE(p.errors[0].message.find("quote"), std::string::npos);
  EXPECT_EQ(p.errors[1].line, 4);
  EXPECT_NE(p.errors[1].message.find("UTF-8"), std::string::npos);
  EXPECT_EQ(p.errors[2].line, 5);
  EXPECT_NE(p.errors[2].message.find("not closed"), std::string::npos);
  EXPECT_EQ(p.records.size(), 2u);
}

TEST(Csv, ProtectionRoundTrips) {
  for (std::string s : {"=1+2", "+86 20", "-", "@x", "'quoted", "''", "plain", "", "a,b", "中文"}) {
    std::string cell = csv::Cell(s);
    auto p = csv::Parse(cell + "\n");
    std::string read = p.records.empty() ? "" : p.records[0].fields[0];
    if (!s.empty()) {
      EXPECT_EQ(csv::Unprotect(read), s) << cell;
    }
    if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) {
      EXPECT_EQ(read[0], '\'') << cell;
    }
  }
}

// ---- import and export ----------------------------------------------------------------

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    db_ = Open(path_, /*sync_config=*/true);
  }

  static std::unique_ptr<db::Database> Open(const std::string& path, bool sync_config) {
    auto db = db::Database::Open(path);
    EXPECT_TRUE(db.ok());
    if (sync_config) {
      db::RecordsStore store(**db);
      EXPECT_TRUE(store.RecordsSince("2026-01-01").ok());
      EXPECT_TRUE(store
                      .SyncConfig({{"acme", "Acme Lift Service", "+86 20 0000 0000", true}},
                                  {{"OP-1", "acme"}, {"OP-2", "acme"}}, "2026-01-01",
                                  T(Ymd(2026, 1, 1), 0))
                      .ok());
    }
    return std::move(db).value();
  }

  records_csv::ImportContext Ctx(bool dry_run = false) {
    records_csv::ImportContext c;
    c.who = "cli:test";
    c.site_time = kSite;
    c.now = At(Ymd(2026, 11, 30), 12);
    c.elevators = std::vector<RecordsService::Elevator>{
        {"OP-1", "Outpatient 1", "2018-06-01", "acme"}, {"OP-2", "Outpatient 2", "", "acme"}};
    c.dry_run = dry_run;
    return c;
  }

  records_csv::ImportResult Import(records_csv::Kind k, const std::string& text,
                                   bool dry_run = false) {
    auto r = records_csv::Import(*db_, k, text, Ctx(dry_run));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : records_csv::ImportResult{};
  }

  int64_t Count(const std::string& table) {
    return db_->handle().execAndGet("SELECT COUNT(*) FROM " + table).getInt64();
  }

  std::string path_;
  std::unique_ptr<db::Database> db_;
};

const std::string kCerts =
    "holder,holder_contractor,holder_role,category,number,issued_on\n"
    "Li Wei,acme,technician,T,T-0001,2022-12-01\n"
    "Wang Fang,acme,\"technician, senior\",T,T-0002,2020-01-10\n"
    "Li Wei,acme,technician,A,A-0001,2023-03-01\n";

TEST_F(ImportTest, GoodCertificatesImportAllWithBomAndQuotes) {
  auto r = Import(records_csv::Kind::kCertificates, std::string(csv::kBom) + kCerts);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front().line << ": " << r.errors.front().message;
  EXPECT_EQ(r.lines, 3);
  EXPECT_EQ(r.imported, 3);
  EXPECT_EQ(Count("personnel_certificates"), 3);
  // Li Wei's second certificate found the person the first line added.
  EXPECT_EQ(Count("people"), 2);
  auto role = db_->handle().execAndGet("SELECT role FROM people WHERE name = 'Wang Fang'");
  EXPECT_EQ(role.getString(), "technician, senior");
  auto expires = db_->handle().execAndGet(
      "SELECT expires_on FROM personnel_certificates WHERE number = 'T-0001'");
  EXPECT_EQ(expires.getString(), "2026-12-01");
  // The same file again: every line is on record already, nothing doubles.
  auto again = Import(records_csv::Kind::kCertificates, kCerts);
  EXPECT_EQ(again.errors.size(), 3u);
  EXPECT_EQ(again.imported, 0);
  EXPECT_EQ(Count("personnel_certificates"), 3);
}

TEST_F(ImportTest, OneBadLineImportsNothingAndEveryBadLineIsNamed) {
  ASSERT_TRUE(Import(records_csv::Kind::kCertificates, kCerts).errors.empty());
  // Line 2 is good. Line 3 spans 3 physical lines (a quoted note), so the
  // next record starts on line 6: Wang Fang's certificate was issued
  // 10 Jan 2020 and expired on 10 Jan 2024, before the work of 2026. Line 7
  // is not assigned to beta; line 8 has an impossible date; line 9 ends
  // before it starts.
  std::string file =
      "elevator,kind,started_at,ended_at,technicians,items,findings,contractor\n"
      "OP-1,half_monthly,2026-11-20T09:00:00+08:00,2026-11-20T10:00:00+08:00,Li "
      "Wei|T-0001,brake|ok; door|adjusted|3 mm,,\n"
      "OP-2,half_monthly,2026-11-21T09:00:00+08:00,2026-11-21T10:00:00+08:00,Li "
      "Wei|T-0001,brake|ok,\"gap fixed\nnote two\nnote three\",\n"
      "OP-1,quarterly,2026-11-22T09:00:00+08:00,2026-11-22T10:00:00+08:00,Wang "
      "Fang|T-0002,brake|ok,,\n"
      "OP-1,half_monthly,2026-11-23T09:00:00+08:00,2026-11-23T10:00:00+08:00,Li "
      "Wei|T-0001,brake|ok,,beta\n"
      "OP-1,half_monthly,2026-02-30T09:00:00+08:00,2026-11-23T10:00:00+08:00,Li "
      "Wei|T-0001,brake|ok,,\n"
      "OP-2,repair,2026-11-24T10:00:00+08:00,2026-11-24T09:00:00+08:00,Li Wei|T-0001,,,\n";
  auto r = Import(records_csv::Kind::kMaintenance, file);
  EXPECT_EQ(r.lines, 6);
  EXPECT_EQ(r.imported, 0);
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].line, 6);
  EXPECT_NE(r.errors[0].message.find("T-0002"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("2024-01-10"), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[1].line, 7);
  EXPECT_NE(r.errors[1].message.find("not assigned"), std::string::npos) << r.errors[1].message;
  EXPECT_EQ(r.errors[2].line, 8);
  EXPECT_NE(r.errors[2].message.find("started_at"), std::string::npos) << r.errors[2].message;
  EXPECT_EQ(r.errors[3].line, 9);
  EXPECT_NE(r.errors[3].message.find("before"), std::string::npos) << r.errors[3].message;
  // Nothing at all was written, not even the good lines 2 and 3.
  EXPECT_EQ(Count("maintenance_records"), 0);
  EXPECT_EQ(Count("maintenance_items"), 0);
  EXPECT_EQ(Count("maintenance_technicians"), 0);

  // With the bad lines mended (here: dropped), the rest goes in.
  std::string good = file.substr(0, file.find("OP-1,quarterly"));
  auto dry = Import(records_csv::Kind::kMaintenance, good, /*dry_run=*/true);
  EXPECT_TRUE(dry.errors.empty());
  EXPECT_EQ(dry.imported, 0);
  EXPECT_EQ(Count("maintenance_records"), 0);
  auto ok = Import(records_csv::Kind::kMaintenance, good);
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.imported, 2);
  EXPECT_EQ(Count("maintenance_records"), 2);
  EXPECT_EQ(Count("maintenance_items"), 3);
  auto note =
      db_->handle().execAndGet("SELECT findings FROM maintenance_records WHERE elevator = 'OP-2'");
  EXPECT_EQ(note.getString(), "gap fixed\nnote two\nnote three");
  auto d = db_->handle().execAndGet(
      "SELECT local_date, started_at FROM maintenance_records WHERE elevator = 'OP-1'");
  EXPECT_EQ(d.getString(), "2026-11-20");
}

TEST_F(ImportTest, HeaderProblemsAreLineOne) {
  auto r = Import(records_csv::Kind::kPeople, "name,colour\nLi Wei,blue\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_NE(r.errors[0].message.find("unknown column \"colour\""), std::string::npos);
  auto missing = Import(records_csv::Kind::kContractors, "id\nbeta\n");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].message.find("\"name\" is missing"), std::string::npos);
  auto fields = Import(records_csv::Kind::kContractors, "id,name\nbeta,Beta,extra\n");
  ASSERT_EQ(fields.errors.size(), 1u);
  EXPECT_EQ(fields.errors[0].line, 2);
  EXPECT_EQ(Count("contractors"), 1);  // acme from the configuration only
  auto empty = Import(records_csv::Kind::kContractors, "");
  ASSERT_EQ(empty.errors.size(), 1u);
  EXPECT_NE(empty.errors[0].message.find("empty"), std::string::npos);
  // Elevator kinds need to know the elevators.
  auto ctx = Ctx();
  ctx.elevators.reset();
  auto refused = records_csv::Import(*db_, records_csv::Kind::kMaintenance, "x\n", ctx);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "usage");
}

// Records written through the API's service come out of export, go into a
// new database by import, and come out of that one the same.
TEST_F(ImportTest, ExportImportsBackUnchanged) {
  ManualClock clock(At(Ymd(2026, 11, 30), 12));
  RecordsService svc(*db_, clock, kSite);
  ASSERT_TRUE(svc.SetConfig({{"OP-1", "Outpatient 1", "2018-06-01", "acme"},
                             {"OP-2", "Outpatient 2", "", "acme"}},
                            {{"acme", "Acme Lift Service", "+86 20 0000 0000", true}}, 360)
                  .ok());
  const auth::User sam{0, "sam", auth::Role::kSafetyManager, "", false};
  ASSERT_TRUE(Import(records_csv::Kind::kContractors, "id,name,duty_phone\nbeta,Beta Lifts,\n")
                  .errors.empty());
  ASSERT_TRUE(Import(records_csv::Kind::kPeople,
                     "name,contractor,role,phone,active\nOld Hand,beta,technician,,no\n")
                  .errors.empty());
  CertificateInput c;
  c.kind = "personnel";
  c.holder = "Li Wei";
  c.holder_contractor = "acme";
  c.holder_role = "technician";
  c.category = "T";
  c.number = "T-4401-2022-0001";
  c.issued = Ymd(2022, 12, 1);
  ASSERT_TRUE(svc.AddCertificate(sam, c).ok());
  CertificateInput reg;
  reg.kind = "use_registration";
  reg.elevator = "OP-1";
  reg.number = "梯11粤A00001(18)";
  reg.issued = Ymd(2018, 5, 20);
  reg.registration_code = "31104403002018000001";
  ASSERT_TRUE(svc.AddCertificate(sam, reg).ok());
  MaintenanceInput m;
  m.elevator = "OP-1";
  m.kind = "half_monthly";
  m.started_at = At(Ymd(2026, 11, 20), 9);
  m.ended_at = At(Ymd(2026, 11, 20), 10, 10);
  m.technicians = {{"Li Wei", "T-4401-2022-0001", std::nullopt}};
  m.items = {{"brake", "ok", ""}, {"door; 3 | gap", "adjusted", "7 mm\\4 mm"}};
  m.parts = {{"LED panel", 2, "=spare"}};
  m.findings = "door 3, \"gap\" adjusted\nsee photo";
  auto rec = svc.AddMaintenance(sam, m);
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ASSERT_TRUE(svc.ConfirmMaintenance(sam, rec->id).ok());
  InspectionInput i;
  i.elevator = "OP-1";
  i.kind = "inspection";
  i.state = "done";
  i.date = Ymd(2026, 11, 5);
  i.result = "pass_with_rectification";
  i.items = {{"landing door 3 gap 7 mm", "adjust to 6 mm or less"}};
  i.rectify_by = Ymd(2026, 12, 20);
  i.agency = "City Institute";
  i.report_number = "2026-DT-0042";
  ASSERT_TRUE(svc.AddInspection(sam, i).ok());
  InspectionInput plan;
  plan.elevator = "OP-2";
  plan.kind = "inspection";
  plan.state = "planned";
  plan.agreed_date = Ymd(2026, 12, 15);
  ASSERT_TRUE(svc.AddInspection(sam, plan).ok());

  auto reader = db::Database::OpenReader(path_);
  ASSERT_TRUE(reader.ok());
  std::map<records_csv::Kind, std::string> first;
  for (auto k : records_csv::kAllKinds) {
    auto text = records_csv::Export(**reader, k);
    ASSERT_TRUE(text.ok());
    first[k] = *text;
  }
  // The maintenance line keeps its lists, quotes and formula-looking part.
  EXPECT_NE(first[records_csv::Kind::kMaintenance].find("door\\; 3 \\| gap|adjusted|7 mm\\\\4 mm"),
            std::string::npos)
      << first[records_csv::Kind::kMaintenance];
  EXPECT_NE(first[records_csv::Kind::kMaintenance].find(",sam,"), std::string::npos);

  std::string other = TempDb("ExportImportsBackUnchanged-copy");
  auto copy = Open(other, /*sync_config=*/false);
  for (auto k : records_csv::kAllKinds) {
    auto ctx = Ctx();
    auto r = records_csv::Import(*copy, k, first[k], ctx);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->errors.empty()) << records_csv::KindName(k) << ":" << r->errors.front().line
                                   << ": " << r->errors.front().message;
  }
  auto reader2 = db::Database::OpenReader(other);
  ASSERT_TRUE(reader2.ok());
  for (auto k : records_csv::kAllKinds) {
    auto text = records_csv::Export(**reader2, k);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, first[k]) << records_csv::KindName(k);
  }
  // The maintenance record came back whole.
  auto back = db::RecordsStore::Maintenance(**reader2, {});
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ(back->front().findings, m.findings);
  EXPECT_EQ(back->front().items[1].item, "door; 3 | gap");
  EXPECT_EQ(back->front().items[1].note, "7 mm\\4 mm");
  EXPECT_EQ(back->front().parts[0].note, "=spare");
  EXPECT_EQ(back->front().confirmed_by, "sam");
  EXPECT_EQ(back->front().technicians[0].person_id.has_value(), true);
  svc.Stop();
}

}  // namespace
}  // namespace lg
