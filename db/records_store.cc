#include "db/records_store.h"

#include <algorithm>
#include <map>
#include <set>

namespace lg::db {
namespace {

// Drill elevators and participants are short lists of names: one column,
// joined by the unit separator (never typed in a name).
constexpr char kSep = '\x1f';

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(kSep);
    out += v[i];
  }
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t sep = s.find(kSep, start);
    out.push_back(s.substr(start, sep - start));
    if (sep == std::string::npos) break;
    start = sep + 1;
  }
  return out;
}

template <typename T>
void BindOptional(SQLite::Statement& st, int i, const std::optional<T>& v) {
  if (v) {
    st.bind(i, *v);
  } else {
    st.bind(i);
  }
}

std::optional<int64_t> OptionalInt(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return c.getInt64();
}

template <typename T, typename F>
Result<T> Read(F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("records query failed: ") + e.what());
  }
}

// The WHERE clause of a filter over a table with `elevator` and a date
// column; binds through `binds`.
struct Where {
  std::string sql = " WHERE 1";
  std::vector<std::string> binds;
  void Add(const std::string& clause, const std::string& value) {
    sql += " AND " + clause;
    binds.push_back(value);
  }
  void In(const std::string& column, const std::vector<std::string>& values) {
    sql += " AND " + column + " IN (";
    for (size_t i = 0; i < values.size(); ++i) {
      sql += i ? ",?" : "?";
      binds.push_back(values[i]);
    }
    sql += ")";
  }
  void Bind(SQLite::Statement& q) const {
    for (size_t i = 0; i < binds.size(); ++i) q.bind(static_cast<int>(i + 1), binds[i]);
  }
};

Where FilterOf(const RecordFilter& f, const std::string& date_column, bool has_elevator = true) {
  Where w;
  if (has_elevator && !f.elevator.empty()) w.Add("elevator = ?", f.elevator);
  if (has_elevator && !f.elevators.empty()) w.In("elevator", f.elevators);
  if (!f.from.empty() && !date_column.empty()) w.Add(date_column + " >= ?", f.from);
  if (!f.to.empty() && !date_column.empty()) w.Add(date_column + " <= ?", f.to);
  return w;
}

constexpr const char* kMaintenanceColumns =
    "id, elevator, kind, contractor, started_at, ended_at, local_date, findings, alarm_id, "
    "incident_id, amends, confirmed_by, confirmed_at, created_by, created_at, updated_at, "
    "(SELECT MAX(a.id) FROM maintenance_records a WHERE a.amends = maintenance_records.id)";

MaintenanceRow ReadMaintenance(SQLite::Statement& q) {
  MaintenanceRow r;
  int i = 0;
  r.id = q.getColumn(i++).getInt64();
  r.elevator = q.getColumn(i++).getString();
  r.kind = q.getColumn(i++).getString();
  r.contractor = q.getColumn(i++).getString();
  r.started_at = q.getColumn(i++).getString();
  r.ended_at = q.getColumn(i++).getString();
  r.local_date = q.getColumn(i++).getString();
  r.findings = q.getColumn(i++).getString();
  r.alarm_id = OptionalInt(q.getColumn(i++));
  r.incident_id = OptionalInt(q.getColumn(i++));
  r.amends = OptionalInt(q.getColumn(i++));
  r.confirmed_by = q.getColumn(i++).getString();
  r.confirmed_at = q.getColumn(i++).getString();
  r.created_by = q.getColumn(i++).getString();
  r.created_at = q.getColumn(i++).getString();
  r.updated_at = q.getColumn(i++).getString();
  r.amended_by = OptionalInt(q.getColumn(i++));
  return r;
}

void LoadMaintenanceChildren(SQLite::Database& db, std::vector<MaintenanceRow>& rows) {
  SQLite::Statement t(db,
                      "SELECT name, certificate, person_id FROM maintenance_technicians WHERE "
                      "record_id = ? ORDER BY position");
  SQLite::Statement it(db,
                       "SELECT item, result, note FROM maintenance_items WHERE record_id = ? "
                       "ORDER BY position");
  SQLite::Statement p(db,
                      "SELECT name, quantity, note FROM maintenance_parts WHERE record_id = ? "
                      "ORDER BY position");
  for (auto& r : rows) {
    t.bind(1, r.id);
    while (t.executeStep()) {
      r.technicians.push_back(
          {t.getColumn(0).getString(), t.getColumn(1).getString(), OptionalInt(t.getColumn(2))});
    }
    t.reset();
    it.bind(1, r.id);
    while (it.executeStep()) {
      r.items.push_back(
          {it.getColumn(0).getString(), it.getColumn(1).getString(), it.getColumn(2).getString()});
    }
    it.reset();
    p.bind(1, r.id);
    while (p.executeStep()) {
      r.parts.push_back(
          {p.getColumn(0).getString(), p.getColumn(1).getInt64(), p.getColumn(2).getString()});
    }
    p.reset();
  }
}

