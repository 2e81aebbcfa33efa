// IncidentStore: rescue incidents and their steps in the daemon's SQLite
// file (schema version 4: tables `incidents` and `incident_steps`).
//
// Rows are plain strings and numbers (db/ knows nothing of the rules'
// types); daemon/incident_service converts. Each write is ONE transaction
// on the writer connection (synchronous=FULL): a new incident with its
// first steps, or one step together with the incident row it changes. A
// step is stored once per incident (UNIQUE(incident_id, step)), and at most
// one incident per car is open (a partial unique index), so a second writer
// cannot break either rule behind the service's back.
//
// Ownership: borrows the Database. Thread-safety: the writes may be called
// from any thread (they take turns on the writer connection through
// Database::Transaction); LoadOpen is for start-up, before other threads
// write. Readers use their own connections and the static query functions.
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

struct IncidentStepRow {
  std::string step;  // "open", "acknowledged", ...
  std::string at;    // RFC 3339 UTC
  std::string who;   // "system" or the user name
  std::string note;
};

struct IncidentRow {
  int64_t id = 0;  // assigned by Insert
  std::string elevator;
  std::optional<int64_t> alarm_id;  // none when opened by hand
  std::string state;                // "open", "closed", "false_alarm"
  std::string step;                 // the latest step reached
  std::string opened_at;
  std::string closed_at;  // "" while open
  std::optional<int64_t> eta_min;
  std::optional<std::string> cause;
  // Targets in minutes, as they were when the incident opened.
  int64_t acknowledged_target_min = 3;
  int64_t accepted_target_min = 5;
  int64_t on_site_target_min = 30;
  std::string updated_at;
  std::vector<IncidentStepRow> steps;  // in the order recorded
};

class IncidentStore {
 public:
  explicit IncidentStore(Database& db) : db_(db) {}

  // Runs at the end of a write's transaction, on the same connection, with
  // the incident's id: the outbox messages about the change are enqueued
  // there (db/outbox_store.h). An error from it rolls the write back.
  using InTransaction = std::function<Status(SQLite::Database& tx, int64_t incident_id)>;

  // One transaction: the incident row and every step in `row.steps`, then
  // `also`. Returns the new id. Error code "incident_open" (permanent) if
  // the car has an open incident already.
  Result<int64_t> Insert(const IncidentRow& row, const InTransaction& also = {});

  // One transaction: appends `step` and updates the incident's state,
  // latest step, closed_at, eta_min, cause and updated_at from `row`, then
  // `also`. Error code "out_of_order" (permanent) if that step is stored
  // already.
  Status AppendStep(const IncidentRow& row, const IncidentStepRow& step,
                    const InTransaction& also = {});

  // Every open incident with its steps (start-up).
  Result<std::vector<IncidentRow>> LoadOpen();

  // Readers (own connection). Newest first; `elevator` "" for every car.
  static Result<std::vector<IncidentRow>> Query(SQLite::Database& reader,
                                                const std::string& elevator, bool open_only,
                                                int limit);
  static Result<std::optional<IncidentRow>> Get(SQLite::Database& reader, int64_t id);
  // Incidents of one alarm, newest first.
  static Result<std::vector<IncidentRow>> ForAlarm(SQLite::Database& reader, int64_t alarm_id);

 private:
  Database& db_;
};

}  // namespace lg::db
