// The records service and store on a real SQLite file with a manual clock:
// every refusal, retention, amendments, contractor scoping, rectifications,
// due dates on real calendars and the compliance findings they give.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "daemon/config.h"
#include "daemon/records_service.h"
#include "db/database.h"
#include "db/records_store.h"

namespace lg {
namespace {

using namespace std::chrono_literals;
using auth::Role;
using rules::Date;

Date Ymd(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

const SiteTime kSite = SiteTime::Fixed(8h);

// 10:00 at the site (+08:00) on the given date.
WallTime At(Date d, int hour = 10, int minute = 0) { return kSite.At(d, hour * 60 + minute); }

auth::User U(const char* name, Role role, const char* contractor = "") {
  return auth::User{0, name, role, contractor, false};
}
const auth::User kSam = U("sam", Role::kSafetyManager);
const auth::User kCarl = U("carl", Role::kContractor, "acme");
const auth::User kBea = U("bea", Role::kContractor, "beta");
const auth::User kOlga = U("olga", Role::kOperator);
const auth::User kIvan = U("ivan", Role::kInspector);
const auth::User kAda = U("ada", Role::kAdmin);

class RecordsTest : public ::testing::Test {
 protected:
  // Each test starts the clock on its own day.
  void Begin(Date today) {
    auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "records";
    std::filesystem::create_directories(dir);
    path_ = (dir /
             (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".db"))
                .string();
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
    auto db = db::Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(db).value();
    clock_ = std::make_unique<ManualClock>(At(today));
    svc_ = std::make_unique<RecordsService>(*db_, *clock_, kSite);
    Configure("beta");
  }

  void Configure(const std::string& b1_contractor) {
    ASSERT_TRUE(svc_->SetConfig({{"OP-1", "Outpatient 1", "2018-06-01", "acme"},
                                 {"WD-1", "Ward 1", "2009-03-15", "acme"},
                                 {"LP-1", "Leap 1", "2020-02-29", "acme"},
                                 {"B-1", "Beta 1", "", b1_contractor}},
                                {{"acme", "Acme Lifts", "+86 20 1", true},
                                 {"beta", "Beta Lifts", "+86 20 2", true}},
                                6 * 60)
                    .ok());
  }

  void Days(int n) { clock_->Advance(std::chrono::hours(24 * n)); }

  int64_t Cert(const std::string& holder, const std::string& contractor,
               const std::string& category, const std::string& number, Date issued) {
    CertificateInput in;
    in.kind = "personnel";
    in.holder = holder;
    in.holder_contractor = contractor;
    in.category = category;
    in.number = number;
    in.issued = issued;
    auto id = svc_->AddCertificate(kSam, in);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : 0;
  }

  MaintenanceInput Maint(const std::string& elevator, const std::string& kind, Date on,
                         const std::string& cert = "T-ACME-1") {
    MaintenanceInput in;
    in.elevator = elevator;
    in.kind = kind;
    in.started_at = At(on, 9);
    in.ended_at = At(on, 10);
    if (on == svc_->Today()) {
      in.started_at = clock_->WallNow() - 2h;
      in.ended_at = clock_->WallNow() - 1h;
    }
    in.technicians = {{"Li Wei", cert, std::nullopt}};
    in.items = {{"brake", "ok", ""}, {"door lock contacts", "adjusted", ""}};
    return in;
  }

  Result<db::MaintenanceRow> Add(const MaintenanceInput& in, const auth::User& u = kCarl) {
    return svc_->AddMaintenance(u, in);
  }

  std::vector<ComplianceAlarm> Findings() {
    auto f = svc_->Evaluate();
    EXPECT_TRUE(f.ok()) << f.error().message;
    return f.ok() ? *f : std::vector<ComplianceAlarm>{};
  }

  static const ComplianceAlarm* Find(const std::vector<ComplianceAlarm>& v, AlarmType t,
                                     const std::string& subject) {
    for (const auto& a : v) {
      if (a.type == t && a.subject == subject) return &a;
    }
    return nullptr;
  }

  MaintenanceDueRow DueOf(const std::string& elevator, rules::MaintenanceKind kind) {
    auto rows = svc_->MaintenanceDue(kSam, elevator);
    EXPECT_TRUE(rows.ok());
    for (const auto& r : *rows) {
      if (r.kind == kind) return r;
    }
    ADD_FAILURE() << "no due row";
    return {};
  }

  std::string path_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<ManualClock> clock_;
  std::unique_ptr<RecordsService> svc_;
};

void ExpectRefused(const Status& st, const std::string& code, const std::string& words) {
  ASSERT_FALSE(st.ok()) << "accepted; wanted " << code;
  EXPECT_EQ(st.error().code, code) << st.error().message;
  EXPECT_NE(st.error().message.find(words), std::string::npos) << st.error().message;
}

template <typename T>
void ExpectRefused(const Result<T>& r, const std::string& code, const std::string& words) {
  ExpectRefused(r.ok() ? Status::Ok() : Status(r.error()), code, words);
}

// ---- refusals ----------------------------------------------------------------------

TEST_F(RecordsTest, TechnicianCertificateMustBeCategoryTAndValidOnTheDay) {
  Begin(Ymd(2026, 11, 22));
  const Date d = Ymd(2026, 11, 20);
  ExpectRefused(Add(Maint("OP-1", "half_monthly", d, "T-NOBODY")), "bad_field",
                "certificate T-NOBODY is not on record");
  Cert("Zhang San", "acme", "A", "A-ACME-1", Ymd(2024, 1, 1));
  ExpectRefused(Add(Maint("OP-1", "half_monthly", d, "A-ACME-1")), "bad_field",
                "is not category T");
  // Issued 2022-11-19: expired 2026-11-19, the day before the record.
  Cert("Li Wei", "acme", "T", "T-OLD", Ymd(2022, 11, 19));
  auto r = Add(Maint("OP-1", "half_monthly", d, "T-OLD"));
  ExpectRefused(r, "bad_field", "expired on 2026-11-19");
  ExpectRefused(r, "bad_field", "technicians\"[0]");
  // Issued after the record's date.
  Cert("Wang Wu", "acme", "T", "T-NEW", Ymd(2026, 11, 21));
  ExpectRefused(Add(Maint("OP-1", "half_monthly", d, "T-NEW")), "bad_field",
                "was issued on 2026-11-21");
  // Issued 2022-11-20: its last valid day is the record's day.
  Cert("Zhao Liu", "acme", "T", "T-ACME-1", Ymd(2022, 11, 20));
  auto ok = Add(Maint("OP-1", "half_monthly", d));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->technicians.at(0).name, "Li Wei");
  EXPECT_TRUE(ok->technicians.at(0).person_id.has_value());
  EXPECT_EQ(ok->local_date, "2026-11-20");
  // No technician at all.
  auto none = Maint("OP-1", "half_monthly", d);
  none.technicians.clear();
  ExpectRefused(Add(none), "bad_field", "at least one technician");
}

TEST_F(RecordsTest, ContractorMustBeAssignedToTheElevatorOnThatDate) {
  Begin(Ymd(2026, 11, 22));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2025, 1, 1));
  // The safety manager names beta for an acme car.
  auto in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 21));
  in.contractor = "beta";
  ExpectRefused(Add(in, kSam), "bad_field", "contractor beta is not assigned to elevator OP-1");
  // B-1 moves from beta to acme today: acme's record of yesterday is refused,
  // today's is taken.
  Configure("acme");
  in = Maint("B-1", "repair", Ymd(2026, 11, 21));
  in.items.clear();
  ExpectRefused(Add(in), "bad_field", "on 2026-11-21 (beta is)");
  in = Maint("B-1", "repair", Ymd(2026, 11, 22));
  in.items.clear();
  auto ok = Add(in);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->contractor, "acme");
  // Without a contractor the safety manager gets the one assigned then.
  in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 21));
  auto by_sam = Add(in, kSam);
  ASSERT_TRUE(by_sam.ok()) << by_sam.error().message;
  EXPECT_EQ(by_sam->contractor, "acme");
}

