#include "db/event_store.h"

#include <spdlog/spdlog.h>

namespace lg::db {

EventLog::EventLog(Database& db) : db_(db), thread_([this] { Run(); }) {}

EventLog::~EventLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void EventLog::Append(Event e) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(e));
    ++appended_;
  }
  cv_.notify_one();
}

void EventLog::Flush() {
  std::unique_lock lock(mu_);
  uint64_t target = appended_;
  flushed_.wait(lock, [&] { return done_ >= target; });
}

uint64_t EventLog::written() const {
  std::lock_guard lock(mu_);
  return done_ - failed_;
}

uint64_t EventLog::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

void EventLog::Run() {
  std::vector<Event> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    // A failed batch is retried a few times (the file may be briefly locked
    // by a backup); after that it is counted and logged, never silent.
    Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      st = db_.Transaction([&](SQLite::Database& db) {
        SQLite::Statement ins(
            db,
            "INSERT INTO events(at, elevator, kind, from_value, to_value, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)");
        for (const auto& e : batch) {
          ins.bind(1, FormatTime(e.at));
          ins.bind(2, e.elevator);
          ins.bind(3, e.kind);
          ins.bind(4, e.from);
          ins.bind(5, e.to);
          ins.bind(6, e.detail);
          ins.exec();
          ins.reset();
        }
        return Status::Ok();
      });
      if (st) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    }
    std::lock_guard lock(mu_);
    if (!st) {
      spdlog::error("event log: {} events not written: {}", batch.size(), st.error().message);
      failed_ += batch.size();
    }
    done_ += batch.size();
    flushed_.notify_all();
  }
}

Result<std::vector<Event>> EventLog::Query(SQLite::Database& reader, const std::string& elevator,
                                           int limit) {
  try {
    SQLite::Statement q(reader,
                        "SELECT at, elevator, kind, from_value, to_value, detail FROM events "
                        "WHERE (?1 = '' OR elevator = ?1) ORDER BY id DESC LIMIT ?2");
    q.bind(1, elevator);
    q.bind(2, limit);
    std::vector<Event> out;
    while (q.executeStep()) {
      Event e;
      e.at_text = q.getColumn(0).getString();
      e.elevator = q.getColumn(1).getString();
      e.kind = q.getColumn(2).getString();
      e.from = q.getColumn(3).getString();
      e.to = q.getColumn(4).getString();
      e.detail = q.getColumn(5).getString();
      out.push_back(std::move(e));
    }
    return out;
  } catch (const std::exception& ex) {
    return Error::Transient("database", std::string("event query failed: ") + ex.what());
  }
}

}  // namespace lg::db
