// Reads and checks the configuration (contract in config.h, user reference in
// docs/configuration.md).
//
// Every check appends to a Problems list instead of returning early, so one
// run of --check-config shows every mistake at once. Each table is read
// through a Section, which remembers the keys the code asked for; whatever is
// left over is an unknown key and an error, because a misspelt threshold
// would otherwise fall back to its default without anyone noticing.
#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "core/problems.h"

namespace lg {
namespace {

namespace fs = std::filesystem;

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

std::string Quote(std::string_view key) { return "'" + std::string(key) + "'"; }

std::string FormatNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

enum class Need { kOptional, kRequired };

// One TOML table as the code reads it. `name` is how messages show the table:
// "[polling]", "[[link]]", "[elevator.rules]".
class Section {
 public:
  Section(Problems& problems, const toml::table& table, std::string name)
      : problems_(problems), table_(table), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  Problems& problems() { return problems_; }
  // Line of the table's header; 1 for the root and for tables without one.
  int line() const { return std::max(1, LineOf(table_)); }

  // The line of `key`, or of the table when the key is absent (the place a
  // missing key belongs).
  int KeyLine(std::string_view key) const {
    auto it = table_.find(key);
    if (it == table_.end()) return line();
    int l = static_cast<int>(it->first.source().begin.line);
    if (l <= 0) l = LineOf(it->second);
    return l > 0 ? l : line();
  }

  void Fail(std::string_view key, std::string text) {
    problems_.Add(KeyLine(key), std::move(text));
  }
  void FailAt(int line, std::string text) { problems_.Add(line, std::move(text)); }

  bool Has(std::string_view key) const { return table_.contains(key); }

  // The value of `key` (nullptr if absent, reported when required). Marks
  // the key as known.
  const toml::node* Lookup(std::string_view key, Need need = Need::kOptional) {
    known_.emplace(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr && need == Need::kRequired) {
      problems_.Add(line(), "missing required key " + Quote(key) + " in " + name_);
    }
    return node;
  }

  // Accepts `key` without reading it (it is read elsewhere).
  void Accept(std::string_view key) { known_.emplace(key); }

  // Required strings must also be non-empty: an empty id or host is as good
  // as a missing one.
  bool String(std::string_view key, std::string& out, Need need = Need::kOptional) {
    const toml::node* node = Lookup(key, need);
    if (node == nullptr) return false;
    const auto* s = node->as_string();
    if (s == nullptr) {
      Fail(key, Quote(key) + " must be a string");
      return false;
    }
    if (need == Need::kRequired && s->get().empty()) {
      Fail(key, Quote(key) + " must not be empty");
      return false;
    }
    out = s->get();
    return true;
  }

  bool Int(std::string_view key, int& out, int64_t lo, int64_t hi, Need need = Need::kOptional) {
    int64_t v = 0;
    if (!RawInt(key, v, need)) return false;
    if (v < lo || v > hi) {
      Fail(key, Quote(key) + " must be " + std::to_string(lo) + ".." + std::to_string(hi) +
                    ", not " + std::to_string(v));
      return false;
    }
    out = static_cast<int>(v);
    return true;
  }

  bool Int(std::string_view key, std::optional<int>& out, int64_t lo, int64_t hi) {
    int v = 0;
    if (!Int(key, v, lo, hi)) return false;
    out = v;
    return true;
  }

  bool IntOneOf(std::string_view key, int& out, std::initializer_list<int> allowed) {
    int64_t v = 0;
    if (!RawInt(key, v, Need::kOptional)) return false;
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (int a : allowed) list += (list.empty() ? "" : ", ") + std::to_string(a);
      Fail(key, Quote(key) + " must be one of " + list + ", not " + std::to_string(v));
      return false;
    }
    out = static_cast<int>(v);
    return true;
  }

  // A number: integers are accepted where a fraction is allowed.
  bool Number(std::string_view key, double& out, double lo, double hi) {
    const toml::node* node = Lookup(key);
    if (node == nullptr) return false;
    double v = 0;
    if (const auto* f = node->as_floating_point()) {
      v = f->get();
    } else if (const auto* i = node->as_integer()) {
      v = static_cast<double>(i->get());
    } else {
      Fail(key, Quote(key) + " must be a number");
      return false;
    }
    if (!(v >= lo && v <= hi)) {  // also refuses nan
      Fail(key, Quote(key) + " must be " + FormatNumber(lo) + ".." + FormatNumber(hi) + ", not " +
                    FormatNumber(v));
      return false;
    }
    out = v;
    return true;
  }

  // `key` = [a, b], two integers. `shape` names them for the message.
  bool IntPair(std::string_view key, int64_t& a, int64_t& b, std::string_view shape) {
    const toml::node* node = Lookup(key);
    if (node == nullptr) return false;
    const auto* arr = node->as_array();
    if (arr == nullptr || arr->size() != 2 || !(*arr)[0].is_integer() || !(*arr)[1].is_integer()) {
      Fail(key, Quote(key) + " must be an array of two integers " + std::string(shape));
      return false;
    }
    a = (*arr)[0].as_integer()->get();
    b = (*arr)[1].as_integer()->get();
    return true;
  }

  // `key` = ["...", ...]: each string with the line it is on, so a bad
  // entry of a long multi-line array is reported where it is.
  bool StringList(std::string_view key, std::vector<std::pair<std::string, int>>& out, Need need) {
    const toml::node* node = Lookup(key, need);
    if (node == nullptr) return false;
    const auto* arr = node->as_array();
    if (arr != nullptr && arr->empty()) {
      if (need == Need::kRequired) Fail(key, Quote(key) + " must not be empty");
      return need != Need::kRequired;
    }
    if (arr == nullptr || !arr->is_homogeneous(toml::node_type::string)) {
      Fail(key, Quote(key) + " must be an array of strings");
      return false;
    }
    for (const toml::node& element : *arr) {
      int l = LineOf(element);
      out.emplace_back(element.as_string()->get(), l > 0 ? l : KeyLine(key));
    }
    return true;
  }

