// Register maps (drivers/register_map.h): the built-in ref-1, Build()'s
// checks and block plan, decoding of every value type, the vendor-x example
// map and every error the map-file loader reports.
#include "drivers/register_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <span>
#include <sstream>
#include <string>
#include <vector>

// Counts heap allocations on this thread while `g_counting` is set, to hold
// DecodePoll to its promise of allocating nothing.
namespace {
thread_local bool g_counting = false;
thread_local int g_allocations = 0;
}  // namespace

// Every unaligned form is replaced so that new and delete always pair up.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting) ++g_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(std::size_t n) {
  if (void* p = operator new(n, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return operator new(n, std::nothrow);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace lg::drivers {
namespace {

using ::testing::HasSubstr;

using Raw = std::vector<std::vector<uint16_t>>;

std::vector<RawBlock> Spans(const Raw& raw) {
  std::vector<RawBlock> spans;
  for (const auto& r : raw) spans.emplace_back(r);
  return spans;
}

// A controller's memory, by table and address; unset addresses read 0.
struct FakeController {
  std::map<std::pair<Table, int>, uint16_t> mem;

  void Set(Table t, int address, uint16_t v) { mem[{t, address}] = v; }
  void Set32(Table t, int address, uint32_t v, WordOrder order) {
    uint16_t hi = v >> 16;
    uint16_t lo = v & 0xffff;
    Set(t, address, order == WordOrder::kHighFirst ? hi : lo);
    Set(t, address + 1, order == WordOrder::kHighFirst ? lo : hi);
  }
  void SetAscii(Table t, int address, std::string_view s, int chars) {
    for (int i = 0; i < chars; i += 2) {
      auto at = [&](int k) -> uint16_t {
        return k < static_cast<int>(s.size()) ? static_cast<unsigned char>(s[k]) : 0;
      };
      Set(t, address + i / 2, static_cast<uint16_t>(at(i) << 8 | at(i + 1)));
    }
  }
  Raw Read(const std::vector<ReadBlock>& blocks) const {
    Raw raw;
    for (const ReadBlock& b : blocks) {
      std::vector<uint16_t> r;
      for (int a = b.address; a < b.address + b.count; ++a) {
        auto it = mem.find({b.table, a});
        r.push_back(it == mem.end() ? 0 : it->second);
      }
      raw.push_back(std::move(r));
    }
    return raw;
  }
};

Sample Poll(const RegisterMap& map, const FakeController& c) {
  Raw raw = c.Read(map.poll_blocks());
  std::vector<RawBlock> spans = Spans(raw);
  Sample s;
  Status st = map.DecodePoll(spans, s);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return s;
}

ControllerInfo Info(const RegisterMap& map, const FakeController& c) {
  Raw raw = c.Read(map.info_blocks());
  std::vector<RawBlock> spans = Spans(raw);
  Result<ControllerInfo> info = map.DecodeInfo(spans);
  EXPECT_TRUE(info.ok()) << info.error().message;
  return info.ok() ? *info : ControllerInfo{};
}

FieldSpec Bit(Field f, Table t, uint16_t address, int bit = 0, bool inverted = false) {
  FieldSpec s{.field = f, .table = t};
  s.address = address;
  s.type = ValueType::kBit;
  s.bit = bit;
  s.inverted = inverted;
  return s;
}

FieldSpec Num(Field f, Table t, uint16_t address, ValueType type,
              WordOrder order = WordOrder::kHighFirst, double scale = 1, double offset = 0) {
  FieldSpec s{.field = f, .table = t};
  s.address = address;
  s.type = type;
  s.word_order = order;
  s.scale = scale;
  s.offset = offset;
  return s;
}

FieldSpec Ascii(Field f, Table t, uint16_t address, int chars) {
  FieldSpec s{.field = f, .table = t};
  s.address = address;
  s.type = ValueType::kAscii;
  s.chars = chars;
  return s;
}

FieldSpec AtLine(FieldSpec s, int line) {
  s.line = line;
  return s;
}

std::shared_ptr<const RegisterMap> MustBuild(std::vector<FieldSpec> fields,
                                             std::vector<FaultText> faults = {},
                                             int max_gap = kDefaultMaxGap) {
  auto r = RegisterMap::Build("test", "test", std::move(fields), std::move(faults), max_gap);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : nullptr;
}

std::string BuildError(std::vector<FieldSpec> fields, std::vector<FaultText> faults = {},
                       int max_gap = kDefaultMaxGap) {
  auto r = RegisterMap::Build("test", "test", std::move(fields), std::move(faults), max_gap);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

constexpr Table kIn = Table::kInputRegisters;
constexpr Table kHold = Table::kHoldingRegisters;
constexpr Table kCoil = Table::kCoils;
constexpr Table kDisc = Table::kDiscreteInputs;

// ---------------------------------------------------------------- ref-1

TEST(Ref1Test, IsBuiltInAndShared) {
  auto a = RegisterMap::Ref1();
  auto b = RegisterMap::Ref1();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->name(), "ref-1");
  auto resolved = RegisterMap::Resolve("ref-1");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, a);
}

TEST(Ref1Test, ProvidesEveryField) {
  auto map = RegisterMap::Ref1();
  for (int i = 0; i < kFieldCount; ++i) {
    EXPECT_TRUE(map->Provides(static_cast<Field>(i))) << FieldName(static_cast<Field>(i));
  }
  EXPECT_EQ(map->fields().size(), static_cast<size_t>(kFieldCount));
  EXPECT_FALSE(map->Provides(Field::kCount));
}

TEST(Ref1Test, OnePollBlockAndOneInfoBlock) {
  auto map = RegisterMap::Ref1();
  EXPECT_THAT(map->poll_blocks(), ::testing::ElementsAre(ReadBlock{kIn, 0, 13}));
  EXPECT_THAT(map->info_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 100, 11}));
}

TEST(Ref1Test, DecodesEveryPolledField) {
  auto map = RegisterMap::Ref1();
  FakeController c;
  // auto, door_zone, door_closed, safety_chain_ok, door_lock_ok, main_power_ok
  c.Set(kIn, 0, 1 << 0 | 1 << 3 | 1 << 8 | 1 << 11 | 1 << 12 | 1 << 13);
  c.Set(kIn, 1, static_cast<uint16_t>(-2));
  c.Set(kIn, 2, 0);
  c.Set(kIn, 3, 1000);
  c.Set(kIn, 4, 55);
  c.Set32(kIn, 5, 0x00012345, WordOrder::kHighFirst);
  c.Set32(kIn, 7, 0x89ABCDEF, WordOrder::kHighFirst);
  c.Set32(kIn, 9, 42, WordOrder::kHighFirst);
  c.Set(kIn, 11, 65535);
  // ucm and emergency_power; reserved bits 5-15 must not leak anywhere.
  c.Set(kIn, 12, 1 << 2 | 1 << 4 | 0xFFE0);

  Sample s = Poll(*map, c);
  for (int i = 0; i < kFieldCount; ++i) {
    EXPECT_EQ(s.Has(static_cast<Field>(i)), IsPolledField(static_cast<Field>(i)))
        << FieldName(static_cast<Field>(i));
  }
  EXPECT_TRUE(s.Flag(Field::kAuto));
  EXPECT_FALSE(s.Flag(Field::kInspection));
  EXPECT_FALSE(s.Flag(Field::kFireService));
  EXPECT_TRUE(s.Flag(Field::kDoorZone));
  EXPECT_FALSE(s.Flag(Field::kMoving));
  EXPECT_FALSE(s.Flag(Field::kDirUp));
  EXPECT_FALSE(s.Flag(Field::kDirDown));
  EXPECT_FALSE(s.Flag(Field::kDoorOpen));
  EXPECT_TRUE(s.Flag(Field::kDoorClosed));
  EXPECT_FALSE(s.Flag(Field::kOccupied));
  EXPECT_FALSE(s.Flag(Field::kAlarmButton));
  EXPECT_TRUE(s.Flag(Field::kSafetyChainOk));
  EXPECT_TRUE(s.Flag(Field::kDoorLockOk));
  EXPECT_TRUE(s.Flag(Field::kMainPowerOk));
  EXPECT_FALSE(s.Flag(Field::kOverload));
  EXPECT_FALSE(s.Flag(Field::kOutOfService));
  EXPECT_FALSE(s.Flag(Field::kTopLimit));
  EXPECT_FALSE(s.Flag(Field::kBottomLimit));
  EXPECT_TRUE(s.Flag(Field::kUcm));
  EXPECT_FALSE(s.Flag(Field::kBrakeFault));
  EXPECT_TRUE(s.Flag(Field::kEmergencyPower));
  EXPECT_EQ(s.floor(), -2);
  EXPECT_EQ(s.Number(Field::kFaultCode), 0);
  EXPECT_EQ(s.Number(Field::kSpeed), 1000);
  EXPECT_EQ(s.Number(Field::kLoad), 55);
  EXPECT_EQ(s.Number(Field::kTrips), 0x00012345);
  EXPECT_EQ(s.Number(Field::kDoorCycles), 0x89ABCDEFu);
  EXPECT_EQ(s.Number(Field::kRunHours), 42);
  EXPECT_EQ(s.heartbeat(), 65535u);
  EXPECT_EQ(s.mode(), Mode::kEmergencyPower);
  EXPECT_EQ(s.door(), DoorState::kClosed);
}

TEST(Ref1Test, EveryStatusBitLandsOnItsField) {
  auto map = RegisterMap::Ref1();
  for (int b = 0; b < 16; ++b) {
    FakeController c;
    c.Set(kIn, 0, static_cast<uint16_t>(1u << b));
    Sample s = Poll(*map, c);
    for (int f = 0; f < kFlagCount; ++f) {
      EXPECT_EQ(s.Flag(static_cast<Field>(f)), f == b) << "status1 bit " << b << " field " << f;
    }
  }
  for (int b = 0; b < 5; ++b) {
    FakeController c;
    c.Set(kIn, 12, static_cast<uint16_t>(1u << b));
    Sample s = Poll(*map, c);
    Field expected = static_cast<Field>(static_cast<int>(Field::kTopLimit) + b);
    for (int f = 0; f < kFlagCount; ++f) {
      EXPECT_EQ(s.Flag(static_cast<Field>(f)), static_cast<Field>(f) == expected)
          << "status2 bit " << b << " field " << f;
    }
  }
}

TEST(Ref1Test, DecodesControllerInfo) {
  auto map = RegisterMap::Ref1();
  FakeController c;
  c.Set(kHold, 100, 1750);
  c.Set(kHold, 101, 18);
  c.Set(kHold, 102, static_cast<uint16_t>(-2));
  c.SetAscii(kHold, 103, "LG-SIM-1", 16);
  ControllerInfo info = Info(*map, c);
  EXPECT_EQ(info.rated_speed_mm_s, 1750);
  EXPECT_EQ(info.top_floor, 18);
  EXPECT_EQ(info.bottom_floor, -2);
  EXPECT_EQ(info.model, "LG-SIM-1");
}

TEST(Ref1Test, ModelOfSixteenCharactersHasNoPadding) {
  auto map = RegisterMap::Ref1();
  FakeController c;
  c.SetAscii(kHold, 103, "ABCDEFGHIJKLMNOP", 16);
  EXPECT_EQ(Info(*map, c).model, "ABCDEFGHIJKLMNOP");
}

TEST(Ref1Test, HasNoFaultTable) { EXPECT_EQ(RegisterMap::Ref1()->FaultFor(35), nullptr); }

// ---------------------------------------------------------------- decoding

TEST(DecodeTest, WrongBlockCountOrSizeIsRefused) {
  auto map = RegisterMap::Ref1();
  Sample s;
  Status none = map->DecodePoll({}, s);
  ASSERT_FALSE(none.ok());
  EXPECT_FALSE(none.error().recoverable);
  EXPECT_THAT(none.error().message, HasSubstr("got 0 blocks"));

  std::vector<uint16_t> short_block(12);
  std::vector<RawBlock> spans = {short_block};
  Status bad = map->DecodePoll(spans, s);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(bad.error().recoverable);
  EXPECT_THAT(bad.error().message, HasSubstr("got 12 values, expected 13"));

  Result<ControllerInfo> info = map->DecodeInfo(spans);
  ASSERT_FALSE(info.ok());
  EXPECT_THAT(info.error().message, HasSubstr("got 12 values, expected 11"));
}

TEST(DecodeTest, OverwritesAStaleSampleButNotItsTimes) {
  auto map = MustBuild({Num(Field::kFloor, kIn, 0, ValueType::kInt16)});
  Sample s;
  s.SetFlag(Field::kMoving, true);
  s.SetNumber(Field::kSpeed, 99);
  s.model = "old";
  s.read_at = SteadyTime(std::chrono::seconds(5));
  FakeController c;
  c.Set(kIn, 0, 3);
  Raw raw = c.Read(map->poll_blocks());
  std::vector<RawBlock> spans = Spans(raw);
  ASSERT_TRUE(map->DecodePoll(spans, s).ok());
  EXPECT_FALSE(s.Has(Field::kMoving));
  EXPECT_FALSE(s.Flag(Field::kMoving));
  EXPECT_FALSE(s.Has(Field::kSpeed));
  EXPECT_EQ(s.Number(Field::kSpeed), 0);
  EXPECT_TRUE(s.model.empty());
  EXPECT_EQ(s.floor(), 3);
  EXPECT_EQ(s.read_at, SteadyTime(std::chrono::seconds(5)));
}

// One numeric field (speed) at holding 10, decoded from `words`.
double DecodeNumber(ValueType type, WordOrder order, std::vector<uint16_t> words, double scale = 1,
                    double offset = 0) {
  auto map = MustBuild({Num(Field::kSpeed, kHold, 10, type, order, scale, offset)});
  if (!map) return -12345;
  FakeController c;
  for (size_t i = 0; i < words.size(); ++i) c.Set(kHold, 10 + static_cast<int>(i), words[i]);
  Sample s = Poll(*map, c);
  EXPECT_TRUE(s.Has(Field::kSpeed));
  return s.Number(Field::kSpeed);
}

constexpr WordOrder kHi = WordOrder::kHighFirst;
constexpr WordOrder kLo = WordOrder::kLowFirst;

TEST(DecodeTest, Int16) {
  EXPECT_EQ(DecodeNumber(ValueType::kInt16, kHi, {0x0005}), 5);
  EXPECT_EQ(DecodeNumber(ValueType::kInt16, kHi, {0xFFFF}), -1);
  EXPECT_EQ(DecodeNumber(ValueType::kInt16, kHi, {0x8000}), -32768);
  EXPECT_EQ(DecodeNumber(ValueType::kInt16, kHi, {0x7FFF}), 32767);
}

TEST(DecodeTest, Uint16) {
  EXPECT_EQ(DecodeNumber(ValueType::kUint16, kHi, {0xFFFF}), 65535);
  EXPECT_EQ(DecodeNumber(ValueType::kUint16, kHi, {0x8000}), 32768);
}

TEST(DecodeTest, Int32BothWordOrders) {
  EXPECT_EQ(DecodeNumber(ValueType::kInt32, kHi, {0x0001, 0x0002}), 0x00010002);
  EXPECT_EQ(DecodeNumber(ValueType::kInt32, kLo, {0x0002, 0x0001}), 0x00010002);
  EXPECT_EQ(DecodeNumber(ValueType::kInt32, kHi, {0xFFFF, 0xFFFE}), -2);
  EXPECT_EQ(DecodeNumber(ValueType::kInt32, kLo, {0xFFFE, 0xFFFF}), -2);
  EXPECT_EQ(DecodeNumber(ValueType::kInt32, kHi, {0x8000, 0x0000}), -2147483648.0);
}

TEST(DecodeTest, Uint32BothWordOrders) {
  EXPECT_EQ(DecodeNumber(ValueType::kUint32, kHi, {0xFFFF, 0xFFFE}), 4294967294.0);
  EXPECT_EQ(DecodeNumber(ValueType::kUint32, kLo, {0xFFFE, 0xFFFF}), 4294967294.0);
  EXPECT_EQ(DecodeNumber(ValueType::kUint32, kHi, {0x0001, 0x0000}), 65536);
  EXPECT_EQ(DecodeNumber(ValueType::kUint32, kLo, {0x0001, 0x0000}), 1);
}

TEST(DecodeTest, Float32BothWordOrders) {
  uint32_t bits = std::bit_cast<uint32_t>(1.75f);  // 0x3FE00000
  uint16_t hi = bits >> 16;
  uint16_t lo = bits & 0xffff;
  EXPECT_EQ(DecodeNumber(ValueType::kFloat32, kHi, {hi, lo}), 1.75);
  EXPECT_EQ(DecodeNumber(ValueType::kFloat32, kLo, {lo, hi}), 1.75);
  uint32_t neg = std::bit_cast<uint32_t>(-0.5f);
  EXPECT_EQ(DecodeNumber(ValueType::kFloat32, kHi, {uint16_t(neg >> 16), uint16_t(neg)}), -0.5);
  // A word order mix-up gives a very different number, not the same one.
  uint32_t pi = std::bit_cast<uint32_t>(3.14159f);
  EXPECT_NEAR(DecodeNumber(ValueType::kFloat32, kLo, {uint16_t(pi), uint16_t(pi >> 16)}), 3.14159,
              1e-6);
  EXPECT_GT(std::abs(DecodeNumber(ValueType::kFloat32, kHi, {uint16_t(pi), uint16_t(pi >> 16)}) -
                     3.14159),
            1);
}

TEST(DecodeTest, FloatThatIsNotANumberLeavesTheFieldAbsent) {
  auto map = MustBuild({Num(Field::kSpeed, kHold, 0, ValueType::kFloat32),
                        Num(Field::kFloor, kHold, 2, ValueType::kInt16)});
  FakeController c;
  c.Set(kHold, 0, 0x7FC0);  // quiet NaN, high word first
  c.Set(kHold, 2, 4);
  Sample s = Poll(*map, c);
  EXPECT_FALSE(s.Has(Field::kSpeed));
  EXPECT_EQ(s.floor(), 4);
  c.Set(kHold, 0, 0x7F80);  // +infinity
  EXPECT_FALSE(Poll(*map, c).Has(Field::kSpeed));
}

TEST(DecodeTest, ScaleAndOffset) {
  EXPECT_EQ(DecodeNumber(ValueType::kUint16, kHi, {755}, 0.1, 0), 75.5);
  EXPECT_EQ(DecodeNumber(ValueType::kUint16, kHi, {1}, 1, -3), -2);
  EXPECT_EQ(DecodeNumber(ValueType::kInt16, kHi, {0xFFFF}, 10, 5), -5);  // -1 * 10 + 5
  uint32_t bits = std::bit_cast<uint32_t>(1.5f);
  EXPECT_EQ(DecodeNumber(ValueType::kFloat32, kLo, {uint16_t(bits), uint16_t(bits >> 16)}, 1000),
            1500);
  EXPECT_EQ(DecodeNumber(ValueType::kUint32, kLo, {10, 0}, 2, 1), 21);
}

TEST(DecodeTest, BitsOfARegisterWithInversion) {
  auto map = MustBuild({
      Bit(Field::kMoving, kHold, 0, 0),
      Bit(Field::kDoorZone, kHold, 0, 15),
      Bit(Field::kSafetyChainOk, kHold, 0, 7, /*inverted=*/true),
      Bit(Field::kDoorLockOk, kHold, 0, 6, /*inverted=*/true),
  });
  ASSERT_NE(map, nullptr);
  EXPECT_THAT(map->poll_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 0, 1}));
  FakeController c;
  c.Set(kHold, 0, 0x8080);  // bit 15 and bit 7 (safety fault)
  Sample s = Poll(*map, c);
  EXPECT_FALSE(s.Flag(Field::kMoving));
  EXPECT_TRUE(s.Flag(Field::kDoorZone));
  EXPECT_FALSE(s.Flag(Field::kSafetyChainOk));
  EXPECT_TRUE(s.Flag(Field::kDoorLockOk));
  EXPECT_TRUE(s.Has(Field::kMoving));
  EXPECT_TRUE(s.Has(Field::kSafetyChainOk));
}

