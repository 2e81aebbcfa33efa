// Backoff, the wire edge (reply parsing, errno mapping) and the read-only
// guarantee.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "drivers/backoff.h"
#include "drivers/modbus_wire.h"

namespace lg::drivers {
namespace {

TEST(Backoff, DoublesUpToTheCap) {
  EXPECT_EQ(Backoff::Delay(500, 30000, 0), 500);
  EXPECT_EQ(Backoff::Delay(500, 30000, 1), 1000);
  EXPECT_EQ(Backoff::Delay(500, 30000, 5), 16000);
  EXPECT_EQ(Backoff::Delay(500, 30000, 6), 30000);
  EXPECT_EQ(Backoff::Delay(500, 30000, 1000), 30000);
  EXPECT_EQ(Backoff::Delay(500, 100, 3), 500);  // a cap below first is first
}

TEST(Backoff, JitterStaysWithinItsBandAndResets) {
  Backoff b(1000, 8000, 0.2, 42);
  int expected[] = {1000, 2000, 4000, 8000, 8000, 8000};
  for (int base : expected) {
    int d = b.NextDelayMs();
    EXPECT_LE(d, base);
    EXPECT_GE(d, base * 8 / 10);
  }
  b.Reset();
  EXPECT_LE(b.NextDelayMs(), 1000);
}

TEST(Backoff, TwoLinksDoNotRetryInLockstep) {
  Backoff a(1000, 30000, 0.2, 1), b(1000, 30000, 0.2, 2);
  int same = 0;
  for (int i = 0; i < 10; ++i) same += a.NextDelayMs() == b.NextDelayMs();
  EXPECT_LT(same, 10);
}

// A TCP reply ADU: MBAP + PDU.
std::vector<uint8_t> TcpReply(uint16_t tid, uint8_t unit, std::vector<uint8_t> pdu) {
  std::vector<uint8_t> a = {static_cast<uint8_t>(tid >> 8),
                            static_cast<uint8_t>(tid),
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(pdu.size() + 1),
                            unit};
  a.insert(a.end(), pdu.begin(), pdu.end());
  return a;
}

TEST(ParseReadReply, Registers) {
  auto adu = TcpReply(7, 3, {4, 4, 0x12, 0x34, 0xff, 0xfe});
  uint16_t out[2];
  auto err = ParseReadReply(adu.data(), static_cast<int>(adu.size()), 7, 7, 3, 4, 2, out);
  ASSERT_FALSE(err) << err->detail;
  EXPECT_EQ(out[0], 0x1234);
  EXPECT_EQ(out[1], 0xfffe);
}

TEST(ParseReadReply, BitsAreUnpackedLeastSignificantFirst) {
  auto adu = TcpReply(1, 1, {2, 2, 0b10100101, 0b1});
  uint16_t out[9];
  ASSERT_FALSE(ParseReadReply(adu.data(), static_cast<int>(adu.size()), 7, 1, 1, 2, 9, out));
  std::vector<uint16_t> got(out, out + 9);
  EXPECT_EQ(got, (std::vector<uint16_t>{1, 0, 1, 0, 0, 1, 0, 1, 1}));
}

TEST(ParseReadReply, EveryWayAReplyCanBeWrong) {
  uint16_t out[2];
  struct Case {
    std::vector<uint8_t> adu;
    LinkError::Kind kind;
  };
  std::vector<Case> cases = {
      {TcpReply(8, 3, {4, 4, 0, 0, 0, 0}), LinkError::Kind::kBadTransaction},  // wrong tid
      {TcpReply(7, 9, {4, 4, 0, 0, 0, 0}), LinkError::Kind::kBadTransaction},  // wrong unit
      {TcpReply(7, 3, {0x84, 2}), LinkError::Kind::kException},
      {TcpReply(7, 3, {3, 4, 0, 0, 0, 0}), LinkError::Kind::kBadFrame},  // wrong function
      {TcpReply(7, 3, {4, 2, 0, 0}), LinkError::Kind::kBadFrame},        // wrong byte count
      {TcpReply(7, 3, {4, 4, 0, 0}), LinkError::Kind::kBadFrame},        // truncated data
      {{0, 7, 0, 0}, LinkError::Kind::kBadFrame},                        // shorter than a header
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& c = cases[i];
    auto err = ParseReadReply(c.adu.data(), static_cast<int>(c.adu.size()), 7, 7, 3, 4, 2, out);
    ASSERT_TRUE(err) << "case " << i;
    EXPECT_EQ(err->kind, c.kind) << "case " << i << ": " << err->detail;
  }
  auto exc = TcpReply(7, 3, {0x84, 2});
  auto err = ParseReadReply(exc.data(), static_cast<int>(exc.size()), 7, 7, 3, 4, 2, out);
  EXPECT_EQ(err->exception_code, 2);
}

TEST(ErrorFromErrno, KeepsExceptionsApartFromTransport) {
  EXPECT_EQ(ErrorFromErrno(ETIMEDOUT, "x").kind, LinkError::Kind::kTimeout);
  EXPECT_EQ(ErrorFromErrno(ECONNRESET, "x").kind, LinkError::Kind::kIo);
  EXPECT_EQ(ErrorFromErrno(EMBBADCRC, "x").kind, LinkError::Kind::kBadFrame);
  auto e = ErrorFromErrno(EMBXILADD, "x");
  EXPECT_EQ(e.kind, LinkError::Kind::kException);
  EXPECT_EQ(e.exception_code, 2);
}

TEST(ReadOnly, WriteFunctionCodesAreRefusedBeforeAnythingIsSent) {
  // A socket pair stands in for the connection: whatever is sent can be
  // read back from the other end, so "nothing was sent" is observable.
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  modbus_t* rtu = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
  ASSERT_NE(rtu, nullptr);
  for (int fc : {0, 5, 6, 7, 8, 15, 16, 17, 20, 21, 22, 23, 43, 0x80 | 4}) {
    auto err = SendReadRequestTcp(sv[0], 1, fc, 0, 1, 1);
    ASSERT_TRUE(err) << fc;
    EXPECT_NE(err->detail.find("refused"), std::string::npos) << fc << ": " << err->detail;
    auto rerr = SendReadRequestRtu(rtu, 1, fc, 0, 1);
    ASSERT_TRUE(rerr) << fc;
    EXPECT_NE(rerr->detail.find("refused"), std::string::npos) << fc;
  }
  uint8_t buf[64];
  EXPECT_EQ(::recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), -1) << "a refused request was sent";
  // The read codes go out, as one MBAP frame each.
  for (int fc : {1, 2, 3, 4}) {
    ASSERT_FALSE(SendReadRequestTcp(sv[0], 7, fc, 0x1234, 13, 0x0102)) << fc;
    ASSERT_EQ(::recv(sv[1], buf, sizeof buf, 0), 12);
    std::vector<uint8_t> got(buf, buf + 12);
    EXPECT_EQ(got, (std::vector<uint8_t>{1, 2, 0, 0, 0, 6, 7, static_cast<uint8_t>(fc), 0x12, 0x34,
                                         0, 13}));
  }
  modbus_free(rtu);
  ::close(sv[0]);
  ::close(sv[1]);
}

// The guard above is only a guarantee if nothing goes around it: outside
// the simulator and the tests, no file may call a libmodbus function that
// sends, and only modbus_wire.cc may send at all.
TEST(ReadOnly, NothingBypassesTheOnePlaceThatSends) {
  namespace fs = std::filesystem;
  std::regex writes(
      R"(modbus_(write_\w+|mask_write_register|write_and_read_registers|send_raw_request|read_\w+|report_slave_id)\s*\()");
  std::regex raw_send(R"((::)?\b(send|write|sendto|sendmsg)\s*\()");
  int checked = 0;
  for (const char* dir : {"core", "drivers", "rules", "db", "daemon"}) {
    fs::path root = fs::path(LG_SOURCE_DIR) / dir;
    if (!fs::exists(root)) continue;
    for (const auto& f : fs::recursive_directory_iterator(root)) {
      if (!f.is_regular_file()) continue;
      auto rel = fs::relative(f.path(), LG_SOURCE_DIR).string();
      if (rel.rfind("drivers/sim/", 0) == 0) continue;
      auto ext = f.path().extension();
      if (ext != ".cc" && ext != ".h") continue;
      std::ifstream in(f.path());
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      ++checked;
      if (rel == "drivers/modbus_wire.cc" || rel == "drivers/modbus_wire.h") continue;
      EXPECT_FALSE(std::regex_search(text, writes)) << rel << " calls libmodbus I/O directly";
      if (rel.rfind("drivers/", 0) == 0) {
        EXPECT_FALSE(std::regex_search(text, raw_send)) << rel << " writes to a socket directly";
      }
    }
  }
  EXPECT_GT(checked, 5);
}

}  // namespace
}  // namespace lg::drivers
