// Notification delivery against real servers the test starts on loopback:
// an HTTP receiver (http_receiver.py), an SMTP server (smtp_receiver.py on
// Debian's python3-aiosmtpd) and mosquitto, with mosquitto_sub listening.
//
// Shown here: each channel delivers a real message in its format; a
// receiver that is down (or answers 500) for a while gets everything once it
// is back, each message once; kill -9 of a process in the middle of delivery,
// 20 times, loses nothing and duplicates nothing but by idempotency key; a
// channel failing for 5 minutes of simulated time is reported down, and up
// again; a failed scheduled test is reported down.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/channels.h"
#include "daemon/outbox_worker.h"
#include "db/database.h"
#include "db/outbox_store.h"
#include "tests/integration/harness.h"

namespace lg {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::Eventually;
using testing::FreePort;
using testing::Process;

// Debian's interpreter: it is the one python3-aiosmtpd is installed for.
constexpr char kPython[] = "/usr/bin/python3";

std::string Script(const std::string& name) {
  return testing::SourceDir() + "/tests/integration/" + name;
}

std::vector<json> JsonLines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  std::vector<json> out;
  size_t start = 0;
  for (size_t nl = all.find('\n'); nl != std::string::npos; nl = all.find('\n', start)) {
    json j = json::parse(all.substr(start, nl - start), nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
    start = nl + 1;
  }
  return out;
}

// One GET over loopback; the body of the answer.
std::string HttpGet(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

class HttpReceiver {
 public:
  HttpReceiver(const std::string& dir, int port) : port_(port), log_(dir + "/http-requests.log") {}
  void Start(int status = 200, int delay_ms = 0) {
    proc_ =
        Process({kPython, Script("http_receiver.py"), "--port", std::to_string(port_), "--log",
                 log_, "--status", std::to_string(status), "--delay-ms", std::to_string(delay_ms)},
                log_ + ".out");
    ASSERT_TRUE(proc_.WaitForOutput("listening", 10s)) << proc_.Output();
  }
  void Stop() { proc_.Stop(2s); }
  void Control(const std::string& query) {
    ASSERT_NE(HttpGet(port_, "/__control?" + query).find("200 OK"), std::string::npos);
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<json> Requests() const { return JsonLines(log_); }
  // Idempotency-Key header of each request answered 200, and how often.
  std::map<std::string, int> Accepted() const {
    std::map<std::string, int> out;
    for (const json& r : Requests()) {
      if (r["status"] == 200) ++out[r["headers"].value("idempotency-key", "")];
    }
    return out;
  }

 private:
  int port_;
  std::string log_;
  Process proc_;
};

db::OutboxMessage Message(const std::string& key, const std::string& channel,
                          const std::string& target = "") {
  db::OutboxMessage m;
  m.key = key;
  m.event = "alarm:1";
  m.recipient = "channel:" + channel;
  m.channel = channel;
  m.target = target;
  m.subject = "[严重 CRITICAL] 困人 Passengers trapped: Outpatient car 1 (OP-1)";
  m.text =
      "门诊楼 Outpatient, 3 楼 floor 3\n自 Since 10:02 \"now\"\nCall 96333 if nobody is on site.";
  m.markdown = "### 困人 Passengers trapped  \n**OP-1** Outpatient";
  m.payload = R"({"alarm_id":1,"type":"TRAPPED","elevator":"OP-1"})";
  return m;
}

struct Reports {
  std::mutex mu;
  std::vector<ChannelHealthReport> all;
  void Add(const ChannelHealthReport& r) {
    std::lock_guard lock(mu);
    all.push_back(r);
  }
  int Count(bool down) {
    std::lock_guard lock(mu);
    return static_cast<int>(std::count_if(
        all.begin(), all.end(), [&](const ChannelHealthReport& r) { return r.down == down; }));
  }
  ChannelHealthReport Last() {
    std::lock_guard lock(mu);
    return all.back();
  }
};

std::unique_ptr<db::Database> OpenDb(const std::string& dir) {
  auto db = db::Database::Open(dir + "/liftguard.db");
  EXPECT_TRUE(db.ok()) << db.error().message;
  return std::move(*db);
}

ChannelConfig Hook(const std::string& id, const std::string& url,
                   ChannelConfig::Format format = ChannelConfig::Format::kGeneric) {
  ChannelConfig c;
  c.id = id;
  c.url = url;
  c.format = format;
  return c;
}

OutboxWorkerOptions FastRetries() {
  OutboxWorkerOptions o;
  o.backoff_first = 50ms;
  o.backoff_cap = 400ms;
  o.test_every = 0s;
  o.seed = 7;
  return o;
}

// ---------------------------------------------------------------------------
// Each channel, a real message

TEST(Notify, GenericWebhookCarriesTheIdempotencyKeyThroughTheOutbox) {
  std::string dir = testing::TempDir("notify-generic");
  HttpReceiver rx(dir, FreePort());
  rx.Start();
  auto db = OpenDb(dir);
  ManualClock clock;
  OutboxWorker worker(*db, clock, FastRetries());
  worker.SetChannels({{MakeWebhookChannel(Hook("ops", rx.url()), {}), "", false}});
  db::OutboxStore store(*db);
  ASSERT_TRUE(*store.Enqueue(Message("alarm:1:r1:channel:ops", "ops"), clock.WallNow()));

  EXPECT_EQ(worker.RunOnce(), 1);
  auto reqs = rx.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  const json& r = reqs[0];
  EXPECT_EQ(r["path"], "/hook");
  EXPECT_EQ(r["headers"]["idempotency-key"], "alarm:1:r1:channel:ops");
  EXPECT_EQ(r["headers"]["content-type"], "application/json; charset=utf-8");
  json body = json::parse(r["body"].get<std::string>());
  EXPECT_EQ(body["idempotency_key"], "alarm:1:r1:channel:ops");
  EXPECT_EQ(body["event"], "alarm:1");
  EXPECT_EQ(body["subject"], Message("", "").subject);
  EXPECT_EQ(body["text"], Message("", "").text);
  EXPECT_EQ(body["data"]["type"], "TRAPPED");
  EXPECT_EQ(body["test"], false);
  EXPECT_NE((*store.Find("alarm:1:r1:channel:ops"))->delivered_at, "");
  EXPECT_EQ(worker.RunOnce(), 0);
  EXPECT_EQ(rx.Requests().size(), 1u);
}

TEST(Notify, WecomAndDingtalkGetTheirMarkdownMessages) {
  std::string dir = testing::TempDir("notify-robots");
  HttpReceiver rx(dir, FreePort());
  rx.Start();
  auto wecom = MakeWebhookChannel(
      Hook("wecom", rx.url("/cgi-bin/webhook/send?key=SECRET"), ChannelConfig::Format::kWecom), {});
  auto ding = MakeWebhookChannel(
      Hook("ding", rx.url("/robot/send?access_token=T"), ChannelConfig::Format::kDingtalk), {});
  db::OutboxMessage m = Message("k-robots", "wecom");
  ASSERT_TRUE(wecom->Deliver(m).ok());
  ASSERT_TRUE(ding->Deliver(m).ok());
  auto reqs = rx.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["path"], "/cgi-bin/webhook/send?key=SECRET");
  EXPECT_EQ(json::parse(reqs[0]["body"].get<std::string>()),
            json({{"msgtype", "markdown"}, {"markdown", {{"content", m.markdown}}}}));
  EXPECT_EQ(reqs[1]["path"], "/robot/send?access_token=T");
  EXPECT_EQ(
      json::parse(reqs[1]["body"].get<std::string>()),
      json({{"msgtype", "markdown"}, {"markdown", {{"title", m.subject}, {"text", m.markdown}}}}));
  EXPECT_EQ(reqs[1]["headers"]["idempotency-key"], "k-robots");

  // The robots answer 200 with an errcode: a rate limit passes, a bad key
  // does not; the secret in the URL stays out of the error.
  rx.Control("reply=%7B%22errcode%22%3A45009%2C%22errmsg%22%3A%22api%20freq%20out%22%7D");
  Status st = wecom->Deliver(m);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().recoverable);
  EXPECT_NE(st.error().message.find("45009"), std::string::npos);
  EXPECT_EQ(st.error().message.find("SECRET"), std::string::npos);
  rx.Control("reply=%7B%22errcode%22%3A93000%2C%22errmsg%22%3A%22invalid%20webhook%20url%22%7D");
  st = wecom->Deliver(m);
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(st.error().recoverable);
  EXPECT_EQ(st.error().code, "refused");
}

TEST(Notify, HttpStatusesAreSortedIntoRecoverableAndNot) {
  std::string dir = testing::TempDir("notify-status");
  HttpReceiver rx(dir, FreePort());
  rx.Start();
  auto hook = MakeWebhookChannel(Hook("h", rx.url()), {});
  db::OutboxMessage m = Message("k", "h");
  for (int status : {500, 502, 503, 429, 408}) {
    rx.Control("status=" + std::to_string(status));
    Status st = hook->Deliver(m);
    ASSERT_FALSE(st.ok()) << status;
    EXPECT_TRUE(st.error().recoverable) << status;
    EXPECT_EQ(st.error().code, "server");
  }
  for (int status : {400, 401, 403, 404, 410}) {
    rx.Control("status=" + std::to_string(status));
    Status st = hook->Deliver(m);
    ASSERT_FALSE(st.ok()) << status;
    EXPECT_FALSE(st.error().recoverable) << status;
    EXPECT_EQ(st.error().code, "refused");
    EXPECT_TRUE(ChannelErrorCountsAgainstHealth(st.error()));
  }
  rx.Control("status=204");
  EXPECT_TRUE(hook->Deliver(m).ok());
  // A receiver that answers too slowly.
  ChannelOptions quick;
  quick.timeout = 300ms;
  auto impatient = MakeWebhookChannel(Hook("h", rx.url()), quick);
  rx.Control("status=200&delay_ms=1000");
  Status st = impatient->Deliver(m);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "timeout");
  EXPECT_TRUE(st.error().recoverable);
  rx.Stop();
  st = hook->Deliver(m);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "unreachable") << st.error().message;
  EXPECT_TRUE(st.error().recoverable);
}

