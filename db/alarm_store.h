// AlarmStore: alarms, their history, and declared maintenance windows, in
// the daemon's SQLite file.
//
// Rows are plain strings and numbers (db/ knows nothing of the rules'
// types); daemon/alarm_service converts. Apply() writes a batch of alarm
// upserts and history rows in ONE transaction, with synchronous=FULL, and is
// idempotent per (alarm_id, revision): writing the same batch twice changes
// nothing the second time. This is what "stored before anything is told"
// rests on.
//
// Ownership: borrows the Database. Thread-safety: none; one writer thread
// (the rules strand) uses it. Readers use their own connections and the
// static query functions.
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

struct AlarmRow {
  int64_t id = 0;
  std::string elevator;
  std::string type;      // "TRAPPED"
  std::string severity;  // "critical"
  std::string subtype;
  std::string message;
  std::string state;  // "unack", "acked", "rtn_unack", "closed", "shelved", "suppressed"
  bool active = false;
  bool acked = false;
  std::string raised_at;  // RFC 3339 UTC; "" when not set
  std::string last_raised_at;
  std::string cleared_at;
  std::string acked_at;
  std::string acked_by;
  std::string ack_note;
  std::string closed_at;
  std::string suppressed_by;  // "inspection", "out_of_service", "maintenance_window" or ""
  std::string shelved_by;
  std::string shelve_reason;
  std::string shelved_at;
  std::string shelved_until;
  bool chattering = false;
  int64_t raise_count = 1;
  int64_t revision = 0;
  std::string updated_at;
};

struct HistoryRow {
  int64_t alarm_id = 0;
  int64_t revision = 0;
  std::string at;
  std::string from_state;  // "" for a new alarm
  std::string to_state;
  std::string kind;  // "raised", "cleared", "acked", ...
  std::string who;
  std::string note;
  std::string notify;  // "none", "now", "digest", "chatter"
  bool digested = false;
};

struct MaintenanceWindow {
  int64_t id = 0;
  std::string elevator;
  std::string starts_at;  // RFC 3339 UTC
  std::string ends_at;
  std::string reason;
  std::string created_by;
  std::string created_at;
};

class AlarmStore {
 public:
  explicit AlarmStore(Database& db) : db_(db) {}

  // One transaction: upsert every alarm, append every history row (ignored
  // if (alarm_id, revision) is there already), mark `digested` history rows,
  // then run `also` on the same connection (the outbox messages about these
  // transitions: db/outbox_store.h). An error from `also` rolls it all back.
  using InTransaction = std::function<Status(SQLite::Database& tx)>;
  Status Apply(const std::vector<AlarmRow>& alarms, const std::vector<HistoryRow>& history,
               const std::vector<std::pair<int64_t, int64_t>>& digested = {},
               const InTransaction& also = {});

  // What a restart needs: alarms not closed, the highest id ever, and the
  // history rows sent to a digest that no digest carried yet.
  struct Restore {
    std::vector<AlarmRow> open;
    int64_t max_id = 0;
    std::vector<HistoryRow> undigested;
  };
  Result<Restore> LoadRestore();

  Result<int64_t> AddWindow(const MaintenanceWindow& w);
  // Windows that have not ended by `now_text` (RFC 3339 UTC).
  Result<std::vector<MaintenanceWindow>> CurrentWindows(const std::string& now_text);

  // Readers (own connection). Newest first.
  static Result<std::vector<AlarmRow>> QueryAlarms(SQLite::Database& reader,
                                                   const std::string& elevator, bool open_only,
                                                   int limit);
  static Result<std::vector<HistoryRow>> QueryHistory(SQLite::Database& reader, int64_t alarm_id);

 private:
  Database& db_;
};

}  // namespace lg::db
