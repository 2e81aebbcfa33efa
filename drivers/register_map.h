// RegisterMap: where one make of elevator controller keeps each field, and
// how to turn its raw registers into a Sample.
//
// `ref-1` (shared/spec/register-map.md) is built in. Other makes are read
// from a TOML map file (format: docs/register-maps.md). A bad map file is
// refused with "file:line: reason"; nothing is partially loaded.
//
// The map also plans the reads: the fewest Modbus requests that cover every
// polled field (`poll_blocks`), and separately the controller-info fields
// read once after each (re)connect (`info_blocks`). Fields of one table are
// merged into one block while the block stays within the protocol's limit
// (125 registers, 2000 bits) and no two neighbours are more than `max_gap`
// registers apart (16 x max_gap bits on coil and discrete tables). Only read
// tables exist here (function codes 01-04); a map cannot ask for anything
// else.
//
// Decoding allocates nothing for the poll (DecodePoll is on the hot path);
// everything it needs is worked out once, in Build().
//
// Encode() is the inverse of decoding, for simulators and tests: it writes
// a Sample and a ControllerInfo into a RegisterImage, the raw tables a
// controller of this make would serve.
//
// Ownership: a RegisterMap is an immutable value once built; share it with
// std::shared_ptr<const RegisterMap>.
// Thread-safety: all const methods are safe from any thread.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/sample.h"

namespace lg::drivers {

// The value is the Modbus read function code for that table.
enum class Table : uint8_t {
  kCoils = 1,
  kDiscreteInputs = 2,
  kHoldingRegisters = 3,
  kInputRegisters = 4,
};

// Unread registers a block may swallow between two fields when that saves a
// request. Some controllers answer "illegal data address" for holes in their
// map; such a make sets max_gap = 0.
inline constexpr int kDefaultMaxGap = 16;

// "coil", "discrete", "holding", "input": the words map files use.
std::string TableName(Table t);

enum class ValueType : uint8_t { kBit, kInt16, kUint16, kInt32, kUint32, kFloat32, kAscii };
enum class WordOrder : uint8_t { kHighFirst, kLowFirst };

// Where one field lives and how to read it. Build() checks it: flags are
// kBit, numbers are int/uint/float types, kModel is kAscii; coil and discrete
// tables hold kBit only and there `address` is the bit (bit stays 0).
struct FieldSpec {
  Field field;
  Table table;
  uint16_t address = 0;  // 0-based protocol address of the (first) register or bit
  ValueType type = ValueType::kUint16;
  // 32-bit types only: which register holds the high 16 bits.
  WordOrder word_order = WordOrder::kHighFirst;
  int bit = 0;            // kBit on a register table: bit number 0..15
  bool inverted = false;  // kBit: the make reports the opposite sense
  double scale = 1.0;     // numeric: value = raw * scale + offset
  double offset = 0.0;
  int chars = 0;  // kAscii: number of characters (2 per register)
  int line = 0;   // line in the map file (0 for built-in)

  // Registers (or bits, on coil/discrete tables) this field occupies.
  int width() const;
};

struct FaultText {
  uint32_t code = 0;
  std::string text;      // "door lock short-circuit"
  std::string severity;  // "critical" | "major" | "minor"
};

// One read request: function code (the table), start address, count.
struct ReadBlock {
  Table table;
  uint16_t address;
  uint16_t count;  // registers, or bits for coils / discrete inputs

  friend bool operator==(const ReadBlock&, const ReadBlock&) = default;
};

// The raw answer to one ReadBlock: one uint16 per register, or one 0/1 per
// bit for coils and discrete inputs. Must have exactly `count` entries.
using RawBlock = std::span<const uint16_t>;

// The raw tables of a controller as far as one map covers them, filled by
// RegisterMap::Encode(). Covered are the address ranges of the map's read
// blocks (poll and info), merged per table where they overlap or touch: the
// registers a block steps over between two fields (see max_gap) are covered
// and read 0; every other address is not covered. Values are as in a
// RawBlock: one uint16 per register, one 0/1 per coil or discrete input.
//
// A default-constructed image covers nothing; the first Encode() lays it out
// for its map (and allocates), later Encode()s with the same map only
// overwrite the values. Thread-safety: a plain value.
class RegisterImage {
 public:
  struct Range {
    Table table;
    uint16_t address;
    uint32_t count;  // registers or bits; may exceed one request's limit
    uint32_t first;  // index of the range's first value in the storage

    friend bool operator==(const Range&, const Range&) = default;
  };

