// The Modbus wire edge: the one place a request leaves the process, and the
// place libmodbus's -1/errno becomes a typed LinkError.
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

// Sends one read request. `function` must be 01-04; anything else is refused
// with LinkError kind kIo and detail "refused: function N is not a read"
// (and logged), and nothing is sent.
//
// On TCP the request carries transaction id `tid`, so a late reply to an
// earlier request is recognised (libmodbus 3.1.6's modbus_send_raw_request
// always sends id 0, which would make stale replies look current). On RTU
// it goes through modbus_send_raw_request and `tid` is unused.
std::optional<LinkError> SendReadRequest(modbus_t* ctx, int unit, int function, uint16_t address,
                                         uint16_t count, uint16_t tid);

// Checks a reply ADU (as modbus_receive_confirmation returns it) against the
// request and unpacks it into `out` (`count` entries: registers, or 0/1 per
// bit). `expected_tid` < 0 skips the transaction-id check (RTU).
std::optional<LinkError> ParseReadReply(const uint8_t* adu, int length, int header_length,
                                        int expected_tid, int unit, int function, uint16_t count,
                                        uint16_t* out);

// What libmodbus's errno after a failed call means.
LinkError ErrorFromErrno(int err, const char* during);

}  // namespace lg::drivers
