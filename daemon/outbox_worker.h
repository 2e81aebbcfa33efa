// OutboxWorker: delivers what the outbox holds (db/outbox_store.h) through
// the channels (daemon/channels.h), retries what failed, watches each
// channel's health and tests each channel on a schedule.
//
// One lane per channel, each on its own thread, so a channel that times out
// never delays another. A lane:
//   - takes its channel's due messages oldest first and delivers them one by
//     one. A message is marked delivered only after the channel accepted it;
//     a crash in between sends it again after the restart, with the same
//     idempotency key, so the receiver can drop the duplicate.
//   - on a recoverable error, sets the message's next attempt after a capped
//     exponential backoff with jitter (Backoff) and rests the whole channel
//     for the channel's own backoff: while a receiver is down, one message
//     probes it now and then instead of every message knocking. When a
//     delivery succeeds again, everything waiting for the channel is due at
//     once, oldest first.
//   - on a permanent error, gives the message up (failed_at, last_error).
//   - at start, makes its channel's undelivered messages due at once.
//   - gives up messages older than `give_up_after`, and deletes delivered
//     car states and tests older than `prune_after`.
//
// Health: a channel whose deliveries have failed (errors that
// ChannelErrorCountsAgainstHealth) without one success for `down_after` is
// reported down, once; the next success reports it up. The first success
// after start is reported up as well, so that a CHANNEL_DOWN alarm restored
// from before a restart can clear. A scheduled test that the channel refused
// for good, or that is still undelivered `test_timeout` after it was queued,
// reports the channel down too.
//
// Tests: every `test_every` (72 h, as EN 81-28 asks of lift alarm systems)
// each channel with ChannelEntry::test gets a test message, queued in the
// outbox like any other. The schedule follows the newest test message in the
// database, so restarts neither skip nor repeat tests; a channel never
// tested gets one at once.
//
// Time: every decision reads the injected Clock. Durations (backoff, health)
// run on Clock::Now(); what is stored (next_attempt_at, created_at) is
// Clock::WallNow(). Tests drive RunOnce() with a ManualClock instead of
// starting threads.
//
// Ownership: borrows the Database and the Clock (both must outlive the
// worker); shares the channels. Thread-safety: every public function may be
// called from any thread. The HealthListener is called on a lane's thread
// (or RunOnce's caller) and must not block: post the work elsewhere.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/channels.h"
#include "db/database.h"

namespace lg {

struct OutboxWorkerOptions {
  Millis backoff_first{1000};
  Millis backoff_cap{60000};
  double jitter = 0.2;  // each backoff is shortened by up to this fraction, at random
  Millis down_after{std::chrono::minutes(5)};
  std::chrono::seconds test_every{std::chrono::hours(72)};  // 0: no scheduled tests
  Millis test_timeout{std::chrono::minutes(5)};
  Millis give_up_after{std::chrono::hours(24)};  // 0: never
  // Delivered car states and channel tests are deleted after this (checked
  // hourly); 0: kept. Alarm and incident messages are always kept.
  Millis prune_after{std::chrono::hours(24 * 7)};
  int batch = 50;          // messages a lane takes per pass
  Millis idle_wake{1000};  // a lane looks again at least this often (ManualClock, Idle())
  uint32_t seed = 0;       // jitter; 0: random
  std::string site_name;   // named in test messages
};

// min(cap, first * 2^(failures-1)), shortened by `jitter * u` of itself;
// `u` in [0, 1). `failures` >= 1.
Millis Backoff(int failures, Millis first, Millis cap, double jitter, double u);

struct ChannelHealthReport {
  std::string channel;
  bool down = false;   // false: the channel works (again)
  bool test = false;   // reported by a scheduled test
  std::string reason;  // the last error; empty when up
  WallTime since{};    // down: the first failure of this run of failures; up: now
};

struct ChannelStats {
  std::string channel;
  std::string kind;
  bool down = false;
  bool failing = false;
  int consecutive_failures = 0;
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t given_up = 0;
  std::string last_error;
};

class OutboxWorker {
 public:
  using HealthListener = std::function<void(const ChannelHealthReport&)>;

  OutboxWorker(db::Database& db, const Clock& clock, OutboxWorkerOptions options = {});
  ~OutboxWorker();  // Stop()
  OutboxWorker(const OutboxWorker&) = delete;
  OutboxWorker& operator=(const OutboxWorker&) = delete;

  // Replaces the channels (start-up, reload). Running lanes finish the
  // delivery in hand, then the new set runs. A channel's health carries over
  // by id. Messages for a channel not in the set wait (and eventually
  // expire).
  void SetChannels(std::vector<ChannelEntry> channels);
  void SetHealthListener(HealthListener listener);

  // Starts one thread per channel. Stop() waits for the deliveries in hand
  // (bounded by the channels' timeouts). Both idempotent.
  void Start();
  void Stop();

  // Something was enqueued and committed: look now rather than at the next
  // scheduled wake-up.
  void Wake();

  // One pass of every lane on the calling thread; for tests, with the worker
  // not started. Returns the number of delivery attempts made.
  int RunOnce();

  std::vector<ChannelStats> Stats() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lg
