#include "drivers/sim/control.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace lg::sim {
namespace {

constexpr std::array<std::string_view, 10> kMisbehaviourNames = {
    "normal", "silent",   "drop",    "delay",   "exception",
    "short",  "truncate", "garbage", "bad_tid", "bytewise",
};

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Error Bad(std::string message) { return Error::Permanent("command", std::move(message)); }

Result<int64_t> IntIn(std::string_view s, int64_t lo, int64_t hi, std::string_view what) {
  int64_t v;
  if (!ParseInt(s, &v) || v < lo || v > hi) {
    return Bad(std::string(what) + " must be an integer " + std::to_string(lo) + ".." +
               std::to_string(hi) + ", not '" + std::string(s) + "'");
  }
  return v;
}

Result<Target> CarTarget(std::string_view s) {
  auto t = ParseTarget(s);
  if (!t.ok()) return t;
  if (!t->is_car()) return Bad("expected a car LINK/UNIT, not '" + std::string(s) + "'");
  return t;
}

Result<Target> LinkTarget(std::string_view s) {
  auto t = ParseTarget(s);
  if (!t.ok()) return t;
  if (t->is_car()) return Bad("expected a link, not the car '" + std::string(s) + "'");
  return t;
}

}  // namespace

std::string_view MisbehaviourName(MisbehaviourKind k) {
  size_t i = static_cast<size_t>(k);
  return i < kMisbehaviourNames.size() ? kMisbehaviourNames[i] : "?";
}

std::string Target::ToString() const { return is_car() ? link + "/" + std::to_string(unit) : link; }

bool Command::mutating() const {
  switch (verb) {
    case Verb::kSet:
    case Verb::kRelease:
    case Verb::kFault:
    case Verb::kMisbehave:
    case Verb::kPause:
    case Verb::kResume:
    case Verb::kClearCounts:
      return true;
    default:
      return false;
  }
}

std::string_view CommandHelp() {
  return "commands: set CAR FIELD VALUE | release CAR [FIELD] | fault CAR CONDITION on|off [CODE] "
         "| misbehave LINK|CAR normal|silent|drop|delay MS|exception CODE|short|truncate|garbage|"
         "bad_tid|bytewise MS | fcodes [LINK] | requests LINK|CAR | get CAR | pause | resume | now "
         "| clear_counts [LINK] | help";
}

Result<Target> ParseTarget(std::string_view text) {
  Target t;
  size_t slash = text.find('/');
  std::string_view link = text.substr(0, slash);
  if (link.empty()) return Bad("missing link name in '" + std::string(text) + "'");
  for (char c : link) {
    if (c == ' ' || c == '\t') return Bad("bad link name '" + std::string(link) + "'");
  }
  t.link = std::string(link);
  if (slash != std::string_view::npos) {
    auto unit = IntIn(text.substr(slash + 1), 1, 247, "unit");
    if (!unit.ok()) return unit.error();
    t.unit = static_cast<int>(*unit);
  }
  return t;
}