TEST(Notify, SmsGatewayGetsTheTemplateFilledAndEscaped) {
  std::string dir = testing::TempDir("notify-sms");
  HttpReceiver rx(dir, FreePort());
  rx.Start();
  ChannelConfig c = Hook("sms", rx.url("/sms/send"));
  c.kind = ChannelConfig::Kind::kSms;
  c.body_template =
      R"({"to": "{{phone}}", "sign": "Liftguard", "content": "{{subject}}", "ref": "{{key}}"})";
  auto sms = MakeSmsChannel(c, {});
  db::OutboxMessage m =
      Message("incident:7:esc:0m:always:sms:+8613800000000", "sms", "+8613800000000");
  m.subject = "困人 \"OP-1\" 门诊楼\\3F";
  ASSERT_TRUE(sms->Deliver(m).ok());
  auto reqs = rx.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  json body = json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(body["to"], "+8613800000000");
  EXPECT_EQ(body["content"], m.subject);
  EXPECT_EQ(body["ref"], m.key);
  EXPECT_EQ(reqs[0]["headers"]["idempotency-key"], m.key);
  EXPECT_EQ(reqs[0]["headers"]["content-type"], "application/json; charset=utf-8");

  db::OutboxMessage nobody = m;
  nobody.target.clear();
  Status st = sms->Deliver(nobody);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "bad_message");
  EXPECT_FALSE(ChannelErrorCountsAgainstHealth(st.error()));
}

