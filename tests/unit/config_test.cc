// Tests of LoadConfig / ParseConfig: the example loads, and every refusal
// names the right line. Line numbers are those of the raw-string configs
// below, whose first line is the one right after R"(.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/config.h"

namespace lg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "lg_config_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path() const { return (dir_ / "liftguard.toml").string(); }

  Result<Config> Parse(const std::string& text) const { return ParseConfig(text, Path()); }

  // The error's lines, each with the config path replaced by "F"; or
  // {"<loaded>"} when the text was accepted.
  std::vector<std::string> Errors(const std::string& text) const {
    Result<Config> result = Parse(text);
    if (result.ok()) return {"<loaded>"};
    EXPECT_EQ(result.error().code, "config");
    EXPECT_FALSE(result.error().recoverable);
    std::vector<std::string> lines;
    std::istringstream in(result.error().message);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(Path(), 0) == 0) line = "F" + line.substr(Path().size());
      lines.push_back(line);
    }
    return lines;
  }

  void CopyVendorMap() const {
    fs::create_directories(dir_ / "maps");
    fs::copy_file(fs::path(LG_SOURCE_DIR) / "maps/vendor-x.toml", dir_ / "maps/vendor-x.toml");
  }

  fs::path dir_;
};

std::string Example() {
  return ReadFile(fs::path(LG_SOURCE_DIR) / "../shared/spec/liftguard.example.toml");
}

// ---------------------------------------------------------------------------
// The example

// The shipped example names backup = "city-rescue" but defines no such
// contractor: it loads, with a warning that escalations to the backup reach
// nobody.
TEST_F(ConfigTest, ExampleAsShippedLoadsWithAWarningAboutItsBackup) {
  CopyVendorMap();
  WriteFile(Path(), Example());
  Result<Config> result = LoadConfig(Path());
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_NE(result->warnings[0].find(Path() + ":73: contractor 'acme-lifts' has backup "
                                              "'city-rescue', which no [[contractor]] defines"),
            std::string::npos)
      << result->warnings[0];
}

