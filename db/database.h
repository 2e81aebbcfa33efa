// Database: the daemon's SQLite file, opened in WAL mode and migrated to the
// current schema on open.
//
// There is one writer connection (this object). API readers open their own
// read-only connections with OpenReader. Writes that must survive a power
// cut (alarms, records) run with synchronous=FULL, which is the setting of
// the writer connection.
//
// Migrations are numbered, applied in order inside a transaction each, and
// recorded in `schema_migrations`; a file newer than this build is refused
// rather than guessed at.
//
// Ownership: owns the writer connection.
// Thread-safety: Transaction() and CheckWritable() may be called from several
// threads (they take turns on the one writer connection); handle() is for
// one thread at a time (migrations, queries of the owner). Readers from
// OpenReader belong to their caller.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.h"

namespace lg::db {

class Database {
 public:
  // Creates the file (and its folder) if needed and migrates it.
  static Result<std::unique_ptr<Database>> Open(const std::string& path);
  // Migrates only up to `version`: for tests of a migration's data step.
  static Result<std::unique_ptr<Database>> OpenAtVersion(const std::string& path, int version);
  // A read-only connection for another thread.
  static Result<std::unique_ptr<SQLite::Database>> OpenReader(const std::string& path);

  const std::string& path() const { return path_; }
  int schema_version() const { return version_; }
  static int LatestVersion();

  // kImmediate (the default) takes the file's write lock at BEGIN, waiting
  // up to the busy timeout for it. A deferred transaction that reads and
  // then writes fails at once, without waiting, when another connection (the
  // CLI, the HTTP server's own) committed in between (WAL's busy snapshot);
  // most bodies here read before they write. kDeferred only for bodies that
  // write first or never.
  enum class Begin { kDeferred, kImmediate };
  // Runs `body` in one transaction; commits if it returns ok, else rolls
  // back. SQLite exceptions inside become a (transient) Error.
  Status Transaction(const std::function<Status(SQLite::Database&)>& body,
                     Begin begin = Begin::kImmediate);

  // Proves the file still takes writes (for /healthz).
  Status CheckWritable();

  SQLite::Database& handle() { return *db_; }

 private:
  Database(std::string path, std::unique_ptr<SQLite::Database> db);
  Status Migrate(int target);

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::mutex tx_mu_;  // one transaction at a time on this connection
  int version_ = 0;
};

// "2026-11-22T15:57:52.123+08:00"-style RFC 3339 in UTC ("Z"), the form
// every timestamp is stored in.
std::string FormatTime(std::chrono::system_clock::time_point t);
// The inverse of FormatTime; nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> ParseTime(const std::string& text);

}  // namespace lg::db
