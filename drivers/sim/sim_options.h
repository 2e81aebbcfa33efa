// liftsim's command line (docs/simulator.md):
//
//   liftsim [--tcp HOST:PORT:UNITS[:MAPFILE]]...
//           [--rtu DEVICE:BAUD:PARITY:DATABITS:STOPBITS:UNITS[:MAPFILE]]...
//           --control HOST:PORT [--scenario FILE] [--seed N] [--static]
//           [--floors MIN:MAX] [--rated-speed MM_S]
//
// UNITS is a range "1-40", a list "1,3,5" or both "1-4,9". HOST may be a
// name, an IPv4 address, an IPv6 address in brackets, or "*" for any.
// MAPFILE is the register map the link's cars serve: "ref-1" (the default)
// or a map file (docs/register-maps.md); it may itself contain ':'. Only the
// name is parsed here; SimServer::Open() loads it.
//
// Thread-safety: free functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace lg::sim {

struct TcpLinkSpec {
  std::string host;  // "" = any address
  int port = 0;      // 0 = an ephemeral port (the link is named by the port it got)
  std::vector<int> units;
  std::string map = "ref-1";  // "ref-1" or a map file path
};

struct RtuLinkSpec {
  std::string device;
  int baud = 19200;
  char parity = 'N';  // N, E or O
  int data_bits = 8;
  int stop_bits = 1;
  std::vector<int> units;
  std::string map = "ref-1";  // "ref-1" or a map file path
};

struct SimOptions {
  std::vector<TcpLinkSpec> tcp;
  std::vector<RtuLinkSpec> rtu;
  std::string control_host = "127.0.0.1";
  int control_port = -1;  // required on the command line; 0 = ephemeral
  std::string scenario_path;
  uint64_t seed = 1;
  bool is_static = false;
  int bottom_floor = 0;
  int top_floor = 9;
  int rated_speed_mm_s = 1750;
};

// Parses argv (argv[0] is the program). Errors say which option is wrong
// and why.
Result<SimOptions> ParseCommandLine(int argc, const char* const* argv);

// "1-40", "1,3,5", "1-4,9": sorted, no duplicates, each 1..247.
Result<std::vector<int>> ParseUnits(std::string_view text);

std::string_view Usage();

}  // namespace lg::sim
