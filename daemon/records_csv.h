// Records as CSV: what `liftguard import` reads and `liftguard export`
// writes (user docs: docs/cli.md "Importing and exporting records", which
// lists every kind's columns). The kinds: contractors, assignments (of
// contractors to elevators), people, certificates (personnel),
// elevator-certificates (use registrations, inspection marks), maintenance
// and inspections.
//
// Import is all or nothing. Every line is checked, and every bad line is
// reported with its line number; only when none is bad are the lines
// written, all in ONE transaction (db::RecordsStore::Batch) on the writer
// connection, so a crash or a bad line leaves the file as it was. Lines are
// checked in order inside that transaction, so a line sees what the lines
// above it add (a holder's second certificate finds the person the first
// one added). A line that is on record already is an error too, so running
// the same import twice never doubles the records.
//
// The checks are those of daemon/records_service.h for the same write
// through the API, for the same reasons, naming the column (a technician
// needs a category-T certificate valid on the day, the contractor must be
// assigned to the car that day, nothing in the future, nothing ending
// before it starts, ...), plus the shape of each cell. They are a copy:
// RecordsService checks one write at a time in its own transaction, while
// an import must check and write every line in one. A change to the
// service's rules must be made here too (tests/unit/reports_test.cc holds
// the refusals both must give). Differences, on purpose: an imported done
// inspection never completes the elevator's open plan (old results would
// otherwise close today's plan); an imported maintenance record may carry
// its confirmation (confirmed_by, confirmed_at), since records kept on paper
// were signed there.
//
// Export writes each kind with the columns import takes, so an export
// imports back unchanged into another database: the current version of each
// maintenance record (amendments stay in the database they were made in),
// and inspection marks other than those a passed inspection recorded (those
// come back with their inspection).
//
// Thread-safety: one call at a time per Database (the transaction takes the
// writer connection); Export reads the caller's connection.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/csv.h"
#include "daemon/records_service.h"
#include "daemon/site_time.h"
#include "db/database.h"

namespace lg::records_csv {

enum class Kind {
  kContractors,
  kAssignments,
  kPeople,
  kCertificates,
  kElevatorCertificates,
  kMaintenance,
  kInspections,
};
inline constexpr Kind kAllKinds[] = {
    Kind::kContractors,          Kind::kAssignments, Kind::kPeople,     Kind::kCertificates,
    Kind::kElevatorCertificates, Kind::kMaintenance, Kind::kInspections};
// "contractors", "assignments", "people", "certificates",
// "elevator-certificates", "maintenance", "inspections"
std::string_view KindName(Kind k);
std::optional<Kind> KindFromName(std::string_view name);
// The columns, in the order Export writes them.
const std::vector<std::string>& Columns(Kind k);
// Whether the kind names elevators (it then needs the configured elevators).
bool NamesElevators(Kind k);

struct ImportContext {
  std::string who;  // created_by of what is written, e.g. "cli:root"
  SiteTime site_time;
  WallTime now{};
  // The configured elevators; nullopt when no configuration was read (the
  // kinds that name elevators are then refused: code "usage").
  std::optional<std::vector<RecordsService::Elevator>> elevators;
  bool dry_run = false;  // check everything, write nothing
};

struct ImportResult {
  int lines = 0;     // data lines read (the header and blank lines not counted)
  int imported = 0;  // records written: lines, or 0 when anything was bad or on a dry run
  std::vector<csv::LineError> errors;  // by line
};

// Imports `text` (the file's bytes). The bad lines are in the result, not
// an Error; Errors: "usage" (see ImportContext::elevators), "database".
Result<ImportResult> Import(db::Database& db, Kind kind, std::string_view text,
                            const ImportContext& ctx);

// Every record of `kind` as CSV (with a byte order mark). Errors: "database".
Result<std::string> Export(SQLite::Database& reader, Kind kind);

}  // namespace lg::records_csv
