// RegisterMap::LoadFile: the TOML map-file loader (format in
// docs/register-maps.md).
//
// The loader checks what only the file knows (key names, value types, each
// key's line) and leaves what holds for any map (overlaps, the block plan)
// to RegisterMap::Build. It reports every problem it finds, one per line, so
// that a map is mended in one round. toml++ exceptions stop here.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/problems.h"
#include "drivers/register_map.h"

namespace lg::drivers {
namespace {

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }
int LineOf(const toml::key& k) { return static_cast<int>(k.source().begin.line); }

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// " (did you mean "door_zone"?)" when one candidate is close; typos in key
// names are the commonest mistake in hand-written maps.
template <typename Names>
std::string Suggest(std::string_view word, const Names& candidates) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean " + Quote(best) + "?)";
}

std::vector<std::string_view> AllFieldNames() {
  std::vector<std::string_view> names;
  for (int i = 0; i < kFieldCount; ++i) names.push_back(FieldName(static_cast<Field>(i)));
  return names;
}

constexpr std::array<std::string_view, 4> kTopKeys = {"name", "max_gap", "fields", "fault"};
constexpr std::array<std::string_view, 9> kFieldKeys = {
    "table", "address", "type", "bit", "inverted", "word_order", "scale", "offset", "chars"};
constexpr std::array<std::string_view, 3> kFaultKeys = {"code", "text", "severity"};

constexpr std::string_view kReadTables =
    "Liftguard is read-only and reads only coil (01), discrete (02), holding (03) or input "
    "(04)";

// Names a person might write for a write function (Modbus spec names and
// common abbreviations).
bool SoundsLikeWrite(std::string_view s) {
  static constexpr std::array<std::string_view, 11> kHints = {
      "write", "force", "preset", "mask", "set", "fc05", "fc06", "fc15", "fc16", "fc22", "fc23"};
  return std::any_of(kHints.begin(), kHints.end(),
                     [&](std::string_view h) { return s.find(h) != std::string_view::npos; });
}

std::optional<Table> ParseTable(const toml::node& n, Problems& p) {
  const int line = LineOf(n);
  if (n.is_integer()) {
    const int64_t code = n.as_integer()->get();
    if (code >= 1 && code <= 4) return static_cast<Table>(code);
    bool write = code == 5 || code == 6 || code == 15 || code == 16 || code == 22 || code == 23;
    p.Add(line, "table " + std::to_string(code) + ": function " + std::to_string(code) +
                    (write ? " writes to the controller; " : " is not a read function; ") +
                    std::string(kReadTables));
    return std::nullopt;
  }
  if (!n.is_string()) {
    p.Add(line, "table must be a string (input, holding, coil or discrete)");
    return std::nullopt;
  }
  std::string s = n.as_string()->get();
  if (s == "coil") return Table::kCoils;
  if (s == "discrete") return Table::kDiscreteInputs;
  if (s == "holding") return Table::kHoldingRegisters;
  if (s == "input") return Table::kInputRegisters;
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (SoundsLikeWrite(lower)) {
    p.Add(line,
          "table " + Quote(s) + " asks to write to the controller; " + std::string(kReadTables));
  } else {
    p.Add(line, "unknown table " + Quote(s) + "; " + std::string(kReadTables));
  }
  return std::nullopt;
}

std::optional<ValueType> ParseType(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, ValueType>, 7> kTypes = {{
      {"bit", ValueType::kBit},
      {"int16", ValueType::kInt16},
      {"uint16", ValueType::kUint16},
      {"int32", ValueType::kInt32},
      {"uint32", ValueType::kUint32},
      {"float32", ValueType::kFloat32},
      {"ascii", ValueType::kAscii},
  }};
  for (const auto& [name, type] : kTypes) {
    if (name == s) return type;
  }
  return std::nullopt;
}

std::string TypeWord(ValueType t) {
  switch (t) {
    case ValueType::kBit:
      return "bit";
    case ValueType::kInt16:
      return "int16";
    case ValueType::kUint16:
      return "uint16";
    case ValueType::kInt32:
      return "int32";
    case ValueType::kUint32:
      return "uint32";
    case ValueType::kFloat32:
      return "float32";
    case ValueType::kAscii:
      return "ascii";
  }
  return "?";
}

bool IsNumericType(ValueType t) { return t != ValueType::kBit && t != ValueType::kAscii; }
bool Is32Bit(ValueType t) {
  return t == ValueType::kInt32 || t == ValueType::kUint32 || t == ValueType::kFloat32;
}
bool IsRegisterTable(Table t) {
  return t == Table::kHoldingRegisters || t == Table::kInputRegisters;
}

