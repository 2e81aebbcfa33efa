// RegisterMap: where one make of elevator controller keeps each field, and
// how to turn its raw registers into a Sample.
//
// `ref-1` (shared/spec/register-map.md) is built in. Other makes are read
// from a TOML map file (format: docs/register-maps.md). A bad map file is
// refused with "file:line: reason"; nothing is partially loaded.
//
// The map also plans the reads: the fewest Modbus requests that cover every
// polled field (`poll_blocks`), and separately the controller-info fields
// read once after each (re)connect (`info_blocks`). Only read tables exist
// here (function codes 01-04); a map cannot ask for anything else.
//
// Ownership: a RegisterMap is an immutable value once built; share it with
// std::shared_ptr<const RegisterMap>.
// Thread-safety: all const methods are safe from any thread.
#pragma once

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

enum class ValueType : uint8_t { kBit, kInt16, kUint16, kInt32, kUint32, kFloat32, kAscii };
enum class WordOrder : uint8_t { kHighFirst, kLowFirst };

struct FieldSpec {
  Field field;
  Table table;
  uint16_t address = 0;   // 0-based protocol address of the (first) register or bit
  ValueType type = ValueType::kUint16;
  WordOrder word_order = WordOrder::kHighFirst;  // 32-bit types only
  int bit = 0;            // kBit on a register table: bit number 0..15
  bool inverted = false;  // kBit: the make reports the opposite sense
  double scale = 1.0;     // numeric: value = raw * scale + offset
  double offset = 0.0;
  int chars = 0;          // kAscii: number of characters (2 per register)
  int line = 0;           // line in the map file (0 for built-in)

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
};

// The raw answer to one ReadBlock: one uint16 per register, or one 0/1 per
// bit for coils and discrete inputs. Must have exactly `count` entries.
using RawBlock = std::span<const uint16_t>;

class RegisterMap {
 public:
  // The built-in reference map of register-map.md.
  static std::shared_ptr<const RegisterMap> Ref1();
  // Parses a map file. Error messages are "PATH:LINE: reason".
  static Result<std::shared_ptr<const RegisterMap>> LoadFile(const std::string& path);
  // "ref-1" gives the built-in map, anything else is a file path.
  static Result<std::shared_ptr<const RegisterMap>> Resolve(const std::string& name_or_path);

  const std::string& name() const { return name_; }
  const std::vector<FieldSpec>& fields() const { return fields_; }
  bool Provides(Field f) const;

  const std::vector<ReadBlock>& poll_blocks() const { return poll_blocks_; }
  const std::vector<ReadBlock>& info_blocks() const { return info_blocks_; }

  // Fills `out` from the answers to poll_blocks(), in the same order. Leaves
  // read_at/wall_at alone. Fails (not recoverable) if a block has the wrong
  // size.
  Status DecodePoll(std::span<const RawBlock> raw, Sample& out) const;
  // Same for info_blocks().
  Result<ControllerInfo> DecodeInfo(std::span<const RawBlock> raw) const;

  // Translation of a controller's own fault code; nullptr if the map has none.
  const FaultText* FaultFor(uint32_t code) const;

  // For map builders (the loader and tests): validates and plans the blocks.
  // `source` names the map in messages ("ref-1" or the file path).
  static Result<std::shared_ptr<const RegisterMap>> Build(std::string name, std::string source,
                                                          std::vector<FieldSpec> fields,
                                                          std::vector<FaultText> faults,
                                                          int max_gap);

 private:
  std::string name_;
  std::vector<FieldSpec> fields_;
  std::vector<FaultText> faults_;
  std::vector<ReadBlock> poll_blocks_;
  std::vector<ReadBlock> info_blocks_;
  // For each field in fields_: which block it is in and its offset there.
  struct Slot {
    int block = -1;
    int offset = 0;
    bool info = false;
  };
  std::vector<Slot> slots_;
};

}  // namespace lg::drivers