TEST_F(RecordsTest, DatesInTheFutureOrEndingBeforeTheyStartAreRefused) {
  Begin(Ymd(2026, 11, 22));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2025, 1, 1));
  auto in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 20));
  in.ended_at = in.started_at - 1min;
  ExpectRefused(Add(in), "bad_field", "a record may not end before it starts");
  in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 22));
  in.ended_at = clock_->WallNow() + 1min;
  ExpectRefused(Add(in), "bad_field", "\"ended_at\"");
  ExpectRefused(Add(in), "bad_field", "is in the future");
  in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 23));
  ExpectRefused(Add(in), "bad_field", "\"started_at\"");
  // Items: a defect needs a note; results are a closed list.
  in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 20));
  in.items = {{"rope", "defect", ""}};
  ExpectRefused(Add(in), "bad_field", "a defect needs a \"note\"");
  in.items = {{"rope", "fine", ""}};
  ExpectRefused(Add(in), "bad_field", "use ok, adjusted, replaced, not_applicable or defect");
  in.items.clear();
  ExpectRefused(Add(in), "bad_field", "lists the items checked");
  in = Maint("OP-1", "weekly", Ymd(2026, 11, 20));
  ExpectRefused(Add(in), "bad_field", "field \"kind\"");
  // Inspections, drills and certificates are refused in the future too.
  InspectionInput i;
  i.elevator = "OP-1";
  i.state = "done";
  i.result = "pass";
  i.date = Ymd(2026, 11, 23);
  ExpectRefused(svc_->AddInspection(kSam, i), "bad_field", "is in the future");
  DrillInput d;
  d.party = "user_unit";
  d.scenario = "trapped between floors";
  d.date = Ymd(2026, 11, 23);
  ExpectRefused(svc_->AddDrill(kSam, d), "bad_field", "is in the future");
  CertificateInput c;
  c.kind = "personnel";
  c.holder = "X";
  c.category = "T";
  c.number = "T-X";
  c.issued = Ymd(2026, 11, 23);
  ExpectRefused(svc_->AddCertificate(kSam, c), "bad_field", "is in the future");
}

