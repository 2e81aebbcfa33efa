// OutboxStore: the notifications waiting to leave the daemon, kept in the
// same SQLite file as the state changes that caused them.
//
// What "loses nothing and sends nothing twice" rests on:
//   - A message is enqueued INSIDE the transaction that commits the state
//     change it is about: call Enqueue(tx, ...) from the body of
//     Database::Transaction. If that transaction rolls back, the message
//     never existed; if it commits, the message is on disk with it.
//   - Every message has an idempotency key, unique in the table. It names
//     (event, step, recipient): the policies in rules/ build it
//     (EscalationKey, AlarmNoticeKey, DigestKey); MakeKey joins the three
//     parts for other callers. Enqueueing a key that is there already
//     changes nothing, so a retried write, or a policy that re-plans after a
//     restart, cannot queue a step twice.
//   - The worker (daemon/outbox_worker.h) marks a message delivered only
//     after its channel accepted it. A crash between the two sends it again
//     after the restart with the same key, which receivers can drop.
//
// A message ends delivered (delivered_at), given up (failed_at: the channel
// refused it for good, it expired, or a newer retained message replaced it)
// or stays pending. Only car states and channel tests are ever deleted
// (Prune), since nothing re-plans them.
//
// Times are stored as db::FormatTime text (fixed width, UTC), so text order
// is time order.
//
// Ownership: borrows the Database. Thread-safety: the member functions go
// through Database::Transaction and may be called from any thread. The
// static Enqueue runs on the connection it is given, inside its caller's
// transaction.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace lg::db {

struct OutboxMessage {
  // Identity. `key` is the idempotency key; left empty, Enqueue fills it
  // with MakeKey(event, step, recipient).
  std::string key;
  std::string event;      // what it is about, e.g. "incident:7", "alarm:42"; for queries
  std::string step;       // only used to build a missing key
  std::string recipient;  // who, e.g. "email:safety@example.org"; for people reading the outbox

  // Route: the id of the channel that delivers it (daemon/channels.h), and
  // the address within that channel: an e-mail address, a phone number, an
  // MQTT topic; empty for a webhook, whose URL is the channel's.
  std::string channel;
  std::string target;

  // Content, in the forms of rules/message_text.h. Each channel takes the
  // form it needs (docs/notifications.md).
  std::string subject;   // one line
  std::string text;      // plain text
  std::string markdown;  // WeCom / DingTalk markdown; empty: `text` is used
  std::string payload;   // a JSON value with machine-readable details; empty: none
  // MQTT: publish retained (a car's latest state). Enqueueing a retained
  // message gives up the older undelivered retained ones of the same
  // channel and target: only the newest state is worth sending.
  bool retain = false;
  bool test = false;  // a scheduled channel test (outbox_worker.h)

  // Kept by the store.
  int64_t id = 0;
  std::string created_at;
  int attempts = 0;
  std::string next_attempt_at;
  std::string delivered_at;  // "" until delivered
  std::string failed_at;     // "" unless given up
  std::string last_error;
};

// "EVENT:STEP:RECIPIENT".
std::string MakeKey(const std::string& event, const std::string& step,
                    const std::string& recipient);

struct OutboxCounts {
  int64_t pending = 0;
  int64_t delivered = 0;
  int64_t failed = 0;
};

class OutboxStore {
 public:
  explicit OutboxStore(Database& db) : db_(db) {}

  // In the caller's transaction: `tx` is the connection Database::Transaction
  // hands its body. The message is due at `now`. Returns false (and changes
  // nothing) if its key is already in the outbox. A message without a
  // channel, or without a key and the parts to build one, is refused.
  static Result<bool> Enqueue(SQLite::Database& tx, const OutboxMessage& m, WallTime now);
  // The same in a transaction of its own.
  Result<bool> Enqueue(const OutboxMessage& m, WallTime now);

  // For the worker. Pending messages of the channels in `channels`, oldest
  // first, at most `limit`, that are due: next_attempt_at <= now. One whose
  // next_attempt_at lies beyond `now + horizon` counts as due as well: no
  // backoff is that long, so the wall clock must have been set back, and a
  // message must not wait for the clock to catch up.
  Result<std::vector<OutboxMessage>> Due(WallTime now, const std::set<std::string>& channels,
                                         int limit, Millis horizon);
  // The earliest next_attempt_at of the pending messages of `channels`.
  Result<std::optional<WallTime>> NextDue(const std::set<std::string>& channels);

  Status MarkDelivered(int64_t id, WallTime at);
  // A failed attempt that may succeed later: attempts + 1, try again at `next`.
  Status MarkRetry(int64_t id, WallTime next, const std::string& error);
  // A failed attempt that never will: attempts + 1, given up.
  Status MarkFailed(int64_t id, WallTime at, const std::string& error);
  // Pending messages of `channel` become due at `now`: the channel works
  // again, so what waited for it need not wait out its backoff.
  Status Hasten(const std::string& channel, WallTime now);
  // Gives up the pending messages of `channel` created before `cutoff`;
  // returns how many.
  Result<int> Expire(const std::string& channel, WallTime cutoff, WallTime now);

  // Deletes the delivered or given-up retained (state) and test messages of
  // `channel` created before `cutoff`, except the newest test, which the
  // test schedule follows; returns how many. Other messages stay: their keys
  // are what keeps a re-planned step from going out twice.
  Result<int> Prune(const std::string& channel, WallTime cutoff);

  // The newest test message of `channel`, if there is one.
  Result<std::optional<OutboxMessage>> LatestTest(const std::string& channel);

  Result<OutboxCounts> Counts();
  // By key; nullopt if there is none.
  Result<std::optional<OutboxMessage>> Find(const std::string& key);

  // Readers (own connection). Newest first; empty `event` means all.
  static Result<std::vector<OutboxMessage>> Query(SQLite::Database& reader,
                                                  const std::string& event, int limit);

 private:
  Database& db_;
};

}  // namespace lg::db
