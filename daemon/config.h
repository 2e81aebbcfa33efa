// Config: the daemon's configuration, read from TOML in the shape of
// shared/spec/liftguard.example.toml. The user-facing reference, with every
// key, default and range, is docs/configuration.md.
//
// LoadConfig refuses, with "FILE:LINE: reason" (LINE is the line of the
// offending key or table), anything it does not understand: an unknown key
// or table, a wrong type, a missing required key, a value out of range, an
// elevator on a link that does not exist, two elevators on the same link and
// unit, a map file that is missing or bad, a reference (contractor, channel,
// contact, escalation target) to something not defined. It reports every
// problem it finds (one per line in Error::message, ordered by line, error
// code "config"), not just the first. A TOML syntax error stops parsing, so
// it is reported alone.
//
// A Config that LoadConfig returns is complete: every default is filled in,
// every reference resolves, relative paths (database, map files) are made
// absolute against the config file's folder, and each elevator's
// register_map is loaded.
//
// Every section is checked at start-up, so that a mistake in a channel or
// an escalation target is found then, not when a passenger is trapped.
//
// Thread-safety: plain values. LoadConfig has no shared state.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "drivers/register_map.h"
#include "rules/rules_config.h"

namespace lg {

struct SiteConfig {
  std::string name;  // required
  // A zone of the fixed table of FixedUtcOffsetMin, or "+08:00"; messages
  // show local times at `utc_offset_min` from UTC (no daylight saving).
  std::string timezone = "Asia/Shanghai";
  int utc_offset_min = 8 * 60;  // from `timezone`
  // Rescue targets in minutes from open (rules/incident.h IncidentTargets).
  int acknowledge_target_min = 3;  // 1..60
  int accept_target_min = 5;       // 1..240
  int arrival_target_min = 30;     // 1..240
  std::string language = "both";   // notifications: "zh", "en" or "both" (Chinese first)
  // The [[contact]] id of the unit's main responsible person (the
  // escalation target main-responsible); empty: none.
  std::string main_responsible;
};

// [notify]: the outbox worker's schedule (daemon/outbox_worker.h).
struct NotifyConfig {
  int test_interval_h = 72;  // 0..72; every channel's test message; 0: none
  int retry_cap_s = 60;      // 1..3600; the longest wait between two attempts
};

// [records]: the safety records (docs/records.md).
struct RecordsConfig {
  // Local time of the daily compliance evaluation, minutes after midnight
  // ("HH:MM", 00:00..23:59; default "06:00").
  int evaluate_at_min = 6 * 60;
};

// The offset from UTC, in minutes, of `timezone`: "UTC", a zone of a small
// fixed table without daylight saving (Asia/Shanghai and the other zones of
// China, East and South-East Asia, India, the Gulf, Moscow), or a fixed
// offset written "+08:00" / "-05:30" (-12:00..+14:00). nullopt otherwise:
// there is no time zone database here (GCC 12 has no std::chrono::tzdb).
std::optional<int> FixedUtcOffsetMin(std::string_view timezone);

struct DaemonConfig {
  // Written relative to the config file's folder; absolute after loading.
  std::string database = "var/liftguard.db";
  std::string listen = "127.0.0.1:8080";  // host:port or [v6]:port
  std::string log_level = "info";         // trace|debug|info|warn|error|critical|off
};

struct PollingConfig {
  int interval_ms = 500;            // 50..3600000
  int timeout_ms = 300;             // 10..60000
  int comms_lost_after_ms = 10000;  // 100..3600000; COMMS_LOST of faults.md
  int backoff_first_ms = 500;       // backoff_ms[0]; 0 < first <= cap
  int backoff_cap_ms = 30000;       // backoff_ms[1]; <= 3600000
  int gap_ms = 0;                   // pause between two requests on one link; 0..10000
  int io_threads = 1;               // threads running TCP links (Asio); 1..16
  int serial_threads = 4;           // cap on threads running RTU buses; 1..64
};

struct LinkConfig {
  enum class Transport { kTcp, kRtu };
  std::string id;
  Transport transport = Transport::kTcp;
  // tcp (host and port required)
  std::string host;
  int port = 502;
  // rtu (device required)
  std::string device;
  int baud = 9600;    // 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200
  char parity = 'N';  // N, E, O
  int data_bits = 8;  // 7, 8
  int stop_bits = 1;  // 1, 2
  // optional per-link overrides of [polling]
  std::optional<int> timeout_ms;
  std::optional<int> gap_ms;
  int line = 0;
};

// Thresholds of shared/spec/faults.md. Durations are whole seconds a
// condition must hold ("sustained for"); 0 means "on the first sample".
// [rules] sets them for the site; an elevator's `rules` sub-table overrides
// any of them for that car, except the flood_* keys, which are site-wide.

struct ElevatorConfig {
  std::string id;
  std::string name;  // defaults to the id
  std::string building;
  std::string registration_code;
  std::string link;
  int unit = 1;
  std::string map = "ref-1";                                 // as written
  std::shared_ptr<const drivers::RegisterMap> register_map;  // resolved
  std::optional<int> rated_speed_mm_s;
  std::optional<int> floor_min;
  std::optional<int> floor_max;
  std::string first_use;           // YYYY-MM-DD, validated; empty if not given
  std::string contractor;          // a ContractorConfig id, or empty
  std::optional<int> interval_ms;  // overrides [polling].interval_ms
  RulesConfig rules;               // effective: [rules] with this car's overrides applied
  int line = 0;
};

struct ContractorConfig {
  std::string id;
  std::string name;
  std::string duty_phone;
  std::string backup;  // another contractor's id, or empty
  int line = 0;
};

// A [[channel]]: a configured way out for notifications.
struct ChannelConfig {
  enum class Kind { kWebhook, kEmail, kMqtt, kSms };
  enum class Format { kGeneric, kWecom, kDingtalk };  // webhook payload shape
  std::string id;
  Kind kind = Kind::kWebhook;
  std::string url;
  Format format = Format::kGeneric;  // webhook only
  std::string body_template;         // sms only (required there)
  int line = 0;
};

// One entry of a contact's `channels`, e.g. "email:safety@example.org".
struct ContactRoute {
  enum class Kind { kEmail, kWebhook, kSms, kMqtt };
  Kind kind = Kind::kEmail;
  std::string address;  // e-mail address, webhook channel id, phone number, or MQTT topic
};

struct ContactConfig {
  std::string id;
  std::string name;
  std::vector<ContactRoute> routes;  // from `channels`
  int line = 0;
};

struct SmtpConfig {
  std::string url;   // smtp:// or smtps://
  std::string from;  // an e-mail address
  std::string username;
  std::string password;
};

struct MqttConfig {
  std::string url;  // mqtt:// or mqtts://
  std::string topic_prefix = "liftguard";
};

// One "notify" entry of an escalation step.
struct NotifyTarget {
  enum class Kind {
    kSecurityRoom,      // "security-room"
    kOnCallContractor,  // "contractor:on-call": the elevator's contractor
    kBackupContractor,  // "contractor:backup": that contractor's backup
    kMainResponsible,   // "main-responsible"
    kContact,           // a [[contact]] id; `id` holds it
    kChannel,           // "channel:ID"; `id` holds the channel id
  };
  Kind kind = Kind::kSecurityRoom;
  std::string id;
};

struct EscalationStep {
  int after_min = 0;  // minutes after the incident opened; 0..1440
  // Skip the step if the incident has reached this step: one of open,
  // acknowledged, dispatched, accepted, on_site, released, closed.
  // Empty: always send.
  std::string unless;
  std::vector<NotifyTarget> notify;  // never empty
  int line = 0;
};

struct Config {
  std::string path;  // the file it came from
  SiteConfig site;
  DaemonConfig daemon;
  PollingConfig polling;
  std::vector<LinkConfig> links;
  std::vector<ElevatorConfig> elevators;
  RulesConfig rules;  // site-wide; each elevator holds its effective copy
  std::vector<ContractorConfig> contractors;
  std::vector<ContactConfig> contacts;
  std::vector<ChannelConfig> channels;
  std::optional<SmtpConfig> smtp;
  std::optional<MqttConfig> mqtt;
  std::vector<EscalationStep> escalation;  // empty: rules::DefaultChain()
  NotifyConfig notify;
  RecordsConfig records;
  // "FILE:LINE: text" for what loads but deserves a person's look (e.g. a
  // backup contractor that is not defined, so escalations to it reach
  // nobody). Printed by --check-config and logged at start and reload.
  std::vector<std::string> warnings;

  // nullptr if there is no such link.
  const LinkConfig* FindLink(const std::string& id) const;
};

Result<Config> LoadConfig(const std::string& path);
// Same, from text already in memory; `path` is used in messages and to
// resolve relative paths (map files, database).
Result<Config> ParseConfig(const std::string& text, const std::string& path);

}  // namespace lg