TEST_F(RecordsTest, AConfirmedRecordIsNeverEditedButAmended) {
  Begin(Ymd(2026, 11, 22));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2025, 1, 1));
  auto first = Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 10)));
  ASSERT_TRUE(first.ok()) << first.error().message;
  // Amending an unconfirmed record is refused: it is corrected in place.
  ExpectRefused(
      svc_->AmendMaintenance(kCarl, first->id, Maint("OP-1", "half_monthly", Ymd(2026, 11, 11))),
      "not_confirmed", "PUT");
  auto fixed = Maint("OP-1", "half_monthly", Ymd(2026, 11, 12));
  fixed.findings = "door gap adjusted";
  auto edited = svc_->EditMaintenance(kCarl, first->id, fixed);
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  EXPECT_EQ(edited->local_date, "2026-11-12");
  EXPECT_EQ(edited->findings, "door gap adjusted");
  // Only the safety manager confirms, once.
  ExpectRefused(svc_->ConfirmMaintenance(kCarl, first->id), "forbidden", "contractor");
  auto confirmed = svc_->ConfirmMaintenance(kSam, first->id);
  ASSERT_TRUE(confirmed.ok()) << confirmed.error().message;
  EXPECT_EQ(confirmed->confirmed_by, "sam");
  ExpectRefused(svc_->ConfirmMaintenance(kSam, first->id), "already_confirmed", "sam");
  // Now editing is refused; an amendment points to it.
  ExpectRefused(svc_->EditMaintenance(kCarl, first->id, fixed), "confirmed", "/amend");
  auto amendment =
      svc_->AmendMaintenance(kCarl, first->id, Maint("OP-1", "half_monthly", Ymd(2026, 11, 14)));
  ASSERT_TRUE(amendment.ok()) << amendment.error().message;
  EXPECT_EQ(amendment->amends, first->id);
  EXPECT_TRUE(amendment->confirmed_by.empty());
  auto original = svc_->GetMaintenance(kSam, first->id);
  ASSERT_TRUE(original.ok());
  EXPECT_EQ(original->amended_by, amendment->id);
  EXPECT_EQ(original->local_date, "2026-11-12");  // untouched
  EXPECT_EQ(original->findings, "door gap adjusted");
  // The amendment's date is what counts; the original is superseded.
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).last, Ymd(2026, 11, 14));
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).last_record_id, amendment->id);
  // A superseded record is not amended again; the amendment is, once confirmed.
  ASSERT_TRUE(svc_->ConfirmMaintenance(kSam, amendment->id).ok());
  ExpectRefused(
      svc_->AmendMaintenance(kCarl, first->id, Maint("OP-1", "half_monthly", Ymd(2026, 11, 15))),
      "superseded", "amend that one");
  auto second =
      svc_->AmendMaintenance(kSam, amendment->id, Maint("OP-1", "half_monthly", Ymd(2026, 11, 15)));
  ASSERT_TRUE(second.ok()) << second.error().message;
  // An amendment corrects a record of the same car.
  ExpectRefused(
      svc_->AmendMaintenance(kSam, second->id, Maint("WD-1", "half_monthly", Ymd(2026, 11, 15))),
      "not_confirmed", "");
  ASSERT_TRUE(svc_->ConfirmMaintenance(kSam, second->id).ok());
  ExpectRefused(
      svc_->AmendMaintenance(kSam, second->id, Maint("WD-1", "half_monthly", Ymd(2026, 11, 15))),
      "bad_field", "same elevator");
}