TEST_F(ConfigTest, ExampleLoads) {
  CopyVendorMap();
  WriteFile(Path(), Example() +
                        "\n[[contractor]]\nid = \"city-rescue\"\nname = \"City rescue station\"\n"
                        "duty_phone = \"96333\"\n");
  Result<Config> result = LoadConfig(Path());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;

  EXPECT_EQ(c.path, Path());
  EXPECT_EQ(c.site.name, "First People's Hospital");
  EXPECT_EQ(c.site.timezone, "Asia/Shanghai");
  EXPECT_EQ(c.site.arrival_target_min, 30);
  EXPECT_EQ(c.daemon.database, (dir_ / "var/liftguard.db").string());
  EXPECT_EQ(c.daemon.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.daemon.log_level, "info");
  EXPECT_EQ(c.polling.interval_ms, 500);
  EXPECT_EQ(c.polling.timeout_ms, 300);
  EXPECT_EQ(c.polling.comms_lost_after_ms, 10000);
  EXPECT_EQ(c.polling.backoff_first_ms, 500);
  EXPECT_EQ(c.polling.backoff_cap_ms, 30000);
  EXPECT_EQ(c.polling.gap_ms, 0);
  EXPECT_EQ(c.polling.io_threads, 1);
  EXPECT_EQ(c.polling.serial_threads, 4);

  ASSERT_EQ(c.links.size(), 2u);
  EXPECT_EQ(c.links[0].id, "outpatient-gw");
  EXPECT_EQ(c.links[0].transport, LinkConfig::Transport::kTcp);
  EXPECT_EQ(c.links[0].host, "127.0.0.1");
  EXPECT_EQ(c.links[0].port, 1502);
  EXPECT_EQ(c.links[0].line, 22);
  EXPECT_EQ(c.links[1].id, "ward-bus");
  EXPECT_EQ(c.links[1].transport, LinkConfig::Transport::kRtu);
  EXPECT_EQ(c.links[1].device, "/dev/ttyUSB0");
  EXPECT_EQ(c.links[1].baud, 9600);
  EXPECT_EQ(c.links[1].parity, 'N');
  EXPECT_EQ(c.links[1].data_bits, 8);
  EXPECT_EQ(c.links[1].stop_bits, 1);
  EXPECT_FALSE(c.links[1].timeout_ms.has_value());
  EXPECT_EQ(c.FindLink("ward-bus"), &c.links[1]);
  EXPECT_EQ(c.FindLink("nope"), nullptr);

  ASSERT_EQ(c.elevators.size(), 2u);
  const ElevatorConfig& op = c.elevators[0];
  EXPECT_EQ(op.id, "OP-1");
  EXPECT_EQ(op.name, "Outpatient car 1");
  EXPECT_EQ(op.building, "Outpatient");
  EXPECT_EQ(op.registration_code, "31104403002018000001");
  EXPECT_EQ(op.link, "outpatient-gw");
  EXPECT_EQ(op.unit, 1);
  EXPECT_EQ(op.map, "ref-1");
  ASSERT_NE(op.register_map, nullptr);
  EXPECT_EQ(op.register_map->name(), "ref-1");
  EXPECT_EQ(op.rated_speed_mm_s, 1750);
  EXPECT_EQ(op.floor_min, -2);
  EXPECT_EQ(op.floor_max, 18);
  EXPECT_EQ(op.first_use, "2018-06-01");
  EXPECT_EQ(op.contractor, "acme-lifts");
  EXPECT_FALSE(op.interval_ms.has_value());
  EXPECT_EQ(op.line, 38);
  const ElevatorConfig& wd = c.elevators[1];
  EXPECT_EQ(wd.map, "maps/vendor-x.toml");
  ASSERT_NE(wd.register_map, nullptr);
  EXPECT_EQ(wd.register_map->name(), "vendor-x");
  EXPECT_EQ(wd.unit, 3);

  EXPECT_EQ(c.rules.trapped_between_floors_s, 30);
  EXPECT_EQ(c.rules.trapped_at_floor_s, 60);
  EXPECT_DOUBLE_EQ(c.rules.overspeed_factor, 1.15);
  EXPECT_EQ(c.rules.door_open_too_long_s, 120);
  EXPECT_DOUBLE_EQ(op.rules.overspeed_factor, 1.15);

  ASSERT_EQ(c.contractors.size(), 2u);
  EXPECT_EQ(c.contractors[0].id, "acme-lifts");
  EXPECT_EQ(c.contractors[0].duty_phone, "+86 20 0000 0000");
  EXPECT_EQ(c.contractors[0].backup, "city-rescue");

  ASSERT_EQ(c.contacts.size(), 1u);
  EXPECT_EQ(c.contacts[0].id, "safety-manager");
  ASSERT_EQ(c.contacts[0].routes.size(), 2u);
  EXPECT_EQ(c.contacts[0].routes[0].kind, ContactRoute::Kind::kEmail);
  EXPECT_EQ(c.contacts[0].routes[0].address, "safety@example.org");
  EXPECT_EQ(c.contacts[0].routes[1].kind, ContactRoute::Kind::kWebhook);
  EXPECT_EQ(c.contacts[0].routes[1].address, "wecom-safety");

  ASSERT_EQ(c.channels.size(), 1u);
  EXPECT_EQ(c.channels[0].kind, ChannelConfig::Kind::kWebhook);
  EXPECT_EQ(c.channels[0].format, ChannelConfig::Format::kWecom);
  EXPECT_EQ(c.channels[0].url, "http://127.0.0.1:9000/hook");

  ASSERT_TRUE(c.smtp.has_value());
  EXPECT_EQ(c.smtp->url, "smtp://127.0.0.1:2525");
  EXPECT_EQ(c.smtp->from, "liftguard@example.org");
  ASSERT_TRUE(c.mqtt.has_value());
  EXPECT_EQ(c.mqtt->topic_prefix, "liftguard/first-hospital");

  ASSERT_EQ(c.escalation.size(), 4u);
  EXPECT_EQ(c.escalation[0].after_min, 0);
  EXPECT_EQ(c.escalation[0].unless, "");
  ASSERT_EQ(c.escalation[0].notify.size(), 2u);
  EXPECT_EQ(c.escalation[0].notify[0].kind, NotifyTarget::Kind::kSecurityRoom);
  EXPECT_EQ(c.escalation[0].notify[1].kind, NotifyTarget::Kind::kOnCallContractor);
  EXPECT_EQ(c.escalation[1].unless, "acknowledged");
  ASSERT_EQ(c.escalation[1].notify.size(), 1u);
  EXPECT_EQ(c.escalation[1].notify[0].kind, NotifyTarget::Kind::kContact);
  EXPECT_EQ(c.escalation[1].notify[0].id, "safety-manager");
  EXPECT_EQ(c.escalation[2].notify[0].kind, NotifyTarget::Kind::kBackupContractor);
  EXPECT_EQ(c.escalation[3].after_min, 25);
  EXPECT_EQ(c.escalation[3].unless, "on_site");
  EXPECT_EQ(c.escalation[3].notify[0].kind, NotifyTarget::Kind::kMainResponsible);
}

