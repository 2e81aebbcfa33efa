#include "drivers/sim/sim_options.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace lg::sim {
namespace {

Error Bad(std::string message) { return Error::Permanent("usage", std::move(message)); }

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Result<int> IntIn(std::string_view s, int64_t lo, int64_t hi, std::string_view what) {
  int64_t v;
  if (!ParseInt(s, &v) || v < lo || v > hi) {
    return Bad(std::string(what) + " must be an integer " + std::to_string(lo) + ".." +
               std::to_string(hi) + ", not '" + std::string(s) + "'");
  }
  return static_cast<int>(v);
}

// Splits "HOST:PORT" or "[V6]:PORT"; the host part may be empty.
Result<std::pair<std::string, int>> HostPort(std::string_view s, std::string_view option) {
  std::string host;
  std::string_view rest;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Bad(std::string(option) + ": expected [IPV6]:PORT, not '" + std::string(s) + "'");
    }
    host = std::string(s.substr(1, close - 1));
    rest = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      return Bad(std::string(option) + ": expected HOST:PORT, not '" + std::string(s) + "'");
    }
    host = std::string(s.substr(0, colon));
    rest = s.substr(colon + 1);
  }
  if (host == "*") host.clear();
  auto port = IntIn(rest, 0, 65535, std::string(option) + " port");
  if (!port) return port.error();
  return std::make_pair(host, *port);
}

// "HOST:PORT:UNITS[:MAPFILE]" read left to right, so that MAPFILE may hold
// ':'. HOST is "[V6]" or has no ':'.
Result<TcpLinkSpec> ParseTcpLeftToRight(std::string_view value) {
  auto bad = [&] {
    return Bad("--tcp: expected HOST:PORT:UNITS[:MAPFILE], not '" + std::string(value) + "'");
  };
  std::string host;
  std::string_view rest;
  if (!value.empty() && value[0] == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      return Bad("--tcp: expected [IPV6]:PORT:UNITS[:MAPFILE], not '" + std::string(value) + "'");
    }
    host = std::string(value.substr(1, close - 1));
    rest = value.substr(close + 2);
  } else {
    const size_t colon = value.find(':');
    if (colon == std::string_view::npos) return bad();
    host = std::string(value.substr(0, colon));
    rest = value.substr(colon + 1);
  }
  if (host == "*") host.clear();
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return bad();
  auto port = IntIn(rest.substr(0, colon), 0, 65535, "--tcp port");
  if (!port) return port.error();
  rest = rest.substr(colon + 1);
  const size_t map_colon = rest.find(':');
  auto units = ParseUnits(rest.substr(0, map_colon));
  if (!units) return Bad("--tcp " + std::string(value) + ": " + units.error().message);
  TcpLinkSpec spec{host, *port, std::move(*units)};
  if (map_colon != std::string_view::npos) {
    spec.map = std::string(rest.substr(map_colon + 1));
    if (spec.map.empty()) return Bad("--tcp " + std::string(value) + ": empty MAPFILE");
  }
  return spec;
}

Result<TcpLinkSpec> ParseTcp(std::string_view value) {
  auto spec = ParseTcpLeftToRight(value);
  if (spec || value.empty() || value[0] == '[') return spec;
  // An IPv6 address without brackets, "::1:1502:1", was taken before map
  // files existed; it still is, without a MAPFILE.
  const size_t last = value.rfind(':');
  if (last == std::string_view::npos) return spec;
  auto hp = HostPort(value.substr(0, last), "--tcp");
  auto units = ParseUnits(value.substr(last + 1));
  if (!hp || !units || hp->first.find(':') == std::string::npos) return spec;
  return TcpLinkSpec{hp->first, hp->second, std::move(*units)};
}

bool IsKnownBaud(int baud) {
  static constexpr int kBauds[] = {1200,  2400,   4800,   9600,   19200, 38400,
                                   57600, 115200, 230400, 460800, 921600};
  return std::find(std::begin(kBauds), std::end(kBauds), baud) != std::end(kBauds);
}