TEST_F(RecordsTest, RecordsYoungerThanFourYearsAreNotDeleted) {
  Begin(Ymd(2024, 2, 29));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2023, 1, 1));
  auto rec = Add(Maint("OP-1", "half_monthly", Ymd(2024, 2, 29)));
  ASSERT_TRUE(rec.ok()) << rec.error().message;
  ExpectRefused(svc_->DeleteMaintenance(kCarl, rec->id), "forbidden", "contractor");
  ExpectRefused(svc_->DeleteMaintenance(kSam, rec->id), "retention", "at least 4 years");
  // 2028-02-28: 29 Feb 2024 + 4 years is 29 Feb 2028, not yet.
  Days(365 * 4);
  ASSERT_EQ(svc_->Today(), Ymd(2028, 2, 28));
  ExpectRefused(svc_->DeleteMaintenance(kSam, rec->id), "retention", "2024-02-29");
  Days(1);
  ASSERT_EQ(svc_->Today(), Ymd(2028, 2, 29));
  EXPECT_TRUE(svc_->DeleteMaintenance(kSam, rec->id).ok());
  ExpectRefused(svc_->GetMaintenance(kSam, rec->id), "not_found", "");
}

TEST_F(RecordsTest, AnAmendedRecordIsDeletedOnlyAfterItsAmendment) {
  Begin(Ymd(2026, 11, 22));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2022, 12, 1));
  auto rec = Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 20)));
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(svc_->ConfirmMaintenance(kSam, rec->id).ok());
  auto am =
      svc_->AmendMaintenance(kCarl, rec->id, Maint("OP-1", "half_monthly", Ymd(2026, 11, 21)));
  ASSERT_TRUE(am.ok()) << am.error().message;
  // Store level: past retention, the original still has its amendment.
  db::RecordsStore store(*db_);
  ExpectRefused(store.DeleteMaintenance(rec->id, "2999-01-01"), "amended",
                "amended by record " + std::to_string(am->id));
  EXPECT_TRUE(store.DeleteMaintenance(am->id, "2999-01-01").ok());
  EXPECT_TRUE(store.DeleteMaintenance(rec->id, "2999-01-01").ok());
}

TEST_F(RecordsTest, AContractorSeesAndWritesOnlyItsOwnElevatorsAndRecords) {
  Begin(Ymd(2026, 11, 22));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2025, 1, 1));
  Cert("Chen Qi", "beta", "T", "T-BETA-1", Ymd(2025, 1, 1));
  auto b = Maint("B-1", "half_monthly", Ymd(2026, 11, 20), "T-BETA-1");
  ExpectRefused(Add(b, kCarl), "not_found", "there is no elevator B-1");
  auto beta_rec = Add(b, kBea);
  ASSERT_TRUE(beta_rec.ok()) << beta_rec.error().message;
  auto acme_rec = Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 20)), kCarl);
  ASSERT_TRUE(acme_rec.ok()) << acme_rec.error().message;
  // Writing in another contractor's name.
  auto in = Maint("OP-1", "half_monthly", Ymd(2026, 11, 20));
  in.contractor = "beta";
  ExpectRefused(Add(in, kCarl), "forbidden", "for itself only");
  // Reads.
  auto carl = svc_->ListMaintenance(kCarl, {});
  ASSERT_TRUE(carl.ok());
  ASSERT_EQ(carl->size(), 1u);
  EXPECT_EQ(carl->at(0).elevator, "OP-1");
  EXPECT_EQ(svc_->ListMaintenance(kSam, {})->size(), 2u);
  EXPECT_EQ(svc_->ListMaintenance(kIvan, {})->size(), 2u);
  ExpectRefused(svc_->GetMaintenance(kCarl, beta_rec->id), "not_found", "");
  db::RecordFilter f;
  f.elevator = "B-1";
  ExpectRefused(svc_->ListMaintenance(kCarl, f), "not_found", "B-1");
  ExpectRefused(svc_->EditMaintenance(kCarl, beta_rec->id, b), "not_found", "");
  auto due = svc_->MaintenanceDue(kCarl, "");
  ASSERT_TRUE(due.ok());
  for (const auto& d : *due) EXPECT_NE(d.elevator, "B-1");
  auto plan = svc_->Plan(kBea, "", 365);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ(plan->at(0).elevator, "B-1");
  // Roles that may not write maintenance.
  ExpectRefused(Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 20)), kOlga), "forbidden",
                "operator");
  ExpectRefused(Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 20)), kIvan), "forbidden",
                "inspector");
  // Rectifications: a contractor on its own cars only.
  RectificationInput r;
  r.elevator = "B-1";
  r.item = "landing door gap";
  ExpectRefused(svc_->AddRectification(kCarl, r), "not_found", "B-1");
  auto task = svc_->AddRectification(kBea, r);
  ASSERT_TRUE(task.ok());
  ExpectRefused(svc_->CloseRectification(kCarl, task->id, "done"), "not_found", "");
  EXPECT_TRUE(svc_->ListRectifications(kCarl, {})->empty());
  // Certificates and drills are the safety manager's (admin: certificates).
  CertificateInput c;
  c.kind = "personnel";
  c.holder = "X";
  c.category = "T";
  c.number = "T-X";
  c.issued = Ymd(2025, 1, 1);
  ExpectRefused(svc_->AddCertificate(kCarl, c), "forbidden", "");
  EXPECT_TRUE(svc_->AddCertificate(kAda, c).ok());
  DrillInput d;
  d.party = "user_unit";
  d.scenario = "trapped";
  d.date = Ymd(2026, 11, 1);
  ExpectRefused(svc_->AddDrill(kAda, d), "forbidden", "admin");
  InspectionInput i;
  i.elevator = "OP-1";
  i.state = "planned";
  i.agreed_date = Ymd(2026, 12, 1);
  ExpectRefused(svc_->AddInspection(kCarl, i), "forbidden", "");
}