  // A sub-table (e.g. an elevator's `rules`); nullptr if absent or not a table.
  const toml::table* Table(std::string_view key, std::string_view how_to_write) {
    const toml::node* node = Lookup(key);
    if (node == nullptr) return nullptr;
    const auto* table = node->as_table();
    if (table == nullptr) {
      Fail(key, Quote(key) + " must be a table: write " + std::string(how_to_write));
    }
    return table;
  }

  void RejectUnknown() {
    for (const auto& [key, value] : table_) {
      if (known_.count(std::string(key.str())) != 0) continue;
      int l = static_cast<int>(key.source().begin.line);
      problems_.Add(l > 0 ? l : line(), "unknown key " + Quote(key.str()) + " in " + name_);
    }
  }

 private:
  bool RawInt(std::string_view key, int64_t& out, Need need) {
    const toml::node* node = Lookup(key, need);
    if (node == nullptr) return false;
    const auto* i = node->as_integer();
    if (i == nullptr) {
      Fail(key, Quote(key) + " must be an integer");
      return false;
    }
    out = i->get();
    return true;
  }

  Problems& problems_;
  const toml::table& table_;
  std::string name_;
  std::set<std::string, std::less<>> known_;
};

// ---------------------------------------------------------------------------
// Value shapes

bool ValidId(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads an identifier: required, non-empty, [A-Za-z0-9_.-]+. On a bad
// charset `out` still holds the text, so later messages can name it.
bool ReadId(Section& s, std::string_view key, std::string& out) {
  if (!s.String(key, out, Need::kRequired)) return false;
  if (!ValidId(out)) {
    s.Fail(key, Quote(key) + " must use only letters, digits, '_', '.' and '-', not '" + out + "'");
    return false;
  }
  return true;
}

// Records `id` as defined by this section; reports a second definition.
void CheckUnique(Section& s, std::string_view what, const std::string& id,
                 std::map<std::string, int>& seen) {
  auto [it, fresh] = seen.emplace(id, s.line());
  if (!fresh) {
    s.Fail("id", "duplicate " + std::string(what) + " id '" + id + "' (first defined at line " +
                     std::to_string(it->second) + ")");
  }
}

// YYYY-MM-DD naming a day that exists (2024-02-29 yes, 2023-02-29 no).
bool ValidDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) {
    return false;
  }
  int y = std::stoi(std::string(s.substr(0, 4)));
  unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m},
                                     std::chrono::day{d}}
      .ok();
}

// "host:port" or "[v6-address]:port".
bool ValidListen(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
  }
  if (host.empty() || !AllDigits(port) || port.size() > 5) return false;
  int p = std::stoi(std::string(port));
  return p >= 1 && p <= 65535;
}

bool ValidEmail(std::string_view s) {
  size_t at = s.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
         s.find('@', at + 1) == std::string_view::npos &&
         s.find_first_of(" \t<>,;") == std::string_view::npos;
}

// Digits with the usual separators; at least three digits ("110", "+86 20 ...").
bool ValidPhone(std::string_view s) {
  int digits = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '+' && c != ' ' && c != '-' && c != '(' && c != ')') {
      return false;
    }
  }
  return digits >= 3;
}

bool HasScheme(std::string_view url, std::initializer_list<std::string_view> schemes) {
  for (std::string_view scheme : schemes) {
    if (url.size() > scheme.size() && url.substr(0, scheme.size()) == scheme) return true;
  }
  return false;
}

bool ValidTimezone(std::string_view s) {
  return !s.empty() && s.front() != '/' && s.find("..") == std::string_view::npos &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '/';
         });
}

// ---------------------------------------------------------------------------
// Sections

void ParseSite(Section& s, SiteConfig& out) {
  s.String("name", out.name, Need::kRequired);
  if (s.String("timezone", out.timezone)) {
    std::optional<int> offset = FixedUtcOffsetMin(out.timezone);
    if (offset) {
      out.utc_offset_min = *offset;
    } else if (!ValidTimezone(out.timezone) && out.timezone.find(':') == std::string::npos) {
      s.Fail("timezone", "'timezone' must be a zone name such as \"Asia/Shanghai\", not '" +
                             out.timezone + "'");
    } else {
      s.Fail("timezone", "'timezone' '" + out.timezone +
                             "' is not one Liftguard knows: use a zone of the table in "
                             "docs/configuration.md (e.g. \"Asia/Shanghai\", \"UTC\") or "
                             "the site's offset from UTC, e.g. \"+08:00\"");
    }
  }
  s.Int("acknowledge_target_min", out.acknowledge_target_min, 1, 60);
  s.Int("accept_target_min", out.accept_target_min, 1, 240);
  s.Int("arrival_target_min", out.arrival_target_min, 1, 240);
  if (s.String("language", out.language) && out.language != "zh" && out.language != "en" &&
      out.language != "both") {
    s.Fail("language", "'language' must be \"zh\", \"en\" or \"both\", not '" + out.language + "'");
  }
  s.String("main_responsible", out.main_responsible);  // a contact: checked with the contacts
  s.RejectUnknown();
}

void ParseNotify(Section& s, NotifyConfig& out) {
  s.Int("test_interval_h", out.test_interval_h, 0, 72);
  s.Int("retry_cap_s", out.retry_cap_s, 1, 3600);
  s.RejectUnknown();
}

void ParseRecords(Section& s, RecordsConfig& out) {
  std::string at;
  if (s.String("evaluate_at", at)) {
    auto digit = [&](size_t i) { return i < at.size() && at[i] >= '0' && at[i] <= '9'; };
    bool shape = at.size() == 5 && digit(0) && digit(1) && at[2] == ':' && digit(3) && digit(4);
    int h = shape ? (at[0] - '0') * 10 + (at[1] - '0') : -1;
    int m = shape ? (at[3] - '0') * 10 + (at[4] - '0') : -1;
    if (!shape || h > 23 || m > 59) {
      s.Fail("evaluate_at",
             "'evaluate_at' must be a local time \"HH:MM\" from 00:00 to 23:59, not '" + at + "'");
    } else {
      out.evaluate_at_min = h * 60 + m;
    }
  }
  s.RejectUnknown();
}

