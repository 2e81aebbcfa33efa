#include <gtest/gtest.h>

#include <filesystem>

#include "db/database.h"
#include "db/event_store.h"

namespace lg::db {
namespace {

std::string TempDb(const std::string& name) {
  auto dir = std::filesystem::path(LG_BINARY_DIR) / "tmp" / "db";
  std::filesystem::create_directories(dir);
  auto p = dir / (name + ".db");
  std::filesystem::remove(p);
  std::filesystem::remove(p.string() + "-wal");
  std::filesystem::remove(p.string() + "-shm");
  return p.string();
}

TEST(Database, CreatesMigratesAndUsesWal) {
  auto path = TempDb("migrate");
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.error().message;
  EXPECT_EQ((*db)->schema_version(), Database::LatestVersion());
  EXPECT_EQ((*db)->handle().execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_TRUE((*db)->CheckWritable().ok());
  // Opening again applies nothing twice.
  db->reset();
  auto again = Database::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->handle().execAndGet("SELECT COUNT(*) FROM schema_migrations").getInt(),
            Database::LatestVersion());
}

TEST(Database, RefusesAFileFromANewerBuild) {
  auto path = TempDb("newer");
  {
    auto db = Database::Open(path);
    ASSERT_TRUE(db.ok());
    (*db)->handle().exec("INSERT INTO schema_migrations VALUES (999, 'x')");
  }
  auto db = Database::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("newer than this build"), std::string::npos);
}

TEST(Database, FailedTransactionLeavesNothing) {
  auto db = Database::Open(TempDb("tx"));
  ASSERT_TRUE(db.ok());
  Status st = (*db)->Transaction([](SQLite::Database& h) {
    h.exec("INSERT INTO events(at, elevator, kind) VALUES ('t', 'A', 'mode')");
    return Status(Error::Permanent("test", "no"));
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ((*db)->handle().execAndGet("SELECT COUNT(*) FROM events").getInt(), 0);
  st = (*db)->Transaction([](SQLite::Database& h) {
    h.exec("INSERT INTO no_such_table VALUES (1)");
    return Status::Ok();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.error().recoverable);  // a missing table will not fix itself
}

TEST(EventLog, BatchesAndFlushes) {
  auto path = TempDb("events");
  auto db = Database::Open(path);
  ASSERT_TRUE(db.ok());
  {
    EventLog log(**db);
    for (int i = 0; i < 2000; ++i) {
      log.Append({std::chrono::system_clock::now(), "", "car-" + std::to_string(i % 7), "online",
                  "unknown", "online", ""});
    }
    log.Flush();
    EXPECT_EQ(log.written(), 2000u);
    EXPECT_EQ(log.failed(), 0u);
  }
  auto reader = Database::OpenReader(path);
  ASSERT_TRUE(reader.ok());
  auto rows = EventLog::Query(**reader, "car-3", 1000);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 286u);  // i % 7 == 3 for i < 2000
  EXPECT_EQ(rows->front().kind, "online");
  EXPECT_EQ(rows->front().at_text.size(), 24u);  // 2026-11-22T15:57:52.123Z
}

TEST(FormatTime, IsRfc3339Utc) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795363072123));
  EXPECT_EQ(FormatTime(t), "2026-11-22T15:57:52.123Z");
}

}  // namespace
}  // namespace lg::db