TEST_F(RecordsTest, RectificationTasksAreTrackedToClosure) {
  Begin(Ymd(2026, 11, 22));
  InspectionInput plan;
  plan.elevator = "OP-1";
  plan.state = "planned";
  plan.agreed_date = Ymd(2026, 11, 20);
  ExpectRefused(svc_->AddInspection(kSam, plan), "bad_field", "in the past");
  plan.agreed_date = Ymd(2026, 12, 5);
  auto planned = svc_->AddInspection(kSam, plan);
  ASSERT_TRUE(planned.ok()) << planned.error().message;
  EXPECT_EQ(planned->state, "planned");
  EXPECT_EQ(planned->kind, "self_test");  // the missed year-8 check comes first
  InspectionInput done;
  done.elevator = "OP-1";
  done.state = "done";
  done.date = Ymd(2026, 11, 21);
  done.kind = "inspection";
  done.result = "pass_with_rectification";
  ExpectRefused(svc_->AddInspection(kSam, done), "bad_field", "lists the items to rectify");
  done.items = {{"landing door 3 gap 7 mm", "adjust"}, {"pit ladder loose", ""}};
  done.next_due = Ymd(2027, 6, 1);
  done.rectify_by = Ymd(2026, 12, 21);
  auto saved = svc_->AddInspection(kSam, done);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->id, planned->id);  // the plan is the one done
  EXPECT_EQ(saved->state, "done");
  EXPECT_EQ(saved->items.size(), 2u);
  auto open = svc_->ListRectifications(kSam, [] {
    db::RecordFilter f;
    f.state = "open";
    return f;
  }());
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 2u);
  for (const auto& r : *open) {
    EXPECT_EQ(r.inspection_id, saved->id);
    EXPECT_EQ(r.due_on, "2026-12-21");
  }
  const int64_t first = open->back().id;
  ExpectRefused(svc_->CloseRectification(kCarl, first, ""), "bad_field", "closed with a note");
  auto closed = svc_->CloseRectification(kCarl, first, "gap set to 4 mm");
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ(closed->state, "closed");
  EXPECT_EQ(closed->closed_by, "carl");
  ExpectRefused(svc_->CloseRectification(kSam, first, "again"), "already_closed", "carl");
  db::RecordFilter f;
  f.state = "open";
  EXPECT_EQ(svc_->ListRectifications(kSam, f)->size(), 1u);
  // The pass recorded the new mark.
  auto plan_rows = svc_->Plan(kSam, "OP-1", 365);
  ASSERT_TRUE(plan_rows.ok());
  EXPECT_EQ(plan_rows->at(0).mark_expires, Ymd(2027, 6, 1));
  EXPECT_EQ(plan_rows->at(0).next_due, Ymd(2027, 6, 1));
  // A plain pass has no items; a failed check renews no mark.
  done.result = "pass";
  ExpectRefused(svc_->AddInspection(kSam, done), "bad_field", "nothing to rectify");
  done.items.clear();
  done.result = "fail";
  ExpectRefused(svc_->AddInspection(kSam, done), "bad_field", "renews no mark");
}

// ---- date rules through the store ----------------------------------------------------