TEST(DecodeTest, CoilsAndDiscreteInputsWithInversion) {
  auto map = MustBuild({
      Bit(Field::kFireService, kDisc, 12),
      Bit(Field::kOutOfService, kDisc, 14, 0, /*inverted=*/true),
      Bit(Field::kEmergencyPower, kCoil, 6),
      Bit(Field::kOverload, kCoil, 7, 0, /*inverted=*/true),
  });
  ASSERT_NE(map, nullptr);
  EXPECT_THAT(map->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kCoil, 6, 2}, ReadBlock{kDisc, 12, 3}));
  FakeController c;
  c.Set(kDisc, 12, 1);
  c.Set(kDisc, 14, 1);
  c.Set(kCoil, 6, 0);
  c.Set(kCoil, 7, 0);
  Sample s = Poll(*map, c);
  EXPECT_TRUE(s.Flag(Field::kFireService));
  EXPECT_FALSE(s.Flag(Field::kOutOfService));
  EXPECT_FALSE(s.Flag(Field::kEmergencyPower));
  EXPECT_TRUE(s.Flag(Field::kOverload));
}

TEST(DecodeTest, AsciiHighByteFirstPaddedAndTrimmed) {
  auto decode = [](int chars, std::vector<uint16_t> words) {
    auto map = MustBuild(
        {Num(Field::kFloor, kIn, 0, ValueType::kInt16), Ascii(Field::kModel, kHold, 50, chars)});
    FakeController c;
    for (size_t i = 0; i < words.size(); ++i) c.Set(kHold, 50 + static_cast<int>(i), words[i]);
    return Info(*map, c).model;
  };
  EXPECT_EQ(decode(4, {'A' << 8 | 'B', 'C' << 8 | 'D'}), "ABCD");
  EXPECT_EQ(decode(4, {'A' << 8 | 'B', 'C' << 8}), "ABC");                 // NUL padded
  EXPECT_EQ(decode(6, {' ' << 8 | 'X', '1' << 8 | ' ', ' ' << 8}), "X1");  // spaces trimmed
  EXPECT_EQ(decode(3, {'A' << 8 | 'B', 'C' << 8 | 'D'}), "ABC");           // odd: half a register
  EXPECT_EQ(decode(4, {'A' << 8, 'C' << 8 | 'D'}), "A");                   // stops at the first NUL
  EXPECT_EQ(decode(4, {0, 0}), "");
  EXPECT_EQ(decode(4, {'A' << 8 | 0x07, 0xC3 << 8 | 'Z'}), "A??Z");  // unprintable bytes
}