class SmtpReceiver {
 public:
  SmtpReceiver(const std::string& dir, int port) : port_(port), log_(dir + "/smtp-messages.log") {
    proc_ = Process(
        {kPython, Script("smtp_receiver.py"), "--port", std::to_string(port_), "--log", log_},
        log_ + ".out");
    if (!proc_.WaitForOutput("listening", 15s)) ADD_FAILURE() << proc_.Output();
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<json> Messages() const { return JsonLines(log_); }

 private:
  int port_;
  std::string log_;
  Process proc_;
};

std::string WithoutCr(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '\r'), s.end());
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST(Notify, EmailOverSmtpWithEncodedSubjectAndKeyedMessageId) {
  std::string dir = testing::TempDir("notify-smtp");
  SmtpReceiver rx(dir, FreePort());
  SmtpConfig smtp{rx.url(), "liftguard@example.org", "", ""};
  auto db = OpenDb(dir);
  ManualClock clock;
  OutboxWorker worker(*db, clock, FastRetries());
  worker.SetChannels(
      {{MakeEmailChannel(std::string(kSmtpChannelId), smtp.url, smtp, {}), "", false}});
  db::OutboxStore store(*db);
  db::OutboxMessage m =
      Message("alarm:1:r1:email:safety@example.org", "[smtp]", "safety@example.org");
  m.subject += " — 请立即处理，这是一条很长的中文标题，用来检查编码后的折行是否正确";
  ASSERT_TRUE(*store.Enqueue(m, clock.WallNow()));
  EXPECT_EQ(worker.RunOnce(), 1);

  auto msgs = rx.Messages();
  ASSERT_EQ(msgs.size(), 1u);
  const json& got = msgs[0];
  EXPECT_EQ(got["from"], "liftguard@example.org");
  EXPECT_EQ(got["to"], json::array({"safety@example.org"}));
  EXPECT_EQ(got["subject"], m.subject);  // decoded as a mail client does
  EXPECT_EQ(WithoutCr(got["body"]), m.text);
  EXPECT_EQ(got["message_id"], channel_format::MessageId(m.key, "example.org"));
  EXPECT_EQ(got["key"], m.key);
  std::string type = got["content_type"];
  std::transform(type.begin(), type.end(), type.begin(), ::tolower);
  type.erase(std::remove(type.begin(), type.end(), '"'), type.end());
  EXPECT_EQ(type, "text/plain; charset=utf-8");
  EXPECT_NE(got["raw"].get<std::string>().find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE((*store.Find(m.key))->delivered_at, "");

  // Sent again (as after a crash between acceptance and the mark): the
  // same Message-ID, so mail clients show it once.
  auto direct = MakeEmailChannel("mail", smtp.url, smtp, {});
  ASSERT_TRUE(direct->Deliver(m).ok());
  msgs = rx.Messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1]["message_id"], msgs[0]["message_id"]);

  // The server refuses a recipient for good (550) or for now (451).
  Status st = direct->Deliver(Message("k2", "mail", "reject@example.org"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "rejected");
  EXPECT_FALSE(st.error().recoverable);
  EXPECT_FALSE(ChannelErrorCountsAgainstHealth(st.error()));
  st = direct->Deliver(Message("k3", "mail", "tempfail@example.org"));
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().recoverable);
  // No server at all.
  auto nowhere =
      MakeEmailChannel("mail", "smtp://127.0.0.1:" + std::to_string(FreePort()), smtp, {});
  st = nowhere->Deliver(m);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().recoverable);
  EXPECT_EQ(rx.Messages().size(), 2u);
}