void InsertMaintenanceChildren(SQLite::Database& db, const MaintenanceRow& row, int64_t id) {
  SQLite::Statement t(db,
                      "INSERT INTO maintenance_technicians(record_id, position, name, certificate, "
                      "person_id) VALUES (?,?,?,?,?)");
  for (size_t i = 0; i < row.technicians.size(); ++i) {
    const auto& x = row.technicians[i];
    t.bind(1, id);
    t.bind(2, static_cast<int64_t>(i));
    t.bind(3, x.name);
    t.bind(4, x.certificate);
    BindOptional(t, 5, x.person_id);
    t.exec();
    t.reset();
  }
  SQLite::Statement it(db,
                       "INSERT INTO maintenance_items(record_id, position, item, result, note) "
                       "VALUES (?,?,?,?,?)");
  for (size_t i = 0; i < row.items.size(); ++i) {
    const auto& x = row.items[i];
    it.bind(1, id);
    it.bind(2, static_cast<int64_t>(i));
    it.bind(3, x.item);
    it.bind(4, x.result);
    it.bind(5, x.note);
    it.exec();
    it.reset();
  }
  SQLite::Statement p(db,
                      "INSERT INTO maintenance_parts(record_id, position, name, quantity, note) "
                      "VALUES (?,?,?,?,?)");
  for (size_t i = 0; i < row.parts.size(); ++i) {
    const auto& x = row.parts[i];
    p.bind(1, id);
    p.bind(2, static_cast<int64_t>(i));
    p.bind(3, x.name);
    p.bind(4, x.quantity);
    p.bind(5, x.note);
    p.exec();
    p.reset();
  }
}

constexpr const char* kInspectionColumns =
    "id, elevator, kind, state, agreed_on, done_on, result, agency, report_number, next_due, "
    "note, created_by, created_at, updated_at";

InspectionRow ReadInspection(SQLite::Statement& q) {
  InspectionRow r;
  int i = 0;
  r.id = q.getColumn(i++).getInt64();
  r.elevator = q.getColumn(i++).getString();
  r.kind = q.getColumn(i++).getString();
  r.state = q.getColumn(i++).getString();
  r.agreed_on = q.getColumn(i++).getString();
  r.done_on = q.getColumn(i++).getString();
  r.result = q.getColumn(i++).getString();
  r.agency = q.getColumn(i++).getString();
  r.report_number = q.getColumn(i++).getString();
  r.next_due = q.getColumn(i++).getString();
  r.note = q.getColumn(i++).getString();
  r.created_by = q.getColumn(i++).getString();
  r.created_at = q.getColumn(i++).getString();
  r.updated_at = q.getColumn(i++).getString();
  return r;
}

void LoadInspectionItems(SQLite::Database& db, std::vector<InspectionRow>& rows) {
  SQLite::Statement q(db,
                      "SELECT item, note FROM inspection_items WHERE inspection_id = ? ORDER BY "
                      "position");
  for (auto& r : rows) {
    q.bind(1, r.id);
    while (q.executeStep()) {
      r.items.push_back({q.getColumn(0).getString(), q.getColumn(1).getString()});
    }
    q.reset();
  }
}

constexpr const char* kRectificationColumns =
    "id, elevator, inspection_id, item, note, due_on, state, opened_at, opened_by, closed_at, "
    "closed_by, close_note";

RectificationRow ReadRectification(SQLite::Statement& q) {
  RectificationRow r;
  int i = 0;
  r.id = q.getColumn(i++).getInt64();
  r.elevator = q.getColumn(i++).getString();
  r.inspection_id = OptionalInt(q.getColumn(i++));
  r.item = q.getColumn(i++).getString();
  r.note = q.getColumn(i++).getString();
  r.due_on = q.getColumn(i++).getString();
  r.state = q.getColumn(i++).getString();
  r.opened_at = q.getColumn(i++).getString();
  r.opened_by = q.getColumn(i++).getString();
  r.closed_at = q.getColumn(i++).getString();
  r.closed_by = q.getColumn(i++).getString();
  r.close_note = q.getColumn(i++).getString();
  return r;
}

int64_t InsertRectification(SQLite::Database& db, const RectificationRow& r) {
  SQLite::Statement ins(db,
                        "INSERT INTO rectifications(elevator, inspection_id, item, note, due_on, "
                        "state, opened_at, opened_by) VALUES (?,?,?,?,?,'open',?,?)");
  ins.bind(1, r.elevator);
  BindOptional(ins, 2, r.inspection_id);
  ins.bind(3, r.item);
  ins.bind(4, r.note);
  ins.bind(5, r.due_on);
  ins.bind(6, r.opened_at);
  ins.bind(7, r.opened_by);
  ins.exec();
  return db.getLastInsertRowid();
}

Status NotFound(const std::string& what, int64_t id) {
  return Error::Permanent("not_found", "there is no " + what + " " + std::to_string(id));
}

std::string AssignmentColumns() {
  return "id, elevator, contractor, starts_on, ends_on, source, created_at";
}

AssignmentRow ReadAssignment(SQLite::Statement& q) {
  return {q.getColumn(0).getInt64(),  q.getColumn(1).getString(), q.getColumn(2).getString(),
          q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString(),
          q.getColumn(6).getString()};
}