TEST_F(ConfigTest, MinimalConfigGetsDefaults) {
  Result<Config> result = Parse(R"([site]
name = "S"

[[link]]
id = "gw"
transport = "rtu"
device = "/dev/ttyS0"

[[elevator]]
id = "A"
link = "gw"
unit = 1
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;
  EXPECT_EQ(c.site.timezone, "Asia/Shanghai");
  EXPECT_EQ(c.daemon.database, (dir_ / "var/liftguard.db").string());
  EXPECT_EQ(c.daemon.log_level, "info");
  EXPECT_EQ(c.polling.interval_ms, 500);
  EXPECT_EQ(c.links[0].baud, 9600);
  EXPECT_EQ(c.links[0].parity, 'N');
  EXPECT_EQ(c.elevators[0].name, "A");
  EXPECT_EQ(c.elevators[0].map, "ref-1");
  ASSERT_NE(c.elevators[0].register_map, nullptr);
  EXPECT_FALSE(c.elevators[0].rated_speed_mm_s.has_value());
  EXPECT_FALSE(c.elevators[0].floor_min.has_value());
  EXPECT_EQ(c.elevators[0].first_use, "");
  EXPECT_EQ(c.rules.trapped_at_floor_s, 60);
  EXPECT_EQ(c.elevators[0].rules.clear_s, 3);
  EXPECT_FALSE(c.smtp.has_value());
  EXPECT_FALSE(c.mqtt.has_value());
  EXPECT_TRUE(c.escalation.empty());
}

// ---------------------------------------------------------------------------
// Refusals

TEST_F(ConfigTest, UnknownKeysInEverySectionAllReported) {
  EXPECT_THAT(
      Errors(R"(stray = 1

[site]
name = "S"
colour = "red"

[daemon]
databse = "x.db"

[polling]
x = 1

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502
speed = 1

[[elevator]]
id = "A"
link = "gw"
unit = 1
colour = "blue"

[elevator.rules]
trapped_s = 5

[rules]
trapped_s = 5

[[contractor]]
id = "c"
name = "C"
duty_phone = "110"
email = "x@y"

[[contact]]
id = "p"
channels = ["webhook:hook"]
phone = "1"

[[channel]]
id = "hook"
kind = "webhook"
url = "http://h/"
secret = "s"

[smtp]
url = "smtp://h"
from = "a@b"
port = 25

[mqtt]
url = "mqtt://h"
qos = 1

[[escalation]]
after_min = 0
notify = ["security-room"]
repeat = true

[extra]
a = 1

[[more]]
b = 2
)"),
      ElementsAre(
          "F:1: unknown key 'stray' at the top level", "F:5: unknown key 'colour' in [site]",
          "F:8: unknown key 'databse' in [daemon]", "F:11: unknown key 'x' in [polling]",
          "F:18: unknown key 'speed' in [[link]]", "F:24: unknown key 'colour' in [[elevator]]",
          "F:27: unknown key 'trapped_s' in [elevator.rules]",
          "F:30: unknown key 'trapped_s' in [rules]", "F:36: unknown key 'email' in [[contractor]]",
          "F:41: unknown key 'phone' in [[contact]]", "F:47: unknown key 'secret' in [[channel]]",
          "F:52: unknown key 'port' in [smtp]", "F:56: unknown key 'qos' in [mqtt]",
          "F:61: unknown key 'repeat' in [[escalation]]", "F:63: unknown table [extra]",
          "F:66: unknown table [[more]]"));
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_THAT(
      Errors(R"([site]
name = 7
arrival_target_min = "30"

[daemon]
log_level = 3

[polling]
interval_ms = 1.5
backoff_ms = 500

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = "502"

[[elevator]]
id = "A"
link = "gw"
unit = 1
floors = "1-12"
first_use = 20180601
rated_speed_mm_s = 1.75
rules = 5

[rules]
overspeed_factor = "1.15"

[[escalation]]
after_min = 0
notify = "security-room"
)"),
      ElementsAre("F:2: 'name' must be a string", "F:3: 'arrival_target_min' must be an integer",
                  "F:6: 'log_level' must be a string", "F:9: 'interval_ms' must be an integer",
                  "F:10: 'backoff_ms' must be an array of two integers [first, cap]",
                  "F:16: 'port' must be an integer",
                  "F:22: 'floors' must be an array of two integers [min, max]",
                  "F:23: 'first_use' must be a date string \"YYYY-MM-DD\"",
                  "F:24: 'rated_speed_mm_s' must be an integer",
                  "F:25: 'rules' must be a table: write [elevator.rules]",
                  "F:28: 'overspeed_factor' must be a number",
                  "F:32: 'notify' must be an array of strings"));
}

TEST_F(ConfigTest, WrongShapeOfTopLevelTables) {
  EXPECT_THAT(Errors(R"(site = "x"
link = { id = "gw" }
[[daemon]]
log_level = "info"
)"),
              ElementsAre("F:1: 'site' must be a table: write [site]",
                          "F:2: 'link' must be an array of tables: write [[link]]",
                          "F:3: 'daemon' must be a table: write [daemon]"));
}

TEST_F(ConfigTest, MissingSiteTable) {
  EXPECT_THAT(Errors(R"([daemon]
log_level = "info"
)"),
              ElementsAre("F:1: missing required table [site] (it needs at least 'name')"));
}

TEST_F(ConfigTest, MissingRequiredKeysAtTheirTablesLine) {
  EXPECT_THAT(Errors(R"([site]
timezone = "UTC"

[[link]]
port = 502

[[link]]
id = "t"
transport = "tcp"

[[link]]
id = "r"
transport = "rtu"

[[elevator]]
name = "nothing"

[[contractor]]
id = "c"

[[escalation]]
unless = "accepted"
)"),
              ElementsAre("F:1: missing required key 'name' in [site]",
                          "F:4: missing required key 'id' in [[link]]",
                          "F:4: missing required key 'transport' in [[link]]",
                          "F:7: missing required key 'host' in [[link]]",
                          "F:7: missing required key 'port' in [[link]]",
                          "F:11: missing required key 'device' in [[link]]",
                          "F:15: missing required key 'id' in [[elevator]]",
                          "F:15: missing required key 'link' in [[elevator]]",
                          "F:15: missing required key 'unit' in [[elevator]]",
                          "F:18: missing required key 'name' in [[contractor]]",
                          "F:18: missing required key 'duty_phone' in [[contractor]]",
                          "F:21: missing required key 'after_min' in [[escalation]]",
                          "F:21: missing required key 'notify' in [[escalation]]"));
}

TEST_F(ConfigTest, SiteDaemonPollingRanges) {
  EXPECT_THAT(
      Errors(R"([site]
name = "S"
arrival_target_min = 0
timezone = "Asia Shanghai"

[daemon]
log_level = "verbose"
listen = "8080"
database = ""

[polling]
interval_ms = 49
timeout_ms = 60001
comms_lost_after_ms = 99
backoff_ms = [500, 100]
gap_ms = 10001
io_threads = 17
serial_threads = 0
)"),
      ElementsAre(
          "F:3: 'arrival_target_min' must be 1..240, not 0",
          "F:4: 'timezone' must be a zone name such as \"Asia/Shanghai\", not 'Asia Shanghai'",
          "F:7: 'log_level' must be one of trace, debug, info, warn, error, critical, off, not "
          "'verbose'",
          "F:8: 'listen' must be host:port (port 1..65535), e.g. \"127.0.0.1:8080\", not '8080'",
          "F:9: 'database' must not be empty", "F:12: 'interval_ms' must be 50..3600000, not 49",
          "F:13: 'timeout_ms' must be 10..60000, not 60001",
          "F:14: 'comms_lost_after_ms' must be 100..3600000, not 99",
          "F:15: 'backoff_ms' must be [first, cap] with 0 < first <= cap <= 3600000, not [500, "
          "100]",
          "F:16: 'gap_ms' must be 0..10000, not 10001", "F:17: 'io_threads' must be 1..16, not 17",
          "F:18: 'serial_threads' must be 1..64, not 0"));

  EXPECT_THAT(Errors(R"([site]
name = "S"
[polling]
backoff_ms = [0, 10]
)"),
              ElementsAre("F:4: 'backoff_ms' must be [first, cap] with 0 < first <= cap <= "
                          "3600000, not [0, 10]"));
  EXPECT_THAT(Errors(R"([site]
name = "S"
[daemon]
listen = "[::1]:0"
)"),
              ElementsAre("F:4: 'listen' must be host:port (port 1..65535), e.g. "
                          "\"127.0.0.1:8080\", not '[::1]:0'"));
}

TEST_F(ConfigTest, LinkRanges) {
  EXPECT_THAT(
      Errors(R"([site]
name = "S"

[[link]]
id = "a"
transport = "tcp"
host = "h"
port = 0

[[link]]
id = "b"
transport = "tcp"
host = "h"
port = 65536

[[link]]
id = "c"
transport = "rtu"
device = "/dev/ttyS0"
baud = 9601
parity = "X"
data_bits = 6
stop_bits = 3
timeout_ms = 9
gap_ms = -1

[[link]]
id = "d"
transport = "udp"

[[link]]
id = "e"
transport = "tcp"
host = "h"
port = 502
baud = 9600
timeout_ms = 60001
)"),
      ElementsAre("F:8: 'port' must be 1..65535, not 0", "F:14: 'port' must be 1..65535, not 65536",
                  "F:20: 'baud' must be one of 1200, 2400, 4800, 9600, 19200, 38400, "
                  "57600, 115200, not 9601",
                  "F:21: 'parity' must be \"N\", \"E\" or \"O\", not 'X'",
                  "F:22: 'data_bits' must be one of 7, 8, not 6",
                  "F:23: 'stop_bits' must be one of 1, 2, not 3",
                  "F:24: 'timeout_ms' must be 10..60000, not 9",
                  "F:25: 'gap_ms' must be 0..10000, not -1",
                  "F:29: 'transport' must be \"tcp\" or \"rtu\", not 'udp'",
                  "F:36: 'baud' does not apply to a tcp link",
                  "F:37: 'timeout_ms' must be 10..60000, not 60001"));
}

TEST_F(ConfigTest, RangeBoundariesAreAccepted) {
  Result<Config> result = Parse(R"([site]
name = "S"
arrival_target_min = 240

[daemon]
listen = "[::1]:65535"
log_level = "off"

[polling]
interval_ms = 50
timeout_ms = 60000
comms_lost_after_ms = 100
backoff_ms = [1, 1]
gap_ms = 10000
io_threads = 16
serial_threads = 64

[[link]]
id = "a-1_b.c"
transport = "tcp"
host = "h"
port = 65535
timeout_ms = 10
gap_ms = 0

[[link]]
id = "slow"
transport = "rtu"
device = "/dev/ttyS0"
baud = 1200
parity = "E"
data_bits = 7
stop_bits = 2

[[link]]
id = "fast"
transport = "rtu"
device = "/dev/ttyS1"
baud = 115200
parity = "O"

[[elevator]]
id = "A"
link = "a-1_b.c"
unit = 1
rated_speed_mm_s = 100
floors = [3, 3]
first_use = "2024-02-29"
interval_ms = 3600000

[[elevator]]
id = "B"
link = "a-1_b.c"
unit = 247
rated_speed_mm_s = 20000
first_use = 2000-02-29
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;
  EXPECT_EQ(c.polling.backoff_first_ms, 1);
  EXPECT_EQ(c.links[0].port, 65535);
  EXPECT_EQ(c.links[0].timeout_ms, 10);
  EXPECT_EQ(c.links[1].parity, 'E');
  EXPECT_EQ(c.links[1].data_bits, 7);
  EXPECT_EQ(c.links[1].stop_bits, 2);
  EXPECT_EQ(c.links[2].baud, 115200);
  EXPECT_EQ(c.links[2].parity, 'O');
  EXPECT_EQ(c.elevators[0].first_use, "2024-02-29");
  EXPECT_EQ(c.elevators[0].interval_ms, 3600000);
  EXPECT_EQ(c.elevators[1].unit, 247);
  EXPECT_EQ(c.elevators[1].first_use, "2000-02-29");  // a bare TOML date
}

TEST_F(ConfigTest, ElevatorRanges) {
  EXPECT_THAT(
      Errors(R"([site]
name = "S"

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "a b"
link = "gw"
unit = 0
floors = [5, 1]
first_use = "2023-02-29"
rated_speed_mm_s = 99
interval_ms = 3600001

[[elevator]]
id = "B"
link = "gw"
unit = 248
first_use = "2024-13-01"
rated_speed_mm_s = 20001
interval_ms = 49

[[elevator]]
id = "C"
link = "gw"
unit = 2
first_use = "24-02-01"
map = ""
floors = [-32769, 1]
)"),
      ElementsAre("F:11: 'id' must use only letters, digits, '_', '.' and '-', not 'a b'",
                  "F:13: 'unit' must be 1..247, not 0",
                  "F:14: 'floors' must be [min, max] with -32768 <= min <= max <= 32767, not [5, "
                  "1]",
                  "F:15: 'first_use' must be a real date YYYY-MM-DD, not '2023-02-29'",
                  "F:16: 'rated_speed_mm_s' must be 100..20000, not 99",
                  "F:17: 'interval_ms' must be 50..3600000, not 3600001",
                  "F:22: 'unit' must be 1..247, not 248",
                  "F:23: 'first_use' must be a real date YYYY-MM-DD, not '2024-13-01'",
                  "F:24: 'rated_speed_mm_s' must be 100..20000, not 20001",
                  "F:25: 'interval_ms' must be 50..3600000, not 49",
                  "F:31: 'first_use' must be a real date YYYY-MM-DD, not '24-02-01'",
                  "F:32: 'map' must not be empty",
                  "F:33: 'floors' must be [min, max] with -32768 <= min <= max <= 32767, not "
                  "[-32769, 1]"));
}

TEST_F(ConfigTest, DuplicatesAndDanglingReferences) {
  EXPECT_THAT(Errors(R"([site]
name = "S"

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[link]]
id = "gw"
transport = "rtu"
device = "/dev/ttyUSB0"

[[link]]
id = "gw2"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "A"
link = "gw"
unit = 3

[[elevator]]
id = "B"
link = "gw"
unit = 3

[[elevator]]
id = "A"
link = "nowhere"
unit = 1
contractor = "nobody"

[[link]]
id = "bus2"
transport = "rtu"
device = "/dev/ttyUSB0"
)"),
              ElementsAre("F:11: duplicate link id 'gw' (first defined at line 4)",
                          "F:19: link 'gw2' uses h:502 already used by link 'gw' at line 4",
                          "F:29: elevator 'B' uses link 'gw' unit 3 already used by 'A' at line 21",
                          "F:32: duplicate elevator id 'A' (first defined at line 21)",
                          "F:33: elevator 'A' is on link 'nowhere', which no [[link]] defines",
                          "F:35: elevator 'A' names contractor 'nobody', which no [[contractor]] "
                          "defines",
                          "F:40: link 'bus2' uses /dev/ttyUSB0 already used by link 'gw' at line "
                          "10"));
}

TEST_F(ConfigTest, MapsResolveAgainstTheConfigFolder) {
  CopyVendorMap();
  Result<Config> result = Parse(R"([site]
name = "S"

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "A"
link = "gw"
unit = 1
map = "maps/vendor-x.toml"

[[elevator]]
id = "B"
link = "gw"
unit = 2
map = "./maps/../maps/vendor-x.toml"

[[elevator]]
id = "C"
link = "gw"
unit = 3
map = ")" + (dir_ / "maps/vendor-x.toml").string() +
                                R"("
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;
  ASSERT_NE(c.elevators[0].register_map, nullptr);
  EXPECT_EQ(c.elevators[0].register_map->name(), "vendor-x");
  EXPECT_EQ(c.elevators[0].map, "maps/vendor-x.toml");  // as written
  // One file, loaded once, shared by every car that uses it.
  EXPECT_EQ(c.elevators[1].register_map, c.elevators[0].register_map);
  EXPECT_EQ(c.elevators[2].register_map, c.elevators[0].register_map);
}

TEST_F(ConfigTest, MissingAndBadMapFiles) {
  WriteFile(dir_ / "bad.toml",
            "name = \"bad\"\n[fields.no_such_field]\ntable = \"holding\"\n"
            "address = 1\n");
  std::vector<std::string> errors = Errors(R"([site]
name = "S"

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "A"
link = "gw"
unit = 1
map = "ref-1"

[[elevator]]
id = "B"
link = "gw"
unit = 2
map = "maps/missing.toml"

[[elevator]]
id = "C"
link = "gw"
unit = 3
map = "bad.toml"

[[elevator]]
id = "D"
link = "gw"
unit = 4
map = "ref-2"
)");
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0], "F:20: map file 'maps/missing.toml' not found (looked for " +
                           (dir_ / "maps/missing.toml").string() + ")");
  // The map loader's own message, which names the map file and its line.
  EXPECT_THAT(errors[1],
              StartsWith("F:26: map 'bad.toml' is invalid: " + (dir_ / "bad.toml").string()));
  EXPECT_THAT(errors[1], HasSubstr("no_such_field"));
  EXPECT_EQ(errors[2], "F:32: map file 'ref-2' not found (looked for " + (dir_ / "ref-2").string() +
                           "); the only built-in map is \"ref-1\"");
}