class Mosquitto {
 public:
  Mosquitto(const std::string& dir, int port) : dir_(dir), port_(port) { Start(); }
  void Start() {
    std::string conf = dir_ + "/mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << "allow_anonymous true\npersistence false\nlog_dest stdout\n";
    proc_ = Process({"mosquitto", "-c", conf}, dir_ + "/mosquitto.log");
    // Up once it takes connections.
    bool up = Eventually(
        [&] {
          int fd = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          a.sin_port = htons(static_cast<uint16_t>(port_));
          bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
          ::close(fd);
          return ok;
        },
        10s);
    if (!up) ADD_FAILURE() << "mosquitto did not start: " << proc_.Output();
  }
  void Stop() { proc_.Stop(2s); }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  std::string dir_;
  int port_;
  Process proc_;
};

// mosquitto_sub printing "RETAIN TOPIC PAYLOAD" per message.
class Subscriber {
 public:
  Subscriber(const std::string& log, int port, const std::string& topic) {
    // stdbuf: mosquitto_sub's stdout is a file here, block-buffered otherwise.
    proc_ = Process({"stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p",
                     std::to_string(port), "-t", topic, "-q", "1", "-d", "-F", "%r %t %p"},
                    log);
    if (!proc_.WaitForOutput("SUBACK", 10s)) ADD_FAILURE() << proc_.Output();
  }
  struct Line {
    bool retained;
    std::string topic;
    json payload;
  };
  std::vector<Line> Lines() {
    std::vector<Line> out;
    std::istringstream in(proc_.Output());
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 3 || (line[0] != '0' && line[0] != '1') || line[1] != ' ') continue;
      size_t sp = line.find(' ', 2);
      if (sp == std::string::npos) continue;
      out.push_back({line[0] == '1', line.substr(2, sp - 2),
                     json::parse(line.substr(sp + 1), nullptr, false)});
    }
    return out;
  }

 private:
  Process proc_;
};