// The day before a YYYY-MM-DD date, by the civil calendar.
std::string DayBefore(const std::string& date) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3) return date;
  auto ymd =
      std::chrono::year_month_day{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  auto prev = std::chrono::year_month_day{std::chrono::sys_days(ymd) - std::chrono::days(1)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(prev.year()),
                static_cast<unsigned>(prev.month()), static_cast<unsigned>(prev.day()));
  return buf;
}

}  // namespace

// A first statement that writes takes the write lock waiting its turn (the
// busy timeout); a transaction that reads first and then writes would be
// refused at once while another connection (the HTTP server's audit rows)
// holds it.
Status RecordsStore::Write(const std::function<Status(SQLite::Database&)>& body) {
  return db_.Transaction([&](SQLite::Database& db) -> Status {
    db.exec("INSERT OR REPLACE INTO records_meta(key, value) VALUES ('write', '')");
    return body(db);
  });
}

Status RecordsStore::Batch(const std::function<Status(SQLite::Database&)>& body) {
  return Write(body);
}

// ---- contractors ---------------------------------------------------------------

Status RecordsStore::SyncConfig(
    const std::vector<ContractorRow>& contractors,
    const std::vector<std::pair<std::string, std::string>>& elevator_contractor,
    const std::string& today, const std::string& now) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement up(db,
                         "INSERT INTO contractors(id, name, duty_phone, from_config, updated_at) "
                         "VALUES (?,?,?,1,?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                         "duty_phone = excluded.duty_phone, from_config = 1, updated_at = "
                         "excluded.updated_at");
    for (const auto& c : contractors) {
      up.bind(1, c.id);
      up.bind(2, c.name);
      up.bind(3, c.duty_phone);
      up.bind(4, now);
      up.exec();
      up.reset();
    }
    SQLite::Statement current(db,
                              "SELECT id, contractor, starts_on FROM contractor_assignments WHERE "
                              "elevator = ? AND source = 'config' AND (ends_on = '' OR ends_on >= "
                              "?) ORDER BY starts_on DESC, id DESC");
    SQLite::Statement end(db, "UPDATE contractor_assignments SET ends_on = ? WHERE id = ?");
    SQLite::Statement drop(db, "DELETE FROM contractor_assignments WHERE id = ?");
    SQLite::Statement add(db,
                          "INSERT INTO contractor_assignments(elevator, contractor, starts_on, "
                          "source, created_at) VALUES (?,?,?,'config',?)");
    for (const auto& [elevator, contractor] : elevator_contractor) {
      current.bind(1, elevator);
      current.bind(2, today);
      bool same = false;
      std::vector<std::pair<int64_t, std::string>> ending;
      while (current.executeStep()) {
        if (!same && current.getColumn(1).getString() == contractor) {
          same = true;
        } else {
          ending.emplace_back(current.getColumn(0).getInt64(), current.getColumn(2).getString());
        }
      }
      current.reset();
      for (const auto& [id, starts] : ending) {
        // One that would end before it started (assigned and changed the
        // same day) never held: gone.
        if (starts >= today) {
          drop.bind(1, id);
          drop.exec();
          drop.reset();
        } else {
          end.bind(1, DayBefore(today));
          end.bind(2, id);
          end.exec();
          end.reset();
        }
      }
      if (!same && !contractor.empty()) {
        // On first sight the contract's start is unknown: it holds for any
        // earlier date, so records from before Liftguard can be entered.
        SQLite::Statement any(db, "SELECT 1 FROM contractor_assignments WHERE elevator = ?");
        any.bind(1, elevator);
        add.bind(1, elevator);
        add.bind(2, contractor);
        add.bind(3, any.executeStep() ? today : std::string());
        add.bind(4, now);
        add.exec();
        add.reset();
      }
    }
    return Status::Ok();
  });
}

Result<int64_t> RecordsStore::AddAssignment(const AssignmentRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement ins(db,
                          "INSERT INTO contractor_assignments(elevator, contractor, starts_on, "
                          "ends_on, source, created_at) VALUES (?,?,?,?,?,?)");
    ins.bind(1, row.elevator);
    ins.bind(2, row.contractor);
    ins.bind(3, row.starts_on);
    ins.bind(4, row.ends_on);
    ins.bind(5, row.source.empty() ? "api" : row.source);
    ins.bind(6, row.created_at);
    ins.exec();
    id = db.getLastInsertRowid();
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Result<std::string> RecordsStore::RecordsSince(const std::string& today) {
  std::string since;
  Status st = Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement ins(db,
                          "INSERT OR IGNORE INTO records_meta(key, value) VALUES "
                          "('records_since', ?)");
    ins.bind(1, today);
    ins.exec();
    since = db.execAndGet("SELECT value FROM records_meta WHERE key = 'records_since'").getString();
    return Status::Ok();
  });
  if (!st) return st.error();
  return since;
}

// ---- people and certificates -----------------------------------------------------