  // `count` values of `table` from `address` when every one of them lies in
  // one covered range, else an empty span. Valid until the next Encode().
  std::span<const uint16_t> Read(Table table, int address, int count) const;
  // Whether any address of `table` is covered.
  bool HasTable(Table table) const;
  // Covered ranges, sorted by table (function code), then address.
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  friend class RegisterMap;
  std::vector<Range> ranges_;
  std::vector<uint16_t> values_;
};

class RegisterMap {
 public:
  // The built-in reference map of register-map.md.
  static std::shared_ptr<const RegisterMap> Ref1();
  // Parses a map file. Error messages are "PATH:LINE: reason".
  static Result<std::shared_ptr<const RegisterMap>> LoadFile(const std::string& path);
  // "ref-1" gives the built-in map, anything else is a file path.
  static Result<std::shared_ptr<const RegisterMap>> Resolve(const std::string& name_or_path);

  const std::string& name() const { return name_; }
  // Equal for two maps that decode alike (same fields, blocks, fault table),
  // e.g. the same file loaded twice.
  const std::string& fingerprint() const { return fingerprint_; }
  const std::vector<FieldSpec>& fields() const { return fields_; }
  bool Provides(Field f) const;

  const std::vector<ReadBlock>& poll_blocks() const { return poll_blocks_; }
  const std::vector<ReadBlock>& info_blocks() const { return info_blocks_; }

  // Fills `out` from the answers to poll_blocks(), in the same order:
  // overwrites every field of `out` but read_at/wall_at, so a field the map
  // lacks is absent, as is a float32 that is NaN or infinite. Fails (not
  // recoverable) if a block is missing or has the wrong size. Allocates
  // nothing.
  Status DecodePoll(std::span<const RawBlock> raw, Sample& out) const;
  // Same for info_blocks(). Integer fields are rounded after scale/offset.
  Result<ControllerInfo> DecodeInfo(std::span<const RawBlock> raw) const;

  // The inverse of DecodePoll + DecodeInfo: writes the polled fields of `s`
  // and the controller information of `info` (`s`'s info fields and model
  // are not used) where this map keeps them, so that decoding `out` gives
  // them back. Every covered value is rewritten: a field `s` does not have
  // (or an unset optional of `info`) and every hole are raw 0. Per type:
  //  - bit: the flag, flipped when `inverted`; the other bits of a shared
  //    register are those of their own fields;
  //  - numbers: raw = (value - offset) / scale; integer types round to the
  //    nearest and saturate at the type's limits (NaN gives 0); float32 is
  //    the nearest float (beyond its range, infinity); 32-bit types are split
  //    by `word_order`;
  //  - ascii: the text's first `chars` bytes, two per register, high byte
  //    first, NUL padded (decoding trims spaces and shows other than
  //    printable ASCII as '?').
  // Allocates only when `out` is not yet laid out for this map.
  void Encode(const Sample& s, const ControllerInfo& info, RegisterImage& out) const;

  // Translation of a controller's own fault code; nullptr if the map has none.
  const FaultText* FaultFor(uint32_t code) const;

  // For map builders (the loader and tests): validates and plans the blocks.
  // `source` names the map in messages ("ref-1" or the file path); each
  // problem is one line "SOURCE:LINE: reason" (LINE from FieldSpec::line,
  // left out when 0). Refuses: two specs for one field, overlapping fields
  // in one table (bits of one register may share it), a type that does not
  // suit the field or table, a bit out of 0..15, a field wider than one
  // request, a bad fault table (duplicate or zero code, empty text, severity
  // not critical|major|minor), max_gap outside 0..125, and a map with no
  // polled field.
  static Result<std::shared_ptr<const RegisterMap>> Build(std::string name, std::string source,
                                                          std::vector<FieldSpec> fields,
                                                          std::vector<FaultText> faults,
                                                          int max_gap);

 private:
  std::string name_;
  std::string fingerprint_;
  std::vector<FieldSpec> fields_;
  std::vector<FaultText> faults_;
  std::vector<ReadBlock> poll_blocks_;
  std::vector<ReadBlock> info_blocks_;
  std::bitset<kFieldCount> provided_;
  // One field's decoding, worked out by Build(): which block, where in it,
  // and how to turn the raw words into a value.
  struct Slot {
    Field field;
    ValueType type;
    WordOrder word_order;
    bool bit_table;  // coil / discrete: one 0/1 entry per bit
    bool inverted;
    uint8_t bit;
    uint16_t block;
    uint16_t offset;
    int chars;
    double scale;
    double offset_value;
    uint32_t image_index;  // Encode: where the field starts in RegisterImage::values_
  };
  std::vector<Slot> poll_slots_;
  std::vector<Slot> info_slots_;
  std::vector<RegisterImage::Range> image_ranges_;
  uint32_t image_size_ = 0;
};

}  // namespace lg::drivers