TEST_F(ConfigTest, DatabaseIsRelativeToTheConfigFolder) {
  auto database = [&](const std::string& daemon) {
    Result<Config> result = Parse("[site]\nname = \"S\"\n" + daemon);
    EXPECT_TRUE(result.ok()) << result.error().message;
    return result.ok() ? result->daemon.database : "";
  };
  EXPECT_EQ(database(""), (dir_ / "var/liftguard.db").string());
  EXPECT_EQ(database("[daemon]\ndatabase = \"x.db\"\n"), (dir_ / "x.db").string());
  EXPECT_EQ(database("[daemon]\ndatabase = \"../db/x.db\"\n"),
            (dir_.parent_path() / "db/x.db").string());
  EXPECT_EQ(database("[daemon]\ndatabase = \"/srv/liftguard/x.db\"\n"), "/srv/liftguard/x.db");
}

TEST_F(ConfigTest, RulesAndPerElevatorOverrides) {
  Result<Config> result = Parse(R"([site]
name = "S"

[rules]
trapped_between_floors_s = 45
overspeed_factor = 1.2
flood_count = 20

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "A"
link = "gw"
unit = 1

[[elevator]]
id = "B"
link = "gw"
unit = 2
rules = { trapped_at_floor_s = 90, overspeed_factor = 2 }

[[elevator]]
id = "C"
link = "gw"
unit = 3

[elevator.rules]
door_open_too_long_s = 300
)");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;
  EXPECT_EQ(c.rules.trapped_between_floors_s, 45);
  EXPECT_EQ(c.rules.flood_count, 20);
  EXPECT_EQ(c.rules.trapped_at_floor_s, 60);
  const RulesConfig& a = c.elevators[0].rules;
  EXPECT_EQ(a.trapped_between_floors_s, 45);
  EXPECT_DOUBLE_EQ(a.overspeed_factor, 1.2);
  const RulesConfig& b = c.elevators[1].rules;
  EXPECT_EQ(b.trapped_between_floors_s, 45);  // the site's
  EXPECT_EQ(b.trapped_at_floor_s, 90);        // its own
  EXPECT_DOUBLE_EQ(b.overspeed_factor, 2.0);  // an integer where a factor goes
  const RulesConfig& cc = c.elevators[2].rules;
  EXPECT_EQ(cc.door_open_too_long_s, 300);
  EXPECT_EQ(cc.trapped_at_floor_s, 60);
}