int64_t RecordsStore::InsertPerson(SQLite::Database& tx, const PersonRow& row) {
  SQLite::Statement ins(tx,
                        "INSERT INTO people(name, contractor, role, phone, active, created_at) "
                        "VALUES (?,?,?,?,?,?)");
  ins.bind(1, row.name);
  ins.bind(2, row.contractor);
  ins.bind(3, row.role);
  ins.bind(4, row.phone);
  ins.bind(5, row.active ? 1 : 0);
  ins.bind(6, row.created_at);
  ins.exec();
  return tx.getLastInsertRowid();
}

int64_t RecordsStore::InsertPersonnelCert(SQLite::Database& tx, const PersonnelCertRow& row) {
  SQLite::Statement ins(tx,
                        "INSERT INTO personnel_certificates(person_id, category, number, "
                        "issued_on, expires_on, created_by, created_at) VALUES (?,?,?,?,?,?,?)");
  ins.bind(1, row.person_id);
  ins.bind(2, row.category);
  ins.bind(3, row.number);
  ins.bind(4, row.issued_on);
  ins.bind(5, row.expires_on);
  ins.bind(6, row.created_by);
  ins.bind(7, row.created_at);
  ins.exec();
  return tx.getLastInsertRowid();
}

int64_t RecordsStore::InsertElevatorCert(SQLite::Database& tx, const ElevatorCertRow& row) {
  SQLite::Statement ins(tx,
                        "INSERT INTO elevator_certificates(elevator, kind, number, "
                        "registration_code, issued_on, expires_on, note, created_by, "
                        "created_at) VALUES (?,?,?,?,?,?,?,?,?)");
  ins.bind(1, row.elevator);
  ins.bind(2, row.kind);
  ins.bind(3, row.number);
  ins.bind(4, row.registration_code);
  ins.bind(5, row.issued_on);
  ins.bind(6, row.expires_on);
  ins.bind(7, row.note);
  ins.bind(8, row.created_by);
  ins.bind(9, row.created_at);
  ins.exec();
  return tx.getLastInsertRowid();
}

Result<int64_t> RecordsStore::AddPerson(const PersonRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    id = InsertPerson(db, row);
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Status RecordsStore::SetPersonActive(int64_t id, bool active) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement up(db, "UPDATE people SET active = ? WHERE id = ?");
    up.bind(1, active ? 1 : 0);
    up.bind(2, id);
    if (up.exec() == 0) return NotFound("person", id);
    return Status::Ok();
  });
}

Result<int64_t> RecordsStore::AddPersonnelCert(const PersonnelCertRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement dup(
        db, "SELECT id FROM personnel_certificates WHERE number = ? AND issued_on = ?");
    dup.bind(1, row.number);
    dup.bind(2, row.issued_on);
    if (dup.executeStep()) {
      return Error::Permanent("exists", "certificate " + row.number + " issued " + row.issued_on +
                                            " is on record already (id " +
                                            std::to_string(dup.getColumn(0).getInt64()) + ")");
    }
    id = InsertPersonnelCert(db, row);
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Result<int64_t> RecordsStore::AddElevatorCert(const ElevatorCertRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    id = InsertElevatorCert(db, row);
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

// ---- maintenance -----------------------------------------------------------------

Result<int64_t> RecordsStore::AddMaintenance(const MaintenanceRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement ins(db,
                          "INSERT INTO maintenance_records(elevator, kind, contractor, started_at, "
                          "ended_at, local_date, findings, alarm_id, incident_id, amends, "
                          "created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, row.elevator);
    ins.bind(2, row.kind);
    ins.bind(3, row.contractor);
    ins.bind(4, row.started_at);
    ins.bind(5, row.ended_at);
    ins.bind(6, row.local_date);
    ins.bind(7, row.findings);
    BindOptional(ins, 8, row.alarm_id);
    BindOptional(ins, 9, row.incident_id);
    BindOptional(ins, 10, row.amends);
    ins.bind(11, row.created_by);
    ins.bind(12, row.created_at);
    ins.bind(13, row.created_at);
    ins.exec();
    id = db.getLastInsertRowid();
    InsertMaintenanceChildren(db, row, id);
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Status RecordsStore::UpdateMaintenance(const MaintenanceRow& row) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db,
                        "SELECT confirmed_by, confirmed_at FROM maintenance_records WHERE id = ?");
    q.bind(1, row.id);
    if (!q.executeStep()) return NotFound("maintenance record", row.id);
    if (!q.getColumn(0).getString().empty()) {
      return Error::Permanent("confirmed", "maintenance record " + std::to_string(row.id) +
                                               " was confirmed by " + q.getColumn(0).getString() +
                                               " at " + q.getColumn(1).getString() +
                                               " and is never edited; record a correction with "
                                               "POST /api/v1/maintenance/" +
                                               std::to_string(row.id) + "/amend");
    }
    SQLite::Statement up(db,
                         "UPDATE maintenance_records SET kind = ?, contractor = ?, started_at = ?, "
                         "ended_at = ?, local_date = ?, findings = ?, alarm_id = ?, incident_id = "
                         "?, updated_at = ? WHERE id = ?");
    up.bind(1, row.kind);
    up.bind(2, row.contractor);
    up.bind(3, row.started_at);
    up.bind(4, row.ended_at);
    up.bind(5, row.local_date);
    up.bind(6, row.findings);
    BindOptional(up, 7, row.alarm_id);
    BindOptional(up, 8, row.incident_id);
    up.bind(9, row.updated_at);
    up.bind(10, row.id);
    up.exec();
    for (const char* table :
         {"maintenance_technicians", "maintenance_items", "maintenance_parts"}) {
      SQLite::Statement del(db, std::string("DELETE FROM ") + table + " WHERE record_id = ?");
      del.bind(1, row.id);
      del.exec();
    }
    InsertMaintenanceChildren(db, row, row.id);
    return Status::Ok();
  });
}

