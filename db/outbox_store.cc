#include "db/outbox_store.h"

#include <exception>

namespace lg::db {
namespace {

constexpr const char* kColumns =
    "id, idempotency_key, event, recipient, channel, target, subject, text, markdown, payload, "
    "retain, test, created_at, attempts, next_attempt_at, delivered_at, failed_at, last_error";

constexpr const char* kPending = "delivered_at = '' AND failed_at = ''";

OutboxMessage Read(SQLite::Statement& q) {
  OutboxMessage m;
  int i = 0;
  m.id = q.getColumn(i++).getInt64();
  m.key = q.getColumn(i++).getString();
  m.event = q.getColumn(i++).getString();
  m.recipient = q.getColumn(i++).getString();
  m.channel = q.getColumn(i++).getString();
  m.target = q.getColumn(i++).getString();
  m.subject = q.getColumn(i++).getString();
  m.text = q.getColumn(i++).getString();
  m.markdown = q.getColumn(i++).getString();
  m.payload = q.getColumn(i++).getString();
  m.retain = q.getColumn(i++).getInt() != 0;
  m.test = q.getColumn(i++).getInt() != 0;
  m.created_at = q.getColumn(i++).getString();
  m.attempts = q.getColumn(i++).getInt();
  m.next_attempt_at = q.getColumn(i++).getString();
  m.delivered_at = q.getColumn(i++).getString();
  m.failed_at = q.getColumn(i++).getString();
  m.last_error = q.getColumn(i++).getString();
  return m;
}

// "channel IN (?, ?, ...)" for `n` channels; "0" (nothing) for none.
std::string InList(size_t n) {
  if (n == 0) return "0";
  std::string s = "channel IN (";
  for (size_t i = 0; i < n; ++i) s += i ? ",?" : "?";
  return s + ")";
}

// Reads outside Database::Transaction would run on the writer connection
// in the middle of another thread's transaction and see its uncommitted
// rows; a read transaction takes its turn like a write.
template <typename T, typename F>
Result<T> InTx(Database& db, F&& body) {
  std::optional<T> out;
  Status st = db.Transaction([&](SQLite::Database& c) {
    out.emplace(body(c));
    return Status::Ok();
  });
  if (!st) return st.error();
  return std::move(*out);
}

}  // namespace

std::string MakeKey(const std::string& event, const std::string& step,
                    const std::string& recipient) {
  return event + ":" + step + ":" + recipient;
}

Result<bool> OutboxStore::Enqueue(SQLite::Database& tx, const OutboxMessage& m, WallTime now) {
  if (m.channel.empty()) {
    return Error::Permanent("outbox", "message '" + m.key + "' names no channel");
  }
  std::string key = m.key;
  if (key.empty()) {
    if (m.event.empty() || m.step.empty() || m.recipient.empty()) {
      return Error::Permanent("outbox",
                              "a message needs an idempotency key, or event, step and recipient");
    }
    key = MakeKey(m.event, m.step, m.recipient);
  }
  std::string at = FormatTime(now);
  try {
    if (m.retain) {
      SQLite::Statement old(tx, std::string("UPDATE outbox SET failed_at = ?, last_error = ? "
                                            "WHERE channel = ? AND target = ? AND retain = 1 AND "
                                            "idempotency_key != ? AND ") +
                                    kPending);
      old.bind(1, at);
      old.bind(2, "superseded by " + key);
      old.bind(3, m.channel);
      old.bind(4, m.target);
      old.bind(5, key);
      old.exec();
    }
    SQLite::Statement ins(
        tx,
        "INSERT INTO outbox(idempotency_key, event, recipient, channel, target, subject, text, "
        "markdown, payload, retain, test, created_at, next_attempt_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(idempotency_key) DO NOTHING");
    int i = 1;
    ins.bind(i++, key);
    ins.bind(i++, m.event);
    ins.bind(i++, m.recipient);
    ins.bind(i++, m.channel);
    ins.bind(i++, m.target);
    ins.bind(i++, m.subject);
    ins.bind(i++, m.text);
    ins.bind(i++, m.markdown);
    ins.bind(i++, m.payload);
    ins.bind(i++, m.retain ? 1 : 0);
    ins.bind(i++, m.test ? 1 : 0);
    ins.bind(i++, at);
    ins.bind(i++, at);
    return ins.exec() > 0;
  } catch (const std::exception& e) {
    // The caller returns this from its transaction body, which rolls the
    // state change back with it.
    return Error::Transient("database", std::string("cannot enqueue '") + key + "': " + e.what());
  }
}

Result<bool> OutboxStore::Enqueue(const OutboxMessage& m, WallTime now) {
  bool inserted = false;
  Status st = db_.Transaction([&](SQLite::Database& tx) -> Status {
    Result<bool> r = Enqueue(tx, m, now);
    if (!r) return r.error();
    inserted = *r;
    return Status::Ok();
  });
  if (!st) return st.error();
  return inserted;
}

Result<std::vector<OutboxMessage>> OutboxStore::Due(WallTime now,
                                                    const std::set<std::string>& channels,
                                                    int limit, Millis horizon) {
  return InTx<std::vector<OutboxMessage>>(db_, [&](SQLite::Database& c) {
    SQLite::Statement q(c, std::string("SELECT ") + kColumns + " FROM outbox WHERE " + kPending +
                               " AND " + InList(channels.size()) +
                               " AND (next_attempt_at <= ? OR next_attempt_at > ?) "
                               "ORDER BY id LIMIT ?");
    int i = 1;
    for (const std::string& ch : channels) q.bind(i++, ch);
    q.bind(i++, FormatTime(now));
    q.bind(i++, FormatTime(now + horizon));
    q.bind(i++, limit);
    std::vector<OutboxMessage> out;
    while (q.executeStep()) out.push_back(Read(q));
    return out;
  });
}

Result<std::optional<WallTime>> OutboxStore::NextDue(const std::set<std::string>& channels) {
  return InTx<std::optional<WallTime>>(db_, [&](SQLite::Database& c) {
    SQLite::Statement q(c, std::string("SELECT MIN(next_attempt_at) FROM outbox WHERE ") +
                               kPending + " AND " + InList(channels.size()));
    int i = 1;
    for (const std::string& ch : channels) q.bind(i++, ch);
    std::optional<WallTime> out;
    if (q.executeStep() && !q.getColumn(0).isNull()) out = ParseTime(q.getColumn(0).getString());
    return out;
  });
}

Status OutboxStore::MarkDelivered(int64_t id, WallTime at) {
  return db_.Transaction([&](SQLite::Database& c) {
    // Unconditional: a message replaced while it was on its way was still
    // delivered, and the record should say so.
    SQLite::Statement u(c,
                        "UPDATE outbox SET delivered_at = ?, failed_at = '', attempts = attempts + "
                        "1 WHERE id = ?");
    u.bind(1, FormatTime(at));
    u.bind(2, id);
    u.exec();
    return Status::Ok();
  });
}

Status OutboxStore::MarkRetry(int64_t id, WallTime next, const std::string& error) {
  return db_.Transaction([&](SQLite::Database& c) {
    SQLite::Statement u(c,
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                        "last_error = ? WHERE id = ?");
    u.bind(1, FormatTime(next));
    u.bind(2, error);
    u.bind(3, id);
    u.exec();
    return Status::Ok();
  });
}

Status OutboxStore::MarkFailed(int64_t id, WallTime at, const std::string& error) {
  return db_.Transaction([&](SQLite::Database& c) {
    SQLite::Statement u(c,
                        "UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ? "
                        "WHERE id = ? AND delivered_at = ''");
    u.bind(1, FormatTime(at));
    u.bind(2, error);
    u.bind(3, id);
    u.exec();
    return Status::Ok();
  });
}

Status OutboxStore::Hasten(const std::string& channel, WallTime now) {
  return db_.Transaction([&](SQLite::Database& c) {
    std::string at = FormatTime(now);
    SQLite::Statement u(c, std::string("UPDATE outbox SET next_attempt_at = ? WHERE channel = ? "
                                       "AND next_attempt_at > ? AND ") +
                               kPending);
    u.bind(1, at);
    u.bind(2, channel);
    u.bind(3, at);
    u.exec();
    return Status::Ok();
  });
}

Result<int> OutboxStore::Expire(const std::string& channel, WallTime cutoff, WallTime now) {
  return InTx<int>(db_, [&](SQLite::Database& c) {
    SQLite::Statement u(c, std::string("UPDATE outbox SET failed_at = ?, last_error = "
                                       "'expired: not delivered in time; ' || last_error "
                                       "WHERE channel = ? AND created_at < ? AND ") +
                               kPending);
    u.bind(1, FormatTime(now));
    u.bind(2, channel);
    u.bind(3, FormatTime(cutoff));
    return u.exec();
  });
}

Result<int> OutboxStore::Prune(const std::string& channel, WallTime cutoff) {
  return InTx<int>(db_, [&](SQLite::Database& c) {
    SQLite::Statement d(c,
                        "DELETE FROM outbox WHERE channel = ?1 AND (retain = 1 OR test = 1) AND "
                        "(delivered_at != '' OR failed_at != '') AND created_at < ?2 AND id NOT IN "
                        "(SELECT id FROM outbox WHERE test = 1 AND channel = ?1 "
                        "ORDER BY created_at DESC, id DESC LIMIT 1)");
    d.bind(1, channel);
    d.bind(2, FormatTime(cutoff));
    return d.exec();
  });
}

Result<std::optional<OutboxMessage>> OutboxStore::LatestTest(const std::string& channel) {
  return InTx<std::optional<OutboxMessage>>(db_, [&](SQLite::Database& c) {
    SQLite::Statement q(c, std::string("SELECT ") + kColumns +
                               " FROM outbox WHERE test = 1 AND channel = ? "
                               "ORDER BY created_at DESC, id DESC LIMIT 1");
    q.bind(1, channel);
    std::optional<OutboxMessage> out;
    if (q.executeStep()) out = Read(q);
    return out;
  });
}

Result<OutboxCounts> OutboxStore::Counts() {
  return InTx<OutboxCounts>(db_, [&](SQLite::Database& c) {
    SQLite::Statement q(c,
                        "SELECT COALESCE(SUM(delivered_at = '' AND failed_at = ''), 0), "
                        "COALESCE(SUM(delivered_at != ''), 0), "
                        "COALESCE(SUM(delivered_at = '' AND failed_at != ''), 0) FROM outbox");
    OutboxCounts n;
    if (q.executeStep()) {
      n.pending = q.getColumn(0).getInt64();
      n.delivered = q.getColumn(1).getInt64();
      n.failed = q.getColumn(2).getInt64();
    }
    return n;
  });
}

Result<std::optional<OutboxMessage>> OutboxStore::Find(const std::string& key) {
  return InTx<std::optional<OutboxMessage>>(db_, [&](SQLite::Database& c) {
    SQLite::Statement q(
        c, std::string("SELECT ") + kColumns + " FROM outbox WHERE idempotency_key = ?");
    q.bind(1, key);
    std::optional<OutboxMessage> out;
    if (q.executeStep()) out = Read(q);
    return out;
  });
}

Result<std::vector<OutboxMessage>> OutboxStore::Query(SQLite::Database& reader,
                                                      const std::string& event, int limit) {
  try {
    SQLite::Statement q(reader, std::string("SELECT ") + kColumns + " FROM outbox" +
                                    (event.empty() ? "" : " WHERE event = ?") +
                                    " ORDER BY id DESC LIMIT ?");
    int i = 1;
    if (!event.empty()) q.bind(i++, event);
    q.bind(i++, limit);
    std::vector<OutboxMessage> out;
    while (q.executeStep()) out.push_back(Read(q));
    return out;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("cannot read the outbox: ") + e.what());
  }
}

}  // namespace lg::db
