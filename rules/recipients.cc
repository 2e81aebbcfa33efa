#include "rules/recipients.h"

#include <algorithm>
#include <utility>

namespace lg::rules {
namespace {

constexpr std::string_view kChannelPrefix = "channel:";

Recipient FromRoute(const Route& r, std::string name, std::string via) {
  Recipient out;
  switch (r.kind) {
    case Route::Kind::kEmail:
      out.kind = Recipient::Kind::kEmail;
      break;
    case Route::Kind::kWebhook:
      // A contact's "webhook:ID" names a [[channel]]; treating it as that
      // channel lets a contact and a `channel:ID` target share one message.
      out.kind = Recipient::Kind::kChannel;
      break;
    case Route::Kind::kSms:
      out.kind = Recipient::Kind::kSms;
      break;
    case Route::Kind::kMqtt:
      out.kind = Recipient::Kind::kMqtt;
      break;
  }
  out.address = r.address;
  out.name = std::move(name);
  out.via = std::move(via);
  return out;
}

class Collector {
 public:
  explicit Collector(Resolution& out) : out_(out) {}

  // An address already listed is reached all the same: the first target
  // that named it keeps it.
  void Add(Recipient r) {
    std::string key = r.Key();
    bool seen = std::any_of(out_.recipients.begin(), out_.recipients.end(),
                            [&](const Recipient& x) { return x.Key() == key; });
    if (!seen) out_.recipients.push_back(std::move(r));
  }
  void Fail(const Target& t, std::string reason) {
    out_.unresolved.push_back(Unresolved{t, std::move(reason)});
  }

 private:
  Resolution& out_;
};

// Adds the contractor's addresses; false if it has none Liftguard can use.
bool AddContractor(const Contractor& c, const Target& t, const Directory& d, Collector& col) {
  const std::string via = TargetName(t);
  const std::string name = c.name.empty() ? c.id : c.name;
  bool any = false;
  if (d.can_text && !c.duty_phone.empty()) {
    Recipient r;
    r.kind = Recipient::Kind::kSms;
    r.address = c.duty_phone;
    r.name = name;
    r.via = via;
    col.Add(std::move(r));
    any = true;
  }
  for (const Route& route : c.routes) {
    col.Add(FromRoute(route, name, via));
    any = true;
  }
  return any;
}

std::string Unreachable(const Contractor& c) {
  std::string why = "contractor '" + c.id + "' cannot be reached by Liftguard: ";
  if (c.duty_phone.empty()) return why + "it has no duty phone and no other route";
  return why + "its duty phone " + c.duty_phone +
         " can only be texted through a sms [[channel]], and none is configured; phone it";
}

}  // namespace

std::string TargetName(const Target& t) {
  switch (t.kind) {
    case Target::Kind::kSecurityRoom:
      return "security-room";
    case Target::Kind::kOnCallContractor:
      return "contractor:on-call";
    case Target::Kind::kBackupContractor:
      return "contractor:backup";
    case Target::Kind::kMainResponsible:
      return "main-responsible";
    case Target::Kind::kContact:
      return t.id;
    case Target::Kind::kChannel:
      return std::string(kChannelPrefix) + t.id;
  }
  return t.id;
}

std::optional<Target> TargetFromName(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "security-room") return Target{Target::Kind::kSecurityRoom, ""};
  if (text == "contractor:on-call") return Target{Target::Kind::kOnCallContractor, ""};
  if (text == "contractor:backup") return Target{Target::Kind::kBackupContractor, ""};
  if (text == "main-responsible") return Target{Target::Kind::kMainResponsible, ""};
  if (text.substr(0, kChannelPrefix.size()) == kChannelPrefix) {
    if (text.size() == kChannelPrefix.size()) return std::nullopt;
    return Target{Target::Kind::kChannel, std::string(text.substr(kChannelPrefix.size()))};
  }
  return Target{Target::Kind::kContact, std::string(text)};
}

const Contact* Directory::FindContact(std::string_view id) const {
  for (const Contact& c : contacts) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const Contractor* Directory::FindContractor(std::string_view id) const {
  for (const Contractor& c : contractors) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::string Recipient::Key() const {
  switch (kind) {
    case Kind::kSecurityRoom:
      return "security-room";
    case Kind::kEmail:
      return "email:" + address;
    case Kind::kChannel:
      return "channel:" + address;
    case Kind::kSms:
      return "sms:" + address;
    case Kind::kMqtt:
      return "mqtt:" + address;
  }
  return address;
}

Resolution ResolveTargets(const std::vector<Target>& targets, std::string_view contractor,
                          const Directory& directory) {
  Resolution out;
  Collector col(out);
  for (const Target& t : targets) {
    switch (t.kind) {
      case Target::Kind::kSecurityRoom: {
        Recipient r;
        r.kind = Recipient::Kind::kSecurityRoom;
        r.name = "security room";
        r.via = TargetName(t);
        col.Add(std::move(r));
        break;
      }
      case Target::Kind::kOnCallContractor: {
        if (contractor.empty()) {
          col.Fail(t, "the elevator has no contractor");
          break;
        }
        const Contractor* c = directory.FindContractor(contractor);
        if (c == nullptr) {
          col.Fail(t, "the elevator's contractor '" + std::string(contractor) +
                          "' is not defined by any [[contractor]]");
        } else if (!AddContractor(*c, t, directory, col)) {
          col.Fail(t, Unreachable(*c));
        }
        break;
      }
      case Target::Kind::kBackupContractor: {
        if (contractor.empty()) {
          col.Fail(t, "the elevator has no contractor, so no backup contractor either");
          break;
        }
        const Contractor* c = directory.FindContractor(contractor);
        if (c == nullptr) {
          col.Fail(t, "the elevator's contractor '" + std::string(contractor) +
                          "' is not defined by any [[contractor]]");
          break;
        }
        if (c->backup.empty()) {
          col.Fail(t, "contractor '" + c->id + "' has no backup contractor");
          break;
        }
        const Contractor* b = directory.FindContractor(c->backup);
        if (b == nullptr) {
          col.Fail(t, "contractor '" + c->id + "' has backup '" + c->backup +
                          "', which no [[contractor]] defines");
        } else if (!AddContractor(*b, t, directory, col)) {
          col.Fail(t, Unreachable(*b));
        }
        break;
      }
      case Target::Kind::kMainResponsible:
      case Target::Kind::kContact: {
        const bool main = t.kind == Target::Kind::kMainResponsible;
        const std::string& id = main ? directory.main_responsible : t.id;
        if (main && id.empty()) {
          col.Fail(t, "no main responsible person is configured");
          break;
        }
        const Contact* c = directory.FindContact(id);
        if (c == nullptr) {
          col.Fail(t, "no [[contact]] has id '" + id + "'");
        } else if (c->routes.empty()) {
          col.Fail(t, "contact '" + c->id + "' has no channels");
        } else {
          for (const Route& r : c->routes) {
            col.Add(FromRoute(r, c->name.empty() ? c->id : c->name, TargetName(t)));
          }
        }
        break;
      }
      case Target::Kind::kChannel: {
        if (std::find(directory.channels.begin(), directory.channels.end(), t.id) ==
            directory.channels.end()) {
          col.Fail(t, "no [[channel]] has id '" + t.id + "'");
          break;
        }
        Recipient r;
        r.kind = Recipient::Kind::kChannel;
        r.address = t.id;
        r.name = t.id;
        r.via = TargetName(t);
        col.Add(std::move(r));
        break;
      }
    }
  }
  return out;
}

}  // namespace lg::rules
