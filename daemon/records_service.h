// RecordsService: the safety records of shared/spec/records.md at work in
// the daemon (user docs: docs/records.md). It checks every write before
// db::RecordsStore keeps it, derives what is due from the records with the
// pure date rules of rules/compliance.h, and turns the conditions that hold
// today into compliance alarms.
//
// Writes are refused with an Error whose message names the field and the
// reason:
//   "bad_field"  a technician without a category-T certificate valid on the
//                record's date; a contractor not assigned to the elevator on
//                that date; a date in the future, or an end before the start;
//                a missing or malformed value;
//   "forbidden"  the user's role may not do it (the role matrix of
//                docs/records.md);
//   "not_found"  no such record or elevator, or one the user may not see
//                (a contractor sees and writes only the elevators assigned to
//                it, and only its own maintenance records);
//   "confirmed", "already_confirmed", "retention", "amended", "superseded",
//   "already_closed", "not_confirmed"  the record's state forbids it
//                (db/records_store.h).
// Dates are the site's local dates (SiteTime); "today" comes from the clock.
//
// Compliance: Evaluate() lists the findings that hold today
// (MAINTENANCE_OVERDUE, INSPECTION_DUE/OVERDUE, CERTIFICATE_EXPIRING/EXPIRED,
// DRILL_OVERDUE), one per type and subject; subjects are elevator ids, or
// "person:ID", "contractor:ID" and "unit:site". After Start() a thread of
// the service evaluates at once, daily at the configured local time, and
// soon after every successful write or SetConfig, and hands each complete
// list to the Sink (AlarmService::PostCompliance raises what is new and
// clears what is gone). So that a new installation is not flooded, what has
// no record at all is counted from a baseline: maintenance from the start
// of the elevator's current contract, drills from it or from the day
// records began, inspections (without a mark on record) from the first
// anniversary of first use on or after the day records began.
//
// Ownership: borrows the Database and the Clock. Thread-safety: every call
// from any thread; Stop() (or the destructor) before what it borrows goes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/alarm_type.h"
#include "core/clock.h"
#include "core/result.h"
#include "daemon/auth.h"
#include "daemon/compliance_alarm.h"
#include "daemon/site_time.h"
#include "db/database.h"
#include "db/records_store.h"
#include "rules/compliance.h"

namespace lg {

struct MaintenanceInput {
  std::string elevator;
  std::string kind;
  std::string
      contractor;  // "" = the elevator's contractor on the date (a contractor user: its own)
  WallTime started_at{};
  WallTime ended_at{};
  std::vector<db::TechnicianRow> technicians;  // name, certificate number
  std::vector<db::CheckItemRow> items;
  std::vector<db::PartRow> parts;
  std::string findings;
  std::optional<int64_t> alarm_id;
  std::optional<int64_t> incident_id;
};

struct InspectionInput {
  std::string elevator;
  std::string kind;                        // inspection | self_test; "" = what the plan says is due
  std::string state;                       // planned | done
  std::optional<rules::Date> agreed_date;  // planned
  std::optional<rules::Date> date;         // done
  std::string result;                      // done: pass | pass_with_rectification | fail
  std::vector<db::InspectionItemRow> items;
  std::optional<rules::Date> next_due;    // with a pass: the new mark's due date
  std::optional<rules::Date> rectify_by;  // due date of the rectification tasks
  std::string agency;
  std::string report_number;
  std::string note;
};

struct RectificationInput {
  std::string elevator;
  std::string item;
  std::string note;
  std::optional<rules::Date> due;
  std::optional<int64_t> inspection_id;
};

struct CertificateInput {
  std::string kind;  // personnel | use_registration | inspection_mark
  // personnel
  std::optional<int64_t> holder_id;  // an existing person, or:
  std::string holder;                // a name (found, or added, with holder_contractor)
  std::string holder_contractor;     // "" = the user unit's own staff
  std::string holder_role;
  std::string category;  // A | T | other
  // all
  std::string number;
  std::optional<rules::Date> issued;
  // elevator certificates
  std::string elevator;
  std::string registration_code;
  std::optional<rules::Date> expires;  // inspection_mark: its due date
  std::string note;
};

struct DrillInput {
  std::string party;       // user_unit | contractor
  std::string contractor;  // party contractor
  std::optional<rules::Date> date;
  std::vector<std::string> elevators;
  std::vector<std::string> participants;
  std::string scenario;
  int64_t duration_min = 0;
  std::string findings;
};

// Where one periodic maintenance kind of one elevator stands.
struct MaintenanceDueRow {
  std::string elevator;
  rules::MaintenanceKind kind = rules::MaintenanceKind::kHalfMonthly;
  std::optional<rules::Date> last;  // the date counted from
  int64_t last_record_id = 0;       // 0 when counted from a baseline
  std::string counted_from;         // "record", "contract_start", "records_start"
  rules::MaintenanceDue due;
};

struct InspectionPlanRow {
  std::string elevator;
  std::string name;
  std::optional<rules::Date> first_use;
  std::optional<rules::Date> mark_expires;  // the latest mark on record
  std::optional<rules::Date> next_due;      // what INSPECTION_DUE/OVERDUE count to
  std::optional<int64_t> planned_id;        // the open planned inspection, if any
  std::vector<rules::PlanItem> items;
  std::string note;  // why there are no items, if there are none
};

struct CertificateView {
  db::PersonnelCertRow row;
  rules::CertificateState status;
  bool current = true;  // the newest of the holder's certificates of its category
};

struct DrillDueRow {
  std::string party;  // user_unit | contractor
  std::string contractor;
  std::optional<rules::Date> last;
  std::string counted_from;  // "drill", "contract_start", "records_start"
  rules::DrillDue due;
};

class RecordsService {
 public:
  using Sink = std::function<void(std::vector<ComplianceAlarm>)>;