void ParseDaemon(Section& s, const fs::path& base, DaemonConfig& out) {
  std::string database = out.database;
  if (s.Has("database")) {
    s.String("database", database, Need::kRequired);
  } else {
    s.Accept("database");
  }
  fs::path db(database);
  out.database = (db.is_absolute() ? db : base / db).lexically_normal().string();

  if (s.String("listen", out.listen) && !ValidListen(out.listen)) {
    s.Fail("listen", "'listen' must be host:port (port 1..65535), e.g. \"127.0.0.1:8080\", not '" +
                         out.listen + "'");
  }
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (s.String("log_level", out.log_level) &&
      std::find(std::begin(kLevels), std::end(kLevels), out.log_level) == std::end(kLevels)) {
    s.Fail("log_level",
           "'log_level' must be one of trace, debug, info, warn, error, critical, off, not '" +
               out.log_level + "'");
  }
  s.RejectUnknown();
}

void ParsePolling(Section& s, PollingConfig& out) {
  s.Int("interval_ms", out.interval_ms, 50, 3600000);
  s.Int("timeout_ms", out.timeout_ms, 10, 60000);
  s.Int("comms_lost_after_ms", out.comms_lost_after_ms, 100, 3600000);
  int64_t first = 0;
  int64_t cap = 0;
  if (s.IntPair("backoff_ms", first, cap, "[first, cap]")) {
    if (first <= 0 || first > cap || cap > 3600000) {
      s.Fail("backoff_ms",
             "'backoff_ms' must be [first, cap] with 0 < first <= cap <= 3600000, not [" +
                 std::to_string(first) + ", " + std::to_string(cap) + "]");
    } else {
      out.backoff_first_ms = static_cast<int>(first);
      out.backoff_cap_ms = static_cast<int>(cap);
    }
  }
  s.Int("gap_ms", out.gap_ms, 0, 10000);
  s.Int("io_threads", out.io_threads, 1, 16);
  s.Int("serial_threads", out.serial_threads, 1, 64);
  s.RejectUnknown();
}

// [rules] and an elevator's `rules`: one table of keys so the two cannot
// drift apart.
struct RuleKey {
  std::string_view name;
  int RulesConfig::*int_field;        // set for whole-second and count keys
  double RulesConfig::*double_field;  // set for factors
  double lo;
  double hi;
  bool site_wide;  // refused in an elevator's `rules`
};

constexpr RuleKey kRuleKeys[] = {
    {"trapped_between_floors_s", &RulesConfig::trapped_between_floors_s, nullptr, 5, 3600, false},
    {"trapped_at_floor_s", &RulesConfig::trapped_at_floor_s, nullptr, 5, 3600, false},
    {"trapped_alarm_button_s", &RulesConfig::trapped_alarm_button_s, nullptr, 1, 600, false},
    {"trapped_power_loss_s", &RulesConfig::trapped_power_loss_s, nullptr, 5, 3600, false},
    {"door_open_while_moving_s", &RulesConfig::door_open_while_moving_s, nullptr, 0, 60, false},
    {"overspeed_factor", nullptr, &RulesConfig::overspeed_factor, 1.01, 2.0, false},
    {"overspeed_s", &RulesConfig::overspeed_s, nullptr, 0, 60, false},
    {"overspeed_clear_factor", nullptr, &RulesConfig::overspeed_clear_factor, 0.5, 2.0, false},
    {"stop_outside_door_zone_s", &RulesConfig::stop_outside_door_zone_s, nullptr, 1, 3600, false},
    {"safety_circuit_open_s", &RulesConfig::safety_circuit_open_s, nullptr, 0, 600, false},
    {"door_lock_fault_s", &RulesConfig::door_lock_fault_s, nullptr, 0, 600, false},
    {"power_failure_s", &RulesConfig::power_failure_s, nullptr, 0, 600, false},
    {"brake_fault_s", &RulesConfig::brake_fault_s, nullptr, 0, 60, false},
    {"controller_fault_s", &RulesConfig::controller_fault_s, nullptr, 0, 600, false},
    {"door_open_too_long_s", &RulesConfig::door_open_too_long_s, nullptr, 10, 86400, false},
    {"controller_frozen_s", &RulesConfig::controller_frozen_s, nullptr, 2, 3600, false},
    {"clear_s", &RulesConfig::clear_s, nullptr, 0, 600, false},
    {"chatter_count", &RulesConfig::chatter_count, nullptr, 2, 100, false},
    {"chatter_window_s", &RulesConfig::chatter_window_s, nullptr, 1, 3600, false},
    {"chatter_notify_interval_s", &RulesConfig::chatter_notify_interval_s, nullptr, 0, 86400,
     false},
    {"flood_count", &RulesConfig::flood_count, nullptr, 1, 10000, true},
    {"flood_window_s", &RulesConfig::flood_window_s, nullptr, 1, 86400, true},
    {"flood_digest_s", &RulesConfig::flood_digest_s, nullptr, 10, 3600, true},
};

// Applies the keys present in `s` on top of `out` (which holds the defaults,
// or for an elevator the site's rules).
void ParseRules(Section& s, RulesConfig& out, bool per_elevator) {
  for (const RuleKey& k : kRuleKeys) {
    if (per_elevator && k.site_wide) {
      if (s.Lookup(k.name) != nullptr) {
        s.Fail(k.name, Quote(k.name) + " is site-wide: set it in [rules], not " + s.name());
      }
      continue;
    }
    if (k.int_field != nullptr) {
      s.Int(k.name, out.*k.int_field, static_cast<int64_t>(k.lo), static_cast<int64_t>(k.hi));
    } else {
      s.Number(k.name, out.*k.double_field, k.lo, k.hi);
    }
  }
  // Checked where either key is set, so a site-wide mistake is reported once
  // and not again for every elevator that inherits it.
  bool touched = s.Has("overspeed_factor") || s.Has("overspeed_clear_factor");
  if (touched && out.overspeed_clear_factor > out.overspeed_factor) {
    s.Fail(s.Has("overspeed_clear_factor") ? "overspeed_clear_factor" : "overspeed_factor",
           "'overspeed_clear_factor' (" + FormatNumber(out.overspeed_clear_factor) +
               ") must not exceed 'overspeed_factor' (" + FormatNumber(out.overspeed_factor) + ")");
  }
  s.RejectUnknown();
}