TEST(DecodeTest, InfoRoundsAfterScale) {
  auto map = MustBuild({Num(Field::kFloor, kIn, 0, ValueType::kInt16),
                        Num(Field::kRatedSpeed, kHold, 0, ValueType::kFloat32, kLo, 1000),
                        Num(Field::kTopFloor, kHold, 2, ValueType::kUint16, kHi, 1, -3)});
  ASSERT_NE(map, nullptr);
  FakeController c;
  uint32_t bits = std::bit_cast<uint32_t>(1.6f);  // 1.6f * 1000 is 1600.0000238...
  c.Set(kHold, 0, bits & 0xffff);
  c.Set(kHold, 1, bits >> 16);
  c.Set(kHold, 2, 21);
  ControllerInfo info = Info(*map, c);
  EXPECT_EQ(info.rated_speed_mm_s, 1600);
  EXPECT_EQ(info.top_floor, 18);
  EXPECT_FALSE(info.bottom_floor.has_value());
  EXPECT_EQ(info.model, "");
}

TEST(DecodeTest, PollAllocatesNothing) {
  // The counter itself works.
  g_allocations = 0;
  g_counting = true;
  auto probe = std::make_unique<int>(1);
  g_counting = false;
  ASSERT_EQ(g_allocations, 1);
  for (auto map : {RegisterMap::Ref1(),
                   MustBuild({Bit(Field::kFireService, kDisc, 3),
                              Num(Field::kSpeed, kHold, 0, ValueType::kFloat32, kLo, 1000)})}) {
    FakeController c;
    Raw raw = c.Read(map->poll_blocks());
    std::vector<RawBlock> spans = Spans(raw);
    Sample s;
    s.model.reserve(32);
    g_allocations = 0;
    g_counting = true;
    Status st = map->DecodePoll(spans, s);
    g_counting = false;
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(g_allocations, 0) << map->name();
  }
}

// ---------------------------------------------------------------- block planning

TEST(PlanTest, MergesAcrossSmallGaps) {
  std::vector<FieldSpec> fields = {Num(Field::kFloor, kHold, 0, ValueType::kInt16),
                                   Num(Field::kSpeed, kHold, 10, ValueType::kUint16)};
  EXPECT_THAT(MustBuild(fields, {}, 9)->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kHold, 0, 11}));
  EXPECT_THAT(MustBuild(fields, {}, 8)->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kHold, 0, 1}, ReadBlock{kHold, 10, 1}));
}

TEST(PlanTest, MaxGapZeroStillMergesNeighbours) {
  auto map = MustBuild({Num(Field::kFloor, kHold, 0, ValueType::kInt16),
                        Num(Field::kTrips, kHold, 1, ValueType::kUint32),
                        Bit(Field::kMoving, kHold, 3, 0), Bit(Field::kDirUp, kHold, 3, 1)},
                       {}, 0);
  EXPECT_THAT(map->poll_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 0, 4}));
}

TEST(PlanTest, SplitsAtTheProtocolLimitForRegisters) {
  // 0 .. 124 is exactly 125 registers: one request.
  EXPECT_THAT(MustBuild({Num(Field::kFloor, kIn, 0, ValueType::kInt16),
                         Num(Field::kSpeed, kIn, 124, ValueType::kUint16)},
                        {}, 125)
                  ->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kIn, 0, 125}));
  // A 32-bit value at 123-124 still fits; at 124-125 it does not.
  EXPECT_THAT(MustBuild({Num(Field::kFloor, kIn, 0, ValueType::kInt16),
                         Num(Field::kTrips, kIn, 124, ValueType::kUint32)},
                        {}, 125)
                  ->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kIn, 0, 1}, ReadBlock{kIn, 124, 2}));
}

TEST(PlanTest, SplitsAtTheProtocolLimitForBits) {
  // Gaps on bit tables are 16 bits per max_gap unit: 125 * 16 = 2000.
  EXPECT_THAT(MustBuild({Bit(Field::kMoving, kCoil, 0), Bit(Field::kDirUp, kCoil, 1999)}, {}, 125)
                  ->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kCoil, 0, 2000}));
  EXPECT_THAT(MustBuild({Bit(Field::kMoving, kCoil, 0), Bit(Field::kDirUp, kCoil, 2000)}, {}, 125)
                  ->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kCoil, 0, 1}, ReadBlock{kCoil, 2000, 1}));
}

TEST(PlanTest, BitGapIsSixteenBitsPerRegister) {
  std::vector<FieldSpec> fields = {Bit(Field::kMoving, kDisc, 0), Bit(Field::kDirUp, kDisc, 33)};
  // gap of 32 bits = 2 registers' worth
  EXPECT_THAT(MustBuild(fields, {}, 2)->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kDisc, 0, 34}));
  EXPECT_EQ(MustBuild(fields, {}, 1)->poll_blocks().size(), 2u);
}

TEST(PlanTest, TablesAndInfoAreSeparate) {
  auto map = MustBuild({
      Num(Field::kFloor, kHold, 0, ValueType::kInt16),
      Num(Field::kSpeed, kIn, 1, ValueType::kUint16),
      Num(Field::kRatedSpeed, kHold, 1, ValueType::kUint16),  // next to floor but info
      Bit(Field::kMoving, kCoil, 0),
  });
  EXPECT_THAT(
      map->poll_blocks(),
      ::testing::ElementsAre(ReadBlock{kCoil, 0, 1}, ReadBlock{kHold, 0, 1}, ReadBlock{kIn, 1, 1}));
  EXPECT_THAT(map->info_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 1, 1}));
}

TEST(PlanTest, FieldsInAnyOrderDecodeFromTheirOwnPlace) {
  // Given out of address order, so offsets cannot be assumed from order.
  auto map = MustBuild({
      Num(Field::kHeartbeat, kIn, 20, ValueType::kUint16),
      Num(Field::kTrips, kIn, 2, ValueType::kUint32, kLo),
      Bit(Field::kMoving, kIn, 5, 9),
      Num(Field::kFloor, kIn, 0, ValueType::kInt16),
      Num(Field::kLoad, kIn, 60, ValueType::kUint16),
  });
  EXPECT_THAT(map->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kIn, 0, 21}, ReadBlock{kIn, 60, 1}));
  FakeController c;
  c.Set(kIn, 0, 7);
  c.Set32(kIn, 2, 100000, kLo);
  c.Set(kIn, 5, 1 << 9);
  c.Set(kIn, 20, 33);
  c.Set(kIn, 60, 44);
  Sample s = Poll(*map, c);
  EXPECT_EQ(s.floor(), 7);
  EXPECT_EQ(s.Number(Field::kTrips), 100000);
  EXPECT_TRUE(s.Flag(Field::kMoving));
  EXPECT_EQ(s.heartbeat(), 33u);
  EXPECT_EQ(s.Number(Field::kLoad), 44);
  EXPECT_FALSE(s.Has(Field::kSpeed));
  EXPECT_FALSE(map->Provides(Field::kSpeed));
  EXPECT_TRUE(map->Provides(Field::kLoad));
}

// ---------------------------------------------------------------- Build checks

TEST(BuildTest, ProblemsCarrySourceAndLine) {
  std::string e = BuildError({AtLine(Num(Field::kFloor, kIn, 0, ValueType::kInt16), 3),
                              AtLine(Num(Field::kSpeed, kIn, 0, ValueType::kUint16), 9)});
  EXPECT_THAT(e, HasSubstr("test:9: field \"speed\" (input 0) overlaps field \"floor\" at line 3"));
}

