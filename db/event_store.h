// EventLog: the record of what happened to each car that is worth keeping
// but is not an alarm: mode changes, going online and offline, link status.
// Samples themselves are never stored.
//
// Append never blocks the caller (the poll path): events go to a queue that
// one writer thread commits in batches, so 2,000 cars coming online at once
// is one transaction, not 2,000. Flush waits until everything appended
// before it is on disk.
//
// Ownership: borrows the Database, which must outlive the EventLog; the
// EventLog's thread is the only user of that Database while it runs.
// Thread-safety: Append and Flush are safe from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace lg::db {

struct Event {
  WallTime at;
  std::string at_text;   // as stored (RFC 3339 UTC); filled by Query
  std::string elevator;  // elevator id, or the link id for link events
  std::string kind;      // "mode", "online", "offline", "link"
  std::string from;
  std::string to;
  std::string detail;
};

class EventLog {
 public:
  explicit EventLog(Database& db);
  ~EventLog();  // writes what is queued, then stops
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void Append(Event e);
  void Flush();
  uint64_t written() const;
  uint64_t failed() const;

  // Newest first; empty `elevator` means all.
  static Result<std::vector<Event>> Query(SQLite::Database& reader, const std::string& elevator,
                                          int limit);

 private:
  void Run();

  Database& db_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_;
  std::deque<Event> queue_;
  uint64_t appended_ = 0;
  uint64_t done_ = 0;
  uint64_t failed_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lg::db