// Returns whether the endpoint (host and port, or device) was read intact,
// so that the caller compares only real endpoints for duplicates.
bool ParseLink(Section& s, LinkConfig& out) {
  out.line = s.line();
  ReadId(s, "id", out.id);

  std::string transport;
  bool tcp = false;
  bool rtu = false;
  if (s.String("transport", transport, Need::kRequired)) {
    tcp = transport == "tcp";
    rtu = transport == "rtu";
    if (!tcp && !rtu) {
      s.Fail("transport", "'transport' must be \"tcp\" or \"rtu\", not '" + transport + "'");
    }
  }
  out.transport = rtu ? LinkConfig::Transport::kRtu : LinkConfig::Transport::kTcp;

  static constexpr std::string_view kTcpKeys[] = {"host", "port"};
  static constexpr std::string_view kRtuKeys[] = {"device", "baud", "parity", "data_bits",
                                                  "stop_bits"};
  // A key of the other transport is most likely a leftover from copying a
  // link; saying so beats "unknown key".
  auto refuse = [&](std::span<const std::string_view> keys, std::string_view kind) {
    for (std::string_view key : keys) {
      s.Accept(key);
      if (s.Has(key)) {
        s.Fail(key, Quote(key) + " does not apply to a " + std::string(kind) + " link");
      }
    }
  };
  bool endpoint_ok = false;
  if (tcp) {
    bool host_ok = s.String("host", out.host, Need::kRequired);
    endpoint_ok = s.Int("port", out.port, 1, 65535, Need::kRequired) && host_ok;
    refuse(kRtuKeys, "tcp");
  } else if (rtu) {
    endpoint_ok = s.String("device", out.device, Need::kRequired);
    s.IntOneOf("baud", out.baud, {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200});
    std::string parity;
    if (s.String("parity", parity)) {
      if (parity == "N" || parity == "E" || parity == "O") {
        out.parity = parity[0];
      } else {
        s.Fail("parity", "'parity' must be \"N\", \"E\" or \"O\", not '" + parity + "'");
      }
    }
    s.IntOneOf("data_bits", out.data_bits, {7, 8});
    s.IntOneOf("stop_bits", out.stop_bits, {1, 2});
    refuse(kTcpKeys, "rtu");
  } else {
    // Transport unknown: which keys belong is unknowable; the transport
    // error already says what to mend.
    for (std::string_view key : kTcpKeys) s.Accept(key);
    for (std::string_view key : kRtuKeys) s.Accept(key);
  }
  s.Int("timeout_ms", out.timeout_ms, 10, 60000);
  s.Int("gap_ms", out.gap_ms, 0, 10000);
  s.RejectUnknown();
  return endpoint_ok;
}

void ParseContractor(Section& s, ContractorConfig& out) {
  out.line = s.line();
  ReadId(s, "id", out.id);
  s.String("name", out.name, Need::kRequired);
  if (s.String("duty_phone", out.duty_phone, Need::kRequired) && !ValidPhone(out.duty_phone)) {
    s.Fail("duty_phone",
           "'duty_phone' must be a phone number (digits, spaces, '+', '-', '(', "
           "')'), not '" +
               out.duty_phone + "'");
  }
  s.String("backup", out.backup);
  s.RejectUnknown();
}

void ParseChannel(Section& s, ChannelConfig& out) {
  out.line = s.line();
  ReadId(s, "id", out.id);
  std::string kind;
  bool kind_ok = false;
  if (s.String("kind", kind, Need::kRequired)) {
    kind_ok = true;
    if (kind == "webhook") {
      out.kind = ChannelConfig::Kind::kWebhook;
    } else if (kind == "email") {
      out.kind = ChannelConfig::Kind::kEmail;
    } else if (kind == "mqtt") {
      out.kind = ChannelConfig::Kind::kMqtt;
    } else if (kind == "sms") {
      out.kind = ChannelConfig::Kind::kSms;
    } else {
      kind_ok = false;
      s.Fail("kind", "'kind' must be webhook, email, mqtt or sms, not '" + kind + "'");
    }
  }
  bool url_ok = s.String("url", out.url, Need::kRequired);
  if (kind_ok && url_ok) {
    bool good = true;
    std::string want;
    switch (out.kind) {
      case ChannelConfig::Kind::kWebhook:
      case ChannelConfig::Kind::kSms:
        good = HasScheme(out.url, {"http://", "https://"});
        want = "http:// or https://";
        break;
      case ChannelConfig::Kind::kEmail:
        good = HasScheme(out.url, {"smtp://", "smtps://"});
        want = "smtp:// or smtps://";
        break;
      case ChannelConfig::Kind::kMqtt:
        good = HasScheme(out.url, {"mqtt://", "mqtts://"});
        want = "mqtt:// or mqtts://";
        break;
    }
    if (!good) {
      s.Fail("url",
             "'url' must start with " + want + " for kind " + kind + ", not '" + out.url + "'");
    }
  }

  std::string format;
  if (s.String("format", format)) {
    if (kind_ok && out.kind != ChannelConfig::Kind::kWebhook) {
      s.Fail("format", "'format' applies only to webhook channels");
    } else if (format == "generic") {
      out.format = ChannelConfig::Format::kGeneric;
    } else if (format == "wecom") {
      out.format = ChannelConfig::Format::kWecom;
    } else if (format == "dingtalk") {
      out.format = ChannelConfig::Format::kDingtalk;
    } else {
      s.Fail("format", "'format' must be generic, wecom or dingtalk, not '" + format + "'");
    }
  }

  bool sms = kind_ok && out.kind == ChannelConfig::Kind::kSms;
  if (s.String("body_template", out.body_template, sms ? Need::kRequired : Need::kOptional) &&
      kind_ok && !sms) {
    s.Fail("body_template", "'body_template' applies only to sms channels");
  }
  s.RejectUnknown();
}