TEST(BuildTest, Overlaps) {
  // A 32-bit value over the next register.
  EXPECT_THAT(BuildError({Num(Field::kTrips, kIn, 5, ValueType::kUint32),
                          Num(Field::kHeartbeat, kIn, 6, ValueType::kUint16)}),
              HasSubstr("overlaps"));
  // A bit over a number.
  EXPECT_THAT(
      BuildError({Num(Field::kFloor, kIn, 1, ValueType::kInt16), Bit(Field::kMoving, kIn, 1, 3)}),
      HasSubstr("overlaps"));
  // Two fields on one bit.
  EXPECT_THAT(BuildError({Bit(Field::kMoving, kIn, 1, 3), Bit(Field::kDirUp, kIn, 1, 3)}),
              HasSubstr("field \"dir_up\" (input 1 bit 3) overlaps field \"moving\""));
  // Two fields on one coil.
  EXPECT_THAT(BuildError({Bit(Field::kMoving, kCoil, 4), Bit(Field::kDirUp, kCoil, 4)}),
              HasSubstr("overlaps"));
  // The model over a polled register.
  EXPECT_THAT(BuildError({Num(Field::kFloor, kHold, 5, ValueType::kInt16),
                          Ascii(Field::kModel, kHold, 0, 16)}),
              HasSubstr("overlaps"));
}

TEST(BuildTest, NoOverlapAcrossTablesOrBetweenBitsOfOneRegister) {
  EXPECT_NE(MustBuild({Num(Field::kFloor, kIn, 1, ValueType::kInt16),
                       Num(Field::kSpeed, kHold, 1, ValueType::kUint16),
                       Bit(Field::kMoving, kCoil, 1), Bit(Field::kDirUp, kDisc, 1),
                       Bit(Field::kDirDown, kIn, 2, 0), Bit(Field::kDoorOpen, kIn, 2, 1)}),
            nullptr);
}

TEST(BuildTest, OneSpecPerField) {
  EXPECT_THAT(BuildError({AtLine(Num(Field::kFloor, kIn, 0, ValueType::kInt16), 4),
                          AtLine(Num(Field::kFloor, kIn, 3, ValueType::kInt16), 8)}),
              HasSubstr("test:8: field \"floor\" is given twice (first at line 4)"));
}

TEST(BuildTest, TypesMustSuitFieldAndTable) {
  EXPECT_THAT(BuildError({Num(Field::kFloor, kIn, 0, ValueType::kInt16),
                          Num(Field::kModel, kHold, 0, ValueType::kUint16)}),
              HasSubstr("\"model\" must be of type ascii"));
  EXPECT_THAT(BuildError({Num(Field::kMoving, kIn, 0, ValueType::kUint16)}),
              HasSubstr("must be of type bit"));
  EXPECT_THAT(BuildError({Ascii(Field::kFloor, kIn, 0, 2)}), HasSubstr("is a number"));
  EXPECT_THAT(BuildError({Num(Field::kFloor, kCoil, 0, ValueType::kInt16)}),
              HasSubstr("holds only bits"));
  EXPECT_THAT(BuildError({Bit(Field::kMoving, kIn, 0, 16)}), HasSubstr("bit 16 is out of range"));
  EXPECT_THAT(BuildError({Bit(Field::kMoving, kIn, 0, -1)}), HasSubstr("bit -1 is out of range"));
  EXPECT_THAT(BuildError({Bit(Field::kMoving, kDisc, 0, 3)}), HasSubstr("the address is the bit"));
  FieldSpec inverted_number = Num(Field::kFloor, kIn, 0, ValueType::kInt16);
  inverted_number.inverted = true;
  EXPECT_THAT(BuildError({inverted_number}), HasSubstr("only a bit can be inverted"));
  EXPECT_THAT(BuildError({Num(Field::kFloor, kIn, 0, ValueType::kInt16, kHi, 0)}),
              HasSubstr("scale"));
  FieldSpec scaled_bit = Bit(Field::kMoving, kIn, 0, 1);
  scaled_bit.scale = 2;
  EXPECT_THAT(BuildError({scaled_bit}), HasSubstr("apply only to numbers"));
  EXPECT_THAT(BuildError({Num(Field::kFloor, kIn, 0, ValueType::kInt16),
                          Ascii(Field::kModel, kHold, 0, 0)}),
              HasSubstr("chars 0 is out of range"));
  EXPECT_THAT(BuildError({Num(Field::kTrips, kIn, 65535, ValueType::kUint32)}),
              HasSubstr("runs past address 65535"));
  FieldSpec write_table = Num(Field::kFloor, static_cast<Table>(6), 0, ValueType::kInt16);
  EXPECT_THAT(BuildError({write_table}), HasSubstr("read-only"));
}

TEST(BuildTest, MapLevelChecks) {
  EXPECT_THAT(BuildError({}), HasSubstr("provides no field that is polled"));
  EXPECT_THAT(BuildError({Ascii(Field::kModel, kHold, 0, 16)}),
              HasSubstr("provides no field that is polled"));
  EXPECT_THAT(BuildError({Num(Field::kFloor, kIn, 0, ValueType::kInt16)}, {}, -1),
              HasSubstr("max_gap -1 is out of range"));
  EXPECT_THAT(BuildError({Num(Field::kFloor, kIn, 0, ValueType::kInt16)}, {}, 126),
              HasSubstr("max_gap 126 is out of range"));
  auto unnamed = RegisterMap::Build("", "x", {Num(Field::kFloor, kIn, 0, ValueType::kInt16)}, {},
                                    kDefaultMaxGap);
  ASSERT_FALSE(unnamed.ok());
  EXPECT_THAT(unnamed.error().message, HasSubstr("x: the map has no name"));
  EXPECT_EQ(unnamed.error().code, "map");
  EXPECT_FALSE(unnamed.error().recoverable);
}

TEST(BuildTest, FaultTable) {
  std::vector<FieldSpec> f = {Num(Field::kFaultCode, kIn, 0, ValueType::kUint16)};
  EXPECT_THAT(BuildError(f, {{35, "a", "major"}, {35, "b", "minor"}}),
              HasSubstr("fault 35 is listed twice"));
  EXPECT_THAT(BuildError(f, {{35, "a", "urgent"}}),
              HasSubstr("severity \"urgent\" is not critical, major or minor"));
  EXPECT_THAT(BuildError(f, {{35, "", "major"}}), HasSubstr("text is empty"));
  EXPECT_THAT(BuildError(f, {{0, "ok", "minor"}}), HasSubstr("fault code 0"));

  auto map = MustBuild(f, {{51, "overspeed", "critical"},
                           {30, "door lock bridged", "critical"},
                           {62, "door open timeout", "minor"}});
  ASSERT_NE(map, nullptr);
  const FaultText* t = map->FaultFor(30);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->text, "door lock bridged");
  EXPECT_EQ(t->severity, "critical");
  ASSERT_NE(map->FaultFor(62), nullptr);
  EXPECT_EQ(map->FaultFor(62)->severity, "minor");
  EXPECT_EQ(map->FaultFor(51)->text, "overspeed");
  EXPECT_EQ(map->FaultFor(31), nullptr);
  EXPECT_EQ(map->FaultFor(0), nullptr);
  EXPECT_EQ(map->FaultFor(99999), nullptr);
}

// ---------------------------------------------------------------- vendor-x

std::string VendorX() { return std::string(LG_SOURCE_DIR) + "/maps/vendor-x.toml"; }

TEST(VendorXTest, Loads) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto map = *r;
  EXPECT_EQ(map->name(), "vendor-x");
  // Every field the rules use is there: all polled fields.
  for (int i = 0; i < kFieldCount; ++i) {
    EXPECT_TRUE(map->Provides(static_cast<Field>(i))) << FieldName(static_cast<Field>(i));
  }
  EXPECT_THAT(map->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kCoil, 6, 1}, ReadBlock{kDisc, 12, 3},
                                     ReadBlock{kHold, 0x1000, 16}));
  EXPECT_THAT(map->info_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 0x2000, 14}));
  auto resolved = RegisterMap::Resolve(VendorX());
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ((*resolved)->name(), "vendor-x");
}

TEST(VendorXTest, DecodesHandBuiltRegisters) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const RegisterMap& map = **r;
  FakeController c;
  // moving, dir_up, door_closed, safety fault (bit 7), auto, occupied
  c.Set(kHold, 0x1000, 1 << 0 | 1 << 1 | 1 << 5 | 1 << 7 | 1 << 9 | 1 << 10);
  c.Set(kHold, 0x1001, 1);  // lowest landing
  c.Set(kHold, 0x1002, 35);
  c.Set32(kHold, 0x1003, std::bit_cast<uint32_t>(1.6f), kLo);
  c.Set(kHold, 0x1005, 755);
  c.Set(kHold, 0x1006, 65535);
  c.Set(kHold, 0x1007, 1 << 0 | 1 << 3 | 1 << 5);  // power fail, bottom limit, brake fault
  c.Set(kHold, 0x1008, 0xFFFF);                    // not mapped: must not matter
  c.Set(kHold, 0x1009, 0xFFFF);
  c.Set32(kHold, 0x100A, 123456, kLo);
  c.Set32(kHold, 0x100C, 70000, kLo);
  c.Set32(kHold, 0x100E, 0x00012345, kHi);
  c.Set(kDisc, 12, 1);  // fire recall switch
  c.Set(kDisc, 13, 1);
  c.Set(kDisc, 14, 0);  // service switch open: out of service
  c.Set(kCoil, 6, 1);   // ARD running

  Sample s = Poll(map, c);
  EXPECT_TRUE(s.Flag(Field::kMoving));
  EXPECT_TRUE(s.Flag(Field::kDirUp));
  EXPECT_FALSE(s.Flag(Field::kDirDown));
  EXPECT_FALSE(s.Flag(Field::kDoorZone));
  EXPECT_FALSE(s.Flag(Field::kDoorOpen));
  EXPECT_TRUE(s.Flag(Field::kDoorClosed));
  EXPECT_TRUE(s.Flag(Field::kDoorLockOk));      // inverted, bit 6 clear
  EXPECT_FALSE(s.Flag(Field::kSafetyChainOk));  // inverted, bit 7 set
  EXPECT_FALSE(s.Flag(Field::kInspection));
  EXPECT_TRUE(s.Flag(Field::kAuto));
  EXPECT_TRUE(s.Flag(Field::kOccupied));
  EXPECT_FALSE(s.Flag(Field::kAlarmButton));
  EXPECT_FALSE(s.Flag(Field::kMainPowerOk));  // inverted, bit 0 set
  EXPECT_FALSE(s.Flag(Field::kOverload));
  EXPECT_FALSE(s.Flag(Field::kTopLimit));
  EXPECT_TRUE(s.Flag(Field::kBottomLimit));
  EXPECT_FALSE(s.Flag(Field::kUcm));
  EXPECT_TRUE(s.Flag(Field::kBrakeFault));
  EXPECT_TRUE(s.Flag(Field::kFireService));
  EXPECT_TRUE(s.Flag(Field::kOutOfService));
  EXPECT_TRUE(s.Flag(Field::kEmergencyPower));
  EXPECT_EQ(s.floor(), -2);
  EXPECT_EQ(s.Number(Field::kFaultCode), 35);
  EXPECT_NEAR(s.Number(Field::kSpeed), 1600, 0.01);
  EXPECT_NEAR(s.Number(Field::kLoad), 75.5, 1e-9);
  EXPECT_EQ(s.heartbeat(), 65535u);
  EXPECT_EQ(s.Number(Field::kTrips), 123456);
  EXPECT_EQ(s.Number(Field::kDoorCycles), 70000);
  EXPECT_EQ(s.Number(Field::kRunHours), 0x00012345);
  EXPECT_EQ(s.mode(), Mode::kOutOfService);
  EXPECT_EQ(s.direction(), Direction::kUp);

  // The same register words read the other way round: all "ok" bits set.
  c.Set(kHold, 0x1000, 0);
  c.Set(kHold, 0x1007, 0);
  Sample ok = Poll(map, c);
  EXPECT_TRUE(ok.Flag(Field::kSafetyChainOk));
  EXPECT_TRUE(ok.Flag(Field::kDoorLockOk));
  EXPECT_TRUE(ok.Flag(Field::kMainPowerOk));
}

