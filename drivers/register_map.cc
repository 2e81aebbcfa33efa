#include "drivers/register_map.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

namespace lg::drivers {
namespace {

// Modbus application protocol v1.1b3, 6.1-6.4: most a single read may ask for.
constexpr int kMaxRegistersPerRead = 125;
constexpr int kMaxBitsPerRead = 2000;
// A gap is counted in registers; on bit tables one register's worth is 16
// bits, which costs the same two bytes on the wire.
constexpr int kBitsPerGapUnit = 16;

bool IsBitTable(Table t) { return t == Table::kCoils || t == Table::kDiscreteInputs; }

bool IsKnownTable(Table t) {
  int v = static_cast<int>(t);
  return v >= 1 && v <= 4;
}

std::string TableName(Table t) {
  switch (t) {
    case Table::kCoils:
      return "coil";
    case Table::kDiscreteInputs:
      return "discrete";
    case Table::kHoldingRegisters:
      return "holding";
    case Table::kInputRegisters:
      return "input";
  }
  return "function " + std::to_string(static_cast<int>(t));
}

int ReadLimit(Table t) { return IsBitTable(t) ? kMaxBitsPerRead : kMaxRegistersPerRead; }

bool IsNumericType(ValueType t) { return t != ValueType::kBit && t != ValueType::kAscii; }

// Collects problems as "SOURCE:LINE: reason" lines, so a map with several
// mistakes is mended in one round.
class Problems {
 public:
  explicit Problems(const std::string& source) : source_(source) {}

  void Add(int line, std::string reason) { items_.emplace_back(line, std::move(reason)); }
  bool empty() const { return items_.empty(); }
  // In file order; problems of the whole file (line 0) first.
  Error error() const {
    std::vector<std::pair<int, std::string>> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string text;
    for (const auto& [line, reason] : sorted) {
      if (!text.empty()) text += '\n';
      text += source_;
      if (line > 0) text += ':' + std::to_string(line);
      text += ": " + reason;
    }
    return Error::Permanent("map", text);
  }