// BAUD:PARITY:DATABITS:STOPBITS:UNITS, `value` for messages.
Result<RtuLinkSpec> ParseRtuSettings(const std::vector<std::string_view>& parts,
                                     std::string_view value) {
  RtuLinkSpec r;
  auto baud = IntIn(parts[0], 50, 4000000, "--rtu baud");
  if (!baud) return baud.error();
  if (!IsKnownBaud(*baud)) {
    return Bad("--rtu baud " + std::to_string(*baud) +
               " is not one of 1200 2400 4800 9600 19200 38400 57600 115200 230400 460800 "
               "921600");
  }
  r.baud = *baud;
  if (parts[1] != "N" && parts[1] != "E" && parts[1] != "O") {
    return Bad("--rtu parity must be N, E or O, not '" + std::string(parts[1]) + "'");
  }
  r.parity = parts[1][0];
  auto db = IntIn(parts[2], 5, 8, "--rtu data bits");
  if (!db) return db.error();
  r.data_bits = *db;
  auto sb = IntIn(parts[3], 1, 2, "--rtu stop bits");
  if (!sb) return sb.error();
  r.stop_bits = *sb;
  auto units = ParseUnits(parts[4]);
  if (!units) return Bad("--rtu " + std::string(value) + ": " + units.error().message);
  r.units = std::move(*units);
  return r;
}

std::string Join(const std::vector<std::string_view>& parts, size_t from, size_t to) {
  std::string s;
  for (size_t k = from; k < to; ++k) {
    if (k > from) s += ':';
    s += parts[k];
  }
  return s;
}

// DEVICE:BAUD:PARITY:DATABITS:STOPBITS:UNITS[:MAPFILE]; the device and the
// map file may hold ':'. The five settings are the rightmost run of five
// ':'-separated parts that reads as settings, after a non-empty device.
Result<RtuLinkSpec> ParseRtu(std::string_view value) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t c = value.find(':', start);
    parts.push_back(value.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  if (parts.size() < 6) {
    return Bad("--rtu: expected DEVICE:BAUD:PARITY:DATABITS:STOPBITS:UNITS[:MAPFILE], not '" +
               std::string(value) + "'");
  }
  // When no reading works, report the problem of the likeliest: the
  // rightmost that starts with a known baud rate, else the rightmost.
  std::optional<Error> rightmost, with_baud;
  for (size_t i = parts.size() - 5; i >= 1; --i) {
    const std::vector<std::string_view> settings(parts.begin() + i, parts.begin() + i + 5);
    auto r = ParseRtuSettings(settings, value);
    if (!r) {
      int64_t baud = 0;
      if (!rightmost) rightmost = r.error();
      if (!with_baud && ParseInt(settings[0], &baud) && baud > 0 && baud <= 4000000 &&
          IsKnownBaud(static_cast<int>(baud))) {
        with_baud = r.error();
      }
      continue;
    }
    r->device = Join(parts, 0, i);
    if (r->device.empty()) return Bad("--rtu: empty device in '" + std::string(value) + "'");
    if (i + 5 < parts.size()) {
      r->map = Join(parts, i + 5, parts.size());
      if (r->map.empty()) return Bad("--rtu " + std::string(value) + ": empty MAPFILE");
    }
    return r;
  }
  return with_baud ? *with_baud : *rightmost;
}

}  // namespace

std::string_view Usage() {
  return "usage: liftsim [--tcp HOST:PORT:UNITS[:MAPFILE]]...\n"
         "               [--rtu DEVICE:BAUD:PARITY:DATABITS:STOPBITS:UNITS[:MAPFILE]]...\n"
         "               --control HOST:PORT [--scenario FILE] [--seed N] [--static]\n"
         "               [--floors MIN:MAX] [--rated-speed MM_S]\n"
         "  UNITS: a range 1-40, a list 1,3,5, or both 1-4,9 (unit ids 1..247)\n"
         "  MAPFILE: the register map the link serves, ref-1 (default) or a map file\n"
         "  PARITY: N, E or O; a TCP link is named by its port, RTU links rtu0, rtu1, ...\n"
         "  see docs/simulator.md\n";
}

