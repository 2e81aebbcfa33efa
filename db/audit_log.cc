#include "db/audit_log.h"

#include <sodium.h>

#include <algorithm>
#include <optional>

namespace lg::db {
namespace {

constexpr const char* kColumns =
    "id, at, who, role, address, method, path, status, detail, prev_hash, hash";

AuditRow ReadRow(SQLite::Statement& q) {
  AuditRow r;
  r.id = q.getColumn(0).getInt64();
  r.at = q.getColumn(1).getString();
  r.who = q.getColumn(2).getString();
  r.role = q.getColumn(3).getString();
  r.address = q.getColumn(4).getString();
  r.method = q.getColumn(5).getString();
  r.path = q.getColumn(6).getString();
  r.status = q.getColumn(7).getInt();
  r.detail = q.getColumn(8).getString();
  r.prev_hash = q.getColumn(9).getString();
  r.hash = q.getColumn(10).getString();
  return r;
}

// The highest id SQLite ever handed out for audit_log (AUTOINCREMENT keeps
// it even when the rows are gone); 0 before the first row.
int64_t HighestIssuedId(SQLite::Database& conn) {
  SQLite::Statement q(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
  return q.executeStep() ? q.getColumn(0).getInt64() : 0;
}

void Netstring(crypto_hash_sha256_state& st, std::string_view field) {
  std::string len = std::to_string(field.size()) + ":";
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(len.data()), len.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(field.data()),
                            field.size());
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(","), 1);
}

std::string RowName(int64_t id) { return "row " + std::to_string(id); }

std::string Range(int64_t from, int64_t to) {
  return from == to ? RowName(from) : "rows " + std::to_string(from) + " to " + std::to_string(to);
}

// The row whose hash `r` names as its predecessor, other than `r` itself.
std::optional<int64_t> RowWithHash(SQLite::Database& conn, const std::string& hash,
                                   int64_t not_id) {
  SQLite::Statement q(conn,
                      "SELECT id FROM audit_log WHERE hash = ? AND id != ? ORDER BY id LIMIT 1");
  q.bind(1, hash);
  q.bind(2, not_id);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getInt64();
}

// `r` does not follow `prev` (nullopt: r is the first row). Says why, as
// far as the rows tell.
void DiagnoseLink(SQLite::Database& conn, const std::optional<AuditRow>& prev, const AuditRow& r,
                  AuditVerdict& v) {
  std::optional<int64_t> named = RowWithHash(conn, r.prev_hash, r.id);
  std::string follows = r.prev_hash == kAuditGenesis ? std::string("the start of the chain")
                        : named                      ? RowName(*named)
                                                     : std::string("a row that is not there");
  if (prev && prev->prev_hash == r.prev_hash) {
    v.problem = AuditProblem::kInserted;
    v.bad_id = prev->id;
    v.message = "rows " + std::to_string(prev->id) + " and " + std::to_string(r.id) +
                " both follow " + follows + ": one of them was inserted (or copied) there";
    return;
  }
  if (named && *named > r.id) {
    v.problem = AuditProblem::kReordered;
    v.bad_id = r.id;
    v.message = RowName(r.id) + " follows " + RowName(*named) +
                " in the chain, which comes after it: rows were reordered (moved to other ids)";
    return;
  }
  if (named && prev) {  // before prev, since prev's hash is not the one named
    v.problem = AuditProblem::kInserted;
    v.bad_id = *named + 1;
    v.message = RowName(r.id) + " follows " + RowName(*named) + ", not " + RowName(prev->id) +
                ": " + Range(*named + 1, prev->id) + " were inserted or moved there";
    return;
  }
  if (prev && r.prev_hash == kAuditGenesis) {
    v.problem = AuditProblem::kInserted;
    v.bad_id = r.id;
    v.message = RowName(r.id) + " claims to start the chain, but " + RowName(prev->id) +
                " comes before it: it was inserted";
    return;
  }
  // Either this row's link or the row it followed was changed; deleting
  // rows and renumbering the rest to hide the gap looks the same.
  v.problem = AuditProblem::kChanged;
  v.bad_id = r.id;
  v.message = prev ? RowName(r.id) + " does not follow " + RowName(prev->id) +
                         ": the row it followed is gone (deleted and the ids closed up, or " +
                         RowName(prev->id) + " replaced), or its prev_hash was changed"
                   : RowName(r.id) +
                         " is the first row but follows a row that is not there: the rows "
                         "before it were deleted and the ids renumbered, or its prev_hash was "
                         "changed";
}

// One read snapshot for a whole check: rows the daemon appends meanwhile
// must not show up halfway (a head read after the rows would look like rows
// cut off the end). A savepoint, so it nests in a caller's transaction.
class Snapshot {
 public:
  explicit Snapshot(SQLite::Database& conn) : conn_(conn) { conn_.exec("SAVEPOINT audit_verify"); }
  ~Snapshot() {
    try {
      conn_.exec("RELEASE audit_verify");
    } catch (const std::exception&) {  // nothing was written; the connection's owner sees later
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

 private:
  SQLite::Database& conn_;
};

}  // namespace

std::string AuditRowHash(const AuditRow& r) {
  // Picks CPU-specific code paths; SHA-256 is correct without it too, so a
  // failure here (none is known on Linux) changes nothing.
  [[maybe_unused]] static const int init = sodium_init();
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  constexpr std::string_view kDomain = "liftguard-audit-v1";
  crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(kDomain.data()),
                            kDomain.size());
  Netstring(st, std::to_string(r.id));
  Netstring(st, r.at);
  Netstring(st, r.who);
  Netstring(st, r.role);
  Netstring(st, r.address);
  Netstring(st, r.method);
  Netstring(st, r.path);
  Netstring(st, std::to_string(r.status));
  Netstring(st, r.detail);
  Netstring(st, r.prev_hash);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, digest);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

Status AppendAudit(Database& db, const AuditEntry& e) {
  AuditRow r;
  r.at = FormatTime(e.at);
  r.who = e.who;
  r.role = e.role;
  r.address = e.address;
  r.method = e.method;
  r.path = e.path;
  r.status = e.status;
  r.detail = e.detail;
  return db.Transaction(
      [&](SQLite::Database& h) -> Status {
        // Under the write lock: nobody can append between this read and
        // the insert, in this process or another.
        SQLite::Statement head(h, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1");
        int64_t last = 0;
        r.prev_hash = std::string(kAuditGenesis);
        if (head.executeStep()) {
          last = head.getColumn(0).getInt64();
          r.prev_hash = head.getColumn(1).getString();
        }
        // Past every id ever handed out, so rows cut off the end stay a gap
        // that VerifyAudit reports.
        r.id = std::max(last, HighestIssuedId(h)) + 1;
        r.hash = AuditRowHash(r);
        SQLite::Statement ins(h, std::string("INSERT INTO audit_log(") + kColumns +
                                     ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        ins.bind(1, r.id);
        ins.bind(2, r.at);
        ins.bind(3, r.who);
        ins.bind(4, r.role);
        ins.bind(5, r.address);
        ins.bind(6, r.method);
        ins.bind(7, r.path);
        ins.bind(8, r.status);
        ins.bind(9, r.detail);
        ins.bind(10, r.prev_hash);
        ins.bind(11, r.hash);
        ins.exec();
        return Status::Ok();
      },
      Database::Begin::kImmediate);
}

Result<std::vector<AuditRow>> ReadAudit(SQLite::Database& conn, const AuditQuery& q) {
  try {
    SQLite::Statement s(conn, std::string("SELECT ") + kColumns +
                                  " FROM audit_log WHERE at >= ? ORDER BY id DESC LIMIT ?");
    s.bind(1, q.since);
    s.bind(2, q.limit);
    std::vector<AuditRow> rows;
    while (s.executeStep()) rows.push_back(ReadRow(s));
    return rows;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("cannot read the audit log: ") + e.what());
  }
}

std::string_view AuditProblemName(AuditProblem p) {
  switch (p) {
    case AuditProblem::kNone:
      return "ok";
    case AuditProblem::kChanged:
      return "changed";
    case AuditProblem::kDeleted:
      return "deleted";
    case AuditProblem::kInserted:
      return "inserted";
    case AuditProblem::kReordered:
      return "reordered";
  }
  return "?";
}

Result<AuditVerdict> VerifyAudit(SQLite::Database& conn) {
  try {
    Snapshot snapshot(conn);  // before the statements, so it ends after them
    SQLite::Statement cols(conn,
                           "SELECT COUNT(*) FROM pragma_table_info('audit_log') WHERE name IN "
                           "('prev_hash', 'hash')");
    cols.executeStep();
    if (cols.getColumn(0).getInt() != 2) {
      return Error::Permanent(
          "schema", "this database has no audit chain yet (schema version below " +
                        std::to_string(kAuditChainVersion) +
                        "); liftguardd, or any `liftguard user` command, chains it when it next "
                        "opens the file");
    }
    AuditVerdict v;
    SQLite::Statement q(conn, std::string("SELECT ") + kColumns + " FROM audit_log ORDER BY id");
    std::optional<AuditRow> prev;
    while (q.executeStep()) {
      AuditRow r = ReadRow(q);
      int64_t expected = prev ? prev->id + 1 : 1;
      if (r.id > expected) {
        v.problem = AuditProblem::kDeleted;
        v.bad_id = expected;
        v.message = Range(expected, r.id - 1) + (r.id - 1 == expected ? " was" : " were") +
                    " deleted: the ids go from " +
                    (prev ? std::to_string(prev->id) : std::string("the start")) + " to " +
                    std::to_string(r.id);
        return v;
      }
      if (r.id < expected) {  // only a first row at 0 or below
        v.problem = AuditProblem::kInserted;
        v.bad_id = r.id;
        v.message =
            RowName(r.id) + " was not written by Liftguard (ids start at 1): it was inserted";
        return v;
      }
      std::string_view want = prev ? std::string_view(prev->hash) : kAuditGenesis;
      if (r.prev_hash != want) {
        DiagnoseLink(conn, prev, r, v);
        return v;
      }
      if (AuditRowHash(r) != r.hash) {
        v.problem = AuditProblem::kChanged;
        v.bad_id = r.id;
        v.message = RowName(r.id) +
                    " does not match its hash: it was changed after it was written, or forged";
        return v;
      }
      ++v.rows;
      v.head_id = r.id;
      v.head_hash = r.hash;
      prev = std::move(r);
    }
    if (int64_t issued = HighestIssuedId(conn); issued > v.head_id) {
      v.problem = AuditProblem::kDeleted;
      v.bad_id = v.head_id + 1;
      v.message = Range(v.head_id + 1, issued) + (issued == v.head_id + 1 ? " was" : " were") +
                  " deleted from the end (ids up to " + std::to_string(issued) +
                  " were handed out)";
    }
    return v;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("cannot read the audit log: ") + e.what());
  }
}

void StageAuditChain(SQLite::Database& conn) {
  conn.exec(
      "CREATE TEMP TABLE audit_chain (id INTEGER PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT "
      "NOT NULL)");
  SQLite::Statement q(conn,
                      "SELECT id, at, who, role, address, method, path, status, detail FROM "
                      "audit_log ORDER BY id");
  SQLite::Statement ins(conn, "INSERT INTO temp.audit_chain(id, prev_hash, hash) VALUES (?, ?, ?)");
  std::string prev(kAuditGenesis);
  while (q.executeStep()) {
    AuditRow r;
    r.id = q.getColumn(0).getInt64();
    r.at = q.getColumn(1).getString();
    r.who = q.getColumn(2).getString();
    r.role = q.getColumn(3).getString();
    r.address = q.getColumn(4).getString();
    r.method = q.getColumn(5).getString();
    r.path = q.getColumn(6).getString();
    r.status = q.getColumn(7).getInt();
    r.detail = q.getColumn(8).getString();
    r.prev_hash = prev;
    r.hash = AuditRowHash(r);
    ins.bind(1, r.id);
    ins.bind(2, r.prev_hash);
    ins.bind(3, r.hash);
    ins.exec();
    ins.reset();
    prev = r.hash;
  }
}

}  // namespace lg::db
