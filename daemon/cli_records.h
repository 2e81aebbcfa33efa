// The CLI's report and records-file commands (docs/cli.md "Reports" and
// "Importing and exporting records"):
//   report month|year --period P [--format csv|json|html] [--out FILE]
//       one call of GET /api/v1/reports/... (docs/reports.md), the answer
//       written as it came to FILE (atomically: a temporary file renamed)
//       or to stdout;
//   import KIND FILE [--dry-run]
//       on the database file, all or nothing (daemon/records_csv.h); every
//       bad line is printed as "FILE:LINE: reason" on stderr; every import
//       that is not a dry run, done or refused, is written to the audit log
//       (who "cli:<unix user>", address "local", method "CLI", path
//       "import KIND");
//   export KIND [--out FILE]
//       on a read-only connection, the CSV import takes back.
// The database comes from --db or --config as for the other database
// commands (cli_db.h); kinds that name elevators need the configuration.
//
// Thread-safety: one command at a time.
#pragma once

#include <string>

#include "daemon/cli_api.h"

namespace lg::cli {

struct ReportCommand {
  std::string which;   // month | year
  std::string period;  // 2026-11 | 2026
  std::string format;  // csv | json | html ("" = csv, or json with --json)
  std::string out;     // "" = stdout
};
int Report(const ApiOptions& o, const ReportCommand& c, Streams s);

struct ImportCommand {
  std::string db;
  std::string config;
  std::string kind;
  std::string file;  // "-" = stdin
  bool dry_run = false;
};
int Import(const ImportCommand& c, bool json, Streams s);

struct ExportCommand {
  std::string db;
  std::string config;
  std::string kind;
  std::string out;  // "" = stdout
};
int Export(const ExportCommand& c, Streams s);

}  // namespace lg::cli
