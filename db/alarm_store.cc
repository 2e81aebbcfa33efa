#include "db/alarm_store.h"

namespace lg::db {
namespace {

constexpr const char* kAlarmColumns =
    "id, elevator, type, severity, subtype, message, state, active, acked, raised_at, "
    "last_raised_at, cleared_at, acked_at, acked_by, ack_note, closed_at, suppressed_by, "
    "shelved_by, shelve_reason, shelved_at, shelved_until, chattering, raise_count, revision, "
    "updated_at";

AlarmRow ReadAlarm(SQLite::Statement& q) {
  AlarmRow r;
  int i = 0;
  r.id = q.getColumn(i++).getInt64();
  r.elevator = q.getColumn(i++).getString();
  r.type = q.getColumn(i++).getString();
  r.severity = q.getColumn(i++).getString();
  r.subtype = q.getColumn(i++).getString();
  r.message = q.getColumn(i++).getString();
  r.state = q.getColumn(i++).getString();
  r.active = q.getColumn(i++).getInt() != 0;
  r.acked = q.getColumn(i++).getInt() != 0;
  r.raised_at = q.getColumn(i++).getString();
  r.last_raised_at = q.getColumn(i++).getString();
  r.cleared_at = q.getColumn(i++).getString();
  r.acked_at = q.getColumn(i++).getString();
  r.acked_by = q.getColumn(i++).getString();
  r.ack_note = q.getColumn(i++).getString();
  r.closed_at = q.getColumn(i++).getString();
  r.suppressed_by = q.getColumn(i++).getString();
  r.shelved_by = q.getColumn(i++).getString();
  r.shelve_reason = q.getColumn(i++).getString();
  r.shelved_at = q.getColumn(i++).getString();
  r.shelved_until = q.getColumn(i++).getString();
  r.chattering = q.getColumn(i++).getInt() != 0;
  r.raise_count = q.getColumn(i++).getInt64();
  r.revision = q.getColumn(i++).getInt64();
  r.updated_at = q.getColumn(i++).getString();
  return r;
}

HistoryRow ReadHistory(SQLite::Statement& q) {
  HistoryRow h;
  h.alarm_id = q.getColumn(0).getInt64();
  h.revision = q.getColumn(1).getInt64();
  h.at = q.getColumn(2).getString();
  h.from_state = q.getColumn(3).getString();
  h.to_state = q.getColumn(4).getString();
  h.kind = q.getColumn(5).getString();
  h.who = q.getColumn(6).getString();
  h.note = q.getColumn(7).getString();
  h.notify = q.getColumn(8).getString();
  h.digested = q.getColumn(9).getInt() != 0;
  return h;
}

constexpr const char* kHistoryColumns =
    "alarm_id, revision, at, from_state, to_state, kind, who, note, notify, digested";

}  // namespace

Status AlarmStore::Apply(const std::vector<AlarmRow>& alarms,
                         const std::vector<HistoryRow>& history,
                         const std::vector<std::pair<int64_t, int64_t>>& digested,
                         const InTransaction& also) {
  return db_.Transaction([&](SQLite::Database& db) {
    SQLite::Statement up(db, std::string("INSERT INTO alarms(") + kAlarmColumns +
                                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                                 "ON CONFLICT(id) DO UPDATE SET "
                                 "severity=excluded.severity, subtype=excluded.subtype, "
                                 "message=excluded.message, state=excluded.state, "
                                 "active=excluded.active, acked=excluded.acked, "
                                 "last_raised_at=excluded.last_raised_at, "
                                 "cleared_at=excluded.cleared_at, acked_at=excluded.acked_at, "
                                 "acked_by=excluded.acked_by, ack_note=excluded.ack_note, "
                                 "closed_at=excluded.closed_at, "
                                 "suppressed_by=excluded.suppressed_by, "
                                 "shelved_by=excluded.shelved_by, "
                                 "shelve_reason=excluded.shelve_reason, "
                                 "shelved_at=excluded.shelved_at, "
                                 "shelved_until=excluded.shelved_until, "
                                 "chattering=excluded.chattering, "
                                 "raise_count=excluded.raise_count, revision=excluded.revision, "
                                 "updated_at=excluded.updated_at "
                                 "WHERE excluded.revision >= alarms.revision");
    for (const auto& r : alarms) {
      int i = 1;
      up.bind(i++, r.id);
      up.bind(i++, r.elevator);
      up.bind(i++, r.type);
      up.bind(i++, r.severity);
      up.bind(i++, r.subtype);
      up.bind(i++, r.message);
      up.bind(i++, r.state);
      up.bind(i++, r.active ? 1 : 0);
      up.bind(i++, r.acked ? 1 : 0);
      up.bind(i++, r.raised_at);
      up.bind(i++, r.last_raised_at);
      up.bind(i++, r.cleared_at);
      up.bind(i++, r.acked_at);
      up.bind(i++, r.acked_by);
      up.bind(i++, r.ack_note);
      up.bind(i++, r.closed_at);
      up.bind(i++, r.suppressed_by);
      up.bind(i++, r.shelved_by);
      up.bind(i++, r.shelve_reason);
      up.bind(i++, r.shelved_at);
      up.bind(i++, r.shelved_until);
      up.bind(i++, r.chattering ? 1 : 0);
      up.bind(i++, r.raise_count);
      up.bind(i++, r.revision);
      up.bind(i++, r.updated_at);
      up.exec();
      up.reset();
    }
    SQLite::Statement ins(db, std::string("INSERT OR IGNORE INTO alarm_history(") +
                                  kHistoryColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?)");
    for (const auto& h : history) {
      int i = 1;
      ins.bind(i++, h.alarm_id);
      ins.bind(i++, h.revision);
      ins.bind(i++, h.at);
      ins.bind(i++, h.from_state);
      ins.bind(i++, h.to_state);
      ins.bind(i++, h.kind);
      ins.bind(i++, h.who);
      ins.bind(i++, h.note);
      ins.bind(i++, h.notify);
      ins.bind(i++, h.digested ? 1 : 0);
      ins.exec();
      ins.reset();
    }
    SQLite::Statement mark(db,
                           "UPDATE alarm_history SET digested = 1 WHERE alarm_id = ? AND "
                           "revision = ?");
    for (const auto& [id, rev] : digested) {
      mark.bind(1, id);
      mark.bind(2, rev);
      mark.exec();
      mark.reset();
    }
    return also ? also(db) : Status::Ok();
  });
}

Result<AlarmStore::Restore> AlarmStore::LoadRestore() {
  try {
    Restore r;
    SQLite::Statement q(db_.handle(), std::string("SELECT ") + kAlarmColumns +
                                          " FROM alarms WHERE state != 'closed' ORDER BY id");
    while (q.executeStep()) r.open.push_back(ReadAlarm(q));
    r.max_id = db_.handle().execAndGet("SELECT COALESCE(MAX(id), 0) FROM alarms").getInt64();
    SQLite::Statement h(db_.handle(), std::string("SELECT ") + kHistoryColumns +
                                          " FROM alarm_history WHERE notify = 'digest' AND "
                                          "digested = 0 ORDER BY id");
    while (h.executeStep()) r.undigested.push_back(ReadHistory(h));
    return r;
  } catch (const std::exception& e) {
    return Error::Permanent("database", std::string("cannot load alarms: ") + e.what());
  }
}

Result<int64_t> AlarmStore::AddWindow(const MaintenanceWindow& w) {
  int64_t id = 0;
  Status st = db_.Transaction([&](SQLite::Database& db) {
    SQLite::Statement ins(db,
                          "INSERT INTO maintenance_windows(elevator, starts_at, ends_at, reason, "
                          "created_by, created_at) VALUES (?,?,?,?,?,?)");
    ins.bind(1, w.elevator);
    ins.bind(2, w.starts_at);
    ins.bind(3, w.ends_at);
    ins.bind(4, w.reason);
    ins.bind(5, w.created_by);
    ins.bind(6, w.created_at);
    ins.exec();
    id = db.getLastInsertRowid();
    return Status::Ok();
  });
  if (!st) return st.error();
  return id;
}

Result<std::vector<MaintenanceWindow>> AlarmStore::CurrentWindows(const std::string& now_text) {
  try {
    SQLite::Statement q(db_.handle(),
                        "SELECT id, elevator, starts_at, ends_at, reason, created_by, created_at "
                        "FROM maintenance_windows WHERE ends_at > ? ORDER BY starts_at");
    q.bind(1, now_text);
    std::vector<MaintenanceWindow> out;
    while (q.executeStep()) {
      MaintenanceWindow w;
      w.id = q.getColumn(0).getInt64();
      w.elevator = q.getColumn(1).getString();
      w.starts_at = q.getColumn(2).getString();
      w.ends_at = q.getColumn(3).getString();
      w.reason = q.getColumn(4).getString();
      w.created_by = q.getColumn(5).getString();
      w.created_at = q.getColumn(6).getString();
      out.push_back(std::move(w));
    }
    return out;
  } catch (const std::exception& e) {
    return Error::Transient("database",
                            std::string("cannot load maintenance windows: ") + e.what());
  }
}

Result<std::vector<AlarmRow>> AlarmStore::QueryAlarms(SQLite::Database& reader,
                                                      const std::string& elevator, bool open_only,
                                                      int limit) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kAlarmColumns +
                                    " FROM alarms WHERE (?1 = '' OR elevator = ?1) AND "
                                    "(?2 = 0 OR state != 'closed') ORDER BY id DESC LIMIT ?3");
    q.bind(1, elevator);
    q.bind(2, open_only ? 1 : 0);
    q.bind(3, limit);
    std::vector<AlarmRow> out;
    while (q.executeStep()) out.push_back(ReadAlarm(q));
    return out;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("alarm query failed: ") + e.what());
  }
}

Result<std::vector<HistoryRow>> AlarmStore::QueryHistory(SQLite::Database& reader,
                                                         int64_t alarm_id) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kHistoryColumns +
                                    " FROM alarm_history WHERE alarm_id = ? ORDER BY revision");
    q.bind(1, alarm_id);
    std::vector<HistoryRow> out;
    while (q.executeStep()) out.push_back(ReadHistory(q));
    return out;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("history query failed: ") + e.what());
  }
}

}  // namespace lg::db