  struct Elevator {
    std::string id;
    std::string name;
    std::string first_use;   // YYYY-MM-DD or ""
    std::string contractor;  // from the configuration; "" = none
  };

  RecordsService(db::Database& db, const Clock& clock, SiteTime site_time);
  ~RecordsService();

  // The configured elevators and contractors, at start and after a reload:
  // seeds the contractors and their assignments (db::RecordsStore::SyncConfig)
  // and asks for an evaluation. `evaluate_at_min`: local minute of the day
  // of the daily evaluation.
  Status SetConfig(std::vector<Elevator> elevators, std::vector<db::ContractorRow> contractors,
                   int evaluate_at_min);
  // Before Start.
  void SetSink(Sink sink);
  void Start();
  void Stop();  // idempotent
  void RequestEvaluation();

  rules::Date Today() const;
  const SiteTime& site_time() const { return site_time_; }

  // What holds today; does not touch the Sink.
  Result<std::vector<ComplianceAlarm>> Evaluate();

  // ---- writes --------------------------------------------------------------
  Result<db::MaintenanceRow> AddMaintenance(const auth::User& u, const MaintenanceInput& in);
  // An unconfirmed record's contents (refused once confirmed: amend it).
  Result<db::MaintenanceRow> EditMaintenance(const auth::User& u, int64_t id,
                                             const MaintenanceInput& in);
  // A new record correcting confirmed record `id` (the latest version).
  Result<db::MaintenanceRow> AmendMaintenance(const auth::User& u, int64_t id,
                                              const MaintenanceInput& in);
  Result<db::MaintenanceRow> ConfirmMaintenance(const auth::User& u, int64_t id);
  Status DeleteMaintenance(const auth::User& u, int64_t id);
  Result<db::InspectionRow> AddInspection(const auth::User& u, const InspectionInput& in);
  Result<db::RectificationRow> AddRectification(const auth::User& u, const RectificationInput& in);
  Result<db::RectificationRow> CloseRectification(const auth::User& u, int64_t id,
                                                  const std::string& note);
  // Returns the new certificate's id.
  Result<int64_t> AddCertificate(const auth::User& u, const CertificateInput& in);
  Result<db::DrillRow> AddDrill(const auth::User& u, const DrillInput& in);

  // ---- reads (scoped to what the user may see) -----------------------------
  Result<std::vector<db::MaintenanceRow>> ListMaintenance(const auth::User& u, db::RecordFilter f);
  Result<db::MaintenanceRow> GetMaintenance(const auth::User& u, int64_t id);
  Result<std::vector<MaintenanceDueRow>> MaintenanceDue(const auth::User& u,
                                                        const std::string& elevator);
  Result<std::vector<db::InspectionRow>> ListInspections(const auth::User& u, db::RecordFilter f);
  Result<std::vector<InspectionPlanRow>> Plan(const auth::User& u, const std::string& elevator,
                                              int days);
  Result<std::vector<db::RectificationRow>> ListRectifications(const auth::User& u,
                                                               db::RecordFilter f);
  Result<std::vector<CertificateView>> ListPersonnelCertificates(const auth::User& u);
  Result<std::vector<db::ElevatorCertRow>> ListElevatorCertificates(const auth::User& u,
                                                                    db::RecordFilter f);
  Result<std::vector<db::DrillRow>> ListDrills(const auth::User& u, db::RecordFilter f);
  Result<std::vector<DrillDueRow>> DrillsDue(const auth::User& u);

  // Whether the user may see the elevator (known, and a contractor's own).
  bool CanSee(const auth::User& u, const std::string& elevator) const;

  class Impl;

 private:
  db::Database& db_;
  const Clock& clock_;
  SiteTime site_time_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg
