// RecordsStore: the safety records of shared/spec/records.md in the daemon's
// SQLite file (schema version 6): contractors and their elevator
// assignments, people and their certificates, elevator certificates,
// maintenance records (with technicians, items checked, parts and
// amendments), inspections and self-tests (planned and done, with items),
// rectification tasks, drills, and a little metadata.
//
// Rows are plain strings and numbers; db/ knows nothing of the rules' types.
// Dates are "YYYY-MM-DD" (the site's local date), instants RFC 3339 UTC as
// db::FormatTime writes them. daemon/records_service.h validates what goes
// in (certificates, assignments, dates, who may write) and derives what is
// due; this layer only keeps the rows and the two rules that must hold
// whoever writes (checked inside the write's transaction):
//   - a confirmed maintenance record is never changed (UpdateMaintenance
//     refuses with code "confirmed"); a correction is a new record whose
//     `amends` names it;
//   - nothing younger than the retention period is deleted
//     (DeleteMaintenance refuses with code "retention").
//
// Every write is ONE transaction on the writer connection (synchronous=FULL)
// that begins with a write, so it waits its turn behind another writer
// instead of failing at once. A batch of writes (e.g. a CSV import that
// must import all or nothing) goes through Batch(), which runs them in one
// transaction.
//
// Ownership: borrows the Database. Thread-safety: any thread (writes take
// turns on the writer connection); readers pass their own connection.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/database.h"

namespace lg::db {

struct ContractorRow {
  std::string id;
  std::string name;
  std::string duty_phone;
  bool from_config = false;  // defined by a [[contractor]] of the configuration
};

// An elevator maintained by a contractor from `starts_on` to `ends_on`
// (inclusive; "" = open-ended on that side).
struct AssignmentRow {
  int64_t id = 0;
  std::string elevator;
  std::string contractor;
  std::string starts_on;
  std::string ends_on;
  std::string source;  // "config", "api", "import"
  std::string created_at;
};

struct PersonRow {
  int64_t id = 0;
  std::string name;
  std::string contractor;  // "" = the user unit's own staff
  std::string role;        // free text: "technician", "safety manager", ...
  std::string phone;
  bool active = true;  // false: left; their certificates raise nothing
  std::string created_at;
};

struct PersonnelCertRow {
  int64_t id = 0;
  int64_t person_id = 0;
  std::string category;  // "A", "T" or "other"
  std::string number;
  std::string issued_on;
  std::string expires_on;  // issued + 4 years (stored for reports and queries)
  std::string created_by;
  std::string created_at;
  // Filled by the readers from `people`.
  std::string person_name;
  std::string person_contractor;
  bool person_active = true;
};

// Use registration certificate (使用登记证) or safety inspection mark
// (安全检验合格标志).
struct ElevatorCertRow {
  int64_t id = 0;
  std::string elevator;
  std::string kind;  // "use_registration" | "inspection_mark"
  std::string number;
  std::string registration_code;
  std::string issued_on;
  std::string expires_on;  // the mark's next due date; "" for a registration
  std::string note;
  std::string created_by;
  std::string created_at;
};

struct TechnicianRow {
  std::string name;
  std::string certificate;  // the number, as written on the record
  std::optional<int64_t> person_id;
};

struct CheckItemRow {
  std::string item;
  std::string result;  // ok | adjusted | replaced | not_applicable | defect
  std::string note;
};

struct PartRow {
  std::string name;
  int64_t quantity = 1;
  std::string note;
};

struct MaintenanceRow {
  int64_t id = 0;
  std::string elevator;
  std::string kind;  // half_monthly | quarterly | half_yearly | annual | repair | emergency
  std::string contractor;
  std::string started_at;  // RFC 3339 UTC
  std::string ended_at;
  std::string local_date;  // the site's date of started_at: what due dates count from
  std::string findings;
  std::optional<int64_t> alarm_id;     // repair: the alarm it answers, if any
  std::optional<int64_t> incident_id;  // repair: the rescue incident, if any
  std::optional<int64_t> amends;       // the record this one corrects
  std::optional<int64_t> amended_by;   // read only: the newest record amending this one
  std::string confirmed_by;            // "" until the safety manager confirms it
  std::string confirmed_at;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
  std::vector<TechnicianRow> technicians;
  std::vector<CheckItemRow> items;
  std::vector<PartRow> parts;
};

struct InspectionItemRow {
  std::string item;
  std::string note;
};

struct InspectionRow {
  int64_t id = 0;
  std::string elevator;
  std::string kind;       // inspection | self_test
  std::string state;      // planned | done | cancelled
  std::string agreed_on;  // the date agreed with the agency
  std::string done_on;
  std::string result;  // pass | pass_with_rectification | fail ("" while planned)
  std::string agency;
  std::string report_number;
  std::string next_due;  // the new mark's due date, with a pass
  std::string note;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
  std::vector<InspectionItemRow> items;
};

struct RectificationRow {
  int64_t id = 0;
  std::string elevator;
  std::optional<int64_t> inspection_id;
  std::string item;
  std::string note;
  std::string due_on;  // "" = none set
  std::string state;   // open | closed
  std::string opened_at;
  std::string opened_by;
  std::string closed_at;
  std::string closed_by;
  std::string close_note;
};

struct DrillRow {
  int64_t id = 0;
  std::string party;       // "user_unit" | "contractor"
  std::string contractor;  // for party "contractor"
  std::string held_on;     // date
  std::vector<std::string> elevators;
  std::vector<std::string> participants;
  std::string scenario;
  int64_t duration_min = 0;
  std::string findings;
  std::string created_by;
  std::string created_at;
};

// What to list. Empty strings: no filter.
struct RecordFilter {
  std::string elevator;
  std::vector<std::string> elevators;  // non-empty: only these (a contractor's scope)
  std::string kind;
  std::string state;
  std::string contractor;
  std::string from;  // date, inclusive
  std::string to;    // date, inclusive
  int limit = 500;
};

class RecordsStore {
 public:
  explicit RecordsStore(Database& db) : db_(db) {}