Status RecordsStore::ConfirmMaintenance(int64_t id, const std::string& who, const std::string& at) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db,
                        "SELECT confirmed_by, confirmed_at FROM maintenance_records WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return NotFound("maintenance record", id);
    if (!q.getColumn(0).getString().empty()) {
      return Error::Permanent("already_confirmed", "maintenance record " + std::to_string(id) +
                                                       " was confirmed already by " +
                                                       q.getColumn(0).getString() + " at " +
                                                       q.getColumn(1).getString());
    }
    SQLite::Statement up(db,
                         "UPDATE maintenance_records SET confirmed_by = ?, confirmed_at = ?, "
                         "updated_at = ? WHERE id = ?");
    up.bind(1, who);
    up.bind(2, at);
    up.bind(3, at);
    up.bind(4, id);
    up.exec();
    return Status::Ok();
  });
}

Status RecordsStore::DeleteMaintenance(int64_t id, const std::string& keep_until_before) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, "SELECT local_date FROM maintenance_records WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return NotFound("maintenance record", id);
    std::string date = q.getColumn(0).getString();
    if (!(date < keep_until_before)) {
      return Error::Permanent("retention",
                              "maintenance record " + std::to_string(id) + " is dated " + date +
                                  "; records are kept at least 4 years, so it may not be deleted "
                                  "before 4 years have passed");
    }
    SQLite::Statement a(db, "SELECT id FROM maintenance_records WHERE amends = ? ORDER BY id");
    a.bind(1, id);
    if (a.executeStep()) {
      return Error::Permanent("amended", "maintenance record " + std::to_string(id) +
                                             " is amended by record " +
                                             std::to_string(a.getColumn(0).getInt64()) +
                                             "; delete the amendment first");
    }
    SQLite::Statement del(db, "DELETE FROM maintenance_records WHERE id = ?");
    del.bind(1, id);
    del.exec();
    return Status::Ok();
  });
}

// ---- inspections, rectifications, drills -------------------------------------------