TEST_F(ConfigTest, RulesRefusals) {
  EXPECT_THAT(Errors(R"([site]
name = "S"

[rules]
trapped_at_floor_s = 4
overspeed_factor = 1.0
door_open_too_long_s = 86401
clear_s = 2.5

[[link]]
id = "gw"
transport = "tcp"
host = "h"
port = 502

[[elevator]]
id = "A"
link = "gw"
unit = 1

[elevator.rules]
flood_count = 3
overspeed_factor = 1.1
overspeed_clear_factor = 1.2
)"),
              ElementsAre("F:5: 'trapped_at_floor_s' must be 5..3600, not 4",
                          "F:6: 'overspeed_factor' must be 1.01..2, not 1",
                          "F:7: 'door_open_too_long_s' must be 10..86400, not 86401",
                          "F:8: 'clear_s' must be an integer",
                          "F:22: 'flood_count' is site-wide: set it in [rules], not "
                          "[elevator.rules]",
                          "F:24: 'overspeed_clear_factor' (1.2) must not exceed "
                          "'overspeed_factor' (1.1)"));
}

TEST_F(ConfigTest, ContractorsChannelsContactsEscalation) {
  EXPECT_THAT(
      Errors(R"([site]
name = "S"

[[contractor]]
id = "acme"
name = "Acme"
duty_phone = "call us"
backup = "ghost"

[[contractor]]
id = "solo"
name = "Solo"
duty_phone = "110"
backup = "solo"

[[channel]]
id = "mail"
kind = "email"
url = "http://not-smtp"
format = "wecom"

[[channel]]
id = "hook"
kind = "webhook"
url = "https://h/x"
format = "slack"

[[channel]]
id = "text"
kind = "sms"
url = "https://sms/x"

[[channel]]
id = "pager"
kind = "pager"
url = "x"

[[contact]]
id = "boss"
channels = ["email:boss", "webhook:nohook", "webhook:mail", "fax:123", "sms:+86 138 0000 0000", "mqtt:a/#", "plain"]

[[contact]]
id = "security-room"
channels = []

[[escalation]]
after_min = 1441
unless = "solved"
notify = ["boss", "contractor:nobody", "channel:none", "channel:hook", "stranger"]
)"),
      ElementsAre(
          "F:7: 'duty_phone' must be a phone number (digits, spaces, '+', '-', '(', ')'), not "
          "'call us'",
          "F:14: contractor 'solo' cannot be its own backup",
          "F:19: 'url' must start with smtp:// or smtps:// for kind email, not 'http://not-smtp'",
          "F:20: 'format' applies only to webhook channels",
          "F:26: 'format' must be generic, wecom or dingtalk, not 'slack'",
          "F:28: missing required key 'body_template' in [[channel]]",
          "F:35: 'kind' must be webhook, email, mqtt or sms, not 'pager'",
          "F:40: contact channel 'email:boss': the part after 'email:' must be an e-mail address",
          "F:40: contact channel 'fax:123' has unknown kind; use email, webhook, sms or mqtt",
          "F:40: contact channel 'mqtt:a/#': the part after 'mqtt:' must be an MQTT topic "
          "without wildcards",
          "F:40: contact channel 'plain' must be kind:address, kind one of email, webhook, sms, "
          "mqtt",
          "F:40: contact 'boss' uses webhook:nohook, which no [[channel]] defines",
          "F:40: contact 'boss' uses webhook:mail, but that channel is not of kind webhook",
          "F:43: contact id 'security-room' is reserved for the escalation target of that name",
          "F:44: 'channels' must not be empty", "F:47: 'after_min' must be 0..1440, not 1441",
          "F:48: 'unless' must be one of open, acknowledged, dispatched, accepted, on_site, "
          "released, closed, not 'solved'",
          "F:49: escalation target 'contractor:nobody' is not security-room, contractor:on-call, "
          "contractor:backup, main-responsible, channel:ID or a [[contact]] id",
          "F:49: escalation target 'channel:none': no [[channel]] has id 'none'",
          "F:49: escalation target 'stranger' is not security-room, contractor:on-call, "
          "contractor:backup, main-responsible, channel:ID or a [[contact]] id"));
}

