// Channels: the ways a notification leaves the daemon. Each Channel delivers
// one outbox message (db/outbox_store.h) at a time and says whether the
// receiver accepted it; retries, backoff and health are the outbox worker's
// (daemon/outbox_worker.h), never the channel's own.
//
// Kinds (docs/notifications.md shows every message):
//   - webhook: an HTTP POST of JSON. Format `generic` is Liftguard's own
//     envelope (below) with an `idempotency_key` field; `wecom` and
//     `dingtalk` are those group robots' markdown messages. Every request
//     carries an `Idempotency-Key` header.
//   - sms: an HTTP POST to a gateway; the body is the channel's
//     body_template with {{phone}}, {{subject}}, {{text}} and {{key}}
//     replaced by the values, JSON-escaped (without quotes).
//   - email: SMTP through libcurl: UTF-8 text, the subject as RFC 2047
//     encoded words, and a Message-ID derived from the idempotency key, so
//     a message sent again after a crash is recognisably the same one.
//   - mqtt: libmosquitto, QoS 1; a delivery is accepted on the broker's
//     PUBACK. The payload is the generic envelope.
//   - function: an in-process receiver (the security room's stream).
//
// The generic envelope:
//   {"idempotency_key": KEY, "event": ..., "recipient": ..., "subject": ...,
//    "text": ..., "created_at": ..., "test": bool, "data": PAYLOAD or null}
//
// Errors: a Status whose Error is recoverable when trying again may help
// (timeouts, connection failures, HTTP 5xx, 408, 425 and 429, SMTP 4xx,
// a broker that does not answer) and permanent when it never will (any other
// HTTP 4xx, SMTP 5xx, a refused login). Error::code is one of:
//   "timeout", "unreachable", "server" (recoverable);
//   "refused" (permanent: the channel itself is refused: wrong URL, login,
//             robot key), "rejected" (permanent: the receiver works but
//             refuses this message or recipient), "bad_message" (permanent:
//             the message cannot be sent on this channel, e.g. no address).
// The last two say nothing about the channel's health (ChannelErrorCountsAgainstHealth).
//
// libcurl and libmosquitto stay behind this header.
//
// Ownership: a Channel owns its connection state. Thread-safety: a Channel
// is used by one thread at a time (its outbox lane); different channels may
// run on different threads at once. The factories are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "daemon/config.h"
#include "db/outbox_store.h"
#include "rules/recipients.h"

namespace lg {

class Channel {
 public:
  virtual ~Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const std::string& id() const { return id_; }
  // "webhook", "sms", "email", "mqtt", "function".
  virtual std::string_view kind() const = 0;
  // True if a message must carry a target (e-mail address, phone, topic).
  virtual bool needs_target() const { return false; }

  // Blocks until the receiver accepted the message (Ok) or refused it, or
  // the channel's timeout passed.
  virtual Status Deliver(const db::OutboxMessage& m) = 0;
  // Called on the delivering thread between deliveries, about once a
  // second: keeps a connection alive (MQTT pings).
  virtual void Idle() {}

 protected:
  explicit Channel(std::string id) : id_(std::move(id)) {}

 private:
  std::string id_;
};

// Whether a failed delivery says the channel is not working (see above).
bool ChannelErrorCountsAgainstHealth(const Error& e);

struct ChannelOptions {
  Millis connect_timeout{5000};
  Millis timeout{10000};  // a whole delivery
  std::string user_agent = "liftguard";
};

// Ids of the channels made from the [smtp] and [mqtt] tables. Configured
// ids cannot contain brackets, so these never clash with a [[channel]].
inline constexpr std::string_view kSmtpChannelId = "[smtp]";
inline constexpr std::string_view kMqttChannelId = "[mqtt]";
// The in-process channel of the security room (MakeFunctionChannel).
inline constexpr std::string_view kSecurityRoomChannelId = "security-room";

std::unique_ptr<Channel> MakeWebhookChannel(const ChannelConfig& c, const ChannelOptions& o);
std::unique_ptr<Channel> MakeSmsChannel(const ChannelConfig& c, const ChannelOptions& o);
// `url` is smtp:// or smtps://; `smtp` gives the sender and the login.
std::unique_ptr<Channel> MakeEmailChannel(std::string id, std::string url, const SmtpConfig& smtp,
                                          const ChannelOptions& o);
// `url` is mqtt:// or mqtts://, optionally with user:password@.
std::unique_ptr<Channel> MakeMqttChannel(std::string id, std::string url, const ChannelOptions& o);
// Delivers by calling `deliver` (which must not block for long).
std::unique_ptr<Channel> MakeFunctionChannel(
    std::string id, std::function<Status(const db::OutboxMessage&)> deliver);

// A channel with what the outbox worker needs to test it: the target of
// its scheduled test message ("" for a webhook; an address for email and
// sms, a topic for mqtt). `test` false: no scheduled tests.
struct ChannelEntry {
  std::shared_ptr<Channel> channel;
  std::string test_target;
  bool test = true;
};

// Every channel the configuration defines: each [[channel]], plus "[smtp]"
// and "[mqtt]" for those tables. Test targets: mqtt "<prefix>/test"; email
// and sms the first address of that kind among the contacts (no tests when
// there is none). The security room's channel is the wiring's to add.
std::vector<ChannelEntry> MakeChannels(const Config& config, const ChannelOptions& o = {});

// Where a rules::Recipient is delivered: which channel, and the target in
// it. Email goes through [smtp] (else the first email [[channel]]), sms
// through the first sms [[channel]], mqtt through [mqtt] (else the first
// mqtt [[channel]]), a channel recipient through that channel, the
// security room through kSecurityRoomChannelId. nullopt: the configuration
// has no channel for it.
struct ChannelRoute {
  std::string channel;
  std::string target;
};
std::optional<ChannelRoute> RouteFor(const Config& config, const rules::Recipient& r);

// MQTT topics under a prefix ([mqtt] topic_prefix, "liftguard" by default).
std::string MqttStateTopic(std::string_view prefix, std::string_view elevator);  // retained
std::string MqttAlarmsTopic(std::string_view prefix);
std::string MqttIncidentsTopic(std::string_view prefix);

// The pieces of the formats, for tests and docs.
namespace channel_format {
// The idempotency key as sent: bytes outside printable ASCII, spaces and
// '%' percent-encoded, so it fits an HTTP header unchanged.
std::string WireKey(std::string_view key);
std::string Envelope(const db::OutboxMessage& m);  // the generic JSON
std::string WecomBody(const db::OutboxMessage& m);
std::string DingtalkBody(const db::OutboxMessage& m);
// {{phone}}, {{subject}}, {{text}}, {{key}}, JSON-escaped; other text as is.
std::string FillSmsTemplate(std::string_view tmpl, const db::OutboxMessage& m);
// "<lg.HEX@DOMAIN>": HEX a 128-bit FNV-1a of the key.
std::string MessageId(std::string_view key, std::string_view domain);
// The subject header's value: as is when plain ASCII, else RFC 2047
// "=?UTF-8?B?...?=" words, folded, never splitting a UTF-8 character.
std::string EncodeSubject(std::string_view subject);
// The whole RFC 5322 message, CRLF line ends, body base64.
std::string EmailMessage(const db::OutboxMessage& m, std::string_view from, WallTime date);
}  // namespace channel_format

}  // namespace lg
