// The audit log: every write through the API or the CLI, done or refused --
// who, their role, when, from which address, what (method and path, or the
// CLI command), the answer given and a detail. Table `audit_log` (schema
// version 3; the hash chain since kAuditChainVersion).
//
// Append-only and hash-chained, so tampering is detectable:
// - every row stores prev_hash (the previous row's hash; kAuditGenesis for
//   the first row) and hash = hex SHA-256 of AuditRowHash's unambiguous
//   encoding of its id, its fields and prev_hash;
// - ids are consecutive from 1 (AppendAudit hands them out itself), so a
//   deleted row leaves a gap, and sqlite_sequence remembers the highest id
//   ever given, so rows cut off the end are missed too;
// - SQLite triggers refuse UPDATE and DELETE on the table. Another tool can
//   still drop them and edit the file: VerifyAudit finds that.
// The chain has no secret key: whoever can write the file can rebuild the
// whole chain consistently. Keeping the head (id and hash that VerifyAudit
// reports) somewhere else catches that too.
//
// AppendAudit is the one way rows are written. It reads the head and inserts
// in one BEGIN IMMEDIATE transaction, which holds the file's write lock from
// the start, so appends from several connections and processes (the daemon
// and the CLI) take turns and never fork the chain.
//
// Ownership: borrows the Database / connection it is given. Thread-safety:
// AppendAudit may be called from any thread (Database::Transaction takes
// turns); ReadAudit and VerifyAudit use the caller's connection, one thread
// at a time.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace lg::db {

// The schema version (db/database.cc) that added prev_hash, hash and the
// triggers, and chained the rows written before it.
inline constexpr int kAuditChainVersion = 7;

// The first row's prev_hash.
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct AuditEntry {
  WallTime at{};
  std::string who;      // the user; "cli:<unix user>"; the name a failed login gave
  std::string role;     // "" when nobody is logged in
  std::string address;  // the peer's IP address; "local" for the CLI
  std::string method;   // the HTTP method; "CLI"
  std::string path;     // what: the API path, or the CLI command ("user add")
  int status = 0;       // the answer given, as an HTTP status
  std::string detail;
};

struct AuditRow {
  int64_t id = 0;
  std::string at;  // as stored (FormatTime); hashed as this text
  std::string who;
  std::string role;
  std::string address;
  std::string method;
  std::string path;
  int status = 0;
  std::string detail;
  std::string prev_hash;
  std::string hash;
};

// Appends `e` as the newest row, chained to the current last one.
// Errors: "database" (recoverable when the file was busy).
Status AppendAudit(Database& db, const AuditEntry& e);

struct AuditQuery {
  int limit = 100;
  std::string since;  // rows at or after this FormatTime text; "" for all
};
// Newest first. Errors: "database".
Result<std::vector<AuditRow>> ReadAudit(SQLite::Database& conn, const AuditQuery& q);

// The hash `r` must have: hex SHA-256 over "liftguard-audit-v1" and then
// id, at, who, role, address, method, path, status, detail, prev_hash, each
// as a netstring ("<byte length>:<bytes>,"), numbers in decimal. Length
// prefixes make the encoding unambiguous whatever bytes the fields hold.
std::string AuditRowHash(const AuditRow& r);

enum class AuditProblem {
  kNone,
  kChanged,    // a row does not match its hash, or does not follow the row
               // before it (that one replaced, or rows deleted and renumbered)
  kDeleted,    // ids missing in the middle or at the end
  kInserted,   // a row the chain does not lead to (two rows follow one)
  kReordered,  // a row follows one that comes after it
};
// "ok", "changed", "deleted", "inserted", "reordered"
std::string_view AuditProblemName(AuditProblem p);

struct AuditVerdict {
  AuditProblem problem = AuditProblem::kNone;
  bool intact() const { return problem == AuditProblem::kNone; }
  int64_t rows = 0;  // rows found good (all of them when intact)
  // The last good row: the head when intact (0 and kAuditGenesis if empty).
  int64_t head_id = 0;
  std::string head_hash{kAuditGenesis};
  int64_t bad_id = 0;   // the first bad (or first missing) row id
  std::string message;  // what is wrong, for a person
};

// Walks the chain from the first row and stops at the first break.
// Errors: "database" (cannot read; "schema" when the file predates the
// chain: it is chained the next time liftguardd or a `liftguard user`
// command opens it).
Result<AuditVerdict> VerifyAudit(SQLite::Database& conn);

// For db/database.cc's migration kAuditChainVersion only: computes the
// chain of the rows written before it into temp.audit_chain(id, prev_hash,
// hash), which the migration's SQL copies into the new columns. Throws
// SQLite::Exception.
void StageAuditChain(SQLite::Database& conn);

}  // namespace lg::db