 private:
  const std::string& source_;
  std::vector<std::pair<int, std::string>> items_;
};

std::string Quoted(Field f) { return "\"" + std::string(FieldName(f)) + "\""; }

std::string Where(const FieldSpec& s) {
  std::string where = TableName(s.table) + " " + std::to_string(s.address);
  int w = s.width();
  if (w > 1) where += "-" + std::to_string(s.address + w - 1);
  if (s.type == ValueType::kBit && !IsBitTable(s.table)) where += " bit " + std::to_string(s.bit);
  return where;
}

std::string AtLine(int line) { return line > 0 ? " at line " + std::to_string(line) : ""; }

// Checks one spec on its own; cross-field checks come later.
void CheckSpec(const FieldSpec& s, Problems& p) {
  const int line = s.line;
  const std::string name = Quoted(s.field);
  if (!IsKnownTable(s.table)) {
    p.Add(line, "field " + name + ": " + TableName(s.table) +
                    " is not a read table; Liftguard is read-only (functions 01-04)");
    return;
  }
  if (IsFlag(s.field) && s.type != ValueType::kBit) {
    p.Add(line, "field " + name + " is a flag and must be of type bit");
  } else if (s.field == Field::kModel && s.type != ValueType::kAscii) {
    p.Add(line, "field \"model\" must be of type ascii");
  } else if (!IsFlag(s.field) && s.field != Field::kModel && !IsNumericType(s.type)) {
    p.Add(line, "field " + name +
                    " is a number and must be of type int16, uint16, int32, uint32 or float32");
  }
  if (IsBitTable(s.table) && s.type != ValueType::kBit) {
    p.Add(line, "field " + name + ": a " + TableName(s.table) + " table holds only bits");
  }
  if (s.type == ValueType::kBit) {
    if (IsBitTable(s.table) && s.bit != 0) {
      p.Add(line, "field " + name + ": on a " + TableName(s.table) +
                      " table the address is the bit; bit must stay 0");
    } else if (s.bit < 0 || s.bit > 15) {
      p.Add(line, "field " + name + ": bit " + std::to_string(s.bit) + " is out of range 0..15");
    }
  } else if (s.inverted) {
    p.Add(line, "field " + name + ": only a bit can be inverted");
  }
  if (s.type == ValueType::kAscii) {
    if (s.chars < 1 || s.chars > 2 * kMaxRegistersPerRead) {
      p.Add(line, "field " + name + ": chars " + std::to_string(s.chars) + " is out of range 1.." +
                      std::to_string(2 * kMaxRegistersPerRead));
      return;
    }
  }
  if (IsNumericType(s.type)) {
    if (!std::isfinite(s.scale) || s.scale == 0) {
      p.Add(line, "field " + name + ": scale must be a finite number other than 0");
    }
    if (!std::isfinite(s.offset)) p.Add(line, "field " + name + ": offset must be finite");
  } else if (s.scale != 1.0 || s.offset != 0.0) {
    p.Add(line, "field " + name + ": scale and offset apply only to numbers");
  }
  if (int{s.address} + s.width() > 65536) {
    p.Add(line, "field " + name + " runs past address 65535");
  }
  if (s.width() > ReadLimit(s.table)) {
    p.Add(line, "field " + name + " is wider than one read request");
  }
}

// Two specs of one table overlap unless they are different bits of one
// register.
void CheckOverlap(const FieldSpec& a, const FieldSpec& b, Problems& p) {
  if (a.table != b.table) return;
  int a_end = a.address + a.width();
  int b_end = b.address + b.width();
  if (a.address >= b_end || b.address >= a_end) return;
  bool shared_register = !IsBitTable(a.table) && a.type == ValueType::kBit &&
                         b.type == ValueType::kBit && a.address == b.address;
  if (shared_register && a.bit != b.bit) return;
  // Report at the later one: that is usually the one just added.
  const FieldSpec& later = b.line >= a.line ? b : a;
  const FieldSpec& earlier = &later == &b ? a : b;
  p.Add(later.line, "field " + Quoted(later.field) + " (" + Where(later) + ") overlaps field " +
                        Quoted(earlier.field) + AtLine(earlier.line) + " (" + Where(earlier) + ")");
}

void CheckFaults(const std::vector<FaultText>& faults, Problems& p) {
  for (size_t i = 0; i < faults.size(); ++i) {
    const FaultText& f = faults[i];
    std::string code = "fault " + std::to_string(f.code);
    if (f.code == 0) p.Add(0, "fault code 0 means \"no fault\" and cannot have a text");
    if (f.text.empty()) p.Add(0, code + ": text is empty");
    if (f.severity != "critical" && f.severity != "major" && f.severity != "minor") {
      p.Add(0, code + ": severity \"" + f.severity + "\" is not critical, major or minor");
    }
    for (size_t j = 0; j < i; ++j) {
      if (faults[j].code == f.code) p.Add(0, code + " is listed twice");
    }
  }
}

// Groups fields of one kind (polled or info) into read blocks and says where
// each field sits. Greedy from the lowest address is optimal here: a block
// is a run of neighbours, and any run inside an allowed block is allowed.
std::vector<ReadBlock> PlanBlocks(
    const std::vector<FieldSpec>& fields, const std::vector<int>& members, int max_gap,
    std::vector<std::pair<int, int>>& where /* index -> block, off */) {
  std::vector<ReadBlock> blocks;
  for (int t = 1; t <= 4; ++t) {
    const Table table = static_cast<Table>(t);
    std::vector<int> order;
    for (int i : members) {
      if (fields[i].table == table) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return fields[a].address != fields[b].address ? fields[a].address < fields[b].address
                                                    : fields[a].width() > fields[b].width();
    });
    const int limit = ReadLimit(table);
    const int gap = IsBitTable(table) ? max_gap * kBitsPerGapUnit : max_gap;
    int start = -1;
    int end = -1;
    size_t first = 0;
    auto close = [&](size_t upto) {
      if (start < 0) return;
      blocks.push_back(
          ReadBlock{table, static_cast<uint16_t>(start), static_cast<uint16_t>(end - start)});
      for (size_t k = first; k < upto; ++k) {
        where[order[k]] = {static_cast<int>(blocks.size()) - 1, fields[order[k]].address - start};
      }
    };
    for (size_t k = 0; k < order.size(); ++k) {
      const FieldSpec& s = fields[order[k]];
      int s_end = s.address + s.width();
      if (start >= 0 && s.address - end <= gap && std::max(end, s_end) - start <= limit) {
        end = std::max(end, s_end);
        continue;
      }
      close(k);
      start = s.address;
      end = s_end;
      first = k;
    }
    close(order.size());
  }
  return blocks;
}

std::vector<FieldSpec> Ref1Fields() {
  std::vector<FieldSpec> f;
  auto bit = [&](Field field, uint16_t reg, int b) {
    FieldSpec s{.field = field, .table = Table::kInputRegisters};
    s.address = reg;
    s.type = ValueType::kBit;
    s.bit = b;
    f.push_back(s);
  };
  auto num = [&](Field field, Table table, uint16_t addr, ValueType type) {
    FieldSpec s{.field = field, .table = table};
    s.address = addr;
    s.type = type;
    f.push_back(s);
  };
  // status1, input register 0: the flags are in Field order, bit 0 first.
  for (int b = 0; b < 16; ++b) bit(static_cast<Field>(b), 0, b);
  constexpr Table kIn = Table::kInputRegisters;
  num(Field::kFloor, kIn, 1, ValueType::kInt16);
  num(Field::kFaultCode, kIn, 2, ValueType::kUint16);
  num(Field::kSpeed, kIn, 3, ValueType::kUint16);
  num(Field::kLoad, kIn, 4, ValueType::kUint16);
  num(Field::kTrips, kIn, 5, ValueType::kUint32);
  num(Field::kDoorCycles, kIn, 7, ValueType::kUint32);
  num(Field::kRunHours, kIn, 9, ValueType::kUint32);
  num(Field::kHeartbeat, kIn, 11, ValueType::kUint16);
  // status2, input register 12, bits 0-4.
  for (int b = 0; b < 5; ++b)
    bit(static_cast<Field>(static_cast<int>(Field::kTopLimit) + b), 12, b);
  constexpr Table kHold = Table::kHoldingRegisters;
  num(Field::kRatedSpeed, kHold, 100, ValueType::kUint16);
  num(Field::kTopFloor, kHold, 101, ValueType::kInt16);
  num(Field::kBottomFloor, kHold, 102, ValueType::kInt16);
  FieldSpec model{.field = Field::kModel, .table = kHold};
  model.address = 103;
  model.type = ValueType::kAscii;
  model.chars = 16;
  f.push_back(model);
  return f;
}

uint32_t Join(const uint16_t* r, WordOrder order) {
  uint32_t first = r[0];
  uint32_t second = r[1];
  return order == WordOrder::kHighFirst ? (first << 16) | second : (second << 16) | first;
}

// The raw value of a numeric slot, before scale and offset; NaN for a float
// that is not a number.
double RawNumber(ValueType type, WordOrder order, const uint16_t* r) {
  switch (type) {
    case ValueType::kInt16:
      return static_cast<int16_t>(r[0]);
    case ValueType::kUint16:
      return r[0];
    case ValueType::kInt32:
      return static_cast<int32_t>(Join(r, order));
    case ValueType::kUint32:
      return Join(r, order);
    case ValueType::kFloat32:
      return std::bit_cast<float>(Join(r, order));
    case ValueType::kBit:
    case ValueType::kAscii:
      break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// High byte first; stops at the first NUL. Bytes outside printable ASCII
// become '?' so that logs and JSON stay clean.
std::string DecodeAscii(const uint16_t* r, int chars) {
  std::string s;
  s.reserve(chars);
  for (int i = 0; i < chars; ++i) {
    uint16_t word = r[i / 2];
    auto c = static_cast<unsigned char>(i % 2 == 0 ? word >> 8 : word & 0xff);
    if (c == 0) break;
    s.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

std::optional<int> RoundToInt(double v) {
  if (!std::isfinite(v)) return std::nullopt;
  v = std::clamp(std::round(v), double{std::numeric_limits<int>::min()},
                 double{std::numeric_limits<int>::max()});
  return static_cast<int>(v);
}

Status CheckShape(std::span<const RawBlock> raw, const std::vector<ReadBlock>& blocks,
                  const char* what) {
  if (raw.size() != blocks.size()) {
    return Error::Permanent("decode", std::string(what) + ": got " + std::to_string(raw.size()) +
                                          " blocks, the map reads " +
                                          std::to_string(blocks.size()));
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i].size() != blocks[i].count) {
      return Error::Permanent("decode", std::string(what) + " block " + std::to_string(i) + " (" +
                                            TableName(blocks[i].table) + " " +
                                            std::to_string(blocks[i].address) + "): got " +
                                            std::to_string(raw[i].size()) + " values, expected " +
                                            std::to_string(blocks[i].count));
    }
  }
  return Status::Ok();
}

}  // namespace

int FieldSpec::width() const {
  switch (type) {
    case ValueType::kBit:
    case ValueType::kInt16:
    case ValueType::kUint16:
      return 1;
    case ValueType::kInt32:
    case ValueType::kUint32:
    case ValueType::kFloat32:
      return 2;
    case ValueType::kAscii:
      return chars > 0 ? (chars + 1) / 2 : 0;
  }
  return 1;
}

Result<std::shared_ptr<const RegisterMap>> RegisterMap::Build(std::string name, std::string source,
                                                              std::vector<FieldSpec> fields,
                                                              std::vector<FaultText> faults,
                                                              int max_gap) {
  Problems p(source);
  if (name.empty()) p.Add(0, "the map has no name");
  if (max_gap < 0 || max_gap > kMaxRegistersPerRead) {
    p.Add(0, "max_gap " + std::to_string(max_gap) + " is out of range 0.." +
                 std::to_string(kMaxRegistersPerRead));
  }
  std::array<int, kFieldCount> seen;
  seen.fill(-1);
  bool any_polled = false;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& s = fields[i];
    int f = static_cast<int>(s.field);
    if (f < 0 || f >= kFieldCount) {
      p.Add(s.line, "field number " + std::to_string(f) + " does not exist");
      continue;
    }
    if (seen[f] >= 0) {
      p.Add(s.line, "field " + Quoted(s.field) + " is given twice (first" +
                        AtLine(fields[seen[f]].line) + ")");
      continue;
    }
    seen[f] = static_cast<int>(i);
    any_polled = any_polled || IsPolledField(s.field);
    CheckSpec(s, p);
  }
  if (!p.empty()) return p.error();  // overlap of malformed specs would only add noise
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = i + 1; j < fields.size(); ++j) CheckOverlap(fields[i], fields[j], p);
  }
  if (!any_polled) p.Add(0, "the map provides no field that is polled");
  CheckFaults(faults, p);
  if (!p.empty()) return p.error();

  auto map = std::make_shared<RegisterMap>();
  map->name_ = std::move(name);
  std::sort(faults.begin(), faults.end(),
            [](const FaultText& a, const FaultText& b) { return a.code < b.code; });
  map->faults_ = std::move(faults);

  std::vector<int> polled;
  std::vector<int> info;
  for (size_t i = 0; i < fields.size(); ++i) {
    (IsPolledField(fields[i].field) ? polled : info).push_back(static_cast<int>(i));
    map->provided_.set(static_cast<int>(fields[i].field));
  }
  std::vector<std::pair<int, int>> where(fields.size());
  map->poll_blocks_ = PlanBlocks(fields, polled, max_gap, where);
  map->info_blocks_ = PlanBlocks(fields, info, max_gap, where);
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& s = fields[i];
    Slot slot{
        .field = s.field,
        .type = s.type,
        .word_order = s.word_order,
        .bit_table = IsBitTable(s.table),
        .inverted = s.inverted,
        .bit = static_cast<uint8_t>(s.bit),
        .block = static_cast<uint16_t>(where[i].first),
        .offset = static_cast<uint16_t>(where[i].second),
        .chars = s.chars,
        .scale = s.scale,
        .offset_value = s.offset,
    };
    (IsPolledField(s.field) ? map->poll_slots_ : map->info_slots_).push_back(slot);
  }
  map->fields_ = std::move(fields);
  return std::shared_ptr<const RegisterMap>(std::move(map));
}