// `route_lines[i]` is the line of out.routes[i], for later cross-checks.
void ParseContact(Section& s, ContactConfig& out, std::vector<int>& route_lines) {
  out.line = s.line();
  if (ReadId(s, "id", out.id) && (out.id == "security-room" || out.id == "main-responsible")) {
    s.Fail("id", "contact id '" + out.id + "' is reserved for the escalation target of that name");
  }
  if (!s.String("name", out.name)) out.name = out.id;
  std::vector<std::pair<std::string, int>> channels;
  s.StringList("channels", channels, Need::kRequired);
  for (const auto& [text, line] : channels) {
    size_t colon = text.find(':');
    std::string_view kind = std::string_view(text).substr(0, colon);
    std::string address = colon == std::string::npos ? "" : text.substr(colon + 1);
    ContactRoute route;
    route.address = address;
    bool good = true;
    if (colon == std::string::npos || address.empty()) {
      s.FailAt(line, "contact channel '" + text +
                         "' must be kind:address, kind one of email, webhook, sms, mqtt");
      continue;
    } else if (kind == "email") {
      route.kind = ContactRoute::Kind::kEmail;
      good = ValidEmail(address);
    } else if (kind == "webhook") {
      route.kind = ContactRoute::Kind::kWebhook;
      good = ValidId(address);
    } else if (kind == "sms") {
      route.kind = ContactRoute::Kind::kSms;
      good = ValidPhone(address);
    } else if (kind == "mqtt") {
      route.kind = ContactRoute::Kind::kMqtt;
      good = address.find_first_of("+#") == std::string::npos;
    } else {
      s.FailAt(line,
               "contact channel '" + text + "' has unknown kind; use email, webhook, sms or mqtt");
      continue;
    }
    if (!good) {
      static constexpr std::string_view kShape[] = {"an e-mail address", "a [[channel]] id",
                                                    "a phone number",
                                                    "an MQTT topic without wildcards"};
      s.FailAt(line, "contact channel '" + text + "': the part after '" + std::string(kind) +
                         ":' must be " + std::string(kShape[static_cast<int>(route.kind)]));
      continue;
    }
    out.routes.push_back(std::move(route));
    route_lines.push_back(line);
  }
  s.RejectUnknown();
}

void ParseSmtp(Section& s, SmtpConfig& out) {
  if (s.String("url", out.url, Need::kRequired) && !HasScheme(out.url, {"smtp://", "smtps://"})) {
    s.Fail("url", "'url' must start with smtp:// or smtps://, not '" + out.url + "'");
  }
  if (s.String("from", out.from, Need::kRequired) && !ValidEmail(out.from)) {
    s.Fail("from", "'from' must be an e-mail address, not '" + out.from + "'");
  }
  s.String("username", out.username);
  if (s.String("password", out.password) && !s.Has("username")) {
    s.Fail("password", "'password' needs 'username'");
  }
  s.RejectUnknown();
}

void ParseMqtt(Section& s, MqttConfig& out) {
  if (s.String("url", out.url, Need::kRequired) && !HasScheme(out.url, {"mqtt://", "mqtts://"})) {
    s.Fail("url", "'url' must start with mqtt:// or mqtts://, not '" + out.url + "'");
  }
  if (s.String("topic_prefix", out.topic_prefix) &&
      (out.topic_prefix.empty() || out.topic_prefix.find_first_of("+#") != std::string::npos)) {
    s.Fail("topic_prefix", "'topic_prefix' must be a non-empty MQTT topic without wildcards");
  }
  s.RejectUnknown();
}

// ---------------------------------------------------------------------------
// The whole file

struct TopLevel {
  std::string_view name;
  bool array;  // [[name]] rather than [name]
};

constexpr TopLevel kTopLevel[] = {
    {"site", false},    {"daemon", false},  {"polling", false},   {"link", true},
    {"elevator", true}, {"rules", false},   {"contractor", true}, {"contact", true},
    {"channel", true},  {"smtp", false},    {"mqtt", false},      {"escalation", true},
    {"notify", false},  {"records", false},
};

class Loader {
 public:
  Loader(const toml::table& root, const std::string& path)
      : root_(root), problems_(path), top_(problems_, root, "the top level") {
    fs::path folder = fs::path(path).parent_path();
    if (folder.empty()) folder = ".";
    std::error_code ec;
    fs::path absolute = fs::absolute(folder, ec);
    base_ = (ec ? folder : absolute).lexically_normal();
    config_.path = path;
  }

  Result<Config> Run() {
    CheckTopLevel();
    if (const toml::table* t = Table("site")) {
      Section s(problems_, *t, "[site]");
      ParseSite(s, config_.site);
    } else if (!root_.contains("site")) {
      problems_.Add(1, "missing required table [site] (it needs at least 'name')");
    }
    if (const toml::table* t = Table("daemon")) {
      Section s(problems_, *t, "[daemon]");
      ParseDaemon(s, base_, config_.daemon);
    } else {
      config_.daemon.database = (base_ / config_.daemon.database).lexically_normal().string();
    }
    if (const toml::table* t = Table("polling")) {
      Section s(problems_, *t, "[polling]");
      ParsePolling(s, config_.polling);
    }
    if (const toml::table* t = Table("rules")) {
      Section s(problems_, *t, "[rules]");
      ParseRules(s, config_.rules, /*per_elevator=*/false);
    }
    ParseLinks();
    ParseContractors();
    ParseChannels();
    if (const toml::table* t = Table("smtp")) {
      Section s(problems_, *t, "[smtp]");
      ParseSmtp(s, config_.smtp.emplace());
    }
    if (const toml::table* t = Table("mqtt")) {
      Section s(problems_, *t, "[mqtt]");
      ParseMqtt(s, config_.mqtt.emplace());
    }
    ParseContacts();
    CheckMainResponsible();
    ParseElevators();
    ParseEscalation();
    if (const toml::table* t = Table("notify")) {
      Section s(problems_, *t, "[notify]");
      ParseNotify(s, config_.notify);
    }
    if (const toml::table* t = Table("records")) {
      Section s(problems_, *t, "[records]");
      ParseRecords(s, config_.records);
    }
    if (!problems_.empty()) return problems_.ToError("config");
    return std::move(config_);
  }

 private:
  void CheckTopLevel() {
    for (const auto& [key, value] : root_) {
      auto it = std::find_if(std::begin(kTopLevel), std::end(kTopLevel),
                             [&](const TopLevel& t) { return t.name == key.str(); });
      int line = top_.KeyLine(key.str());
      std::string name(key.str());
      if (it == std::end(kTopLevel)) {
        if (value.is_array_of_tables()) {
          problems_.Add(line, "unknown table [[" + name + "]]");
        } else if (value.is_table()) {
          problems_.Add(line, "unknown table [" + name + "]");
        } else {
          problems_.Add(line, "unknown key '" + name + "' at the top level");
        }
      } else if (it->array && !value.is_array_of_tables()) {
        problems_.Add(line, "'" + name + "' must be an array of tables: write [[" + name + "]]");
      } else if (!it->array && !value.is_table()) {
        problems_.Add(line, "'" + name + "' must be a table: write [" + name + "]");
      }
    }
  }

