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

#include "core/problems.h"

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

int ReadLimit(Table t) { return IsBitTable(t) ? kMaxBitsPerRead : kMaxRegistersPerRead; }

bool IsNumericType(ValueType t) { return t != ValueType::kBit && t != ValueType::kAscii; }

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

// The covered ranges of an image: every block, merged per table where
// blocks overlap or touch.
std::vector<RegisterImage::Range> ImageRanges(const std::vector<ReadBlock>& poll,
                                              const std::vector<ReadBlock>& info) {
  std::vector<ReadBlock> blocks = poll;
  blocks.insert(blocks.end(), info.begin(), info.end());
  std::sort(blocks.begin(), blocks.end(), [](const ReadBlock& a, const ReadBlock& b) {
    return a.table != b.table ? a.table < b.table : a.address < b.address;
  });
  std::vector<RegisterImage::Range> ranges;
  uint32_t next = 0;
  for (const ReadBlock& b : blocks) {
    const uint32_t end = uint32_t{b.address} + b.count;
    if (!ranges.empty() && ranges.back().table == b.table &&
        b.address <= ranges.back().address + ranges.back().count) {
      RegisterImage::Range& r = ranges.back();
      const uint32_t r_end = std::max<uint32_t>(r.address + r.count, end);
      next += r_end - (r.address + r.count);
      r.count = r_end - r.address;
      continue;
    }
    ranges.push_back(RegisterImage::Range{b.table, b.address, b.count, next});
    next += b.count;
  }
  return ranges;
}

// Rounds to the nearest integer in [lo, hi]; NaN gives 0.
double RoundClamp(double v, double lo, double hi) {
  if (std::isnan(v)) return 0;
  return std::clamp(std::round(v), lo, hi);
}

void Split(uint32_t v, WordOrder order, uint16_t* r) {
  const auto high = static_cast<uint16_t>(v >> 16);
  const auto low = static_cast<uint16_t>(v & 0xffff);
  r[0] = order == WordOrder::kHighFirst ? high : low;
  r[1] = order == WordOrder::kHighFirst ? low : high;
}

// The inverse of RawNumber: `raw` is the value before scale and offset.
void EncodeNumber(ValueType type, WordOrder order, double raw, uint16_t* r) {
  switch (type) {
    case ValueType::kInt16:
      r[0] = static_cast<uint16_t>(static_cast<int16_t>(RoundClamp(raw, -32768, 32767)));
      return;
    case ValueType::kUint16:
      r[0] = static_cast<uint16_t>(RoundClamp(raw, 0, 65535));
      return;
    case ValueType::kInt32:
      Split(static_cast<uint32_t>(static_cast<int32_t>(RoundClamp(
                raw, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()))),
            order, r);
      return;
    case ValueType::kUint32:
      Split(static_cast<uint32_t>(RoundClamp(raw, 0, std::numeric_limits<uint32_t>::max())), order,
            r);
      return;
    case ValueType::kFloat32: {
      constexpr double kMax = std::numeric_limits<float>::max();
      float f;
      if (std::isnan(raw)) {
        f = std::numeric_limits<float>::quiet_NaN();
      } else if (raw > kMax || raw < -kMax) {
        f = raw > 0 ? std::numeric_limits<float>::infinity()
                    : -std::numeric_limits<float>::infinity();
      } else {
        f = static_cast<float>(raw);
      }
      Split(std::bit_cast<uint32_t>(f), order, r);
      return;
    }
    case ValueType::kBit:
    case ValueType::kAscii:
      return;
  }
}

// High byte first, NUL padded, cut at `chars`.
void EncodeAscii(std::string_view text, int chars, uint16_t* r) {
  for (int i = 0; i < chars; ++i) {
    const auto c = static_cast<unsigned char>(i < static_cast<int>(text.size()) ? text[i] : 0);
    r[i / 2] |= static_cast<uint16_t>(i % 2 == 0 ? c << 8 : c);
  }
}

}  // namespace

std::span<const uint16_t> RegisterImage::Read(Table table, int address, int count) const {
  if (address < 0 || count < 0) return {};
  for (const Range& r : ranges_) {
    if (r.table != table || address < r.address) continue;
    const int64_t off = address - r.address;
    if (off + count > r.count) continue;
    return std::span<const uint16_t>(values_.data() + r.first + off, static_cast<size_t>(count));
  }
  return {};
}