TEST(VendorXTest, DecodesControllerInfoAndFaults) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const RegisterMap& map = **r;
  FakeController c;
  c.Set(kHold, 0x2000, 175);  // cm/s
  c.Set(kHold, 0x2001, 21);
  c.Set(kHold, 0x2002, 1);
  c.Set(kHold, 0x2003, 0x0203);  // software version, not mapped
  c.SetAscii(kHold, 0x2004, "XC-900A V2", 20);
  ControllerInfo info = Info(map, c);
  EXPECT_EQ(info.rated_speed_mm_s, 1750);
  EXPECT_EQ(info.top_floor, 18);
  EXPECT_EQ(info.bottom_floor, -2);
  EXPECT_EQ(info.model, "XC-900A V2");

  const FaultText* e35 = map.FaultFor(35);
  ASSERT_NE(e35, nullptr);
  EXPECT_THAT(e35->text, HasSubstr("safety circuit open"));
  EXPECT_EQ(e35->severity, "major");
  ASSERT_NE(map.FaultFor(51), nullptr);
  EXPECT_EQ(map.FaultFor(51)->severity, "critical");
  EXPECT_EQ(map.FaultFor(36), nullptr);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(VendorXTest, TheDocShowsTheFileAsItIs) {
  std::string file = ReadAll(VendorX());
  std::string doc = ReadAll(std::string(LG_SOURCE_DIR) + "/docs/register-maps.md");
  ASSERT_FALSE(file.empty());
  EXPECT_NE(doc.find("```toml\n" + file + "```"), std::string::npos)
      << "docs/register-maps.md must include maps/vendor-x.toml verbatim";
}

// ---------------------------------------------------------------- map files

class MapFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lg_map_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& text) {
    std::string path = (dir_ / "map.toml").string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  Result<std::shared_ptr<const RegisterMap>> Load(const std::string& text) {
    path_ = Write(text);
    return RegisterMap::LoadFile(path_);
  }

  // Expects the load to fail with a line "PATH:LINE: ...REASON...".
  void ExpectError(const std::string& text, int line, const std::string& reason) {
    auto r = Load(text);
    ASSERT_FALSE(r.ok()) << "loaded, expected: " << reason;
    EXPECT_EQ(r.error().code, "map");
    EXPECT_FALSE(r.error().recoverable);
    std::string prefix = path_ + ":" + std::to_string(line) + ": ";
    std::istringstream lines(r.error().message);
    bool found = false;
    for (std::string l; std::getline(lines, l);) {
      if (l.rfind(prefix, 0) == 0 && l.find(reason) != std::string::npos) found = true;
    }
    EXPECT_TRUE(found) << "want \"" << prefix << "..." << reason << "\" in:\n" << r.error().message;
  }

  std::filesystem::path dir_;
  std::string path_;
};

// A valid start: name on line 1, one field on lines 2-5.
const std::string kHead =
    "name = \"t\"\n"       // 1
    "[fields.moving]\n"    // 2
    "table = \"input\"\n"  // 3
    "address = 0\n"        // 4
    "bit = 4\n";           // 5

TEST_F(MapFileTest, SmallestMap) {
  auto r = Load(kHead);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)->name(), "t");
  EXPECT_TRUE((*r)->Provides(Field::kMoving));
  EXPECT_FALSE((*r)->Provides(Field::kFloor));  // missing fields are allowed
  EXPECT_EQ((*r)->fields()[0].line, 2);
  EXPECT_THAT((*r)->poll_blocks(), ::testing::ElementsAre(ReadBlock{kIn, 0, 1}));
  EXPECT_TRUE((*r)->info_blocks().empty());
}

TEST_F(MapFileTest, InlineTablesHexAndEveryKey) {
  auto r = Load(R"(name = "inline"
max_gap = 0
[fields]
moving = { table = "input", address = 0x10, bit = 4, inverted = true }
speed = { table = 4, address = 0x11, type = "float32", word_order = "low_first", scale = 1000, offset = 0.5 }
model = { table = "holding", address = 100, chars = 8 }
fire_service = { table = "discrete", address = 3 }
emergency_power = { table = 1, address = 2, type = "bit", inverted = false }
[[fault]]
code = 7
text = "E07"
severity = "minor"
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const RegisterMap& map = **r;
  EXPECT_THAT(map.poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kCoil, 2, 1}, ReadBlock{kDisc, 3, 1},
                                     ReadBlock{kIn, 0x10, 3}));
  EXPECT_THAT(map.info_blocks(), ::testing::ElementsAre(ReadBlock{kHold, 100, 4}));
  const FieldSpec* speed = nullptr;
  for (const FieldSpec& f : map.fields()) {
    if (f.field == Field::kSpeed) speed = &f;
  }
  ASSERT_NE(speed, nullptr);
  EXPECT_EQ(speed->type, ValueType::kFloat32);
  EXPECT_EQ(speed->word_order, WordOrder::kLowFirst);
  EXPECT_EQ(speed->scale, 1000);
  EXPECT_EQ(speed->offset, 0.5);
  EXPECT_EQ(speed->line, 5);
  ASSERT_NE(map.FaultFor(7), nullptr);
}

TEST_F(MapFileTest, MissingFile) {
  auto r = RegisterMap::LoadFile((dir_ / "nope.toml").string());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("nope.toml: cannot open map file"));
  auto resolved = RegisterMap::Resolve((dir_ / "nope.toml").string());
  EXPECT_FALSE(resolved.ok());
}

TEST_F(MapFileTest, SyntaxError) {
  ExpectError(kHead + "[fields.floor]\ntable = \"input\naddress = 1\n", 7, "TOML syntax");
  ExpectError(kHead + "\n\n[fields.moving]\ntable = \"input\"\n", 8, "TOML syntax");  // redefined
}

TEST_F(MapFileTest, UnknownFieldName) {
  ExpectError(kHead + "[fields.door_zoen]\ntable = \"input\"\naddress = 0\nbit = 3\n", 6,
              "unknown field \"door_zoen\" (did you mean \"door_zone\"?)");
  ExpectError(kHead + "[fields]\nelevator_mood = { table = \"input\", address = 1, bit = 0 }\n", 7,
              "unknown field \"elevator_mood\"");
}

TEST_F(MapFileTest, UnknownKey) {
  ExpectError(kHead + "adress = 3\n", 6, "unknown key \"adress\" in field \"moving\"");
  ExpectError(
      kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int16\"\nsigned = true\n",
      10, "unknown key \"signed\" in field \"floor\"");
  ExpectError("colour = \"red\"\n" + kHead, 1, "unknown key \"colour\"");
  ExpectError("nmae = \"t\"\n" + kHead, 1, "unknown key \"nmae\" (did you mean \"name\"?)");
  ExpectError(kHead + "[[fault]]\ncode = 3\ntext = \"x\"\nseverity = \"minor\"\nlevel = 2\n", 10,
              "unknown key \"level\" in [[fault]]");
}

TEST_F(MapFileTest, WrongTypes) {
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\naddress = \"0\"\nbit = 4\n", 4,
              "address must be an integer");
  ExpectError(kHead + "inverted = \"yes\"\n", 6, "inverted must be true or false");
  ExpectError(
      kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int16\"\nscale = \"x\"\n",
      10, "scale must be a number");
  ExpectError(kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = 16\n", 9,
              "type must be a string");
  ExpectError(kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int17\"\n", 9,
              "unknown type \"int17\"");
  ExpectError(kHead +
                  "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int32\"\n"
                  "word_order = \"middle\"\n",
              10, "word_order must be \"high_first\" or \"low_first\"");
  ExpectError("name = 3\n[fields.moving]\ntable = \"input\"\naddress = 0\nbit = 4\n", 1,
              "name must be a string");
  ExpectError("name = \"t\"\nfields = 3\n", 2, "fields must be a table");
  ExpectError("fault = 3\n" + kHead, 1, "fault must be an array of tables");
  ExpectError(
      "name = \"t\"\nmax_gap = \"4\"\n[fields.moving]\ntable = \"input\"\naddress = 0\n"
      "bit = 4\n",
      2, "max_gap must be an integer");
  ExpectError(
      "name = \"t\"\nmax_gap = 200\n[fields.moving]\ntable = \"input\"\naddress = 0\n"
      "bit = 4\n",
      2, "max_gap 200 is out of range 0..125");
  ExpectError(kHead + "[fields]\nfloor = 3\n", 7, "field \"floor\" must be a table");
}

