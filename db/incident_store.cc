#include "db/incident_store.h"

#include <sqlite3.h>

namespace lg::db {
namespace {

constexpr const char* kColumns =
    "id, elevator, alarm_id, state, step, opened_at, closed_at, eta_min, cause, "
    "acknowledged_target_min, accepted_target_min, on_site_target_min, updated_at";

IncidentRow ReadIncident(SQLite::Statement& q) {
  IncidentRow r;
  int i = 0;
  r.id = q.getColumn(i++).getInt64();
  r.elevator = q.getColumn(i++).getString();
  auto alarm = q.getColumn(i++);
  if (!alarm.isNull()) r.alarm_id = alarm.getInt64();
  r.state = q.getColumn(i++).getString();
  r.step = q.getColumn(i++).getString();
  r.opened_at = q.getColumn(i++).getString();
  r.closed_at = q.getColumn(i++).getString();
  auto eta = q.getColumn(i++);
  if (!eta.isNull()) r.eta_min = eta.getInt64();
  auto cause = q.getColumn(i++);
  if (!cause.isNull()) r.cause = cause.getString();
  r.acknowledged_target_min = q.getColumn(i++).getInt64();
  r.accepted_target_min = q.getColumn(i++).getInt64();
  r.on_site_target_min = q.getColumn(i++).getInt64();
  r.updated_at = q.getColumn(i++).getString();
  return r;
}

void LoadSteps(SQLite::Database& db, std::vector<IncidentRow>& rows) {
  SQLite::Statement q(db,
                      "SELECT step, at, who, note FROM incident_steps WHERE incident_id = ? "
                      "ORDER BY id");
  for (auto& r : rows) {
    q.bind(1, r.id);
    while (q.executeStep()) {
      r.steps.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(),
                         q.getColumn(2).getString(), q.getColumn(3).getString()});
    }
    q.reset();
  }
}

void InsertStep(SQLite::Database& db, int64_t incident_id, const IncidentStepRow& s) {
  SQLite::Statement ins(db,
                        "INSERT INTO incident_steps(incident_id, step, at, who, note) "
                        "VALUES (?,?,?,?,?)");
  ins.bind(1, incident_id);
  ins.bind(2, s.step);
  ins.bind(3, s.at);
  ins.bind(4, s.who);
  ins.bind(5, s.note);
  ins.exec();
}

template <typename T>
void BindOptional(SQLite::Statement& st, int i, const std::optional<T>& v) {
  if (v) {
    st.bind(i, *v);
  } else {
    st.bind(i);  // NULL
  }
}

std::vector<IncidentRow> Select(SQLite::Statement& q) {
  std::vector<IncidentRow> out;
  while (q.executeStep()) out.push_back(ReadIncident(q));
  return out;
}

}  // namespace

// Both writes write first: a transaction that reads first and then writes
// is refused at once (SQLITE_BUSY, no busy wait) while another connection
// (the HTTP server's audit rows, the CLI) holds the write lock.

