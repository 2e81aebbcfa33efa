// notify_driver: the process integration_notify kills with -9 in the middle
// of delivery. It does what the daemon does with notifications, and nothing
// else: for each of `--count` events it commits the event (a row in
// `events`) and its outbox message in ONE transaction, unless the event is
// already there, then lets the outbox worker deliver to a generic webhook.
// Run again after a kill, it picks up where the database says it was.
// Prints "all delivered" and exits 0 once nothing is pending.
//
//   notify_driver --db FILE --url URL --count N [--pause-ms MS]
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "daemon/channels.h"
#include "daemon/outbox_worker.h"
#include "db/database.h"
#include "db/outbox_store.h"

namespace {

int Usage() {
  std::cerr << "usage: notify_driver --db FILE --url URL --count N [--pause-ms MS]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, url;
  int count = 0, pause_ms = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--db") {
      path = v;
    } else if (k == "--url") {
      url = v;
    } else if (k == "--count") {
      count = std::atoi(v.c_str());
    } else if (k == "--pause-ms") {
      pause_ms = std::atoi(v.c_str());
    } else {
      return Usage();
    }
  }
  if (path.empty() || url.empty() || count <= 0) return Usage();
  spdlog::set_level(spdlog::level::warn);

  auto opened = lg::db::Database::Open(path);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  lg::db::Database& db = **opened;
  const lg::Clock& clock = lg::SystemClock::Instance();

  lg::ChannelConfig hook;
  hook.id = "hook";
  hook.url = url;
  lg::ChannelOptions copts;
  copts.timeout = lg::Millis(2000);
  lg::OutboxWorkerOptions wopts;
  wopts.backoff_first = lg::Millis(20);
  wopts.backoff_cap = lg::Millis(200);
  wopts.test_every = std::chrono::seconds(0);
  lg::OutboxWorker worker(db, clock, wopts);
  worker.SetChannels({lg::ChannelEntry{lg::MakeWebhookChannel(hook, copts), "", false}});
  worker.Start();

  for (int i = 0; i < count; ++i) {
    std::string n = std::to_string(i);
    bool added = false;
    lg::Status st = db.Transaction([&](SQLite::Database& tx) -> lg::Status {
      SQLite::Statement seen(tx,
                             "SELECT 1 FROM events WHERE kind = 'notify-driver' AND detail = ?");
      seen.bind(1, n);
      if (seen.executeStep()) return lg::Status::Ok();
      SQLite::Statement ev(
          tx,
          "INSERT INTO events(at, elevator, kind, detail) VALUES (?, 'drv', 'notify-driver', ?)");
      ev.bind(1, lg::db::FormatTime(clock.WallNow()));
      ev.bind(2, n);
      ev.exec();
      lg::db::OutboxMessage m;
      m.event = "drv:" + n;
      m.step = "raised";
      m.recipient = "channel:hook";
      m.channel = "hook";
      m.subject = "event " + n;
      m.text = "driver event " + n;
      auto r = lg::db::OutboxStore::Enqueue(tx, m, clock.WallNow());
      if (!r) return r.error();
      added = *r;
      return lg::Status::Ok();
    });
    if (!st) {
      std::cerr << "enqueue " << n << ": " << st.error().message << "\n";
      return 1;
    }
    if (added) {
      worker.Wake();
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    }
  }

  lg::db::OutboxStore store(db);
  for (;;) {
    auto counts = store.Counts();
    if (counts && counts->pending == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  worker.Stop();
  std::cout << "all delivered" << std::endl;
  return 0;
}