TEST_F(MapFileTest, TypeMustSuitTheField) {
  ExpectError(kHead + "[fields.door_zone]\ntable = \"input\"\naddress = 1\ntype = \"uint16\"\n", 9,
              "field \"door_zone\" is a flag: its type must be bit");
  ExpectError(kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"bit\"\nbit = 0\n",
              9, "field \"floor\" is a number");
  ExpectError(kHead + "[fields.model]\ntable = \"holding\"\naddress = 1\ntype = \"uint16\"\n", 9,
              "field \"model\" must be of type ascii");
  ExpectError(kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\n", 6, "missing type");
  ExpectError(kHead + "[fields.floor]\ntable = \"coil\"\naddress = 1\ntype = \"int16\"\n", 7,
              "a coil table holds only bits, not int16");
}

TEST_F(MapFileTest, KeysThatDoNotApplyToTheType) {
  ExpectError(kHead + "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int16\"\nbit = 2\n",
              10, "bit applies only to type bit");
  ExpectError(kHead +
                  "[fields.floor]\ntable = \"input\"\naddress = 1\ntype = \"int16\"\n"
                  "word_order = \"low_first\"\n",
              10, "word_order applies only to int32, uint32 and float32");
  ExpectError(kHead + "scale = 2\n", 6, "scale applies only to numbers");
  ExpectError(kHead + "chars = 2\n", 6, "chars applies only to type ascii");
  ExpectError(kHead + "[fields.fire_service]\ntable = \"discrete\"\naddress = 1\nbit = 1\n", 9,
              "on a discrete table the address is the bit");
}

TEST_F(MapFileTest, BadTableIsRefusedAsReadOnly) {
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"write_holding\"\naddress = 0\nbit = 4\n", 3,
              "asks to write to the controller; Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"coil_force\"\naddress = 0\n", 3,
              "Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = 6\naddress = 0\nbit = 4\n", 3,
              "function 6 writes to the controller; Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = 16\naddress = 0\nbit = 4\n", 3,
              "function 16 writes to the controller; Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = 43\naddress = 0\nbit = 4\n", 3,
              "function 43 is not a read function; Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"inptu\"\naddress = 0\nbit = 4\n", 3,
              "unknown table \"inptu\"; Liftguard is read-only");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = true\naddress = 0\nbit = 4\n", 3,
              "table must be a string");
  ExpectError("name = \"t\"\n[fields.moving]\naddress = 0\nbit = 4\n", 2,
              "missing table in field \"moving\"");
}

TEST_F(MapFileTest, Overlap) {
  ExpectError(kHead +
                  "[fields.floor]\n"      // 6
                  "table = \"input\"\n"   // 7
                  "address = 1\n"         // 8
                  "type = \"int16\"\n"    // 9
                  "[fields.trips]\n"      // 10
                  "table = \"input\"\n"   // 11
                  "address = 0\n"         // 12
                  "type = \"uint32\"\n",  // 13
              10, "field \"trips\" (input 0-1) overlaps field \"floor\" at line 6 (input 1)");
  // The bit on register 0 overlaps trips as well; both are reported.
  auto r = Load(kHead + "[fields.trips]\ntable = \"input\"\naddress = 0\ntype = \"uint32\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr(":6: field \"trips\" (input 0-1) overlaps field \"moving\" at line 2"));
  ExpectError(
      kHead + "[fields.dir_up]\ntable = \"input\"\naddress = 0\nbit = 4\n", 6,
      "field \"dir_up\" (input 0 bit 4) overlaps field \"moving\" at line 2 (input 0 bit 4)");
  // Different bits of one register are fine.
  EXPECT_TRUE(Load(kHead + "[fields.dir_up]\ntable = \"input\"\naddress = 0\nbit = 5\n").ok());
}

TEST_F(MapFileTest, BitOutOfRange) {
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\naddress = 0\nbit = 16\n", 5,
              "bit 16 is out of range 0..15");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\naddress = 0\nbit = -1\n", 5,
              "bit -1 is out of range 0..15");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\naddress = 0\n", 2,
              "missing bit in field \"moving\"");
}

TEST_F(MapFileTest, AddressProblems) {
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\nbit = 4\n", 2,
              "missing address in field \"moving\"");
  ExpectError("name = \"t\"\n[fields.moving]\ntable = \"input\"\naddress = 65536\nbit = 4\n", 4,
              "address 65536 is out of range 0..65535");
  ExpectError(
      "name = \"t\"\n[fields.trips]\ntable = \"input\"\naddress = 65535\n"
      "type = \"uint32\"\n",
      4, "runs past address 65535");
}

TEST_F(MapFileTest, AsciiChars) {
  ExpectError(kHead + "[fields.model]\ntable = \"holding\"\naddress = 100\n", 6,
              "missing chars in field \"model\"");
  ExpectError(kHead + "[fields.model]\ntable = \"holding\"\naddress = 100\nchars = 0\n", 9,
              "chars 0 is out of range 1..250");
}

TEST_F(MapFileTest, ScaleZero) {
  ExpectError(kHead +
                  "[fields.load]\ntable = \"input\"\naddress = 1\ntype = \"uint16\"\n"
                  "scale = 0\n",
              10, "scale must not be 0");
  ExpectError(kHead +
                  "[fields.load]\ntable = \"input\"\naddress = 1\ntype = \"uint16\"\n"
                  "offset = nan\n",
              10, "offset must be finite");
}

TEST_F(MapFileTest, FaultTable) {
  const std::string fault =
      "[[fault]]\n"               // 6
      "code = 35\n"               // 7
      "text = \"safety open\"\n"  // 8
      "severity = \"major\"\n";   // 9
  ExpectError(kHead + fault +
                  "[[fault]]\n"         // 10
                  "code = 35\n"         // 11
                  "text = \"again\"\n"  // 12
                  "severity = \"minor\"\n",
              11, "fault code 35 is listed twice (first at line 7)");
  ExpectError(kHead + fault + "[[fault]]\ncode = 36\ntext = \"x\"\nseverity = \"urgent\"\n", 13,
              "severity \"urgent\" is not one of critical, major, minor");
  ExpectError(kHead + fault + "[[fault]]\ncode = 36\ntext = \"x\"\n", 10,
              "missing severity in [[fault]]");
  ExpectError(kHead + fault + "[[fault]]\ncode = 0\ntext = \"x\"\nseverity = \"minor\"\n", 11,
              "code 0 is out of range 1..4294967295");
  ExpectError(kHead + fault + "[[fault]]\ncode = \"E36\"\ntext = \"x\"\nseverity = \"minor\"\n", 11,
              "code must be an integer");
  ExpectError(kHead + fault + "[[fault]]\ncode = 36\ntext = \"\"\nseverity = \"minor\"\n", 12,
              "text must not be empty");
  ExpectError(kHead + fault + "[[fault]]\ntext = \"x\"\nseverity = \"minor\"\n", 10,
              "missing code in [[fault]]");
}

TEST_F(MapFileTest, MapLevelProblems) {
  auto r = Load("[fields.moving]\ntable = \"input\"\naddress = 0\nbit = 4\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ": missing name"));
  r = Load("name = \"t\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ": the map has no [fields.<name>] tables"));
  r = Load("name = \"t\"\n[fields.model]\ntable = \"holding\"\naddress = 0\nchars = 4\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("provides no field that is polled"));
}

TEST_F(MapFileTest, ReportsEveryProblemAtOnce) {
  auto r = Load(
      "name = \"t\"\n"          // 1
      "[fields.moving]\n"       // 2
      "table = \"input\"\n"     // 3
      "address = 0\n"           // 4
      "bit = 17\n"              // 5
      "[fields.flor]\n"         // 6
      "table = \"input\"\n"     // 7
      "address = 1\n"           // 8
      "[[fault]]\n"             // 9
      "code = 1\n"              // 10
      "text = \"x\"\n"          // 11
      "severity = \"bad\"\n");  // 12
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ":5: bit 17"));
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ":6: unknown field \"flor\""));
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ":12: severity \"bad\""));
  // In file order, whatever order toml++ keeps its keys in.
  const std::string& m = r.error().message;
  EXPECT_LT(m.find(":5: "), m.find(":6: "));
  EXPECT_LT(m.find(":6: "), m.find(":12: "));
}

// ---------------------------------------------------------------- Encode

// Reads the map's poll and info blocks out of an encoded image, as the
// daemon would from a controller serving it, and decodes them.
struct Decoded {
  Sample sample;
  ControllerInfo info;
};

Decoded DecodeImage(const RegisterMap& map, const RegisterImage& image) {
  Decoded d;
  std::vector<RawBlock> poll;
  for (const ReadBlock& b : map.poll_blocks()) {
    std::span<const uint16_t> v = image.Read(b.table, b.address, b.count);
    EXPECT_EQ(v.size(), b.count) << "poll block at " << b.address << " not covered";
    poll.push_back(v);
  }
  Status st = map.DecodePoll(poll, d.sample);
  EXPECT_TRUE(st.ok()) << st.error().message;
  std::vector<RawBlock> info;
  for (const ReadBlock& b : map.info_blocks()) {
    std::span<const uint16_t> v = image.Read(b.table, b.address, b.count);
    EXPECT_EQ(v.size(), b.count) << "info block at " << b.address << " not covered";
    info.push_back(v);
  }
  Result<ControllerInfo> i = map.DecodeInfo(info);
  EXPECT_TRUE(i.ok()) << i.error().message;
  if (i.ok()) d.info = *i;
  return d;
}

// Every polled field set: flags by `flag_on(field index)`, numbers as given
// (fields not listed get 0).
Sample FullSample(const std::function<bool(int)>& flag_on, const std::map<Field, double>& numbers) {
  Sample s;
  for (int i = 0; i < kFlagCount; ++i) s.SetFlag(static_cast<Field>(i), flag_on(i));
  for (int i = kFlagCount; i < static_cast<int>(Field::kRatedSpeed); ++i) {
    auto it = numbers.find(static_cast<Field>(i));
    s.SetNumber(static_cast<Field>(i), it == numbers.end() ? 0 : it->second);
  }
  return s;
}

