// The liftsim control language: one command per line, used on the control
// port and in scenario files (docs/simulator.md has the full list).
//
// ParseCommand checks the syntax and the value ranges only; whether a link
// or car named in the command exists is the server's business. LoadScenario
// reads a scenario file (TOML, [[step]] tables with at_ms and do) and refuses
// a bad one with "FILE:LINE: reason".
//
// Thread-safety: free functions over values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/sample.h"
#include "drivers/sim/car_model.h"

namespace lg::sim {

enum class MisbehaviourKind : uint8_t {
  kNormal,
  kSilent,     // requests are read, never answered
  kDrop,       // the connection is closed on each request (RTU: like silent)
  kDelay,      // the reply leaves `arg` ms late
  kException,  // exception reply with code `arg`
  kShort,      // well-framed reply carrying half the registers asked for
  kTruncate,   // the first half of the reply's bytes only, the rest never comes
  kGarbage,    // random bytes, as many as the reply would have had
  kBadTid,     // TCP: wrong transaction id; RTU: wrong unit id (valid CRC)
  kBytewise,   // the reply one byte at a time, `arg` ms apart
};

std::string_view MisbehaviourName(MisbehaviourKind k);

struct Misbehaviour {
  MisbehaviourKind kind = MisbehaviourKind::kNormal;
  int arg = 0;  // ms for delay and bytewise, the code for exception
};

enum class Verb : uint8_t {
  kSet,
  kRelease,
  kFault,
  kMisbehave,
  kFcodes,
  kRequests,
  kGet,
  kPause,
  kResume,
  kNow,
  kClearCounts,
  kHelp,
};

// "1502" (a link) or "1502/3" (a car: unit 3 of link 1502).
struct Target {
  std::string link;
  int unit = 0;  // 0: the whole link
  bool is_car() const { return unit != 0; }
  std::string ToString() const;
};

struct Command {
  Verb verb = Verb::kHelp;
  bool has_target = false;
  Target target;
  bool has_field = false;
  Field field = Field::kCount;
  int64_t value = 0;  // set: the value of a numeric or flag field
  std::string text;   // set model: the text
  Condition condition = Condition::kCount;
  bool on = false;
  int fault_code = kDefaultControllerFaultCode;
  Misbehaviour misbehaviour;

  // Commands that change what is served (their reply carries t=<ns>).
  bool mutating() const;
};

Result<Command> ParseCommand(std::string_view line);
Result<Target> ParseTarget(std::string_view text);

// A one-line summary of the commands, for "help".
std::string_view CommandHelp();

struct ScenarioStep {
  int64_t at_ms = 0;
  std::string text;  // the command as written
  Command command;
  int line = 0;  // line of the step's `do` in the file
};

// Steps in the order they are to run (by at_ms, then file order). Only
// commands that change state are allowed in a scenario.
Result<std::vector<ScenarioStep>> LoadScenario(const std::string& path);

}  // namespace lg::sim
