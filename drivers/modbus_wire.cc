#include "drivers/modbus_wire.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace lg::drivers {

int MaxCount(Table table) {
  switch (table) {
    case Table::kCoils:
    case Table::kDiscreteInputs:
      return MODBUS_MAX_READ_BITS;  // 2000
    case Table::kHoldingRegisters:
    case Table::kInputRegisters:
      break;
  }
  return MODBUS_MAX_READ_REGISTERS;  // 125
}

std::optional<LinkError> CheckReadOnly(int function, int unit) {
  if (IsReadFunction(function)) return std::nullopt;
  spdlog::error("refused to send Modbus function {} to unit {}: Liftguard only reads", function,
                unit);
  return LinkError{LinkError::Kind::kIo, 0,
                   "refused: function " + std::to_string(function) + " is not a read"};
}

std::optional<LinkError> SendReadRequestTcp(int fd, int unit, int function, uint16_t address,
                                            uint16_t count, uint16_t tid) {
  if (auto refused = CheckReadOnly(function, unit)) return refused;
  uint8_t adu[12] = {static_cast<uint8_t>(tid >> 8),
                     static_cast<uint8_t>(tid & 0xff),
                     0,
                     0,
                     0,
                     6,
                     static_cast<uint8_t>(unit),
                     static_cast<uint8_t>(function),
                     static_cast<uint8_t>(address >> 8),
                     static_cast<uint8_t>(address & 0xff),
                     static_cast<uint8_t>(count >> 8),
                     static_cast<uint8_t>(count & 0xff)};
  ssize_t n = ::send(fd, adu, sizeof adu, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n == static_cast<ssize_t>(sizeof adu)) return std::nullopt;
  return ErrorFromErrno(n < 0 ? errno : EIO, "send");
}

std::optional<LinkError> SendReadRequestRtu(modbus_t* ctx, int unit, int function, uint16_t address,
                                            uint16_t count) {
  if (auto refused = CheckReadOnly(function, unit)) return refused;
  uint8_t req[6] = {static_cast<uint8_t>(unit),         static_cast<uint8_t>(function),
                    static_cast<uint8_t>(address >> 8), static_cast<uint8_t>(address & 0xff),
                    static_cast<uint8_t>(count >> 8),   static_cast<uint8_t>(count & 0xff)};
  // libmodbus drops RTU replies from any unit but the context's own.
  if (modbus_set_slave(ctx, unit) < 0) return ErrorFromErrno(errno, "set unit");
  if (modbus_send_raw_request(ctx, req, sizeof req) < 0) return ErrorFromErrno(errno, "send");
  return std::nullopt;
}

std::optional<LinkError> ParseReadReply(const uint8_t* adu, int length, int header_length,
                                        int expected_tid, int unit, int function, uint16_t count,
                                        uint16_t* out) {
  auto bad = [](LinkError::Kind k, std::string d) { return LinkError{k, 0, std::move(d)}; };
  if (length < header_length + 2) {
    return bad(LinkError::Kind::kBadFrame, "short reply: " + std::to_string(length) + " bytes");
  }
  if (expected_tid >= 0) {
    int tid = (adu[0] << 8) | adu[1];
    if (tid != expected_tid) {
      return bad(
          LinkError::Kind::kBadTransaction,
          "transaction id " + std::to_string(tid) + ", expected " + std::to_string(expected_tid));
    }
  }
  int got_unit = adu[header_length - 1];
  if (got_unit != unit) {
    return bad(LinkError::Kind::kBadTransaction,
               "reply from unit " + std::to_string(got_unit) + ", asked " + std::to_string(unit));
  }
  const uint8_t* pdu = adu + header_length;
  int pdu_len = length - header_length - (expected_tid >= 0 ? 0 : 2);  // RTU: minus CRC
  if (pdu[0] == (function | 0x80)) {
    return LinkError{
        LinkError::Kind::kException, pdu[1],
        "exception " + std::to_string(pdu[1]) + ": " + modbus_strerror(MODBUS_ENOBASE + pdu[1])};
  }
  if (pdu[0] != function) {
    return bad(LinkError::Kind::kBadFrame,
               "reply function " + std::to_string(pdu[0]) + ", asked " + std::to_string(function));
  }
  bool bits = function <= 2;
  int want_bytes = bits ? (count + 7) / 8 : count * 2;
  if (pdu_len < 2 || pdu[1] != want_bytes || pdu_len < 2 + want_bytes) {
    return bad(LinkError::Kind::kBadFrame, "byte count " +
                                               std::to_string(pdu_len >= 2 ? pdu[1] : 0) +
                                               ", expected " + std::to_string(want_bytes));
  }
  const uint8_t* data = pdu + 2;
  if (bits) {
    for (int i = 0; i < count; ++i) out[i] = (data[i / 8] >> (i % 8)) & 1;
  } else {
    for (int i = 0; i < count; ++i)
      out[i] = static_cast<uint16_t>((data[2 * i] << 8) | data[2 * i + 1]);
  }
  return std::nullopt;
}

LinkError ErrorFromErrno(int err, const char* during) {
  std::string what = std::string(during) + ": " + modbus_strerror(err);
  if (err > MODBUS_ENOBASE && err < MODBUS_ENOBASE + 12) {
    return LinkError{LinkError::Kind::kException, static_cast<uint8_t>(err - MODBUS_ENOBASE), what};
  }
  switch (err) {
    case ETIMEDOUT:
      return LinkError{LinkError::Kind::kTimeout, 0, what};
    case EMBBADCRC:
    case EMBBADDATA:
    case EMBMDATA:
    case EMBBADEXC:
      return LinkError{LinkError::Kind::kBadFrame, 0, what};
    case EMBBADSLAVE:
      return LinkError{LinkError::Kind::kBadTransaction, 0, what};
    default:
      break;
  }
  return LinkError{LinkError::Kind::kIo, 0, what};
}

}  // namespace lg::drivers