  // ---- writes (one transaction each) ---------------------------------------

  // The configuration's contractors and assignments: upserts each
  // contractor; for each (elevator, contractor) pair whose current
  // assignment differs, ends the current one the day before `today` and
  // starts one on `today`. An elevator's first assignment starts on ""
  // (unknown: it covers every earlier date). Assignments entered through an
  // import are left alone.
  Status SyncConfig(const std::vector<ContractorRow>& contractors,
                    const std::vector<std::pair<std::string, std::string>>& elevator_contractor,
                    const std::string& today, const std::string& now);
  Result<int64_t> AddAssignment(const AssignmentRow& row);
  // The date records began (kept from the first call on).
  Result<std::string> RecordsSince(const std::string& today);

  Result<int64_t> AddPerson(const PersonRow& row);
  Status SetPersonActive(int64_t id, bool active);
  Result<int64_t> AddPersonnelCert(const PersonnelCertRow& row);
  Result<int64_t> AddElevatorCert(const ElevatorCertRow& row);

  Result<int64_t> AddMaintenance(const MaintenanceRow& row);
  // Replaces the record's contents. Code "confirmed" if it has been
  // confirmed, "not_found" if there is no such record.
  Status UpdateMaintenance(const MaintenanceRow& row);
  // Code "already_confirmed", "not_found".
  Status ConfirmMaintenance(int64_t id, const std::string& who, const std::string& at);
  // Code "retention" unless local_date + `keep_until` has passed (the caller
  // computes `keep_until_before`: the record must be dated before it),
  // "amended" if another record amends it, "not_found".
  Status DeleteMaintenance(int64_t id, const std::string& keep_until_before);

  // A new row, or a "done" row that fills the planned row `row.id` when set
  // (code "not_planned" if that row is not planned). A new planned row
  // cancels the elevator's open plan. `opens` are the rectification tasks
  // its items open (inspection_id is filled in). A passed "done" row with a
  // next_due also records the new inspection mark. Code "not_found".
  Result<int64_t> SaveInspection(const InspectionRow& row,
                                 const std::vector<RectificationRow>& opens);
  Result<int64_t> AddRectification(const RectificationRow& row);
  // Code "already_closed", "not_found".
  Status CloseRectification(int64_t id, const std::string& who, const std::string& at,
                            const std::string& note);
  Result<int64_t> AddDrill(const DrillRow& row);

  // Runs `body` in one transaction with the store's writes given the
  // connection (all or nothing), e.g. for an import.
  Status Batch(const std::function<Status(SQLite::Database&)>& body);

  // The row writers Add* use, for a Batch body: insert one row as given
  // (no checks) and return its id. Throw SQLite::Exception, which Batch
  // turns into an Error.
  static int64_t InsertPerson(SQLite::Database& tx, const PersonRow& row);
  static int64_t InsertPersonnelCert(SQLite::Database& tx, const PersonnelCertRow& row);
  static int64_t InsertElevatorCert(SQLite::Database& tx, const ElevatorCertRow& row);

  // ---- reads (any connection) ----------------------------------------------

  static Result<std::vector<ContractorRow>> Contractors(SQLite::Database& r);
  static Result<std::vector<AssignmentRow>> Assignments(SQLite::Database& r,
                                                        const std::string& elevator);
  // The contractor assigned to `elevator` on `date`, or "".
  static Result<std::string> ContractorOn(SQLite::Database& r, const std::string& elevator,
                                          const std::string& date);
  static Result<std::string> Meta(SQLite::Database& r, const std::string& key);

  static Result<std::vector<PersonRow>> People(SQLite::Database& r);
  static Result<std::vector<PersonnelCertRow>> PersonnelCerts(SQLite::Database& r);
  // Certificates with this number, newest issue first.
  static Result<std::vector<PersonnelCertRow>> PersonnelCertsByNumber(SQLite::Database& r,
                                                                      const std::string& number);
  static Result<std::vector<ElevatorCertRow>> ElevatorCerts(SQLite::Database& r,
                                                            const RecordFilter& f);

  static Result<std::vector<MaintenanceRow>> Maintenance(SQLite::Database& r,
                                                         const RecordFilter& f);
  static Result<std::optional<MaintenanceRow>> GetMaintenance(SQLite::Database& r, int64_t id);
  // For due dates: per elevator and kind, the latest local_date among the
  // records no other record amends.
  struct LastDone {
    std::string elevator, kind, local_date;
    int64_t record_id = 0;
  };
  static Result<std::vector<LastDone>> LastMaintenance(SQLite::Database& r);

  static Result<std::vector<InspectionRow>> Inspections(SQLite::Database& r, const RecordFilter& f);
  static Result<std::optional<InspectionRow>> GetInspection(SQLite::Database& r, int64_t id);
  static Result<std::vector<RectificationRow>> Rectifications(SQLite::Database& r,
                                                              const RecordFilter& f);
  static Result<std::optional<RectificationRow>> GetRectification(SQLite::Database& r, int64_t id);
  static Result<std::vector<DrillRow>> Drills(SQLite::Database& r, const RecordFilter& f);

 private:
  Status Write(const std::function<Status(SQLite::Database&)>& body);
  Database& db_;
};

}  // namespace lg::db