TEST_F(RecordsTest, HalfMonthlyMaintenanceAcrossMonthAndYearEnds) {
  Begin(Ymd(2027, 1, 1));
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2025, 1, 1));
  ASSERT_TRUE(Add(Maint("OP-1", "half_monthly", Ymd(2026, 12, 20))).ok());
  auto d = DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly);
  EXPECT_EQ(d.counted_from, "record");
  EXPECT_EQ(d.due.due, Ymd(2027, 1, 4));
  EXPECT_EQ(d.due.days_left, 3);
  EXPECT_EQ(d.due.state, rules::DueState::kDueSoon);  // due soon from 1 Jan
  EXPECT_EQ(Find(Findings(), AlarmType::kMaintenanceOverdue, "OP-1"), nullptr);
  Days(3);  // 4 Jan: the due date itself is on time
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).due.state,
            rules::DueState::kDueSoon);
  EXPECT_EQ(Find(Findings(), AlarmType::kMaintenanceOverdue, "OP-1"), nullptr);
  Days(1);  // 5 Jan: overdue
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).due.state,
            rules::DueState::kOverdue);
  auto f = Findings();
  const ComplianceAlarm* a = Find(f, AlarmType::kMaintenanceOverdue, "OP-1");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->severity, Severity::kMajor);
  EXPECT_NE(a->message.find("due 2027-01-04"), std::string::npos) << a->message;
  // Other cars, counted from when records began, are not overdue.
  EXPECT_EQ(Find(f, AlarmType::kMaintenanceOverdue, "WD-1"), nullptr);
  // Done on 25 Jan: due 9 Feb; then 20 Feb 2027 -> 7 Mar 2027.
  Days(20);
  ASSERT_TRUE(Add(Maint("OP-1", "half_monthly", Ymd(2027, 1, 25))).ok());
  EXPECT_EQ(Find(Findings(), AlarmType::kMaintenanceOverdue, "OP-1"), nullptr);
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).due.due, Ymd(2027, 2, 9));
  Days(27);  // 21 Feb
  ASSERT_TRUE(Add(Maint("OP-1", "half_monthly", Ymd(2027, 2, 20))).ok());
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).due.due, Ymd(2027, 3, 7));
  // A quarterly record includes the half-monthly items: it counts for both.
  Days(7);  // 28 Feb
  ASSERT_TRUE(Add(Maint("OP-1", "quarterly", Ymd(2027, 2, 28))).ok());
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kHalfMonthly).due.due, Ymd(2027, 3, 15));
  EXPECT_EQ(DueOf("OP-1", rules::MaintenanceKind::kQuarterly).due.due, Ymd(2027, 5, 29));
}

TEST_F(RecordsTest, CertificateExpiresTheDayAfterItsExpiryDate) {
  Begin(Ymd(2026, 11, 22));
  const int64_t id = Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2022, 11, 22));
  (void)id;
  auto people = svc_->ListPersonnelCertificates(kSam);
  ASSERT_TRUE(people.ok());
  ASSERT_EQ(people->size(), 1u);
  EXPECT_EQ(people->at(0).row.expires_on, "2026-11-22");
  EXPECT_EQ(people->at(0).status.state, rules::CertState::kExpiring);
  EXPECT_EQ(people->at(0).status.days_left, 0);
  const std::string subject = "person:" + std::to_string(people->at(0).row.person_id);
  auto f = Findings();
  ASSERT_NE(Find(f, AlarmType::kCertificateExpiring, subject), nullptr);
  EXPECT_EQ(Find(f, AlarmType::kCertificateExpired, subject), nullptr);
  EXPECT_NE(Find(f, AlarmType::kCertificateExpiring, subject)->message.find("Li Wei"),
            std::string::npos);
  // Still valid on its expiry day: the technician signs today's record.
  ASSERT_TRUE(Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 22))).ok());
  Days(1);
  f = Findings();
  const ComplianceAlarm* expired = Find(f, AlarmType::kCertificateExpired, subject);
  ASSERT_NE(expired, nullptr);
  EXPECT_EQ(expired->severity, Severity::kMajor);
  EXPECT_EQ(Find(f, AlarmType::kCertificateExpiring, subject), nullptr);
  ExpectRefused(Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 23))), "bad_field",
                "expired on 2026-11-22");
  // A renewal ends it.
  Cert("Li Wei", "acme", "T", "T-ACME-1", Ymd(2026, 11, 23));
  f = Findings();
  EXPECT_EQ(Find(f, AlarmType::kCertificateExpired, subject), nullptr);
  EXPECT_TRUE(Add(Maint("OP-1", "half_monthly", Ymd(2026, 11, 23))).ok());
}