TEST_F(ConfigTest, ContactRoutesNeedAWayOut) {
  EXPECT_THAT(Errors(R"([site]
name = "S"

[[contact]]
id = "p"
channels = [
  "email:p@example.org",
  "sms:+86 138 0000 0000",
  "mqtt:alerts/p",
]
)"),
              ElementsAre("F:7: contact 'p' has an e-mail address, but there is no [smtp] table "
                          "or email [[channel]] to send it",
                          "F:8: contact 'p' has an sms number, but there is no sms [[channel]] to "
                          "send it",
                          "F:9: contact 'p' has an mqtt topic, but there is no [mqtt] table or "
                          "mqtt [[channel]] to publish it"));

  Result<Config> ok = Parse(R"([site]
name = "S"

[smtp]
url = "smtps://mail.example.org:465"
from = "lg@example.org"
username = "lg"
password = "secret"

[mqtt]
url = "mqtts://broker:8883"

[[channel]]
id = "sms-gw"
kind = "sms"
url = "https://sms.example.org/send"
body_template = "{{text}}"

[[channel]]
id = "ops"
kind = "webhook"
url = "https://h/x"
format = "dingtalk"

[[contact]]
id = "p"
channels = ["email:p@example.org", "sms:+86 138 0000 0000", "mqtt:alerts/p"]

[[escalation]]
after_min = 0
notify = ["channel:ops", "p"]
)");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->mqtt->topic_prefix, "liftguard");
  EXPECT_EQ(ok->smtp->password, "secret");
  EXPECT_EQ(ok->channels[0].body_template, "{{text}}");
  EXPECT_EQ(ok->channels[1].format, ChannelConfig::Format::kDingtalk);
  EXPECT_EQ(ok->contacts[0].name, "p");
  ASSERT_EQ(ok->contacts[0].routes.size(), 3u);
  EXPECT_EQ(ok->contacts[0].routes[1].kind, ContactRoute::Kind::kSms);
  EXPECT_EQ(ok->contacts[0].routes[1].address, "+86 138 0000 0000");
  ASSERT_EQ(ok->escalation[0].notify.size(), 2u);
  EXPECT_EQ(ok->escalation[0].notify[0].kind, NotifyTarget::Kind::kChannel);
  EXPECT_EQ(ok->escalation[0].notify[0].id, "ops");
}