  // A [name] table, or nullptr if absent or the wrong shape (reported by
  // CheckTopLevel).
  const toml::table* Table(std::string_view name) const { return root_[name].as_table(); }

  // The entries of [[name]]; empty if absent or the wrong shape.
  std::vector<const toml::table*> Array(std::string_view name) const {
    std::vector<const toml::table*> tables;
    const toml::array* arr = root_[name].as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) return tables;
    for (const toml::node& node : *arr) tables.push_back(node.as_table());
    return tables;
  }

  fs::path Resolve(const std::string& relative) const {
    fs::path p(relative);
    return (p.is_absolute() ? p : base_ / p).lexically_normal();
  }

  void ParseLinks() {
    std::map<std::string, int> ids;
    std::map<std::string, std::pair<std::string, int>> endpoints;  // endpoint -> link, line
    for (const toml::table* t : Array("link")) {
      Section s(problems_, *t, "[[link]]");
      LinkConfig link;
      bool endpoint_ok = ParseLink(s, link);
      if (!link.id.empty()) CheckUnique(s, "link", link.id, ids);
      // Two links on one endpoint would put two masters on one bus, or two
      // connections on a gateway that serves one request at a time.
      bool tcp = link.transport == LinkConfig::Transport::kTcp;
      std::string endpoint = tcp ? link.host + ":" + std::to_string(link.port) : link.device;
      std::string key = tcp ? "port" : "device";
      if (endpoint_ok) {
        auto [it, fresh] = endpoints.emplace(endpoint, std::make_pair(link.id, link.line));
        if (!fresh) {
          s.Fail(key, "link '" + link.id + "' uses " + endpoint + " already used by link '" +
                          it->second.first + "' at line " + std::to_string(it->second.second));
        }
      }
      config_.links.push_back(std::move(link));
    }
  }

  void ParseContractors() {
    std::map<std::string, int> ids;
    std::vector<int> backup_lines;
    for (const toml::table* t : Array("contractor")) {
      Section s(problems_, *t, "[[contractor]]");
      ContractorConfig c;
      ParseContractor(s, c);
      if (!c.id.empty()) CheckUnique(s, "contractor", c.id, ids);
      backup_lines.push_back(s.KeyLine("backup"));
      config_.contractors.push_back(std::move(c));
    }
    // Backups may be defined after the contractor that names them.
    for (size_t i = 0; i < config_.contractors.size(); ++i) {
      const ContractorConfig& c = config_.contractors[i];
      if (c.backup.empty()) continue;
      if (c.backup == c.id) {
        problems_.Add(backup_lines[i], "contractor '" + c.id + "' cannot be its own backup");
      } else if (ids.count(c.backup) == 0) {
        // A rescue station may be named before it is set up; the file still
        // loads, and the warning says what it costs.
        config_.warnings.push_back(config_.path + ":" + std::to_string(backup_lines[i]) +
                                   ": contractor '" + c.id + "' has backup '" + c.backup +
                                   "', which no [[contractor]] defines: escalations to "
                                   "contractor:backup for its elevators reach nobody");
      }
    }
  }

  void CheckMainResponsible() {
    const std::string& id = config_.site.main_responsible;
    if (id.empty()) return;
    if (std::none_of(config_.contacts.begin(), config_.contacts.end(),
                     [&](const ContactConfig& c) { return c.id == id; })) {
      const toml::table* site = Table("site");
      Section s(problems_, *site, "[site]");
      s.Fail("main_responsible",
             "'main_responsible' must be the id of a [[contact]], not '" + id + "'");
    }
  }

  void ParseChannels() {
    std::map<std::string, int> ids;
    for (const toml::table* t : Array("channel")) {
      Section s(problems_, *t, "[[channel]]");
      ChannelConfig c;
      ParseChannel(s, c);
      if (!c.id.empty()) CheckUnique(s, "channel", c.id, ids);
      config_.channels.push_back(std::move(c));
    }
  }

  const ChannelConfig* FindChannel(const std::string& id) const {
    for (const ChannelConfig& c : config_.channels) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }

  bool HasChannelKind(ChannelConfig::Kind kind) const {
    return std::any_of(config_.channels.begin(), config_.channels.end(),
                       [&](const ChannelConfig& c) { return c.kind == kind; });
  }

  void ParseContacts() {
    std::map<std::string, int> ids;
    for (const toml::table* t : Array("contact")) {
      Section s(problems_, *t, "[[contact]]");
      ContactConfig c;
      std::vector<int> lines;
      ParseContact(s, c, lines);
      if (!c.id.empty()) CheckUnique(s, "contact", c.id, ids);
      // Each route must have a way out of the daemon, or the contact would
      // silently never hear of a trapped passenger.
      for (size_t i = 0; i < c.routes.size(); ++i) {
        const ContactRoute& r = c.routes[i];
        int line = lines[i];
        switch (r.kind) {
          case ContactRoute::Kind::kWebhook: {
            const ChannelConfig* ch = FindChannel(r.address);
            if (ch == nullptr) {
              s.FailAt(line, "contact '" + c.id + "' uses webhook:" + r.address +
                                 ", which no [[channel]] defines");
            } else if (ch->kind != ChannelConfig::Kind::kWebhook) {
              s.FailAt(line, "contact '" + c.id + "' uses webhook:" + r.address +
                                 ", but that channel is not of kind webhook");
            }
            break;
          }
          case ContactRoute::Kind::kEmail:
            if (!config_.smtp && !HasChannelKind(ChannelConfig::Kind::kEmail)) {
              s.FailAt(line, "contact '" + c.id +
                                 "' has an e-mail address, but there is no "
                                 "[smtp] table or email [[channel]] to send it");
            }
            break;
          case ContactRoute::Kind::kSms:
            if (!HasChannelKind(ChannelConfig::Kind::kSms)) {
              s.FailAt(line, "contact '" + c.id +
                                 "' has an sms number, but there is no sms [[channel]] to send it");
            }
            break;
          case ContactRoute::Kind::kMqtt:
            if (!config_.mqtt && !HasChannelKind(ChannelConfig::Kind::kMqtt)) {
              s.FailAt(line, "contact '" + c.id +
                                 "' has an mqtt topic, but there is no [mqtt] "
                                 "table or mqtt [[channel]] to publish it");
            }
            break;
        }
      }
      config_.contacts.push_back(std::move(c));
    }
  }

  void ParseElevators() {
    std::map<std::string, int> ids;
    // (link, unit) -> index into config_.elevators
    std::map<std::pair<std::string, int>, size_t> units;
    std::map<std::string, Result<std::shared_ptr<const drivers::RegisterMap>>> maps;
    for (const toml::table* t : Array("elevator")) {
      Section s(problems_, *t, "[[elevator]]");
      ElevatorConfig e;
      e.line = s.line();
      bool id_ok = ReadId(s, "id", e.id);
      if (id_ok) CheckUnique(s, "elevator", e.id, ids);
      const std::string who = e.id.empty() ? "the elevator" : "elevator '" + e.id + "'";
      if (!s.String("name", e.name)) e.name = e.id;
      s.String("building", e.building);
      s.String("registration_code", e.registration_code);

      if (s.String("link", e.link, Need::kRequired) && FindLink(e.link) == nullptr) {
        s.Fail("link", who + " is on link '" + e.link + "', which no [[link]] defines");
      }
      if (s.Int("unit", e.unit, 1, 247, Need::kRequired) && !e.link.empty()) {
        auto [it, fresh] = units.emplace(std::make_pair(e.link, e.unit), config_.elevators.size());
        if (!fresh) {
          const ElevatorConfig& first = config_.elevators[it->second];
          s.Fail("unit", who + " uses link '" + e.link + "' unit " + std::to_string(e.unit) +
                             " already used by '" + first.id + "' at line " +
                             std::to_string(first.line));
        }
      }

      // Optional (default "ref-1"), but an empty string is a mistake.
      bool map_ok = true;
      if (s.Has("map")) {
        map_ok = s.String("map", e.map, Need::kRequired);
      } else {
        s.Accept("map");
      }
      if (map_ok) e.register_map = LoadMap(s, e.map, maps);

      s.Int("rated_speed_mm_s", e.rated_speed_mm_s, 100, 20000);
      int64_t lo = 0;
      int64_t hi = 0;
      if (s.IntPair("floors", lo, hi, "[min, max]")) {
        // The floor register is a signed 16-bit value.
        if (lo < -32768 || hi > 32767 || lo > hi) {
          s.Fail("floors", "'floors' must be [min, max] with -32768 <= min <= max <= 32767, not [" +
                               std::to_string(lo) + ", " + std::to_string(hi) + "]");
        } else {
          e.floor_min = static_cast<int>(lo);
          e.floor_max = static_cast<int>(hi);
        }
      }
      if (const toml::node* n = s.Lookup("first_use")) {
        if (const auto* str = n->as_string()) {
          if (ValidDate(str->get())) {
            e.first_use = str->get();
          } else {
            s.Fail("first_use",
                   "'first_use' must be a real date YYYY-MM-DD, not '" + str->get() + "'");
          }
        } else if (const auto* date = n->as_date()) {
          // A bare TOML date (first_use = 2018-06-01); toml++ has checked it.
          std::ostringstream text;
          text << date->get();
          e.first_use = text.str();
        } else {
          s.Fail("first_use", "'first_use' must be a date string \"YYYY-MM-DD\"");
        }
      }
      if (s.String("contractor", e.contractor) &&
          std::none_of(config_.contractors.begin(), config_.contractors.end(),
                       [&](const ContractorConfig& c) { return c.id == e.contractor; })) {
        s.Fail("contractor",
               who + " names contractor '" + e.contractor + "', which no [[contractor]] defines");
      }
      s.Int("interval_ms", e.interval_ms, 50, 3600000);
      e.rules = config_.rules;
      if (const toml::table* rules = s.Table("rules", "[elevator.rules]")) {
        Section r(problems_, *rules, "[elevator.rules]");
        ParseRules(r, e.rules, /*per_elevator=*/true);
      }
      s.RejectUnknown();
      config_.elevators.push_back(std::move(e));
    }
  }

  const LinkConfig* FindLink(const std::string& id) const { return config_.FindLink(id); }

  // Resolves an elevator's map, loading each file once however many cars
  // use it. Problems are reported at the `map` key of every car using it.
  std::shared_ptr<const drivers::RegisterMap> LoadMap(
      Section& s, const std::string& map,
      std::map<std::string, Result<std::shared_ptr<const drivers::RegisterMap>>>& cache) {
    std::string target = map;
    if (map != "ref-1") {
      fs::path file = Resolve(map);
      std::error_code ec;
      if (!fs::exists(file, ec)) {
        std::string hint;
        if (map.find('/') == std::string::npos && map.find('.') == std::string::npos) {
          hint = "; the only built-in map is \"ref-1\"";
        }
        s.Fail("map", "map file '" + map + "' not found (looked for " + file.string() + ")" + hint);
        return nullptr;
      }
      target = file.string();
    }
    auto it = cache.find(target);
    if (it == cache.end()) {
      it = cache.emplace(target, drivers::RegisterMap::Resolve(target)).first;
    }
    if (!it->second.ok()) {
      // The loader may report several problems, one per line; keep ours
      // one per line too.
      std::istringstream lines(it->second.error().message);
      std::string line;
      while (std::getline(lines, line)) {
        if (!line.empty()) s.Fail("map", "map '" + map + "' is invalid: " + line);
      }
      return nullptr;
    }
    return it->second.value();
  }

  void ParseEscalation() {
    static constexpr std::string_view kSteps[] = {
        "open", "acknowledged", "dispatched", "accepted", "on_site", "released", "closed"};
    for (const toml::table* t : Array("escalation")) {
      Section s(problems_, *t, "[[escalation]]");
      EscalationStep step;
      step.line = s.line();
      s.Int("after_min", step.after_min, 0, 1440, Need::kRequired);
      if (s.String("unless", step.unless) &&
          std::find(std::begin(kSteps), std::end(kSteps), step.unless) == std::end(kSteps)) {
        s.Fail("unless",
               "'unless' must be one of open, acknowledged, dispatched, accepted, "
               "on_site, released, closed, not '" +
                   step.unless + "'");
      }
      std::vector<std::pair<std::string, int>> notify;
      s.StringList("notify", notify, Need::kRequired);
      for (const auto& [text, line] : notify) {
        NotifyTarget target;
        if (text == "security-room") {
          target.kind = NotifyTarget::Kind::kSecurityRoom;
        } else if (text == "contractor:on-call") {
          target.kind = NotifyTarget::Kind::kOnCallContractor;
        } else if (text == "contractor:backup") {
          target.kind = NotifyTarget::Kind::kBackupContractor;
        } else if (text == "main-responsible") {
          target.kind = NotifyTarget::Kind::kMainResponsible;
        } else if (text.rfind("channel:", 0) == 0) {
          target.kind = NotifyTarget::Kind::kChannel;
          target.id = text.substr(8);
          if (FindChannel(target.id) == nullptr) {
            s.FailAt(line,
                     "escalation target '" + text + "': no [[channel]] has id '" + target.id + "'");
            continue;
          }
        } else if (std::any_of(config_.contacts.begin(), config_.contacts.end(),
                               [&](const ContactConfig& c) { return c.id == text; })) {
          target.kind = NotifyTarget::Kind::kContact;
          target.id = text;
        } else {
          s.FailAt(line, "escalation target '" + text +
                             "' is not security-room, contractor:on-call, contractor:backup, "
                             "main-responsible, channel:ID or a [[contact]] id");
          continue;
        }
        step.notify.push_back(std::move(target));
      }
      s.RejectUnknown();
      config_.escalation.push_back(std::move(step));
    }
    // `dispatched` is recorded with `open`, in the transaction that queues
    // the chain's 0-minute step: it means the contractor was told only if
    // that step names it.
    if (!config_.escalation.empty() &&
        std::none_of(config_.escalation.begin(), config_.escalation.end(),
                     [](const EscalationStep& e) {
                       return e.after_min == 0 && e.unless.empty() &&
                              std::any_of(e.notify.begin(), e.notify.end(), [](const auto& t) {
                                return t.kind == NotifyTarget::Kind::kOnCallContractor;
                              });
                     })) {
      config_.warnings.push_back(
          config_.path + ":" + std::to_string(config_.escalation.front().line) +
          ": no [[escalation]] step with after_min = 0 (and no 'unless') names "
          "contractor:on-call: an incident is marked dispatched when it opens, but the "
          "contractor hears of it only from a later step");
    }
  }

  const toml::table& root_;
  Problems problems_;
  Section top_;
  fs::path base_;
  Config config_;
};

}  // namespace