TEST_F(RecordsTest, InspectionPlanForACarFirstUsedOn29February) {
  Begin(Ymd(2026, 11, 22));
  auto plan = svc_->Plan(kSam, "LP-1", 2 * 366);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& items = plan->at(0).items;
  // Year 6 (self-test) was due 28 Feb 2026 and is on no record: overdue.
  // Year 7 (inspection) 28 Feb 2027; year 8 (self-test) 29 Feb 2028.
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].year, 6);
  EXPECT_EQ(items[0].kind, rules::CheckKind::kSelfTest);
  EXPECT_EQ(items[0].due, Ymd(2026, 2, 28));
  EXPECT_EQ(items[0].state, rules::PlanState::kOverdue);
  EXPECT_EQ(items[1].year, 7);
  EXPECT_EQ(items[1].kind, rules::CheckKind::kInspection);
  EXPECT_EQ(items[1].due, Ymd(2027, 2, 28));
  EXPECT_EQ(items[1].window_start, Ymd(2026, 12, 28));
  EXPECT_EQ(items[2].due, Ymd(2028, 2, 29));
  EXPECT_EQ(items[2].kind, rules::CheckKind::kSelfTest);
  // The default kind of a check comes from the plan; an agreed date makes
  // the first open line planned... unless it is overdue.
  InspectionInput in;
  in.elevator = "LP-1";
  in.state = "planned";
  in.agreed_date = Ymd(2027, 1, 10);
  auto p = svc_->AddInspection(kSam, in);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kind, "self_test");
  plan = svc_->Plan(kSam, "LP-1", 365);
  EXPECT_EQ(plan->at(0).items[0].state, rules::PlanState::kOverdue);
  EXPECT_EQ(plan->at(0).items[0].agreed, Ymd(2027, 1, 10));
  // A late self-test passed now catches year 6 up; year 7 becomes planned.
  in = {};
  in.elevator = "LP-1";
  in.state = "planned";
  in.agreed_date = Ymd(2027, 1, 10);
  InspectionInput done;
  done.elevator = "LP-1";
  done.state = "done";
  done.kind = "self_test";
  done.result = "pass";
  done.date = Ymd(2026, 11, 21);
  auto d = svc_->AddInspection(kSam, done);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->next_due, "2027-02-28");  // the next anniversary
  ASSERT_TRUE(svc_->AddInspection(kSam, in).ok());
  plan = svc_->Plan(kSam, "LP-1", 365);
  ASSERT_EQ(plan->at(0).items.size(), 1u);
  EXPECT_EQ(plan->at(0).items[0].year, 7);
  EXPECT_EQ(plan->at(0).items[0].state, rules::PlanState::kPlanned);
}

TEST_F(RecordsTest, InspectionEveryYearForACarOlderThanFifteenYears) {
  Begin(Ymd(2026, 11, 22));
  // First use 15 Mar 2009: year 18 ends 15 Mar 2027 with an inspection.
  auto plan = svc_->Plan(kSam, "WD-1", 365);
  ASSERT_TRUE(plan.ok());
  const auto& items = plan->at(0).items;
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].year, 17);
  EXPECT_EQ(items[0].due, Ymd(2026, 3, 15));
  EXPECT_EQ(items[0].state, rules::PlanState::kOverdue);
  EXPECT_EQ(items[1].year, 18);
  EXPECT_EQ(items[1].kind, rules::CheckKind::kInspection);
  EXPECT_EQ(items[1].due, Ymd(2027, 3, 15));
  // A self-test never covers an inspection year; an inspection does.
  InspectionInput done;
  done.elevator = "WD-1";
  done.state = "done";
  done.kind = "self_test";
  done.result = "pass";
  done.date = Ymd(2026, 3, 10);
  ASSERT_TRUE(svc_->AddInspection(kSam, done).ok());
  plan = svc_->Plan(kSam, "WD-1", 365);
  EXPECT_EQ(plan->at(0).items[0].state, rules::PlanState::kOverdue);
  done.kind = "inspection";
  done.date = Ymd(2026, 3, 11);
  ASSERT_TRUE(svc_->AddInspection(kSam, done).ok());
  plan = svc_->Plan(kSam, "WD-1", 365);
  ASSERT_EQ(plan->at(0).items.size(), 1u);
  EXPECT_EQ(plan->at(0).items[0].year, 18);
  EXPECT_EQ(plan->at(0).next_due, Ymd(2027, 3, 15));
}

TEST_F(RecordsTest, InspectionFindingsFollowTheMark) {
  Begin(Ymd(2026, 11, 22));
  // Without a mark or any check on record the schedule counts from the
  // first anniversary on or after records began: nothing yet.
  auto f = Findings();
  for (const auto& a : f) {
    EXPECT_NE(a.type, AlarmType::kInspectionOverdue) << a.subject << ": " << a.message;
  }
  CertificateInput mark;
  mark.kind = "inspection_mark";
  mark.elevator = "OP-1";
  mark.expires = Ymd(2027, 1, 21);
  ASSERT_TRUE(svc_->AddCertificate(kSam, mark).ok());
  mark.elevator = "WD-1";
  mark.expires = Ymd(2026, 11, 21);
  ASSERT_TRUE(svc_->AddCertificate(kSam, mark).ok());
  // The valid mark proves the year-8 self-test (due 1 Jun 2026) was done,
  // though no check is on record: the plan does not show it overdue.
  auto plan = svc_->Plan(kSam, "OP-1", 365);
  ASSERT_TRUE(plan.ok());
  ASSERT_FALSE(plan->at(0).items.empty());
  for (const auto& it : plan->at(0).items) {
    EXPECT_NE(it.state, rules::PlanState::kOverdue) << "year " << it.year;
  }
  EXPECT_EQ(plan->at(0).items[0].year, 9);
  f = Findings();
  const ComplianceAlarm* due = Find(f, AlarmType::kInspectionDue, "OP-1");
  ASSERT_NE(due, nullptr);  // 60 days left
  EXPECT_EQ(due->severity, Severity::kMinor);
  const ComplianceAlarm* over = Find(f, AlarmType::kInspectionOverdue, "WD-1");
  ASSERT_NE(over, nullptr);
  EXPECT_EQ(over->severity, Severity::kCritical);
  EXPECT_EQ(DefaultSeverity(AlarmType::kInspectionOverdue), Severity::kCritical);
}