TEST_F(ConfigTest, SmtpAndMqttShapes) {
  EXPECT_THAT(
      Errors(R"([site]
name = "S"

[smtp]
url = "http://mail"
from = "nobody"
password = "x"

[mqtt]
topic_prefix = "site/#"

[[channel]]
id = "m"
kind = "mqtt"
url = "mqtt://b"
body_template = "x"
)"),
      ElementsAre("F:5: 'url' must start with smtp:// or smtps://, not 'http://mail'",
                  "F:6: 'from' must be an e-mail address, not 'nobody'",
                  "F:7: 'password' needs 'username'", "F:9: missing required key 'url' in [mqtt]",
                  "F:10: 'topic_prefix' must be a non-empty MQTT topic without wildcards",
                  "F:16: 'body_template' applies only to sms channels"));
}

TEST_F(ConfigTest, SyntaxErrorIsReportedWithItsLine) {
  std::vector<std::string> errors = Errors(R"([site]
name = "S"
name = "T"
)");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("F:3: TOML syntax error: "));
}

TEST_F(ConfigTest, NotificationKeysOfSiteAndNotify) {
  Result<Config> ok = Parse(R"([site]
name = "S"
timezone = "+05:30"
language = "zh"
acknowledge_target_min = 2
accept_target_min = 4
main_responsible = "director"
[[contact]]
id = "director"
channels = ["mqtt:site/director"]
[mqtt]
url = "mqtt://b"
[notify]
test_interval_h = 24
retry_cap_s = 30
)");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->site.utc_offset_min, 330);
  EXPECT_EQ(ok->site.language, "zh");
  EXPECT_EQ(ok->site.acknowledge_target_min, 2);
  EXPECT_EQ(ok->site.accept_target_min, 4);
  EXPECT_EQ(ok->site.main_responsible, "director");
  EXPECT_EQ(ok->notify.test_interval_h, 24);
  EXPECT_EQ(ok->notify.retry_cap_s, 30);

  Result<Config> defaults = Parse("[site]\nname = \"S\"\n");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->site.utc_offset_min, 480);  // Asia/Shanghai
  EXPECT_EQ(defaults->site.language, "both");
  EXPECT_EQ(defaults->site.acknowledge_target_min, 3);
  EXPECT_EQ(defaults->site.accept_target_min, 5);
  EXPECT_EQ(defaults->notify.test_interval_h, 72);
  EXPECT_EQ(defaults->notify.retry_cap_s, 60);
  EXPECT_TRUE(defaults->escalation.empty());

  EXPECT_THAT(Errors(R"([site]
name = "S"
timezone = "Europe/Berlin"
language = "fr"
acknowledge_target_min = 0
accept_target_min = 241
main_responsible = "nobody"
[notify]
test_interval_h = 73
retry_cap_s = 0
wait = 1
)"),
              ElementsAre("F:3: 'timezone' 'Europe/Berlin' is not one Liftguard knows: use a zone "
                          "of the table in docs/configuration.md (e.g. \"Asia/Shanghai\", "
                          "\"UTC\") or the site's offset from UTC, e.g. \"+08:00\"",
                          "F:4: 'language' must be \"zh\", \"en\" or \"both\", not 'fr'",
                          "F:5: 'acknowledge_target_min' must be 1..60, not 0",
                          "F:6: 'accept_target_min' must be 1..240, not 241",
                          "F:7: 'main_responsible' must be the id of a [[contact]], not 'nobody'",
                          "F:9: 'test_interval_h' must be 0..72, not 73",
                          "F:10: 'retry_cap_s' must be 1..3600, not 0",
                          "F:11: unknown key 'wait' in [notify]"));
  EXPECT_FALSE(FixedUtcOffsetMin("+14:01").has_value());
  EXPECT_FALSE(FixedUtcOffsetMin("+08:60").has_value());
  EXPECT_EQ(FixedUtcOffsetMin("-03:30"), -210);
  EXPECT_EQ(FixedUtcOffsetMin("UTC"), 0);
  EXPECT_EQ(FixedUtcOffsetMin("Asia/Tokyo"), 540);
}

TEST_F(ConfigTest, AChainWhoseFirstStepLeavesOutTheContractorWarns) {
  Result<Config> c = Parse(R"([site]
name = "S"
[[escalation]]
after_min = 0
notify = ["security-room"]
[[escalation]]
after_min = 2
notify = ["contractor:on-call"]
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_THAT(c->warnings[0], HasSubstr(":3: no [[escalation]] step with after_min = 0"));
}

TEST_F(ConfigTest, UnreadableFile) {
  Result<Config> result = LoadConfig((dir_ / "absent.toml").string());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, "config");
  EXPECT_THAT(result.error().message,
              StartsWith((dir_ / "absent.toml").string() + ": cannot open: "));
}

}  // namespace
}  // namespace lg