std::shared_ptr<const RegisterMap> RegisterMap::Ref1() {
  static const std::shared_ptr<const RegisterMap> kMap = [] {
    auto built = Build("ref-1", "ref-1", Ref1Fields(), {}, kDefaultMaxGap);
    // Only a mistake in Ref1Fields() gets here; unit_maps catches it.
    if (!built.ok()) std::abort();
    return std::move(built).value();
  }();
  return kMap;
}

Result<std::shared_ptr<const RegisterMap>> RegisterMap::Resolve(const std::string& name_or_path) {
  if (name_or_path == "ref-1") return Ref1();
  return LoadFile(name_or_path);
}

bool RegisterMap::Provides(Field f) const {
  int i = static_cast<int>(f);
  return i >= 0 && i < kFieldCount && provided_.test(i);
}

Status RegisterMap::DecodePoll(std::span<const RawBlock> raw, Sample& out) const {
  if (Status s = CheckShape(raw, poll_blocks_, "poll"); !s.ok()) return s;
  out.present.reset();
  out.flags.reset();
  out.numbers.fill(0);
  out.model.clear();
  for (const Slot& s : poll_slots_) {
    const uint16_t* r = raw[s.block].data() + s.offset;
    if (s.type == ValueType::kBit) {
      bool on = s.bit_table ? r[0] != 0 : ((r[0] >> s.bit) & 1u) != 0;
      out.SetFlag(s.field, on != s.inverted);
      continue;
    }
    double v = RawNumber(s.type, s.word_order, r);
    if (!std::isfinite(v)) continue;
    out.SetNumber(s.field, v * s.scale + s.offset_value);
  }
  return Status::Ok();
}

Result<ControllerInfo> RegisterMap::DecodeInfo(std::span<const RawBlock> raw) const {
  if (Status s = CheckShape(raw, info_blocks_, "info"); !s.ok()) return s.error();
  ControllerInfo info;
  for (const Slot& s : info_slots_) {
    const uint16_t* r = raw[s.block].data() + s.offset;
    if (s.type == ValueType::kAscii) {
      if (s.field == Field::kModel) info.model = DecodeAscii(r, s.chars);
      continue;
    }
    std::optional<int> v =
        RoundToInt(RawNumber(s.type, s.word_order, r) * s.scale + s.offset_value);
    switch (s.field) {
      case Field::kRatedSpeed:
        info.rated_speed_mm_s = v;
        break;
      case Field::kTopFloor:
        info.top_floor = v;
        break;
      case Field::kBottomFloor:
        info.bottom_floor = v;
        break;
      default:
        break;
    }
  }
  return info;
}

const FaultText* RegisterMap::FaultFor(uint32_t code) const {
  auto it = std::lower_bound(faults_.begin(), faults_.end(), code,
                             [](const FaultText& f, uint32_t c) { return f.code < c; });
  return it != faults_.end() && it->code == code ? &*it : nullptr;
}

}  // namespace lg::drivers