TEST(Notify, MqttPublishesWithQos1AndRetainsEachCarsState) {
  std::string dir = testing::TempDir("notify-mqtt");
  Mosquitto broker(dir, FreePort());
  Subscriber sub(dir + "/sub-all.log", broker.port(), "lg/#");
  auto mqtt = MakeMqttChannel(std::string(kMqttChannelId), broker.url(), {});

  db::OutboxMessage alarm = Message("alarm:1:r1:mqtt:lg/alarms", "[mqtt]", MqttAlarmsTopic("lg"));
  ASSERT_TRUE(mqtt->Deliver(alarm).ok());
  db::OutboxMessage state = Message("state:OP-1:5", "[mqtt]", MqttStateTopic("lg", "OP-1"));
  state.payload = R"({"elevator":"OP-1","floor":3,"mode":"auto"})";
  state.retain = true;
  ASSERT_TRUE(mqtt->Deliver(state).ok());
  mqtt->Idle();

  ASSERT_TRUE(Eventually([&] { return sub.Lines().size() >= 2; }, 5s));
  auto lines = sub.Lines();
  EXPECT_EQ(lines[0].topic, "lg/alarms");
  EXPECT_EQ(lines[0].payload["idempotency_key"], alarm.key);
  EXPECT_EQ(lines[0].payload["data"]["type"], "TRAPPED");
  EXPECT_EQ(lines[1].topic, "lg/elevators/OP-1/state");
  EXPECT_EQ(lines[1].payload["data"]["floor"], 3);

  // Someone who subscribes later gets the state, marked retained.
  Subscriber late(dir + "/sub-late.log", broker.port(), "lg/elevators/+/state");
  ASSERT_TRUE(Eventually([&] { return !late.Lines().empty(); }, 5s));
  EXPECT_TRUE(late.Lines()[0].retained);
  EXPECT_EQ(late.Lines()[0].payload["idempotency_key"], state.key);

  // Broker gone: recoverable. Back: the channel connects again by itself.
  broker.Stop();
  Status st = mqtt->Deliver(alarm);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().recoverable) << st.error().message;
  broker.Start();
  Subscriber again(dir + "/sub-again.log", broker.port(), "lg/#");
  ASSERT_TRUE(mqtt->Deliver(alarm).ok());
  ASSERT_TRUE(Eventually([&] { return !again.Lines().empty(); }, 5s));
  EXPECT_EQ(again.Lines()[0].payload["idempotency_key"], alarm.key);
}

// ---------------------------------------------------------------------------
// Delivery that loses nothing and sends nothing twice