TEST_F(RecordsTest, DrillsAreCountedFromWhenRecordsBeganThenFromTheLastDrill) {
  Begin(Ymd(2026, 11, 22));
  EXPECT_EQ(Find(Findings(), AlarmType::kDrillOverdue, "contractor:acme"), nullptr);
  Days(181);  // 22 May 2027: the contractors' 6 months end today
  EXPECT_EQ(Find(Findings(), AlarmType::kDrillOverdue, "contractor:acme"), nullptr);
  Days(1);
  auto f = Findings();
  ASSERT_NE(Find(f, AlarmType::kDrillOverdue, "contractor:acme"), nullptr);
  ASSERT_NE(Find(f, AlarmType::kDrillOverdue, "contractor:beta"), nullptr);
  EXPECT_EQ(Find(f, AlarmType::kDrillOverdue, "unit:site"), nullptr);
  DrillInput d;
  d.party = "contractor";
  d.contractor = "acme";
  d.date = Ymd(2027, 5, 23);
  d.scenario = "passenger trapped between floors 3 and 4";
  d.elevators = {"OP-1"};
  d.participants = {"Li Wei", "security room"};
  d.duration_min = 40;
  ASSERT_TRUE(svc_->AddDrill(kSam, d).ok());
  f = Findings();
  EXPECT_EQ(Find(f, AlarmType::kDrillOverdue, "contractor:acme"), nullptr);
  EXPECT_NE(Find(f, AlarmType::kDrillOverdue, "contractor:beta"), nullptr);
  d.contractor = "nobody";
  ExpectRefused(svc_->AddDrill(kSam, d), "bad_field", "no contractor nobody");
  auto dues = svc_->DrillsDue(kSam);
  ASSERT_TRUE(dues.ok());
  ASSERT_EQ(dues->at(0).party, "user_unit");
  EXPECT_EQ(dues->at(0).due.due, Ymd(2027, 11, 22));
}

TEST_F(RecordsTest, TheEvaluationThreadHandsEveryChangeToTheSink) {
  Begin(Ymd(2026, 11, 22));
  std::mutex mu;
  std::vector<std::vector<ComplianceAlarm>> lists;
  svc_->SetSink([&](std::vector<ComplianceAlarm> v) {
    std::lock_guard lock(mu);
    lists.push_back(std::move(v));
  });
  svc_->Start();
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu);
        if (!lists.empty() && pred(lists.back())) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  };
  EXPECT_TRUE(wait_for([](const auto&) { return true; }));  // at start
  Cert("Old Hand", "", "T", "T-OLD", Ymd(2020, 1, 1));
  EXPECT_TRUE(wait_for([](const auto& v) {
    return std::any_of(v.begin(), v.end(), [](const ComplianceAlarm& a) {
      return a.type == AlarmType::kCertificateExpired && a.subject.starts_with("person:");
    });
  }));
  svc_->Stop();
}

TEST(RecordsConfigTest, EvaluateAtIsALocalTimeOfDay) {
  const std::string base = "[site]\nname = \"H\"\n";
  auto def = ParseConfig(base, "/tmp/x.toml");
  ASSERT_TRUE(def.ok()) << def.error().message;
  EXPECT_EQ(def->records.evaluate_at_min, 6 * 60);
  auto set = ParseConfig(base + "[records]\nevaluate_at = \"23:59\"\n", "/tmp/x.toml");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->records.evaluate_at_min, 23 * 60 + 59);
  for (const char* bad : {"24:00", "6:00", "06:60", "0600", "noon"}) {
    auto r = ParseConfig(base + "[records]\nevaluate_at = \"" + bad + "\"\n", "/tmp/x.toml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("x.toml:4"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("'evaluate_at' must be a local time"), std::string::npos)
        << r.error().message;
  }
  auto unknown = ParseConfig(base + "[records]\nevaluate = \"06:00\"\n", "/tmp/x.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("evaluate"), std::string::npos);
}

}  // namespace
}  // namespace lg