bool RegisterImage::HasTable(Table table) const {
  return std::any_of(ranges_.begin(), ranges_.end(),
                     [table](const Range& r) { return r.table == table; });
}

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
  if (!p.empty()) return p.ToError("map");  // overlap of malformed specs would only add noise
  for (size_t i = 0; i < fields.size(); ++i) {
    for (size_t j = i + 1; j < fields.size(); ++j) CheckOverlap(fields[i], fields[j], p);
  }
  if (!any_polled) p.Add(0, "the map provides no field that is polled");
  CheckFaults(faults, p);
  if (!p.empty()) return p.ToError("map");

  auto map = std::make_shared<RegisterMap>();
  map->name_ = std::move(name);
  std::sort(faults.begin(), faults.end(),
            [](const FaultText& a, const FaultText& b) { return a.code < b.code; });
  // Everything that decides decoding, in one string: two loads of an
  // unchanged file compare equal, so a reload keeps the car's detectors.
  std::string fp = map->name_ + '|' + std::to_string(max_gap);
  for (const FieldSpec& f : fields) {
    fp += '|' + std::to_string(static_cast<int>(f.field)) + ',' +
          std::to_string(static_cast<int>(f.table)) + ',' + std::to_string(f.address) + ',' +
          std::to_string(static_cast<int>(f.type)) + ',' +
          std::to_string(static_cast<int>(f.word_order)) + ',' + std::to_string(f.bit) + ',' +
          std::to_string(f.inverted) + ',' + std::to_string(f.scale) + ',' +
          std::to_string(f.offset) + ',' + std::to_string(f.chars);
  }
  for (const FaultText& f : faults) {
    fp += '|' + std::to_string(f.code) + ',' + f.text + ',' + f.severity;
  }
  map->fingerprint_ = std::move(fp);
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
  map->image_ranges_ = ImageRanges(map->poll_blocks_, map->info_blocks_);
  for (const RegisterImage::Range& r : map->image_ranges_) map->image_size_ += r.count;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& s = fields[i];
    // Every field lies in a block, so in exactly one covered range.
    uint32_t image_index = 0;
    for (const RegisterImage::Range& r : map->image_ranges_) {
      if (r.table == s.table && s.address >= r.address && s.address < r.address + r.count) {
        image_index = r.first + (s.address - r.address);
        break;
      }
    }
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
        .image_index = image_index,
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

void RegisterMap::Encode(const Sample& s, const ControllerInfo& info, RegisterImage& out) const {
  if (out.ranges_ != image_ranges_ || out.values_.size() != image_size_) {
    out.ranges_ = image_ranges_;
    out.values_.assign(image_size_, 0);
  } else {
    std::fill(out.values_.begin(), out.values_.end(), uint16_t{0});
  }
  uint16_t* values = out.values_.data();
  for (const Slot& slot : poll_slots_) {
    if (!s.Has(slot.field)) continue;
    uint16_t* r = values + slot.image_index;
    if (slot.type == ValueType::kBit) {
      if (s.Flag(slot.field) == slot.inverted) continue;  // raw bit 0
      if (slot.bit_table) {
        r[0] = 1;
      } else {
        r[0] |= static_cast<uint16_t>(1u << slot.bit);
      }
      continue;
    }
    EncodeNumber(slot.type, slot.word_order,
                 (s.Number(slot.field) - slot.offset_value) / slot.scale, r);
  }
  for (const Slot& slot : info_slots_) {
    uint16_t* r = values + slot.image_index;
    std::optional<int> v;
    switch (slot.field) {
      case Field::kModel:
        EncodeAscii(info.model, slot.chars, r);
        continue;
      case Field::kRatedSpeed:
        v = info.rated_speed_mm_s;
        break;
      case Field::kTopFloor:
        v = info.top_floor;
        break;
      case Field::kBottomFloor:
        v = info.bottom_floor;
        break;
      default:
        break;
    }
    if (v) EncodeNumber(slot.type, slot.word_order, (*v - slot.offset_value) / slot.scale, r);
  }
}

const FaultText* RegisterMap::FaultFor(uint32_t code) const {
  auto it = std::lower_bound(faults_.begin(), faults_.end(), code,
                             [](const FaultText& f, uint32_t c) { return f.code < c; });
  return it != faults_.end() && it->code == code ? &*it : nullptr;
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

}  // namespace lg::drivers