Result<Command> ParseCommand(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  const std::vector<std::string_view> w = Split(line);
  if (w.empty()) return Bad("empty command");
  Command c;
  const std::string_view verb = w[0];
  auto arity = [&](size_t lo, size_t hi) -> Status {
    if (w.size() - 1 < lo || w.size() - 1 > hi) {
      return Bad("'" + std::string(verb) + "' takes " +
                 (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
                 " argument(s); " + std::string(CommandHelp()));
    }
    return Status::Ok();
  };

  if (verb == "set") {
    c.verb = Verb::kSet;
    if (auto s = arity(3, 3); !s) return s.error();
    auto t = CarTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    auto f = FieldFromName(w[2]);
    if (!f) return Bad("unknown field '" + std::string(w[2]) + "'");
    c.has_field = true;
    c.field = *f;
    if (*f == Field::kModel) {
      if (w[3].size() > kModelChars) return Bad("model is at most 16 characters");
      for (char ch : w[3]) {
        if (ch < 0x21 || ch > 0x7E) return Bad("model must be printable ASCII");
      }
      c.text = std::string(w[3]);
    } else if (IsFlag(*f)) {
      const std::string_view v = w[3];
      if (v == "1" || v == "on" || v == "true") {
        c.value = 1;
      } else if (v == "0" || v == "off" || v == "false") {
        c.value = 0;
      } else {
        return Bad(std::string(w[2]) + " is a flag: 0 or 1, not '" + std::string(v) + "'");
      }
    } else {
      int64_t lo, hi;
      FieldRange(*f, &lo, &hi);
      auto v = IntIn(w[3], lo, hi, w[2]);
      if (!v) return v.error();
      c.value = *v;
    }
    return c;
  }
  if (verb == "release") {
    c.verb = Verb::kRelease;
    if (auto s = arity(1, 2); !s) return s.error();
    auto t = CarTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    if (w.size() == 3) {
      auto f = FieldFromName(w[2]);
      if (!f) return Bad("unknown field '" + std::string(w[2]) + "'");
      c.has_field = true;
      c.field = *f;
    }
    return c;
  }
  if (verb == "fault") {
    c.verb = Verb::kFault;
    if (auto s = arity(3, 4); !s) return s.error();
    auto t = CarTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    auto cond = ConditionFromName(w[2]);
    if (!cond) return Bad("unknown condition '" + std::string(w[2]) + "'");
    c.condition = *cond;
    if (w[3] == "on") {
      c.on = true;
    } else if (w[3] == "off") {
      c.on = false;
    } else {
      return Bad("expected on or off, not '" + std::string(w[3]) + "'");
    }
    if (w.size() == 5) {
      if (*cond != Condition::kControllerFault || !c.on) {
        return Bad("only 'controller_fault on' takes a code");
      }
      auto code = IntIn(w[4], 1, 65535, "fault code");
      if (!code) return code.error();
      c.fault_code = static_cast<int>(*code);
    }
    return c;
  }
  if (verb == "misbehave") {
    c.verb = Verb::kMisbehave;
    if (auto s = arity(2, 3); !s) return s.error();
    auto t = ParseTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    auto it = std::find(kMisbehaviourNames.begin(), kMisbehaviourNames.end(), w[2]);
    if (it == kMisbehaviourNames.end()) {
      return Bad("unknown misbehaviour '" + std::string(w[2]) + "'");
    }
    c.misbehaviour.kind = static_cast<MisbehaviourKind>(it - kMisbehaviourNames.begin());
    const MisbehaviourKind k = c.misbehaviour.kind;
    const bool needs_arg = k == MisbehaviourKind::kDelay || k == MisbehaviourKind::kException ||
                           k == MisbehaviourKind::kBytewise;
    if (needs_arg != (w.size() == 4)) {
      return Bad(needs_arg ? "'" + std::string(w[2]) + "' needs an argument"
                           : "'" + std::string(w[2]) + "' takes no argument");
    }
    if (k == MisbehaviourKind::kDelay || k == MisbehaviourKind::kBytewise) {
      auto ms = IntIn(w[3], 0, 600000, "milliseconds");
      if (!ms) return ms.error();
      c.misbehaviour.arg = static_cast<int>(*ms);
    } else if (k == MisbehaviourKind::kException) {
      auto code = IntIn(w[3], 1, 255, "exception code");
      if (!code) return code.error();
      c.misbehaviour.arg = static_cast<int>(*code);
    }
    return c;
  }
  if (verb == "fcodes" || verb == "clear_counts") {
    c.verb = verb == "fcodes" ? Verb::kFcodes : Verb::kClearCounts;
    if (auto s = arity(0, 1); !s) return s.error();
    if (w.size() == 2) {
      auto t = LinkTarget(w[1]);
      if (!t) return t.error();
      c.has_target = true;
      c.target = *t;
    }
    return c;
  }
  if (verb == "requests") {
    c.verb = Verb::kRequests;
    if (auto s = arity(1, 1); !s) return s.error();
    auto t = ParseTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    return c;
  }
  if (verb == "get") {
    c.verb = Verb::kGet;
    if (auto s = arity(1, 1); !s) return s.error();
    auto t = CarTarget(w[1]);
    if (!t) return t.error();
    c.has_target = true;
    c.target = *t;
    return c;
  }
  struct Bare {
    std::string_view name;
    Verb verb;
  };
  for (Bare b : {Bare{"pause", Verb::kPause}, Bare{"resume", Verb::kResume},
                 Bare{"now", Verb::kNow}, Bare{"help", Verb::kHelp}}) {
    if (verb == b.name) {
      c.verb = b.verb;
      if (auto s = arity(0, 0); !s) return s.error();
      return c;
    }
  }
  return Bad("unknown command '" + std::string(verb) + "'; " + std::string(CommandHelp()));
}

Result<std::vector<ScenarioStep>> LoadScenario(const std::string& path) {
  auto fail = [&path](int line, const std::string& reason) {
    return Error::Permanent("scenario", path + ":" + std::to_string(line) + ": " + reason);
  };
  if (std::FILE* f = std::fopen(path.c_str(), "r"); f == nullptr) {
    return fail(0, std::string("cannot open: ") + std::strerror(errno));
  } else {
    std::fclose(f);
  }
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return fail(static_cast<int>(e.source().begin.line), std::string(e.description()));
  } catch (const std::exception& e) {
    return fail(0, e.what());
  }
  auto line_of = [](const toml::node& n) { return static_cast<int>(n.source().begin.line); };

  std::vector<ScenarioStep> steps;
  for (auto&& [key, node] : root) {
    const std::string_view k = key.str();
    if (k == "name" || k == "description") {
      if (!node.is_string()) return fail(line_of(node), std::string(k) + " must be a string");
      continue;
    }
    if (k != "step") {
      return fail(line_of(node), "unknown key '" + std::string(k) +
                                     "' (expected [[step]] tables, name, description)");
    }
    const toml::array* arr = node.as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      return fail(line_of(node), "'step' must be an array of tables: [[step]]");
    }
    for (const toml::node& item : *arr) {
      const toml::table& t = *item.as_table();
      const int table_line = line_of(item);
      ScenarioStep step;
      bool have_at = false, have_do = false;
      for (auto&& [sk, sv] : t) {
        const std::string_view name = sk.str();
        if (name == "at_ms") {
          auto v = sv.value<int64_t>();
          if (!sv.is_integer() || !v || *v < 0) {
            return fail(line_of(sv), "at_ms must be an integer >= 0");
          }
          step.at_ms = *v;
          have_at = true;
        } else if (name == "do") {
          if (!sv.is_string()) return fail(line_of(sv), "do must be a string");
          step.text = **sv.as_string();
          step.line = line_of(sv);
          auto cmd = ParseCommand(step.text);
          if (!cmd) return fail(step.line, cmd.error().message);
          if (!cmd->mutating()) {
            return fail(step.line,
                        "'" + step.text + "' only reads; a scenario step must change state");
          }
          step.command = std::move(*cmd);
          have_do = true;
        } else {
          return fail(line_of(sv), "unknown key '" + std::string(name) + "' in [[step]]");
        }
      }
      if (!have_at) return fail(table_line, "[[step]] without at_ms");
      if (!have_do) return fail(table_line, "[[step]] without do");
      steps.push_back(std::move(step));
    }
  }
  std::stable_sort(steps.begin(), steps.end(),
                   [](const ScenarioStep& a, const ScenarioStep& b) { return a.at_ms < b.at_ms; });
  return steps;
}

}  // namespace lg::sim
