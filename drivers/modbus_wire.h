// The Modbus wire edge: the one place a request leaves the process, and the
// place libmodbus's -1/errno becomes a typed LinkError.
//
// RTU goes through libmodbus for framing, CRC and timing. TCP is framed
// here: a read reply is one MBAP header and one PDU, taken with one recv()
// once it is complete, where libmodbus's receive needs three select() and
// recv() pairs per reply; bench/poll measured the difference (see
// docs/design.md).
//
// Read-only is enforced here and nowhere else: SendReadRequest refuses any
// function code but 01-04 before a byte is written, whatever the caller or
// the configuration asks. tests/unit/link_test.cc proves that nothing else
// in the tree calls modbus_send_raw_request or a libmodbus write function.
//
// Thread-safety: stateless functions; a modbus_t is used by one thread at a
// time (its link's).
#pragma once

#include <modbus/modbus.h>

#include <cstdint>
#include <optional>

#include "drivers/poll_engine.h"
#include "drivers/register_map.h"

namespace lg::drivers {

constexpr bool IsReadFunction(int function) { return function >= 1 && function <= 4; }

// Largest count one request may ask for, by table (Modbus spec limits).
int MaxCount(Table table);

// Refuses (logs, and returns kIo "refused: function N is not a read") any
// function code but 01-04. Both senders below call it before a byte is
// written, whatever the caller or the configuration asks.
std::optional<LinkError> CheckReadOnly(int function, int unit);

// Sends one read request over Modbus TCP on a connected socket, as one ADU
// with transaction id `tid`, so a late reply to an earlier request is
// recognised. (libmodbus 3.1.6's modbus_send_raw_request always sends id 0.)
std::optional<LinkError> SendReadRequestTcp(int fd, int unit, int function, uint16_t address,
                                            uint16_t count, uint16_t tid);

// Sends one read request over Modbus RTU through libmodbus (which adds the
// CRC and keeps the bus timing).
std::optional<LinkError> SendReadRequestRtu(modbus_t* ctx, int unit, int function, uint16_t address,
                                            uint16_t count);

// Checks a reply ADU (as modbus_receive_confirmation returns it) against the
// request and unpacks it into `out` (`count` entries: registers, or 0/1 per
// bit). `expected_tid` < 0 skips the transaction-id check (RTU).
std::optional<LinkError> ParseReadReply(const uint8_t* adu, int length, int header_length,
                                        int expected_tid, int unit, int function, uint16_t count,
                                        uint16_t* out);

// What libmodbus's errno after a failed call means.
LinkError ErrorFromErrno(int err, const char* during);

}  // namespace lg::drivers