// Encode then decode gives every field back: all flags both ways (all on,
// all off, alternating, the other alternation), numbers within `tolerance`.
void ExpectRoundTrip(const RegisterMap& map, const std::map<Field, double>& numbers,
                     const ControllerInfo& info, const std::map<Field, double>& tolerance = {}) {
  const std::vector<std::function<bool(int)>> patterns = {
      [](int) { return true; }, [](int) { return false; }, [](int i) { return i % 2 == 0; },
      [](int i) { return i % 2 == 1; }, [](int i) { return i % 3 == 0; }};
  RegisterImage image;
  for (size_t p = 0; p < patterns.size(); ++p) {
    SCOPED_TRACE("flag pattern " + std::to_string(p));
    Sample in = FullSample(patterns[p], numbers);
    map.Encode(in, info, image);
    Decoded out = DecodeImage(map, image);
    for (int i = 0; i < static_cast<int>(Field::kRatedSpeed); ++i) {
      const Field f = static_cast<Field>(i);
      ASSERT_TRUE(out.sample.Has(f)) << FieldName(f);
      if (IsFlag(f)) {
        EXPECT_EQ(out.sample.Flag(f), in.Flag(f)) << FieldName(f);
      } else {
        auto tol = tolerance.find(f);
        EXPECT_NEAR(out.sample.Number(f), in.Number(f), tol == tolerance.end() ? 0 : tol->second)
            << FieldName(f);
      }
    }
    EXPECT_EQ(out.info.rated_speed_mm_s, info.rated_speed_mm_s);
    EXPECT_EQ(out.info.top_floor, info.top_floor);
    EXPECT_EQ(out.info.bottom_floor, info.bottom_floor);
    EXPECT_EQ(out.info.model, info.model);
  }
}

TEST(EncodeTest, Ref1ImageCoversItsTwoBlocks) {
  auto map = RegisterMap::Ref1();
  RegisterImage image;
  EXPECT_TRUE(image.ranges().empty());
  EXPECT_TRUE(image.Read(kIn, 0, 1).empty());
  map->Encode(Sample{}, ControllerInfo{}, image);
  ASSERT_EQ(image.ranges().size(), 2u);
  EXPECT_EQ(image.ranges()[0], (RegisterImage::Range{kHold, 100, 11, 0}));
  EXPECT_EQ(image.ranges()[1], (RegisterImage::Range{kIn, 0, 13, 11}));
  EXPECT_TRUE(image.HasTable(kIn));
  EXPECT_TRUE(image.HasTable(kHold));
  EXPECT_FALSE(image.HasTable(kCoil));
  EXPECT_FALSE(image.HasTable(kDisc));
  EXPECT_EQ(image.Read(kIn, 0, 13).size(), 13u);
  EXPECT_EQ(image.Read(kIn, 12, 1).size(), 1u);
  EXPECT_EQ(image.Read(kHold, 101, 2).size(), 2u);
  EXPECT_TRUE(image.Read(kIn, 12, 2).empty());
  EXPECT_TRUE(image.Read(kIn, 13, 1).empty());
  EXPECT_TRUE(image.Read(kHold, 99, 2).empty());
  EXPECT_TRUE(image.Read(kHold, 110, 2).empty());
  EXPECT_TRUE(image.Read(kHold, 0, 1).empty());
  EXPECT_TRUE(image.Read(kIn, -1, 1).empty());
  // An empty sample encodes as all zeros.
  for (uint16_t v : image.Read(kIn, 0, 13)) EXPECT_EQ(v, 0);
  for (uint16_t v : image.Read(kHold, 100, 11)) EXPECT_EQ(v, 0);
}

TEST(EncodeTest, Ref1RoundTripsEveryField) {
  ControllerInfo info;
  info.rated_speed_mm_s = 1750;
  info.top_floor = 20;
  info.bottom_floor = -3;
  info.model = "LIFTSIM-1";
  ExpectRoundTrip(*RegisterMap::Ref1(),
                  {{Field::kFloor, -2},
                   {Field::kFaultCode, 412},
                   {Field::kSpeed, 1600},
                   {Field::kLoad, 85},
                   {Field::kTrips, 4000000000.0},
                   {Field::kDoorCycles, 70000},
                   {Field::kRunHours, 0x00012345},
                   {Field::kHeartbeat, 65535}},
                  info);
  // Extremes of each type, and a 16-character model.
  info.rated_speed_mm_s = 65535;
  info.top_floor = 32767;
  info.bottom_floor = -32768;
  info.model = "ABCDEFGHIJKLMNOP";
  ExpectRoundTrip(*RegisterMap::Ref1(),
                  {{Field::kFloor, -32768},
                   {Field::kFaultCode, 65535},
                   {Field::kSpeed, 0},
                   {Field::kTrips, 4294967295.0},
                   {Field::kDoorCycles, 0},
                   {Field::kRunHours, 1}},
                  info);
}

TEST(EncodeTest, Ref1RegistersAreThoseOfTheSpec) {
  auto map = RegisterMap::Ref1();
  Sample s;
  s.SetFlag(Field::kAuto, true);
  s.SetFlag(Field::kDoorZone, true);
  s.SetFlag(Field::kDoorClosed, true);
  s.SetFlag(Field::kSafetyChainOk, true);
  s.SetFlag(Field::kMoving, false);
  s.SetFlag(Field::kBrakeFault, true);  // status2 bit 3
  s.SetNumber(Field::kFloor, -2);
  s.SetNumber(Field::kTrips, 0x00012345);
  s.SetNumber(Field::kHeartbeat, 7);
  ControllerInfo info;
  info.rated_speed_mm_s = 1750;
  info.model = "LIFTSIM-1";
  RegisterImage image;
  map->Encode(s, info, image);
  std::span<const uint16_t> in = image.Read(kIn, 0, 13);
  ASSERT_EQ(in.size(), 13u);
  EXPECT_EQ(in[0], 1 << 0 | 1 << 3 | 1 << 8 | 1 << 11);
  EXPECT_EQ(in[1], 0xFFFE);
  EXPECT_EQ(in[5], 0x0001);
  EXPECT_EQ(in[6], 0x2345);
  EXPECT_EQ(in[11], 7);
  EXPECT_EQ(in[12], 1 << 3);
  std::span<const uint16_t> h = image.Read(kHold, 100, 11);
  ASSERT_EQ(h.size(), 11u);
  EXPECT_EQ(h[0], 1750);
  EXPECT_EQ(h[1], 0);  // top_floor not given
  EXPECT_EQ(h[3], 'L' << 8 | 'I');
  EXPECT_EQ(h[7], '1' << 8);
  EXPECT_EQ(h[8], 0);

  // Encoding again rewrites everything: nothing of the last sample stays.
  map->Encode(Sample{}, ControllerInfo{}, image);
  for (uint16_t v : image.Read(kIn, 0, 13)) EXPECT_EQ(v, 0);
  for (uint16_t v : image.Read(kHold, 100, 11)) EXPECT_EQ(v, 0);
}

TEST(EncodeTest, VendorXImageCoversItsBlocksAndTheirHoles) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  RegisterImage image;
  (*r)->Encode(Sample{}, ControllerInfo{}, image);
  EXPECT_THAT(image.ranges(), ::testing::ElementsAre(RegisterImage::Range{kCoil, 6, 1, 0},
                                                     RegisterImage::Range{kDisc, 12, 3, 1},
                                                     RegisterImage::Range{kHold, 0x1000, 16, 4},
                                                     RegisterImage::Range{kHold, 0x2000, 14, 20}));
  EXPECT_EQ(image.Read(kHold, 0x1008, 2).size(), 2u);  // pending car calls: a hole, read 0
  EXPECT_EQ(image.Read(kDisc, 13, 1).size(), 1u);      // between two mapped inputs
  EXPECT_TRUE(image.Read(kHold, 0x0FFF, 2).empty());
  EXPECT_TRUE(image.Read(kHold, 0x100F, 2).empty());
  EXPECT_TRUE(image.Read(kHold, 0x1010, 1).empty());
  EXPECT_TRUE(image.Read(kHold, 0x100F, 0x2000 - 0x100F + 1).empty());  // across the gap
  EXPECT_TRUE(image.Read(kCoil, 5, 2).empty());
  EXPECT_TRUE(image.Read(kCoil, 7, 1).empty());
  EXPECT_TRUE(image.Read(kDisc, 11, 2).empty());
  EXPECT_FALSE(image.HasTable(kIn));
  EXPECT_TRUE(image.HasTable(kCoil));
  EXPECT_TRUE(image.HasTable(kDisc));
}

TEST(EncodeTest, VendorXRoundTripsEveryField) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ControllerInfo info;
  info.rated_speed_mm_s = 1750;  // 175 cm/s
  info.top_floor = 18;
  info.bottom_floor = -2;
  info.model = "XC-900A V2";
  // float32 m/s keeps about 7 digits; load is in 0.1 %.
  const std::map<Field, double> tolerance = {{Field::kSpeed, 1e-3}, {Field::kLoad, 1e-9}};
  ExpectRoundTrip(**r,
                  {{Field::kFloor, -2},
                   {Field::kFaultCode, 35},
                   {Field::kSpeed, 1600},
                   {Field::kLoad, 75.5},
                   {Field::kTrips, 123456},
                   {Field::kDoorCycles, 4000000000.0},
                   {Field::kRunHours, 0x00012345},
                   {Field::kHeartbeat, 65535}},
                  info, tolerance);
  ExpectRoundTrip(**r,
                  {{Field::kFloor, 30},
                   {Field::kFaultCode, 0},
                   {Field::kSpeed, 2187},
                   {Field::kLoad, 0},
                   {Field::kTrips, 0},
                   {Field::kDoorCycles, 1},
                   {Field::kRunHours, 4294967295.0},
                   {Field::kHeartbeat, 0}},
                  ControllerInfo{.rated_speed_mm_s = 1000,
                                 .top_floor = 5,
                                 .bottom_floor = -3,
                                 .model = "ABCDEFGHIJKLMNOPQRST"},
                  tolerance);
}