Result<int64_t> IncidentStore::Insert(const IncidentRow& row, const InTransaction& also) {
  int64_t id = 0;
  std::optional<int64_t> open_already;
  Status st = db_.Transaction([&](SQLite::Database& db) -> Status {
    SQLite::Statement ins(
        db,
        "INSERT INTO incidents(elevator, alarm_id, state, step, opened_at, closed_at, eta_min, "
        "cause, acknowledged_target_min, accepted_target_min, on_site_target_min, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    int i = 1;
    ins.bind(i++, row.elevator);
    BindOptional(ins, i++, row.alarm_id);
    ins.bind(i++, row.state);
    ins.bind(i++, row.step);
    ins.bind(i++, row.opened_at);
    ins.bind(i++, row.closed_at);
    BindOptional(ins, i++, row.eta_min);
    BindOptional(ins, i++, row.cause);
    ins.bind(i++, row.acknowledged_target_min);
    ins.bind(i++, row.accepted_target_min);
    ins.bind(i++, row.on_site_target_min);
    ins.bind(i++, row.updated_at);
    try {
      ins.exec();
    } catch (const SQLite::Exception& e) {
      if (e.getExtendedErrorCode() != SQLITE_CONSTRAINT_UNIQUE) throw;
      // incidents_one_open: name the incident that is open.
      SQLite::Statement q(db, "SELECT id FROM incidents WHERE elevator = ? AND state = 'open'");
      q.bind(1, row.elevator);
      if (!q.executeStep()) throw;
      open_already = q.getColumn(0).getInt64();
      return Error::Permanent("incident_open", "");
    }
    id = db.getLastInsertRowid();
    for (const auto& s : row.steps) InsertStep(db, id, s);
    return also ? also(db, id) : Status::Ok();
  });
  if (open_already) {
    return Error::Permanent("incident_open",
                            "elevator " + row.elevator +
                                " has an open incident already: " + std::to_string(*open_already));
  }
  if (!st) return st.error();
  return id;
}

Status IncidentStore::AppendStep(const IncidentRow& row, const IncidentStepRow& step,
                                 const InTransaction& also) {
  bool duplicate = false;
  Status st = db_.Transaction([&](SQLite::Database& db) -> Status {
    try {
      InsertStep(db, row.id, step);
    } catch (const SQLite::Exception& e) {
      if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE) {
        duplicate = true;  // UNIQUE(incident_id, step)
        return Error::Permanent("out_of_order", "");
      }
      if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_FOREIGNKEY) {
        return Error::Permanent("not_found", "there is no incident " + std::to_string(row.id));
      }
      throw;
    }
    SQLite::Statement up(db,
                         "UPDATE incidents SET state = ?, step = ?, closed_at = ?, eta_min = ?, "
                         "cause = ?, updated_at = ? WHERE id = ?");
    int i = 1;
    up.bind(i++, row.state);
    up.bind(i++, row.step);
    up.bind(i++, row.closed_at);
    BindOptional(up, i++, row.eta_min);
    BindOptional(up, i++, row.cause);
    up.bind(i++, row.updated_at);
    up.bind(i++, row.id);
    if (up.exec() != 1) {
      return Error::Permanent("not_found", "there is no incident " + std::to_string(row.id));
    }
    return also ? also(db, row.id) : Status::Ok();
  });
  if (duplicate) {
    return Error::Permanent("out_of_order", "incident " + std::to_string(row.id) + ": " +
                                                step.step + " is recorded already");
  }
  return st;
}

Result<std::vector<IncidentRow>> IncidentStore::LoadOpen() {
  try {
    SQLite::Statement q(db_.handle(), std::string("SELECT ") + kColumns +
                                          " FROM incidents WHERE state = 'open' ORDER BY id");
    auto rows = Select(q);
    LoadSteps(db_.handle(), rows);
    return rows;
  } catch (const std::exception& e) {
    return Error::Permanent("database", std::string("cannot load incidents: ") + e.what());
  }
}

Result<std::vector<IncidentRow>> IncidentStore::Query(SQLite::Database& reader,
                                                      const std::string& elevator, bool open_only,
                                                      int limit) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kColumns +
                                    " FROM incidents WHERE (?1 = '' OR elevator = ?1) AND "
                                    "(?2 = 0 OR state = 'open') ORDER BY id DESC LIMIT ?3");
    q.bind(1, elevator);
    q.bind(2, open_only ? 1 : 0);
    q.bind(3, limit);
    auto rows = Select(q);
    LoadSteps(reader, rows);
    return rows;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("incident query failed: ") + e.what());
  }
}

Result<std::optional<IncidentRow>> IncidentStore::Get(SQLite::Database& reader, int64_t id) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kColumns + " FROM incidents WHERE id = ?");
    q.bind(1, id);
    auto rows = Select(q);
    if (rows.empty()) return std::optional<IncidentRow>();
    LoadSteps(reader, rows);
    return std::optional<IncidentRow>(std::move(rows.front()));
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("incident query failed: ") + e.what());
  }
}

Result<std::vector<IncidentRow>> IncidentStore::ForAlarm(SQLite::Database& reader,
                                                         int64_t alarm_id) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kColumns +
                                    " FROM incidents WHERE alarm_id = ? ORDER BY id DESC");
    q.bind(1, alarm_id);
    auto rows = Select(q);
    LoadSteps(reader, rows);
    return rows;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("incident query failed: ") + e.what());
  }
}

}  // namespace lg::db
