// Config: the daemon's configuration, read from TOML in the shape of
// shared/spec/liftguard.example.toml.
//
// LoadConfig refuses, with "FILE:LINE: reason" (LINE is the line of the
// offending key or table), anything it does not understand: an unknown key
// or table, a wrong type, a missing required key, a value out of range, an
// elevator on a link that does not exist, two elevators on the same link and
// unit, a map file that is missing or bad. It reports every problem it finds
// (one per line in Error::message), not just the first.
//
// Sections not yet implemented by the daemon ([rules], [[contractor]],
// [[contact]], [[channel]], [smtp], [mqtt], [[escalation]]) are parsed and
// checked for shape only, so the example file loads.
//
// Thread-safety: plain values. LoadConfig has no shared state.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "drivers/register_map.h"

namespace lg {

struct SiteConfig {
  std::string name;
  std::string timezone = "Asia/Shanghai";
  int arrival_target_min = 30;
};

struct DaemonConfig {
  std::string database = "var/liftguard.db";  // relative paths: to the config file's folder
  std::string listen = "127.0.0.1:8080";
  std::string log_level = "info";  // trace|debug|info|warn|error|critical|off
};

struct PollingConfig {
  int interval_ms = 500;
  int timeout_ms = 300;
  int comms_lost_after_ms = 10000;
  int backoff_first_ms = 500;   // backoff_ms[0]
  int backoff_cap_ms = 30000;   // backoff_ms[1]
  int gap_ms = 0;               // pause between two requests on one link
  int io_threads = 1;           // threads running TCP links (Asio)
  int serial_threads = 4;       // cap on threads running RTU buses
};

struct LinkConfig {
  enum class Transport { kTcp, kRtu };
  std::string id;
  Transport transport = Transport::kTcp;
  // tcp
  std::string host;
  int port = 502;
  // rtu
  std::string device;
  int baud = 9600;
  char parity = 'N';  // N, E, O
  int data_bits = 8;
  int stop_bits = 1;
  // optional per-link overrides of [polling]
  std::optional<int> timeout_ms;
  std::optional<int> gap_ms;
  int line = 0;
};

struct ElevatorConfig {
  std::string id;
  std::string name;
  std::string building;
  std::string registration_code;
  std::string link;
  int unit = 1;
  std::string map = "ref-1";  // as written
  std::shared_ptr<const drivers::RegisterMap> register_map;  // resolved
  std::optional<int> rated_speed_mm_s;
  std::optional<int> floor_min;
  std::optional<int> floor_max;
  std::string first_use;  // YYYY-MM-DD, validated
  std::string contractor;
  std::optional<int> interval_ms;  // overrides [polling].interval_ms
  int line = 0;
};

struct Config {
  std::string path;  // the file it came from
  SiteConfig site;
  DaemonConfig daemon;
  PollingConfig polling;
  std::vector<LinkConfig> links;
  std::vector<ElevatorConfig> elevators;

  const LinkConfig* FindLink(const std::string& id) const;
};

Result<Config> LoadConfig(const std::string& path);
// Same, from text already in memory; `path` is used in messages and to
// resolve relative paths (map files, database).
Result<Config> ParseConfig(const std::string& text, const std::string& path);

}  // namespace lg
