// The CLI's database commands (docs/cli.md): user add|passwd|disable|list,
// db backup and audit verify|list. They work on the daemon's SQLite file directly, so the
// first admin can be made before the daemon ever ran, and they work while
// it runs (WAL: readers never wait; a write waits up to 5 s for the
// daemon's).
//
// User changes go through daemon/auth.h, and every attempt (done or
// refused) is written to audit_log like the daemon's API writes: who is
// "cli:<unix user>", the address "local", the method "CLI", the path the
// command ("user add"), the status the HTTP status the API would have
// answered (200, 400, 404, 409, 503).
//
// db backup copies with SQLite's online backup API in one pass (a single
// read transaction, which in WAL mode never blocks the daemon's writes),
// into a new file readable by its owner only (it holds password hashes),
// checks the copy with PRAGMA integrity_check, and only then renames it
// onto DEST.
//
// Thread-safety: one command at a time.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "daemon/cli_api.h"

namespace lg::cli {

// Where the database is: `db` if given, else [daemon].database of `config`,
// else of /etc/liftguard/liftguard.toml if that exists.
struct DbContext {
  std::string path;
  // The configured contractor ids, when a configuration was read.
  std::optional<std::vector<std::string>> contractors;
};
// Errors: "usage" (nothing given, nothing found), "config" (the file does
// not load; the message lists why).
Result<DbContext> ResolveDb(const std::string& db, const std::string& config);

using PasswordSource = std::function<Result<std::string>()>;

int UserAdd(const DbContext& c, const std::string& name, const std::string& role,
            const std::string& contractor, const PasswordSource& password, bool json, Streams s);
int UserPasswd(const DbContext& c, const std::string& name, const PasswordSource& password,
               bool json, Streams s);
int UserDisable(const DbContext& c, const std::string& name, bool json, Streams s);
int UserList(const DbContext& c, bool json, Streams s);
int Backup(const DbContext& c, const std::string& dest, bool json, Streams s);

// audit verify: walks the audit log's hash chain (db/audit_log.h) on a
// read-only connection. kExitOk with the row count and the last row's hash
// when intact; kExitFailed naming the first bad row and why otherwise.
int AuditVerify(const DbContext& c, bool json, Streams s);
// audit list: the newest `limit` rows, newest first.
int AuditList(const DbContext& c, int limit, bool json, Streams s);

}  // namespace lg::cli
