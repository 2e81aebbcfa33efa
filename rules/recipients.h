// Recipients: who a notification target stands for. Both the rescue
// escalation (rules/escalation.h) and the alarm notifications
// (rules/notify_policy.h) name targets the way [[escalation]].notify does --
// `security-room`, `contractor:on-call`, `contractor:backup`,
// `main-responsible`, `channel:ID`, a [[contact]] id -- and this module turns
// them into concrete recipients: one per address a message can be delivered
// to.
//
// The Directory is a rules-level copy of the configuration's people and
// channels (the daemon fills it from Config; nothing here reads a file).
//
// Resolution never fails silently: a target that reaches nobody (no backup
// contractor, a contractor Liftguard cannot text, no main responsible person
// configured) comes back as an Unresolved entry with a reason a person can
// act on.
//
// Recipient::Key() is the identity of an address ("email:a@b.org",
// "channel:wecom-safety", "sms:+8613800000000", "mqtt:site/alerts",
// "security-room"). Two targets that lead to the same address give one
// recipient, and the idempotency keys of escalation and notify_policy end
// with it.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lg::rules {

// One entry of a [[escalation]].notify list (or of a severity's targets).
struct Target {
  enum class Kind {
    kSecurityRoom,      // "security-room"
    kOnCallContractor,  // "contractor:on-call": the elevator's contractor
    kBackupContractor,  // "contractor:backup": that contractor's backup
    kMainResponsible,   // "main-responsible": Directory::main_responsible
    kContact,           // a [[contact]] id, in `id`
    kChannel,           // "channel:ID", the channel id in `id`
  };
  Kind kind = Kind::kSecurityRoom;
  std::string id;
  bool operator==(const Target&) const = default;
};
// As written in the configuration: "security-room", "channel:ID", the contact id, ...
std::string TargetName(const Target& t);
// The inverse; any text that is not a built-in target or "channel:ID" is a
// contact id (whether such a contact exists is for ResolveTargets to say).
// Empty text and "channel:" without an id give nullopt.
std::optional<Target> TargetFromName(std::string_view text);

// One way to reach a contact: an entry of [[contact]].channels.
struct Route {
  enum class Kind { kEmail, kWebhook, kSms, kMqtt };
  Kind kind = Kind::kEmail;
  std::string address;  // e-mail address, webhook [[channel]] id, phone number, MQTT topic
};

struct Contact {
  std::string id;
  std::string name;
  std::vector<Route> routes;
};

struct Contractor {
  std::string id;
  std::string name;
  std::string duty_phone;  // texted when Directory::can_text
  std::string backup;      // another contractor's id, or empty
  // Further ways to reach the contractor besides its duty phone (none in
  // today's configuration; kept so a contractor can get e-mail or a group chat).
  std::vector<Route> routes;
};

struct Directory {
  std::vector<Contact> contacts;
  std::vector<Contractor> contractors;
  std::vector<std::string> channels;  // ids of every [[channel]]
  // A sms [[channel]] exists, so a contractor's duty phone can be texted.
  bool can_text = false;
  // The [[contact]] id standing for the unit's main responsible person
  // (records.md: 单位主要负责人); empty when none is configured.
  std::string main_responsible;

  const Contact* FindContact(std::string_view id) const;        // nullptr if none
  const Contractor* FindContractor(std::string_view id) const;  // nullptr if none
};

// A concrete address a message is delivered to.
struct Recipient {
  enum class Kind {
    kSecurityRoom,  // the dashboard stream of the security room (with sound)
    kEmail,         // `address`: an e-mail address, sent through [smtp]
    kChannel,       // `address`: a [[channel]] id; the channel says where (its URL)
    kSms,           // `address`: a phone number, sent through the sms [[channel]]
    kMqtt,          // `address`: an MQTT topic
  };
  Kind kind = Kind::kSecurityRoom;
  std::string address;
  // Who this is, for people: "Safety manager on duty", "Acme Lift Service".
  std::string name;
  // The target that led here, as written: "safety-manager", "contractor:backup".
  std::string via;

  // "security-room", "email:ADDRESS", "channel:ID", "sms:NUMBER", "mqtt:TOPIC".
  std::string Key() const;
};

struct Unresolved {
  Target target;
  std::string reason;  // e.g. "contractor 'acme-lifts' has no backup contractor"
};

struct Resolution {
  std::vector<Recipient> recipients;  // in target order, each address once
  std::vector<Unresolved> unresolved;
};

// The recipients of `targets` for an elevator whose [[elevator]].contractor
// is `contractor` (empty: none). A contractor is reached on its duty phone
// (when the directory can text) and on its routes; a contact on each of its
// routes (a webhook route is its channel).
Resolution ResolveTargets(const std::vector<Target>& targets, std::string_view contractor,
                          const Directory& directory);

}  // namespace lg::rules