std::optional<int> FixedUtcOffsetMin(std::string_view tz) {
  // Zones without daylight saving (tzdata 2024), so one offset is right all
  // year. Zones with it cannot be shown right by a fixed offset and are
  // refused rather than shown wrong half the year.
  static constexpr std::pair<std::string_view, int> kZones[] = {
      {"UTC", 0},
      {"Etc/UTC", 0},
      {"GMT", 0},
      {"Etc/GMT", 0},
      {"Asia/Shanghai", 480},
      {"Asia/Chongqing", 480},
      {"Asia/Harbin", 480},
      {"PRC", 480},
      {"Asia/Urumqi", 360},
      {"Asia/Hong_Kong", 480},
      {"Asia/Macau", 480},
      {"Asia/Taipei", 480},
      {"Asia/Singapore", 480},
      {"Asia/Kuala_Lumpur", 480},
      {"Asia/Manila", 480},
      {"Australia/Perth", 480},
      {"Asia/Tokyo", 540},
      {"Asia/Seoul", 540},
      {"Asia/Bangkok", 420},
      {"Asia/Ho_Chi_Minh", 420},
      {"Asia/Jakarta", 420},
      {"Asia/Dhaka", 360},
      {"Asia/Kathmandu", 345},
      {"Asia/Kolkata", 330},
      {"Asia/Karachi", 300},
      {"Asia/Tashkent", 300},
      {"Asia/Dubai", 240},
      {"Asia/Riyadh", 180},
      {"Europe/Moscow", 180},
  };
  for (const auto& [name, offset] : kZones) {
    if (name == tz) return offset;
  }
  // "+08:00", "-05:30"
  if (tz.size() == 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == ':') {
    auto digit = [&](size_t i) { return tz[i] >= '0' && tz[i] <= '9'; };
    if (!digit(1) || !digit(2) || !digit(4) || !digit(5)) return std::nullopt;
    int h = (tz[1] - '0') * 10 + (tz[2] - '0');
    int m = (tz[4] - '0') * 10 + (tz[5] - '0');
    if (m >= 60) return std::nullopt;
    int total = h * 60 + m;
    if (tz[0] == '-') total = -total;
    if (total < -12 * 60 || total > 14 * 60) return std::nullopt;
    return total;
  }
  return std::nullopt;
}

const LinkConfig* Config::FindLink(const std::string& id) const {
  for (const LinkConfig& link : links) {
    if (link.id == id) return &link;
  }
  return nullptr;
}

Result<Config> ParseConfig(const std::string& text, const std::string& path) {
  // toml++ reports only the first syntax error; nothing after it is
  // trustworthy, so that error is returned alone.
  auto syntax_error = [&](const toml::parse_error& e) {
    return Error::Permanent("config", path + ":" + std::to_string(e.source().begin.line) +
                                          ": TOML syntax error: " + std::string(e.description()));
  };
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(path));
  } catch (const toml::parse_error& e) {
    return syntax_error(e);
  }
#else
  toml::parse_result parsed = toml::parse(std::string_view(text), std::string_view(path));
  if (!parsed) return syntax_error(parsed.error());
  toml::table root = std::move(parsed).table();
#endif
  Loader loader(root, path);
  return loader.Run();
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::Permanent("config", path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Error::Permanent("config", path + ": cannot read: " + std::strerror(errno));
  }
  return ParseConfig(text.str(), path);
}

}  // namespace lg