// An integer key within [lo, hi], or a problem at its line.
std::optional<int64_t> IntIn(const toml::node& n, std::string_view key, int64_t lo, int64_t hi,
                             Problems& p) {
  if (!n.is_integer()) {
    p.Add(LineOf(n), std::string(key) + " must be an integer");
    return std::nullopt;
  }
  int64_t v = n.as_integer()->get();
  if (v < lo || v > hi) {
    p.Add(LineOf(n), std::string(key) + " " + std::to_string(v) + " is out of range " +
                         std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }
  return v;
}

std::optional<double> Number(const toml::node& n, std::string_view key, Problems& p) {
  std::optional<double> v;
  if (n.is_integer()) v = static_cast<double>(n.as_integer()->get());
  if (n.is_floating_point()) v = n.as_floating_point()->get();
  if (!v) {
    p.Add(LineOf(n), std::string(key) + " must be a number");
  } else if (!std::isfinite(*v)) {
    p.Add(LineOf(n), std::string(key) + " must be finite");
    v.reset();
  }
  return v;
}

std::optional<std::string> String(const toml::node& n, std::string_view key, Problems& p) {
  if (!n.is_string()) {
    p.Add(LineOf(n), std::string(key) + " must be a string");
    return std::nullopt;
  }
  return n.as_string()->get();
}

// Refuses a key that means nothing for this field's type, so a mistaken
// `bit = 3` on a uint16 does not pass silently.
void NotFor(const toml::table& t, std::string_view key, const std::string& why, Problems& p) {
  if (const toml::node* n = t.get(key)) p.Add(LineOf(*n), std::string(key) + " " + why);
}

// One [fields.<name>] table. Returns nullopt when it has a problem (already
// reported).
std::optional<FieldSpec> ParseField(const toml::key& key, const toml::node& node, Problems& p) {
  const std::string_view name = key.str();
  std::optional<Field> field = FieldFromName(name);
  if (!field) {
    p.Add(LineOf(key), "unknown field " + Quote(name) + Suggest(name, AllFieldNames()));
    return std::nullopt;
  }
  const toml::table* t = node.as_table();
  if (!t) {
    p.Add(LineOf(node), "field " + Quote(name) + " must be a table");
    return std::nullopt;
  }
  const std::string in = " in field " + Quote(name);
  bool bad = false;
  for (auto&& [k, v] : *t) {
    if (std::find(kFieldKeys.begin(), kFieldKeys.end(), k.str()) == kFieldKeys.end()) {
      p.Add(LineOf(k), "unknown key " + Quote(k.str()) + in + Suggest(k.str(), kFieldKeys));
      bad = true;
    }
  }

  FieldSpec spec{.field = *field, .table = Table::kInputRegisters};
  spec.line = LineOf(node);

  const toml::node* table = t->get("table");
  std::optional<Table> tab;
  if (!table) {
    p.Add(spec.line, "missing table" + in);
    bad = true;
  } else if (!(tab = ParseTable(*table, p))) {
    bad = true;
  } else {
    spec.table = *tab;
  }

  const toml::node* address = t->get("address");
  if (!address) {
    p.Add(spec.line, "missing address" + in);
    bad = true;
  } else if (auto a = IntIn(*address, "address", 0, 65535, p)) {
    spec.address = static_cast<uint16_t>(*a);
  } else {
    bad = true;
  }

  // Flags and the model can only be one type, so it may be left out.
  const toml::node* type = t->get("type");
  if (!type) {
    if (IsFlag(*field)) {
      spec.type = ValueType::kBit;
    } else if (*field == Field::kModel) {
      spec.type = ValueType::kAscii;
    } else {
      p.Add(spec.line, "missing type" + in + " (int16, uint16, int32, uint32 or float32)");
      return std::nullopt;
    }
  } else if (auto s = String(*type, "type", p)) {
    std::optional<ValueType> vt = ParseType(*s);
    if (!vt) {
      p.Add(LineOf(*type),
            "unknown type " + Quote(*s) + " (bit, int16, uint16, int32, uint32, float32, ascii)");
      return std::nullopt;
    }
    spec.type = *vt;
    if (IsFlag(*field) && *vt != ValueType::kBit) {
      p.Add(LineOf(*type), "field " + Quote(name) + " is a flag: its type must be bit");
      return std::nullopt;
    }
    if (*field == Field::kModel && *vt != ValueType::kAscii) {
      p.Add(LineOf(*type), "field \"model\" must be of type ascii");
      return std::nullopt;
    }
    if (!IsFlag(*field) && *field != Field::kModel && !IsNumericType(*vt)) {
      p.Add(LineOf(*type), "field " + Quote(name) +
                               " is a number: its type must be int16, uint16, int32, uint32 or "
                               "float32");
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (tab && !IsRegisterTable(*tab) && spec.type != ValueType::kBit) {
    p.Add(LineOf(*table),
          "a " + TableName(*tab) + " table holds only bits, not " + TypeWord(spec.type) + in);
    bad = true;
  }

  // Keys that belong to one type only.
  if (spec.type == ValueType::kBit) {
    const toml::node* bit = t->get("bit");
    if (tab && IsRegisterTable(*tab)) {
      if (!bit) {
        p.Add(spec.line, "missing bit" + in + " (0..15: which bit of the register)");
        bad = true;
      } else if (auto b = IntIn(*bit, "bit", 0, 15, p)) {
        spec.bit = static_cast<int>(*b);
      } else {
        bad = true;
      }
    } else if (tab && bit) {
      p.Add(LineOf(*bit), "bit" + in + ": on a " + TableName(*tab) +
                              " table the address is the bit; leave bit out");
      bad = true;
    }
    if (const toml::node* inv = t->get("inverted")) {
      if (!inv->is_boolean()) {
        p.Add(LineOf(*inv), "inverted must be true or false");
        bad = true;
      } else {
        spec.inverted = inv->as_boolean()->get();
      }
    }
  } else {
    NotFor(*t, "bit", "applies only to type bit" + in, p);
    NotFor(*t, "inverted", "applies only to type bit" + in, p);
    bad = bad || t->contains("bit") || t->contains("inverted");
  }

  if (Is32Bit(spec.type)) {
    if (const toml::node* wo = t->get("word_order")) {
      std::optional<std::string> s = String(*wo, "word_order", p);
      if (s && *s == "high_first") {
        spec.word_order = WordOrder::kHighFirst;
      } else if (s && *s == "low_first") {
        spec.word_order = WordOrder::kLowFirst;
      } else {
        if (s) p.Add(LineOf(*wo), "word_order must be \"high_first\" or \"low_first\"");
        bad = true;
      }
    }
  } else {
    NotFor(*t, "word_order", "applies only to int32, uint32 and float32" + in, p);
    bad = bad || t->contains("word_order");
  }

  if (IsNumericType(spec.type)) {
    if (const toml::node* s = t->get("scale")) {
      std::optional<double> v = Number(*s, "scale", p);
      if (v && *v == 0) {
        p.Add(LineOf(*s), "scale must not be 0");
        v.reset();
      }
      if (v) spec.scale = *v;
      bad = bad || !v;
    }
    if (const toml::node* o = t->get("offset")) {
      std::optional<double> v = Number(*o, "offset", p);
      if (v) spec.offset = *v;
      bad = bad || !v;
    }
  } else {
    NotFor(*t, "scale", "applies only to numbers" + in, p);
    NotFor(*t, "offset", "applies only to numbers" + in, p);
    bad = bad || t->contains("scale") || t->contains("offset");
  }

  if (spec.type == ValueType::kAscii) {
    const toml::node* chars = t->get("chars");
    if (!chars) {
      p.Add(spec.line, "missing chars" + in + " (how many characters, 2 per register)");
      bad = true;
    } else if (auto c = IntIn(*chars, "chars", 1, 250, p)) {
      spec.chars = static_cast<int>(*c);
    } else {
      bad = true;
    }
  } else {
    NotFor(*t, "chars", "applies only to type ascii" + in, p);
    bad = bad || t->contains("chars");
  }

  if (!bad && spec.address + spec.width() > 65536) {
    p.Add(LineOf(*address), "field " + Quote(name) + " runs past address 65535");
    bad = true;
  }
  if (bad) return std::nullopt;
  return spec;
}

std::optional<FaultText> ParseFault(const toml::node& node, std::map<uint32_t, int>& seen,
                                    Problems& p) {
  const toml::table* t = node.as_table();
  if (!t) {
    p.Add(LineOf(node), "each [[fault]] must be a table with code, text and severity");
    return std::nullopt;
  }
  bool bad = false;
  for (auto&& [k, v] : *t) {
    if (std::find(kFaultKeys.begin(), kFaultKeys.end(), k.str()) == kFaultKeys.end()) {
      p.Add(LineOf(k),
            "unknown key " + Quote(k.str()) + " in [[fault]]" + Suggest(k.str(), kFaultKeys));
      bad = true;
    }
  }
  FaultText f;
  const int line = LineOf(node);
  const toml::node* code = t->get("code");
  if (!code) {
    p.Add(line, "missing code in [[fault]]");
    bad = true;
  } else if (auto c = IntIn(*code, "code", 1, 0xffffffffLL, p)) {
    f.code = static_cast<uint32_t>(*c);
    auto [it, added] = seen.emplace(f.code, LineOf(*code));
    if (!added) {
      p.Add(LineOf(*code), "fault code " + std::to_string(f.code) +
                               " is listed twice (first at line " + std::to_string(it->second) +
                               ")");
      bad = true;
    }
  } else {
    bad = true;
  }
  const toml::node* text = t->get("text");
  if (!text) {
    p.Add(line, "missing text in [[fault]]");
    bad = true;
  } else if (auto s = String(*text, "text", p); s && !s->empty()) {
    f.text = *s;
  } else {
    if (s) p.Add(LineOf(*text), "text must not be empty");
    bad = true;
  }
  const toml::node* severity = t->get("severity");
  if (!severity) {
    p.Add(line, "missing severity in [[fault]] (critical, major or minor)");
    bad = true;
  } else if (auto s = String(*severity, "severity", p)) {
    if (*s == "critical" || *s == "major" || *s == "minor") {
      f.severity = *s;
    } else {
      p.Add(LineOf(*severity), "severity " + Quote(*s) + " is not one of critical, major, minor");
      bad = true;
    }
  } else {
    bad = true;
  }
  if (bad) return std::nullopt;
  return f;
}

Result<std::shared_ptr<const RegisterMap>> FromToml(const toml::table& doc,
                                                    const std::string& path) {
  Problems p(path);
  for (auto&& [k, v] : doc) {
    if (std::find(kTopKeys.begin(), kTopKeys.end(), k.str()) == kTopKeys.end()) {
      p.Add(LineOf(k), "unknown key " + Quote(k.str()) + Suggest(k.str(), kTopKeys));
    }
  }

  std::string name;
  if (const toml::node* n = doc.get("name")) {
    if (auto s = String(*n, "name", p)) {
      if (s->empty()) p.Add(LineOf(*n), "name must not be empty");
      name = *s;
    }
  } else {
    p.Add(0, "missing name (name = \"vendor-x\" at the top of the file)");
  }

  int max_gap = kDefaultMaxGap;
  if (const toml::node* n = doc.get("max_gap")) {
    if (auto g = IntIn(*n, "max_gap", 0, 125, p)) max_gap = static_cast<int>(*g);
  }

  std::vector<FieldSpec> fields;
  if (const toml::node* n = doc.get("fields")) {
    if (const toml::table* t = n->as_table()) {
      for (auto&& [k, v] : *t) {
        if (std::optional<FieldSpec> spec = ParseField(k, v, p)) fields.push_back(*spec);
      }
    } else {
      p.Add(LineOf(*n), "fields must be a table: [fields.<name>] or fields.<name> = { ... }");
    }
  }
  if (fields.empty() && p.empty()) p.Add(0, "the map has no [fields.<name>] tables");

  std::vector<FaultText> faults;
  if (const toml::node* n = doc.get("fault")) {
    if (const toml::array* a = n->as_array()) {
      std::map<uint32_t, int> seen;
      for (const toml::node& item : *a) {
        if (std::optional<FaultText> f = ParseFault(item, seen, p)) faults.push_back(*f);
      }
    } else {
      p.Add(LineOf(*n), "fault must be an array of tables: [[fault]]");
    }
  }

  if (!p.empty()) return p.ToError("map");
  // toml++ keeps keys sorted; the file's order reads better in fields().
  std::stable_sort(fields.begin(), fields.end(),
                   [](const FieldSpec& a, const FieldSpec& b) { return a.line < b.line; });
  // Build reports what the file alone cannot show: overlaps between fields.
  return RegisterMap::Build(std::move(name), path, std::move(fields), std::move(faults), max_gap);
}

}  // namespace

Result<std::shared_ptr<const RegisterMap>> RegisterMap::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error::Permanent(
        "map", path + ": cannot open map file: " + std::generic_category().message(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error::Permanent("map", path + ": cannot read map file");
  try {
    toml::table doc = toml::parse(text.str(), path);
    return FromToml(doc, path);
  } catch (const toml::parse_error& e) {
    return Error::Permanent("map", path + ":" + std::to_string(e.source().begin.line) +
                                       ": TOML syntax: " + std::string(e.description()));
  } catch (const std::exception& e) {
    return Error::Permanent("map", path + ": " + e.what());
  }
}

}  // namespace lg::drivers