Result<int64_t> RecordsStore::SaveInspection(const InspectionRow& row,
                                             const std::vector<RectificationRow>& opens) {
  int64_t id = row.id;
  Status st = Write([&](SQLite::Database& db) -> Status {
    if (row.id > 0) {
      SQLite::Statement q(db, "SELECT state FROM inspections WHERE id = ?");
      q.bind(1, row.id);
      if (!q.executeStep()) return NotFound("inspection", row.id);
      if (q.getColumn(0).getString() != "planned") {
        return Error::Permanent("not_planned",
                                "inspection " + std::to_string(row.id) + " is not planned");
      }
      SQLite::Statement up(db,
                           "UPDATE inspections SET kind = ?, state = ?, done_on = ?, result = ?, "
                           "agency = CASE WHEN ? = '' THEN agency ELSE ? END, report_number = ?, "
                           "next_due = ?, note = ?, updated_at = ? WHERE id = ?");
      up.bind(1, row.kind);
      up.bind(2, row.state);
      up.bind(3, row.done_on);
      up.bind(4, row.result);
      up.bind(5, row.agency);
      up.bind(6, row.agency);
      up.bind(7, row.report_number);
      up.bind(8, row.next_due);
      up.bind(9, row.note);
      up.bind(10, row.updated_at);
      up.bind(11, row.id);
      up.exec();
    } else {
      if (row.state == "planned") {
        // A new agreed date replaces the elevator's open plan.
        SQLite::Statement cancel(db,
                                 "UPDATE inspections SET state = 'cancelled', updated_at = ? "
                                 "WHERE elevator = ? AND state = 'planned'");
        cancel.bind(1, row.updated_at);
        cancel.bind(2, row.elevator);
        cancel.exec();
      }
      SQLite::Statement ins(db,
                            "INSERT INTO inspections(elevator, kind, state, agreed_on, done_on, "
                            "result, agency, report_number, next_due, note, created_by, "
                            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
      ins.bind(1, row.elevator);
      ins.bind(2, row.kind);
      ins.bind(3, row.state);
      ins.bind(4, row.agreed_on);
      ins.bind(5, row.done_on);
      ins.bind(6, row.result);
      ins.bind(7, row.agency);
      ins.bind(8, row.report_number);
      ins.bind(9, row.next_due);
      ins.bind(10, row.note);
      ins.bind(11, row.created_by);
      ins.bind(12, row.created_at);
      ins.bind(13, row.updated_at);
      ins.exec();
      id = db.getLastInsertRowid();
    }
    SQLite::Statement item(db,
                           "INSERT INTO inspection_items(inspection_id, position, item, note) "
                           "VALUES (?,?,?,?)");
    for (size_t i = 0; i < row.items.size(); ++i) {
      item.bind(1, id);
      item.bind(2, static_cast<int64_t>(i));
      item.bind(3, row.items[i].item);
      item.bind(4, row.items[i].note);
      item.exec();
      item.reset();
    }
    for (RectificationRow r : opens) {
      r.inspection_id = id;
      InsertRectification(db, r);
    }
    // A passed check with the new mark's date renews the mark.
    if (row.state == "done" && !row.next_due.empty() &&
        (row.result == "pass" || row.result == "pass_with_rectification")) {
      SQLite::Statement mark(db,
                             "INSERT INTO elevator_certificates(elevator, kind, number, "
                             "issued_on, expires_on, note, created_by, created_at) VALUES "
                             "(?, 'inspection_mark', ?, ?, ?, ?, ?, ?)");
      mark.bind(1, row.elevator);
      mark.bind(2, row.report_number);
      mark.bind(3, row.done_on);
      mark.bind(4, row.next_due);
      mark.bind(5, "from inspection " + std::to_string(id));
      mark.bind(6, row.created_by);
      mark.bind(7, row.updated_at);
      mark.exec();
    }
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Result<int64_t> RecordsStore::AddRectification(const RectificationRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    id = InsertRectification(db, row);
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Status RecordsStore::CloseRectification(int64_t id, const std::string& who, const std::string& at,
                                        const std::string& note) {
  return Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement q(db, "SELECT state, closed_by, closed_at FROM rectifications WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return NotFound("rectification", id);
    if (q.getColumn(0).getString() != "open") {
      return Error::Permanent("already_closed",
                              "rectification " + std::to_string(id) + " was closed already by " +
                                  q.getColumn(1).getString() + " at " + q.getColumn(2).getString());
    }
    SQLite::Statement up(db,
                         "UPDATE rectifications SET state = 'closed', closed_at = ?, closed_by = "
                         "?, close_note = ? WHERE id = ?");
    up.bind(1, at);
    up.bind(2, who);
    up.bind(3, note);
    up.bind(4, id);
    up.exec();
    return Status::Ok();
  });
}

Result<int64_t> RecordsStore::AddDrill(const DrillRow& row) {
  int64_t id = 0;
  Status st = Write([&](SQLite::Database& db) -> Status {
    SQLite::Statement ins(db,
                          "INSERT INTO drills(party, contractor, held_on, elevators, participants, "
                          "scenario, duration_min, findings, created_by, created_at) VALUES "
                          "(?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, row.party);
    ins.bind(2, row.contractor);
    ins.bind(3, row.held_on);
    ins.bind(4, Join(row.elevators));
    ins.bind(5, Join(row.participants));
    ins.bind(6, row.scenario);
    ins.bind(7, row.duration_min);
    ins.bind(8, row.findings);
    ins.bind(9, row.created_by);
    ins.bind(10, row.created_at);
    ins.exec();
    id = db.getLastInsertRowid();
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

// ---- reads ---------------------------------------------------------------------------

Result<std::vector<ContractorRow>> RecordsStore::Contractors(SQLite::Database& r) {
  return Read<std::vector<ContractorRow>>([&] {
    std::vector<ContractorRow> out;
    SQLite::Statement q(r, "SELECT id, name, duty_phone, from_config FROM contractors ORDER BY id");
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                     q.getColumn(2).getString(), q.getColumn(3).getInt() != 0});
    }
    return out;
  });
}

Result<std::vector<AssignmentRow>> RecordsStore::Assignments(SQLite::Database& r,
                                                             const std::string& elevator) {
  return Read<std::vector<AssignmentRow>>([&] {
    std::vector<AssignmentRow> out;
    SQLite::Statement q(r, "SELECT " + AssignmentColumns() +
                               " FROM contractor_assignments WHERE (?1 = '' OR elevator = ?1) "
                               "ORDER BY elevator, starts_on, id");
    q.bind(1, elevator);
    while (q.executeStep()) out.push_back(ReadAssignment(q));
    return out;
  });
}

Result<std::string> RecordsStore::ContractorOn(SQLite::Database& r, const std::string& elevator,
                                               const std::string& date) {
  return Read<std::string>([&] {
    // The latest assignment that covers the date wins: an assignment
    // entered later for a period overrides the configuration's.
    SQLite::Statement q(r,
                        "SELECT contractor FROM contractor_assignments WHERE elevator = ? AND "
                        "starts_on <= ? AND (ends_on = '' OR ends_on >= ?) ORDER BY starts_on "
                        "DESC, id DESC LIMIT 1");
    q.bind(1, elevator);
    q.bind(2, date);
    q.bind(3, date);
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
  });
}

Result<std::string> RecordsStore::Meta(SQLite::Database& r, const std::string& key) {
  return Read<std::string>([&] {
    SQLite::Statement q(r, "SELECT value FROM records_meta WHERE key = ?");
    q.bind(1, key);
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
  });
}

Result<std::vector<PersonRow>> RecordsStore::People(SQLite::Database& r) {
  return Read<std::vector<PersonRow>>([&] {
    std::vector<PersonRow> out;
    SQLite::Statement q(r,
                        "SELECT id, name, contractor, role, phone, active, created_at FROM people "
                        "ORDER BY id");
    while (q.executeStep()) {
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                     q.getColumn(2).getString(), q.getColumn(3).getString(),
                     q.getColumn(4).getString(), q.getColumn(5).getInt() != 0,
                     q.getColumn(6).getString()});
    }
    return out;
  });
}

namespace {
constexpr const char* kCertSelect =
    "SELECT c.id, c.person_id, c.category, c.number, c.issued_on, c.expires_on, c.created_by, "
    "c.created_at, p.name, p.contractor, p.active FROM personnel_certificates c JOIN people p ON "
    "p.id = c.person_id";

PersonnelCertRow ReadCert(SQLite::Statement& q) {
  PersonnelCertRow c;
  c.id = q.getColumn(0).getInt64();
  c.person_id = q.getColumn(1).getInt64();
  c.category = q.getColumn(2).getString();
  c.number = q.getColumn(3).getString();
  c.issued_on = q.getColumn(4).getString();
  c.expires_on = q.getColumn(5).getString();
  c.created_by = q.getColumn(6).getString();
  c.created_at = q.getColumn(7).getString();
  c.person_name = q.getColumn(8).getString();
  c.person_contractor = q.getColumn(9).getString();
  c.person_active = q.getColumn(10).getInt() != 0;
  return c;
}
}  // namespace

Result<std::vector<PersonnelCertRow>> RecordsStore::PersonnelCerts(SQLite::Database& r) {
  return Read<std::vector<PersonnelCertRow>>([&] {
    std::vector<PersonnelCertRow> out;
    SQLite::Statement q(r, std::string(kCertSelect) + " ORDER BY c.person_id, c.issued_on, c.id");
    while (q.executeStep()) out.push_back(ReadCert(q));
    return out;
  });
}

Result<std::vector<PersonnelCertRow>> RecordsStore::PersonnelCertsByNumber(
    SQLite::Database& r, const std::string& number) {
  return Read<std::vector<PersonnelCertRow>>([&] {
    std::vector<PersonnelCertRow> out;
    SQLite::Statement q(
        r, std::string(kCertSelect) + " WHERE c.number = ? ORDER BY c.issued_on DESC, c.id DESC");
    q.bind(1, number);
    while (q.executeStep()) out.push_back(ReadCert(q));
    return out;
  });
}

Result<std::vector<ElevatorCertRow>> RecordsStore::ElevatorCerts(SQLite::Database& r,
                                                                 const RecordFilter& f) {
  return Read<std::vector<ElevatorCertRow>>([&] {
    std::vector<ElevatorCertRow> out;
    Where w = FilterOf(f, "");
    if (!f.kind.empty()) w.Add("kind = ?", f.kind);
    SQLite::Statement q(r,
                        "SELECT id, elevator, kind, number, registration_code, issued_on, "
                        "expires_on, note, created_by, created_at FROM elevator_certificates" +
                            w.sql + " ORDER BY elevator, kind, id");
    w.Bind(q);
    while (q.executeStep()) {
      ElevatorCertRow c;
      c.id = q.getColumn(0).getInt64();
      c.elevator = q.getColumn(1).getString();
      c.kind = q.getColumn(2).getString();
      c.number = q.getColumn(3).getString();
      c.registration_code = q.getColumn(4).getString();
      c.issued_on = q.getColumn(5).getString();
      c.expires_on = q.getColumn(6).getString();
      c.note = q.getColumn(7).getString();
      c.created_by = q.getColumn(8).getString();
      c.created_at = q.getColumn(9).getString();
      out.push_back(std::move(c));
    }
    return out;
  });
}

Result<std::vector<MaintenanceRow>> RecordsStore::Maintenance(SQLite::Database& r,
                                                              const RecordFilter& f) {
  return Read<std::vector<MaintenanceRow>>([&] {
    std::vector<MaintenanceRow> out;
    Where w = FilterOf(f, "local_date");
    if (!f.kind.empty()) w.Add("kind = ?", f.kind);
    if (f.state == "confirmed") w.sql += " AND confirmed_by != ''";
    if (f.state == "unconfirmed") w.sql += " AND confirmed_by = ''";
    SQLite::Statement q(
        r, std::string("SELECT ") + kMaintenanceColumns + " FROM maintenance_records" + w.sql +
               " ORDER BY local_date DESC, id DESC LIMIT " + std::to_string(std::max(1, f.limit)));
    w.Bind(q);
    while (q.executeStep()) out.push_back(ReadMaintenance(q));
    LoadMaintenanceChildren(r, out);
    return out;
  });
}

Result<std::optional<MaintenanceRow>> RecordsStore::GetMaintenance(SQLite::Database& r,
                                                                   int64_t id) {
  return Read<std::optional<MaintenanceRow>>([&]() -> std::optional<MaintenanceRow> {
    SQLite::Statement q(
        r, std::string("SELECT ") + kMaintenanceColumns + " FROM maintenance_records WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    std::vector<MaintenanceRow> one{ReadMaintenance(q)};
    LoadMaintenanceChildren(r, one);
    return one.front();
  });
}

Result<std::vector<RecordsStore::LastDone>> RecordsStore::LastMaintenance(SQLite::Database& r) {
  return Read<std::vector<LastDone>>([&] {
    std::map<std::pair<std::string, std::string>, LastDone> last;
    SQLite::Statement q(r,
                        "SELECT m.elevator, m.kind, m.local_date, m.id FROM maintenance_records m "
                        "WHERE NOT EXISTS (SELECT 1 FROM maintenance_records a WHERE a.amends = "
                        "m.id) ORDER BY m.local_date, m.id");
    while (q.executeStep()) {
      LastDone d{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                 q.getColumn(3).getInt64()};
      last[{d.elevator, d.kind}] = d;
    }
    std::vector<LastDone> out;
    for (auto& [key, d] : last) out.push_back(std::move(d));
    return out;
  });
}

Result<std::vector<InspectionRow>> RecordsStore::Inspections(SQLite::Database& r,
                                                             const RecordFilter& f) {
  return Read<std::vector<InspectionRow>>([&] {
    std::vector<InspectionRow> out;
    Where w = FilterOf(f, "COALESCE(NULLIF(done_on, ''), agreed_on)");
    if (!f.kind.empty()) w.Add("kind = ?", f.kind);
    if (!f.state.empty()) w.Add("state = ?", f.state);
    SQLite::Statement q(r, std::string("SELECT ") + kInspectionColumns + " FROM inspections" +
                               w.sql +
                               " ORDER BY COALESCE(NULLIF(done_on, ''), agreed_on) DESC, id DESC "
                               "LIMIT " +
                               std::to_string(std::max(1, f.limit)));
    w.Bind(q);
    while (q.executeStep()) out.push_back(ReadInspection(q));
    LoadInspectionItems(r, out);
    return out;
  });
}

Result<std::optional<InspectionRow>> RecordsStore::GetInspection(SQLite::Database& r, int64_t id) {
  return Read<std::optional<InspectionRow>>([&]() -> std::optional<InspectionRow> {
    SQLite::Statement q(
        r, std::string("SELECT ") + kInspectionColumns + " FROM inspections WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    std::vector<InspectionRow> one{ReadInspection(q)};
    LoadInspectionItems(r, one);
    return one.front();
  });
}

Result<std::vector<RectificationRow>> RecordsStore::Rectifications(SQLite::Database& r,
                                                                   const RecordFilter& f) {
  return Read<std::vector<RectificationRow>>([&] {
    std::vector<RectificationRow> out;
    Where w = FilterOf(f, "");
    if (!f.state.empty()) w.Add("state = ?", f.state);
    SQLite::Statement q(r, std::string("SELECT ") + kRectificationColumns + " FROM rectifications" +
                               w.sql + " ORDER BY id DESC LIMIT " +
                               std::to_string(std::max(1, f.limit)));
    w.Bind(q);
    while (q.executeStep()) out.push_back(ReadRectification(q));
    return out;
  });
}

Result<std::optional<RectificationRow>> RecordsStore::GetRectification(SQLite::Database& r,
                                                                       int64_t id) {
  return Read<std::optional<RectificationRow>>([&]() -> std::optional<RectificationRow> {
    SQLite::Statement q(
        r, std::string("SELECT ") + kRectificationColumns + " FROM rectifications WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    return ReadRectification(q);
  });
}

Result<std::vector<DrillRow>> RecordsStore::Drills(SQLite::Database& r, const RecordFilter& f) {
  return Read<std::vector<DrillRow>>([&] {
    std::vector<DrillRow> out;
    Where w = FilterOf(f, "held_on", /*has_elevator=*/false);
    if (!f.kind.empty()) w.Add("party = ?", f.kind);
    if (!f.contractor.empty()) w.Add("contractor = ?", f.contractor);
    SQLite::Statement q(r,
                        "SELECT id, party, contractor, held_on, elevators, participants, "
                        "scenario, duration_min, findings, created_by, created_at FROM drills" +
                            w.sql + " ORDER BY held_on DESC, id DESC LIMIT " +
                            std::to_string(std::max(1, f.limit)));
    w.Bind(q);
    while (q.executeStep()) {
      DrillRow d;
      d.id = q.getColumn(0).getInt64();
      d.party = q.getColumn(1).getString();
      d.contractor = q.getColumn(2).getString();
      d.held_on = q.getColumn(3).getString();
      d.elevators = Split(q.getColumn(4).getString());
      d.participants = Split(q.getColumn(5).getString());
      d.scenario = q.getColumn(6).getString();
      d.duration_min = q.getColumn(7).getInt64();
      d.findings = q.getColumn(8).getString();
      d.created_by = q.getColumn(9).getString();
      d.created_at = q.getColumn(10).getString();
      out.push_back(std::move(d));
    }
    return out;
  });
}

}  // namespace lg::db
