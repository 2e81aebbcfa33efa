// Make step n of a link's life fail, for every n, and check that the link
// recovers by itself (Beast's fail_count idea). Step 0 is the first
// connection; every later step is one request (the controller-info read,
// then polls). The server is a small Modbus TCP responder in this test that
// misbehaves on exactly one step.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "drivers/poll_engine.h"

namespace lg::drivers {
namespace {

using namespace std::chrono_literals;

enum class Fault { kClose, kSilence, kException, kGarbage, kWrongTid, kLate };

class StepServer {
 public:
  StepServer(int fail_step, Fault fault) : fail_step_(fail_step), fault_(fault) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_, 4);
    thread_ = std::thread([this] { Run(); });
  }
  ~StepServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_);
  }
  int port() const { return port_; }

 private:
  void Run() {
    int conn = -1;
    while (!stop_) {
      pollfd fds[2] = {{listen_, POLLIN, 0}, {conn, POLLIN, 0}};
      if (::poll(fds, conn >= 0 ? 2 : 1, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = ::accept(listen_, nullptr, nullptr);
        if (step_++ == fail_step_ && fail_step_ == 0) {
          ::close(c);  // step 0: the connection itself fails
          continue;
        }
        if (conn >= 0) ::close(conn);
        conn = c;
        continue;
      }
      if (conn >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
        uint8_t req[12];
        if (::recv(conn, req, sizeof req, MSG_WAITALL) != 12) {
          ::close(conn);
          conn = -1;
          continue;
        }
        int step = step_++;
        if (step == fail_step_) {
          switch (fault_) {
            case Fault::kClose:
              ::close(conn);
              conn = -1;
              continue;
            case Fault::kSilence:
              continue;
            case Fault::kException: {
              uint8_t r[9] = {req[0], req[1], 0, 0, 0, 3, req[6], uint8_t(req[7] | 0x80), 4};
              (void)!::send(conn, r, sizeof r, MSG_NOSIGNAL);
              continue;
            }
            case Fault::kGarbage: {
              uint8_t r[9] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 1, 2, 3};
              (void)!::send(conn, r, sizeof r, MSG_NOSIGNAL);
              continue;
            }
            case Fault::kWrongTid:
              req[1] ^= 0x55;
              break;
            case Fault::kLate:
              // Past the link's 100 ms timeout: the reply arrives while the
              // link waits for its next request's.
              std::this_thread::sleep_for(std::chrono::milliseconds(150));
              break;
          }
        }
        int count = (req[10] << 8) | req[11];
        std::vector<uint8_t> r = {req[0], req[1], 0,
                                  0,      0,      static_cast<uint8_t>(3 + 2 * count),
                                  req[6], req[7], static_cast<uint8_t>(2 * count)};
        for (int i = 0; i < count; ++i) {
          // status1: auto, door_zone, door_closed, safety, lock, power ok.
          uint16_t v = i == 0 ? 0x3909 : static_cast<uint16_t>(i);
          r.push_back(static_cast<uint8_t>(v >> 8));
          r.push_back(static_cast<uint8_t>(v));
        }
        (void)!::send(conn, r.data(), r.size(), MSG_NOSIGNAL);
      }
    }
    if (conn >= 0) ::close(conn);
  }

  int fail_step_;
  Fault fault_;
  int listen_;
  int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> step_{0};
  std::thread thread_;
};

class CountingSink : public PollSink {
 public:
  void OnSample(uint32_t, const Sample&) override { ++samples; }
  void OnControllerInfo(uint32_t, const ControllerInfo&) override { ++infos; }
  void OnPollError(uint32_t, const LinkError&) override { ++errors; }
  void OnLinkStatus(const std::string&, LinkStatus) override {}
  std::atomic<int> samples{0}, infos{0}, errors{0};
};

class StepFailure : public ::testing::TestWithParam<std::tuple<int, Fault>> {};

TEST_P(StepFailure, LinkRecoversByItself) {
  auto [step, fault] = GetParam();
  StepServer server(step, fault);
  CountingSink sink;
  PollEngine engine({}, sink, SystemClock::Instance());
  LinkSettings l;
  l.id = "gw";
  l.port = server.port();
  l.timeout_ms = 100;
  l.backoff_first_ms = 50;
  l.backoff_cap_ms = 200;
  UnitSettings u;
  u.car = 1;
  u.link = "gw";
  u.unit = 1;
  u.map = RegisterMap::Ref1();
  u.interval_ms = 50;
  ASSERT_TRUE(engine.Reconcile({l}, {u}).ok());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (sink.samples < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  engine.Stop();
  EXPECT_GE(sink.samples, 8) << "step " << step << " never recovered";
  EXPECT_GE(sink.errors, 1) << "step " << step << " did not fail";
  if (fault == Fault::kLate && step > 0) {
    // One late reply costs one poll, not every poll after it.
    EXPECT_LE(sink.errors, 1) << "a late reply failed later requests too";
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, StepFailure,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3, 4),
                                            ::testing::Values(Fault::kClose, Fault::kSilence,
                                                              Fault::kException, Fault::kGarbage,
                                                              Fault::kWrongTid, Fault::kLate)));

}  // namespace
}  // namespace lg::drivers