TEST(EncodeTest, VendorXRegistersAreTheMakes) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  Sample s = FullSample([](int) { return false; }, {});
  // Every "ok" bit set: vendor-x reports the faults, so its bits are clear.
  s.SetFlag(Field::kSafetyChainOk, true);
  s.SetFlag(Field::kDoorLockOk, true);
  s.SetFlag(Field::kMainPowerOk, true);
  s.SetFlag(Field::kAuto, true);
  s.SetFlag(Field::kMoving, true);
  s.SetFlag(Field::kFireService, true);
  s.SetFlag(Field::kOutOfService, false);  // service switch closed: input on
  s.SetFlag(Field::kEmergencyPower, true);
  s.SetNumber(Field::kFloor, -2);
  s.SetNumber(Field::kSpeed, 1600);
  s.SetNumber(Field::kLoad, 75.5);
  s.SetNumber(Field::kTrips, 0x00012345);
  s.SetNumber(Field::kRunHours, 0x00012345);
  ControllerInfo info;
  info.rated_speed_mm_s = 1750;
  info.top_floor = 18;
  info.bottom_floor = -2;
  info.model = "XC-900A";
  RegisterImage image;
  (*r)->Encode(s, info, image);
  std::span<const uint16_t> h = image.Read(kHold, 0x1000, 16);
  ASSERT_EQ(h.size(), 16u);
  EXPECT_EQ(h[0], 1 << 0 | 1 << 9);  // moving, auto; bits 6 and 7 (faults) clear
  EXPECT_EQ(h[1], 1);                // landing 1 = floor -2
  const uint32_t speed = std::bit_cast<uint32_t>(1.6f);
  EXPECT_EQ(h[3], speed & 0xFFFF);  // low word first
  EXPECT_EQ(h[4], speed >> 16);
  EXPECT_EQ(h[5], 755);  // 0.1 %
  EXPECT_EQ(h[7], 0);    // power ok: bit 0 clear
  EXPECT_EQ(h[8], 0);    // hole
  EXPECT_EQ(h[9], 0);
  EXPECT_EQ(h[10], 0x2345);  // trips, low word first
  EXPECT_EQ(h[11], 0x0001);
  EXPECT_EQ(h[14], 0x0001);  // run_hours, high word first
  EXPECT_EQ(h[15], 0x2345);
  EXPECT_THAT(
      std::vector<uint16_t>(image.Read(kDisc, 12, 3).begin(), image.Read(kDisc, 12, 3).end()),
      ::testing::ElementsAre(1, 0, 1));
  EXPECT_EQ(image.Read(kCoil, 6, 1)[0], 1);
  std::span<const uint16_t> i = image.Read(kHold, 0x2000, 14);
  ASSERT_EQ(i.size(), 14u);
  EXPECT_EQ(i[0], 175);
  EXPECT_EQ(i[1], 21);
  EXPECT_EQ(i[2], 1);
  EXPECT_EQ(i[4], 'X' << 8 | 'C');
  EXPECT_EQ(i[7], 'A' << 8);

  // The opposite sense: faults show as set bits.
  s.SetFlag(Field::kSafetyChainOk, false);
  s.SetFlag(Field::kDoorLockOk, false);
  s.SetFlag(Field::kMainPowerOk, false);
  s.SetFlag(Field::kOutOfService, true);
  (*r)->Encode(s, info, image);
  EXPECT_EQ(image.Read(kHold, 0x1000, 1)[0], 1 << 0 | 1 << 6 | 1 << 7 | 1 << 9);
  EXPECT_EQ(image.Read(kHold, 0x1007, 1)[0], 1);
  EXPECT_EQ(image.Read(kDisc, 14, 1)[0], 0);
}

TEST(EncodeTest, SaturatesRoundsAndLeavesAbsentFieldsZero) {
  auto map = MustBuild({Num(Field::kFloor, kHold, 0, ValueType::kUint16, kHi, 1, -3),
                        Num(Field::kFaultCode, kHold, 1, ValueType::kInt16),
                        Num(Field::kLoad, kHold, 2, ValueType::kUint16, kHi, 0.1),
                        Num(Field::kTrips, kHold, 3, ValueType::kInt32, kLo),
                        Num(Field::kSpeed, kHold, 5, ValueType::kFloat32, kHi, 1000),
                        Num(Field::kHeartbeat, kHold, 7, ValueType::kUint32),
                        Bit(Field::kMoving, kHold, 9, 4, true), Ascii(Field::kModel, kHold, 10, 3)},
                       {}, 0);
  ASSERT_NE(map, nullptr);
  auto words = [](const RegisterImage& image) {
    std::span<const uint16_t> v = image.Read(kHold, 0, 12);
    return std::vector<uint16_t>(v.begin(), v.end());
  };
  Sample s;
  s.SetNumber(Field::kFloor, -10);      // raw -7: below uint16
  s.SetNumber(Field::kFaultCode, 1e9);  // above int16
  s.SetNumber(Field::kLoad, 12.34);     // 123.4 -> 123
  s.SetNumber(Field::kTrips, -2);       // int32 -2, low word first
  s.SetNumber(Field::kSpeed, 1e300);    // beyond float: infinity
  s.SetNumber(Field::kHeartbeat, -1);   // below uint32
  ControllerInfo info;
  info.model = "ABCDEF";  // cut at 3 characters
  RegisterImage image;
  map->Encode(s, info, image);
  const uint32_t inf = std::bit_cast<uint32_t>(std::numeric_limits<float>::infinity());
  EXPECT_THAT(words(image),
              ::testing::ElementsAre(0, 32767, 123, 0xFFFE, 0xFFFF, inf >> 16, inf & 0xFFFF, 0, 0,
                                     0,  // moving absent: raw 0 even though inverted
                                     'A' << 8 | 'B', 'C' << 8));
  s.SetNumber(Field::kFloor, 70000);
  s.SetNumber(Field::kFaultCode, -1e9);
  s.SetNumber(Field::kLoad, 0.06);  // 0.6 rounds to 1
  s.SetNumber(Field::kHeartbeat, 1e12);
  s.SetNumber(Field::kSpeed, std::numeric_limits<double>::quiet_NaN());
  s.SetFlag(Field::kMoving, false);
  map->Encode(s, ControllerInfo{}, image);
  std::vector<uint16_t> w = words(image);
  EXPECT_EQ(w[0], 65535);
  EXPECT_EQ(w[1], 0x8000);
  EXPECT_EQ(w[2], 1);
  EXPECT_EQ(w[7], 0xFFFF);
  EXPECT_EQ(w[8], 0xFFFF);
  EXPECT_TRUE(std::isnan(std::bit_cast<float>(static_cast<uint32_t>(w[5] << 16 | w[6]))));
  EXPECT_EQ(w[9], 1 << 4);  // inverted
  EXPECT_EQ(w[10], 0);
  EXPECT_EQ(w[11], 0);
  // A NaN float decodes to "absent", as a real controller's would.
  Decoded d = DecodeImage(*map, image);
  EXPECT_FALSE(d.sample.Has(Field::kSpeed));
  EXPECT_TRUE(d.sample.Has(Field::kFloor));
}

TEST(EncodeTest, MergesTouchingBlocksOfPollAndInfo) {
  // floor (polled) and rated_speed (info) next to each other in one table:
  // two read blocks, one covered range.
  auto map = MustBuild({Num(Field::kFloor, kIn, 1, ValueType::kInt16),
                        Num(Field::kRatedSpeed, kIn, 2, ValueType::kUint16),
                        Num(Field::kHeartbeat, kIn, 10, ValueType::kUint16)},
                       {}, 0);
  ASSERT_NE(map, nullptr);
  EXPECT_THAT(map->poll_blocks(),
              ::testing::ElementsAre(ReadBlock{kIn, 1, 1}, ReadBlock{kIn, 10, 1}));
  EXPECT_THAT(map->info_blocks(), ::testing::ElementsAre(ReadBlock{kIn, 2, 1}));
  Sample s;
  s.SetNumber(Field::kFloor, -1);
  s.SetNumber(Field::kHeartbeat, 9);
  ControllerInfo info;
  info.rated_speed_mm_s = 1000;
  RegisterImage image;
  map->Encode(s, info, image);
  EXPECT_THAT(image.ranges(), ::testing::ElementsAre(RegisterImage::Range{kIn, 1, 2, 0},
                                                     RegisterImage::Range{kIn, 10, 1, 2}));
  std::span<const uint16_t> v = image.Read(kIn, 1, 2);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], 0xFFFF);
  EXPECT_EQ(v[1], 1000);
  EXPECT_TRUE(image.Read(kIn, 1, 10).empty());  // 3..9 are not the map's
  EXPECT_EQ(image.Read(kIn, 10, 1)[0], 9);

  // Laid out for another map, the image is laid out again for this one.
  RegisterMap::Ref1()->Encode(Sample{}, ControllerInfo{}, image);
  EXPECT_EQ(image.ranges().size(), 2u);
  EXPECT_EQ(image.Read(kIn, 0, 13).size(), 13u);
  map->Encode(s, info, image);
  EXPECT_EQ(image.Read(kIn, 1, 2)[1], 1000);
}

TEST(EncodeTest, AllocatesOnlyToLayOutTheImage) {
  auto r = RegisterMap::LoadFile(VendorX());
  ASSERT_TRUE(r.ok()) << r.error().message;
  Sample s = FullSample([](int i) { return i % 2 == 0; }, {{Field::kSpeed, 1000}});
  ControllerInfo info;
  info.model = "a model name that is long";  // allocated before counting
  RegisterImage image;
  (*r)->Encode(s, info, image);
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) (*r)->Encode(s, info, image);
  g_counting = false;
  EXPECT_EQ(g_allocations, 0);
  RegisterMap::Ref1()->Encode(s, info, image);  // laid out again, for ref-1
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) RegisterMap::Ref1()->Encode(s, info, image);
  g_counting = false;
  EXPECT_EQ(g_allocations, 0);
}

}  // namespace
}  // namespace lg::drivers