TEST(Notify, AReceiverDownForAWhileGetsEverythingOnceBack) {
  std::string dir = testing::TempDir("notify-down");
  int port = FreePort();
  HttpReceiver rx(dir, port);  // not started yet: connection refused
  auto db = OpenDb(dir);
  OutboxWorker worker(*db, SystemClock::Instance(), FastRetries());
  worker.SetChannels({{MakeWebhookChannel(Hook("ops", rx.url()), {}), "", false}});
  worker.Start();
  db::OutboxStore store(*db);
  auto enqueue = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_TRUE(
          store.Enqueue(Message("m" + std::to_string(i), "ops"), std::chrono::system_clock::now())
              .ok());
      worker.Wake();
    }
  };
  enqueue(0, 15);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(store.Counts()->pending, 15);
  EXPECT_GT(worker.Stats()[0].failed_attempts, 2u);
  EXPECT_TRUE(worker.Stats()[0].failing);

  // Up, but answering 500 for a while.
  rx.Start(500);
  enqueue(15, 30);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(store.Counts()->pending, 30);
  EXPECT_GT(rx.Requests().size(), 0u);
  EXPECT_TRUE(rx.Accepted().empty());

  rx.Control("status=200");
  ASSERT_TRUE(Eventually([&] { return store.Counts()->pending == 0; }, 15s));
  worker.Stop();
  auto accepted = rx.Accepted();
  ASSERT_EQ(accepted.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(accepted["m" + std::to_string(i)], 1) << i;
  EXPECT_EQ(store.Counts()->delivered, 30);
}

TEST(Notify, KillNineDuringDeliveryLosesNothingAndDuplicatesOnlyByKey) {
  std::string dir = testing::TempDir("notify-kill");
  HttpReceiver rx(dir, FreePort());
  rx.Start(200, 15);  // a little slow, so kills land in the middle of requests
  const int kCount = 200;
  const int kKills = 20;
  std::string db_path = dir + "/driver.db";
  std::vector<std::string> argv = {testing::BinaryDir() + "/tests/notify_driver",
                                   "--db",
                                   db_path,
                                   "--url",
                                   rx.url(),
                                   "--count",
                                   std::to_string(kCount),
                                   "--pause-ms",
                                   "5"};
  std::random_device rd;
  unsigned seed = rd();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> when(20, 250);
  int kills = 0;
  for (int round = 0; round < kKills; ++round) {
    Process driver(argv, dir + "/driver-" + std::to_string(round) + ".log");
    std::this_thread::sleep_for(std::chrono::milliseconds(when(rng)));
    if (!driver.running()) break;  // finished before the kill: nothing left to interrupt
    driver.Signal(SIGKILL);
    EXPECT_EQ(driver.Wait(5s), -SIGKILL);
    ++kills;
  }
  Process last(argv, dir + "/driver-last.log");
  ASSERT_TRUE(last.WaitForOutput("all delivered", 60s)) << last.Output();
  EXPECT_EQ(last.Wait(5s), 0);
  EXPECT_GE(kills, 15) << "the driver finished too early for the kills to mean much";

  // Every event's message arrived; any repeat is the same key again (a
  // kill between acceptance and the mark), at most one per kill.
  auto accepted = rx.Accepted();
  std::set<std::string> want;
  for (int i = 0; i < kCount; ++i) want.insert("drv:" + std::to_string(i) + ":raised:channel:hook");
  std::set<std::string> got;
  int repeats = 0;
  for (const auto& [key, n] : accepted) {
    got.insert(key);
    repeats += n - 1;
  }
  EXPECT_EQ(got, want);
  EXPECT_LE(repeats, kills);
  // Body and header agree on the key.
  for (const json& r : rx.Requests()) {
    json body = json::parse(r["body"].get<std::string>());
    EXPECT_EQ(body["idempotency_key"], r["headers"]["idempotency-key"]);
  }

  // The state changes and their messages committed together, every time.
  auto db = db::Database::Open(db_path);
  ASSERT_TRUE(db.ok());
  SQLite::Database& h = (*db)->handle();
  EXPECT_EQ(h.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_EQ(
      h.execAndGet("SELECT COUNT(DISTINCT detail) FROM events WHERE kind='notify-driver'").getInt(),
      kCount);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM events WHERE kind='notify-driver'").getInt(),
            kCount);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM outbox").getInt(), kCount);
  EXPECT_EQ(h.execAndGet("SELECT COUNT(*) FROM outbox WHERE delivered_at != ''").getInt(), kCount);
  std::cout << "kills: " << kills << ", repeated deliveries (same key): " << repeats
            << ", seed: " << seed << "\n";
}