Result<std::vector<int>> ParseUnits(std::string_view text) {
  std::vector<int> units;
  if (text.empty()) return Bad("empty unit list");
  size_t i = 0;
  while (i <= text.size()) {
    size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(i, comma - i);
    size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      auto u = IntIn(item, 1, 247, "unit");
      if (!u) return u.error();
      units.push_back(*u);
    } else {
      auto a = IntIn(item.substr(0, dash), 1, 247, "unit");
      if (!a) return a.error();
      auto b = IntIn(item.substr(dash + 1), 1, 247, "unit");
      if (!b) return b.error();
      if (*b < *a) return Bad("unit range '" + std::string(item) + "' runs backwards");
      for (int u = *a; u <= *b; ++u) units.push_back(u);
    }
    i = comma + 1;
  }
  std::sort(units.begin(), units.end());
  if (std::adjacent_find(units.begin(), units.end()) != units.end()) {
    return Bad("unit list '" + std::string(text) + "' names a unit twice");
  }
  return units;
}

Result<SimOptions> ParseCommandLine(int argc, const char* const* argv) {
  SimOptions o;
  bool have_control = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    const bool takes_value = arg == "--tcp" || arg == "--rtu" || arg == "--control" ||
                             arg == "--scenario" || arg == "--seed" || arg == "--floors" ||
                             arg == "--rated-speed";
    if (takes_value) {
      if (i + 1 >= argc) return Bad(std::string(arg) + " needs a value");
      value = argv[++i];
    }
    if (arg == "--tcp") {
      auto spec = ParseTcp(value);
      if (!spec) return spec.error();
      o.tcp.push_back(std::move(*spec));
    } else if (arg == "--rtu") {
      auto spec = ParseRtu(value);
      if (!spec) return spec.error();
      o.rtu.push_back(std::move(*spec));
    } else if (arg == "--control") {
      auto hp = HostPort(value, "--control");
      if (!hp) return hp.error();
      o.control_host = hp->first;
      o.control_port = hp->second;
      have_control = true;
    } else if (arg == "--scenario") {
      if (value.empty()) return Bad("--scenario needs a file");
      o.scenario_path = std::string(value);
    } else if (arg == "--seed") {
      uint64_t s;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), s);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Bad("--seed must be a non-negative integer, not '" + std::string(value) + "'");
      }
      o.seed = s;
    } else if (arg == "--static") {
      o.is_static = true;
    } else if (arg == "--floors") {
      size_t colon = value.find(':', 1);  // MIN may be negative
      if (colon == std::string_view::npos) {
        return Bad("--floors: expected MIN:MAX, not '" + std::string(value) + "'");
      }
      auto lo = IntIn(value.substr(0, colon), -32768, 32767, "--floors MIN");
      if (!lo) return lo.error();
      auto hi = IntIn(value.substr(colon + 1), -32768, 32767, "--floors MAX");
      if (!hi) return hi.error();
      if (*hi < *lo) return Bad("--floors: MAX is below MIN in '" + std::string(value) + "'");
      o.bottom_floor = *lo;
      o.top_floor = *hi;
    } else if (arg == "--rated-speed") {
      auto v = IntIn(value, 1, 65535, "--rated-speed");
      if (!v) return v.error();
      o.rated_speed_mm_s = *v;
    } else if (arg == "--help" || arg == "-h") {
      return Error::Permanent("help", std::string(Usage()));
    } else {
      return Bad("unknown option '" + std::string(arg) + "'");
    }
  }
  if (!have_control) return Bad("--control HOST:PORT is required");
  if (o.tcp.empty() && o.rtu.empty()) return Bad("no link: give at least one --tcp or --rtu");
  for (size_t a = 0; a < o.tcp.size(); ++a) {
    for (size_t b = a + 1; b < o.tcp.size(); ++b) {
      if (o.tcp[a].port != 0 && o.tcp[a].port == o.tcp[b].port) {
        return Bad("--tcp: port " + std::to_string(o.tcp[a].port) +
                   " given twice (a TCP link is named by its port)");
      }
    }
  }
  return o;
}

}  // namespace lg::sim
