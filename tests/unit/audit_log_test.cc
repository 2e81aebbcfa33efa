// The audit log's hash chain (db/audit_log.h): how rows chain, that the
// triggers refuse edits, that each kind of tampering done behind them is
// found at the right row, that two connections appending at once keep one
// chain, and that the migration chains the rows written before it.
#include "db/audit_log.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "db/database.h"

namespace lg::db {
namespace {

using namespace std::chrono_literals;

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "audit";
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

AuditEntry Entry(int n) {
  AuditEntry e;
  e.at = WallTime(std::chrono::seconds(1'790'000'000 + n * 60));
  e.who = "user" + std::to_string(n);
  e.role = "safety_manager";
  e.address = "10.0.0." + std::to_string(n);
  e.method = "POST";
  e.path = "/api/v1/maintenance/" + std::to_string(n);
  e.status = 200 + n;
  e.detail = "entry " + std::to_string(n);
  return e;
}

std::vector<AuditRow> AllRows(SQLite::Database& conn) {
  auto rows = ReadAudit(conn, {.limit = 100000, .since = ""});
  EXPECT_TRUE(rows.ok()) << rows.error().message;
  if (!rows.ok()) return {};
  std::vector<AuditRow> v(rows->rbegin(), rows->rend());  // oldest first
  return v;
}

AuditVerdict Verify(SQLite::Database& conn) {
  auto v = VerifyAudit(conn);
  EXPECT_TRUE(v.ok()) << v.error().message;
  return v.ok() ? *v : AuditVerdict{};
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = TempDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
  }
  void Append(int n) {
    Status st = AppendAudit(*db_, Entry(n));
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  // What someone with the file and the sqlite3 tool could do: drop the
  // triggers, then edit.
  void Tamper(const std::string& sql) {
    SQLite::Database raw(path_, SQLite::OPEN_READWRITE);
    raw.exec("DROP TRIGGER IF EXISTS audit_log_no_update");
    raw.exec("DROP TRIGGER IF EXISTS audit_log_no_delete");
    raw.exec(sql);
  }
  void ExpectBroken(AuditProblem problem, int64_t bad_id, const std::string& words) {
    AuditVerdict v = Verify(db_->handle());
    EXPECT_FALSE(v.intact());
    EXPECT_EQ(AuditProblemName(v.problem), AuditProblemName(problem)) << v.message;
    EXPECT_EQ(v.bad_id, bad_id) << v.message;
    EXPECT_NE(v.message.find(words), std::string::npos) << v.message;
  }

  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(AuditLogTest, RowsChainFromTheGenesisAndVerify) {
  AuditVerdict empty = Verify(db_->handle());
  EXPECT_TRUE(empty.intact());
  EXPECT_EQ(empty.rows, 0);
  EXPECT_EQ(empty.head_hash, kAuditGenesis);

  for (int n = 1; n <= 5; ++n) Append(n);
  auto rows = AllRows(db_->handle());
  ASSERT_EQ(rows.size(), 5u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const AuditRow& r = rows[i];
    EXPECT_EQ(r.id, static_cast<int64_t>(i + 1));
    EXPECT_EQ(r.prev_hash, i == 0 ? std::string(kAuditGenesis) : rows[i - 1].hash);
    EXPECT_EQ(r.hash.size(), 64u);
    EXPECT_EQ(r.hash, AuditRowHash(r));
    // The entry is stored as given.
    AuditEntry e = Entry(static_cast<int>(i + 1));
    EXPECT_EQ(r.at, FormatTime(e.at));
    EXPECT_EQ(r.who, e.who);
    EXPECT_EQ(r.address, e.address);
    EXPECT_EQ(r.path, e.path);
    EXPECT_EQ(r.status, e.status);
    EXPECT_EQ(r.detail, e.detail);
  }
  AuditVerdict v = Verify(db_->handle());
  EXPECT_TRUE(v.intact()) << v.message;
  EXPECT_EQ(v.rows, 5);
  EXPECT_EQ(v.head_id, 5);
  EXPECT_EQ(v.head_hash, rows.back().hash);
}

TEST_F(AuditLogTest, HashIsSha256OfTheDocumentedEncoding) {
  AuditRow r;
  r.id = 12;
  r.at = "2026-11-22T08:15:02.120Z";
  r.who = "olga";
  r.role = "operator";
  r.address = "10.1.2.3";
  r.method = "POST";
  r.path = "/api/v1/alarms/4/ack";
  r.status = 200;
  r.detail = "电梯";  // 6 bytes
  r.prev_hash = std::string(kAuditGenesis);
  std::string encoded =
      "liftguard-audit-v1"
      "2:12,24:2026-11-22T08:15:02.120Z,4:olga,8:operator,8:10.1.2.3,4:POST,"
      "20:/api/v1/alarms/4/ack,3:200,6:电梯,64:" +
      std::string(kAuditGenesis) + ",";
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(encoded.data()),
                     encoded.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  EXPECT_EQ(AuditRowHash(r), hex);

  // Moving bytes from one field to the next changes the hash.
  AuditRow shifted = r;
  shifted.who = "olgao";
  shifted.role = "perator";
  EXPECT_NE(AuditRowHash(shifted), AuditRowHash(r));
  AuditRow renumbered = r;
  renumbered.id = 13;
  EXPECT_NE(AuditRowHash(renumbered), AuditRowHash(r));
}

TEST_F(AuditLogTest, TriggersRefuseUpdateAndDelete) {
  for (int n = 1; n <= 3; ++n) Append(n);
  auto& h = db_->handle();
  EXPECT_THROW(h.exec("UPDATE audit_log SET who = 'mallory' WHERE id = 2"), SQLite::Exception);
  EXPECT_THROW(h.exec("DELETE FROM audit_log WHERE id = 3"), SQLite::Exception);
  EXPECT_THROW(h.exec("DELETE FROM audit_log"), SQLite::Exception);
  try {
    h.exec("UPDATE audit_log SET detail = '' WHERE id = 1");
    ADD_FAILURE() << "the update went through";
  } catch (const SQLite::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
  }
  EXPECT_EQ(h.execAndGet("SELECT who FROM audit_log WHERE id = 2").getString(), "user2");
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM audit_log").getInt(), 3);
  EXPECT_TRUE(Verify(h).intact());
}

TEST_F(AuditLogTest, AChangedFieldIsFound) {
  for (int n = 1; n <= 5; ++n) Append(n);
  Tamper("UPDATE audit_log SET status = 403 WHERE id = 3");
  ExpectBroken(AuditProblem::kChanged, 3, "row 3 does not match its hash");
  AuditVerdict v = Verify(db_->handle());
  EXPECT_EQ(v.rows, 2);
  EXPECT_EQ(v.head_id, 2);
}

TEST_F(AuditLogTest, AChangedHashIsFoundAtTheNextRow) {
  for (int n = 1; n <= 5; ++n) Append(n);
  // Rewrite row 3 and give it its new hash: row 4 no longer follows it.
  auto rows = AllRows(db_->handle());
  AuditRow forged = rows[2];
  forged.who = "nobody";
  forged.hash = AuditRowHash(forged);
  Tamper("UPDATE audit_log SET who = 'nobody', hash = '" + forged.hash + "' WHERE id = 3");
  ExpectBroken(AuditProblem::kChanged, 4, "row 4 does not follow row 3");
}

TEST_F(AuditLogTest, DeletedRowsAreFound) {
  for (int n = 1; n <= 6; ++n) Append(n);
  Tamper("DELETE FROM audit_log WHERE id = 3");
  ExpectBroken(AuditProblem::kDeleted, 3, "row 3 was deleted");
}

TEST_F(AuditLogTest, TheFirstRowDeletedIsFound) {
  for (int n = 1; n <= 3; ++n) Append(n);
  Tamper("DELETE FROM audit_log WHERE id = 1");
  ExpectBroken(AuditProblem::kDeleted, 1, "row 1 was deleted");
}

TEST_F(AuditLogTest, RowsCutOffTheEndAreFound) {
  for (int n = 1; n <= 6; ++n) Append(n);
  Tamper("DELETE FROM audit_log WHERE id >= 5");
  ExpectBroken(AuditProblem::kDeleted, 5, "rows 5 to 6 were deleted from the end");
  // A later append does not paper over the gap.
  Append(7);
  ExpectBroken(AuditProblem::kDeleted, 5, "rows 5 to 6 were deleted");
  EXPECT_EQ(db_->handle().execAndGet("SELECT MAX(id) FROM audit_log").getInt(), 7);
}

TEST_F(AuditLogTest, ADeletionWithTheIdsClosedUpIsFound) {
  for (int n = 1; n <= 5; ++n) Append(n);
  Tamper(
      "DELETE FROM audit_log WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 4; "
      "UPDATE audit_log SET id = 4 WHERE id = 5; "
      "UPDATE sqlite_sequence SET seq = 4 WHERE name = 'audit_log'");
  ExpectBroken(AuditProblem::kChanged, 3, "row 3 does not follow row 2");
}

TEST_F(AuditLogTest, AForgedRowAtTheEndIsFound) {
  for (int n = 1; n <= 4; ++n) Append(n);
  auto rows = AllRows(db_->handle());
  // Linked to the head, but the forger could not (or did not) compute its
  // hash from its contents.
  Tamper(
      "INSERT INTO audit_log(id, at, who, role, address, method, path, status, detail, "
      "prev_hash, hash) VALUES (5, '" +
      rows.back().at + "', 'mallory', 'admin', 'local', 'CLI', 'user add', 200, 'user eve', '" +
      rows.back().hash + "', '" + rows.back().hash + "')");
  ExpectBroken(AuditProblem::kChanged, 5, "row 5 does not match its hash");
}

TEST_F(AuditLogTest, ARowInsertedBeforeTheFirstIsFound) {
  for (int n = 1; n <= 3; ++n) Append(n);
  AuditRow forged;
  forged.id = 0;
  forged.at = "2020-01-01T00:00:00.000Z";
  forged.who = "mallory";
  forged.method = "CLI";
  forged.path = "user add";
  forged.status = 200;
  forged.prev_hash = std::string(kAuditGenesis);
  forged.hash = AuditRowHash(forged);
  Tamper(
      "INSERT INTO audit_log(id, at, who, role, address, method, path, status, detail, "
      "prev_hash, hash) VALUES (0, '" +
      forged.at + "', 'mallory', '', '', 'CLI', 'user add', 200, '', '" + forged.prev_hash +
      "', '" + forged.hash + "')");
  ExpectBroken(AuditProblem::kInserted, 0, "row 0 was not written by Liftguard");
}

TEST_F(AuditLogTest, ARowInsertedInTheMiddleIsFound) {
  for (int n = 1; n <= 5; ++n) Append(n);
  auto rows = AllRows(db_->handle());
  // Make room at id 3 and put a row there that links to row 2 and matches
  // its own hash.
  AuditRow forged = rows[2];
  forged.who = "mallory";
  forged.detail = "user eve (admin)";
  forged.prev_hash = rows[1].hash;
  forged.hash = AuditRowHash(forged);
  Tamper(
      "UPDATE audit_log SET id = 6 WHERE id = 5; UPDATE audit_log SET id = 5 WHERE id = 4; "
      "UPDATE audit_log SET id = 4 WHERE id = 3; "
      "INSERT INTO audit_log(id, at, who, role, address, method, path, status, detail, "
      "prev_hash, hash) VALUES (3, '" +
      forged.at + "', 'mallory', '" + forged.role + "', '" + forged.address + "', '" +
      forged.method + "', '" + forged.path + "', " + std::to_string(forged.status) +
      ", 'user eve (admin)', '" + forged.prev_hash + "', '" + forged.hash + "')");
  ExpectBroken(AuditProblem::kInserted, 3, "rows 3 and 4 both follow row 2");
}

TEST_F(AuditLogTest, SwappedRowsAreFound) {
  for (int n = 1; n <= 5; ++n) Append(n);
  Tamper(
      "UPDATE audit_log SET id = -1 WHERE id = 3; UPDATE audit_log SET id = 3 WHERE id = 4; "
      "UPDATE audit_log SET id = 4 WHERE id = -1");
  ExpectBroken(AuditProblem::kReordered, 3, "row 3 follows row 4");
}

TEST_F(AuditLogTest, SwappedContentsAreFound) {
  for (int n = 1; n <= 5; ++n) Append(n);
  // The two rows' contents trade places; ids and hashes stay.
  Tamper(
      "UPDATE audit_log SET who = CASE id WHEN 2 THEN 'user4' ELSE 'user2' END, "
      "detail = CASE id WHEN 2 THEN 'entry 4' ELSE 'entry 2' END WHERE id IN (2, 4)");
  ExpectBroken(AuditProblem::kChanged, 2, "row 2 does not match its hash");
}

// An unkeyed chain cannot tell a consistent rewrite from the truth; what
// gives it away is a head that differs from one kept elsewhere.
TEST_F(AuditLogTest, AConsistentForgeryOnlyShowsInTheHead) {
  for (int n = 1; n <= 3; ++n) Append(n);
  AuditVerdict before = Verify(db_->handle());
  auto rows = AllRows(db_->handle());
  AuditRow forged = rows[2];
  forged.detail = "nothing happened";
  forged.hash = AuditRowHash(forged);
  Tamper("UPDATE audit_log SET detail = 'nothing happened', hash = '" + forged.hash +
         "' WHERE id = 3");
  AuditVerdict after = Verify(db_->handle());
  EXPECT_TRUE(after.intact());
  EXPECT_EQ(after.head_id, before.head_id);
  EXPECT_NE(after.head_hash, before.head_hash);
}

TEST_F(AuditLogTest, TwoConnectionsAppendingAtOnceKeepOneChain) {
  // Two writers on the same file, like liftguardd and the CLI: each has
  // its own connection, so only SQLite's file lock orders them.
  auto other = Database::Open(path_);
  ASSERT_TRUE(other.ok());
  constexpr int kEach = 150;
  std::atomic<int> failures{0};
  auto writer = [&](Database& db, int base) {
    for (int i = 0; i < kEach; ++i) {
      if (!AppendAudit(db, Entry(base + i)).ok()) ++failures;
    }
  };
  std::thread a(writer, std::ref(*db_), 0);
  std::thread b(writer, std::ref(**other), 1000);
  a.join();
  b.join();
  EXPECT_EQ(failures, 0);
  auto rows = AllRows(db_->handle());
  ASSERT_EQ(rows.size(), 2u * kEach);
  // Both writers' rows are interleaved, not one after the other.
  int switches = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    switches += (rows[i].who.size() > 7) != (rows[i - 1].who.size() > 7);
  }
  AuditVerdict v = Verify(db_->handle());
  EXPECT_TRUE(v.intact()) << v.message << " (" << switches << " switches between writers)";
  EXPECT_EQ(v.rows, 2 * kEach);
  EXPECT_EQ(v.head_id, 2 * kEach);
}

TEST_F(AuditLogTest, ReadAuditIsNewestFirstWithLimitAndSince) {
  for (int n = 1; n <= 5; ++n) Append(n);
  auto two = ReadAudit(db_->handle(), {.limit = 2, .since = ""});
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].id, 5);
  EXPECT_EQ((*two)[1].id, 4);
  auto since = ReadAudit(db_->handle(), {.limit = 100, .since = FormatTime(Entry(4).at)});
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ(since->back().id, 4);
}

TEST(AuditLogMigration, RowsWrittenBeforeTheChainAreChained) {
  auto path = TempDb("migration");
  {
    auto old = Database::OpenAtVersion(path, kAuditChainVersion - 1);
    ASSERT_TRUE(old.ok()) << old.error().message;
    EXPECT_EQ((*old)->schema_version(), kAuditChainVersion - 1);
    auto& h = (*old)->handle();
    EXPECT_EQ(
        h.execAndGet("SELECT COUNT(*) FROM pragma_table_info('audit_log') WHERE name = 'hash'")
            .getInt(),
        0)
        << "kAuditChainVersion is not the migration that adds the chain";
    for (int n = 1; n <= 4; ++n) {
      SQLite::Statement ins(h,
                            "INSERT INTO audit_log(at, who, role, address, method, path, status, "
                            "detail) VALUES (?, ?, 'admin', '10.0.0.1', 'POST', '/x', 200, ?)");
      ins.bind(1, FormatTime(Entry(n).at));
      ins.bind(2, "legacy" + std::to_string(n));
      ins.bind(3, std::string("old 'row' ") + std::to_string(n));
      ins.exec();
    }
    // Verify refuses to judge a file without the chain.
    auto v = VerifyAudit(h);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, "schema");
  }
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto& h = (*db)->handle();
  auto rows = AllRows(h);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].prev_hash, kAuditGenesis);
  EXPECT_EQ(rows[3].who, "legacy4");
  AuditVerdict v = Verify(h);
  EXPECT_TRUE(v.intact()) << v.message;
  EXPECT_EQ(v.rows, 4);
  // New rows continue the chain; the old ones are sealed now.
  ASSERT_TRUE(AppendAudit(**db, Entry(9)).ok());
  EXPECT_EQ(Verify(h).rows, 5);
  EXPECT_EQ(AllRows(h)[4].prev_hash, rows[3].hash);
  EXPECT_THROW(h.exec("UPDATE audit_log SET who = 'x' WHERE id = 1"), SQLite::Exception);
}

}  // namespace
}  // namespace lg::db