// ---------------------------------------------------------------------------
// Health, with a simulated clock and a real receiver

TEST(Notify, AChannelFailingFiveMinutesIsDownAndComesBackUp) {
  std::string dir = testing::TempDir("notify-health");
  HttpReceiver rx(dir, FreePort());
  rx.Start(503);
  auto db = OpenDb(dir);
  ManualClock clock;
  OutboxWorkerOptions o = FastRetries();
  o.backoff_first = 1s;
  o.backoff_cap = 60s;
  OutboxWorker worker(*db, clock, o);
  worker.SetChannels({{MakeWebhookChannel(Hook("wecom-safety", rx.url()), {}), "", false}});
  Reports reports;
  worker.SetHealthListener([&](const ChannelHealthReport& r) { reports.Add(r); });
  db::OutboxStore store(*db);
  ASSERT_TRUE(store.Enqueue(Message("a", "wecom-safety"), clock.WallNow()).ok());
  WallTime first = clock.WallNow();

  for (int s = 0; s < 300; ++s) {
    worker.RunOnce();
    if (s == 299) {
      EXPECT_EQ(reports.Count(true), 0) << "down before 5 minutes";
    }
    clock.Advance(1s);
  }
  worker.RunOnce();
  ASSERT_EQ(reports.Count(true), 1);
  ChannelHealthReport down = reports.Last();
  EXPECT_EQ(down.channel, "wecom-safety");
  EXPECT_FALSE(down.test);
  EXPECT_EQ(down.since, first);
  EXPECT_NE(down.reason.find("HTTP 503"), std::string::npos) << down.reason;
  // Probes a real receiver at most once a minute once capped.
  int requests = static_cast<int>(rx.Requests().size());
  EXPECT_GE(requests, 8);
  EXPECT_LE(requests, 12);

  rx.Control("status=200");
  for (int s = 0; s < 61; ++s) {
    clock.Advance(1s);
    worker.RunOnce();
  }
  ASSERT_EQ(reports.Count(false), 1);
  EXPECT_FALSE(reports.Last().down);
  EXPECT_EQ(rx.Accepted().size(), 1u);
  EXPECT_NE((*store.Find("a"))->delivered_at, "");
}

TEST(Notify, AFailedScheduledTestReportsTheChannelDown) {
  std::string dir = testing::TempDir("notify-test-msg");
  HttpReceiver rx(dir, FreePort());
  rx.Start();
  auto db = OpenDb(dir);
  ManualClock clock;
  OutboxWorkerOptions o = FastRetries();
  o.test_every = 72h;
  o.site_name = "First People's Hospital";
  OutboxWorker worker(*db, clock, o);
  worker.SetChannels({{MakeWebhookChannel(Hook("ops", rx.url()), {}), "", true}});
  Reports reports;
  worker.SetHealthListener([&](const ChannelHealthReport& r) { reports.Add(r); });

  worker.RunOnce();  // never tested: a test at once
  auto reqs = rx.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  json body = json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(body["test"], true);
  EXPECT_NE(body["text"].get<std::string>().find("First People's Hospital"), std::string::npos);
  EXPECT_EQ(reports.Count(true), 0);

  rx.Control("status=404");
  clock.Advance(72h);
  worker.RunOnce();
  ASSERT_EQ(rx.Requests().size(), 2u);
  ASSERT_EQ(reports.Count(true), 1);
  EXPECT_TRUE(reports.Last().test);
  EXPECT_NE(reports.Last().reason.find("HTTP 404"), std::string::npos) << reports.Last().reason;
}

}  // namespace
}  // namespace lg
