// MessageText: the words of every notification Liftguard sends -- an alarm,
// a flood digest, a rescue escalation step -- in Chinese, English or both
// (Chinese first). Each message says which car (name, id), where (building,
// floor), what (the alarm type in words, with its details), since when (local
// time and how long ago) and what to do.
//
// Every message comes in three forms:
//   - subject:  one line that stands on its own (e-mail subject, SMS, push
//               title);
//   - text:     plain text (e-mail body, SMS gateways that take long text,
//               the generic webhook);
//   - markdown: the WeCom / DingTalk group-robot "markdown" form: only
//               headings, **bold**, "- " lines, and lines ending in two
//               spaces (a hard break in both). Within kMarkdownMaxBytes
//               (WeCom's limit) for every alarm type with names of ordinary
//               length; a digest lists only as many alarms as fit.
// Configured names (car, building, contractor) are used as written; they are
// not escaped for markdown.
//
// Times: WallTime shown in the site's local time, for which the caller passes
// the UTC offset (e.g. +08:00 for Asia/Shanghai); no time zone database is
// read here.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/alarm_type.h"
#include "core/clock.h"
#include "rules/alarm_book.h"
#include "rules/escalation.h"

namespace lg::rules {

enum class Language : uint8_t { kBoth, kChinese, kEnglish };
std::string_view LanguageName(Language l);  // "both" | "zh" | "en"
std::optional<Language> LanguageFromName(std::string_view name);

struct Message {
  std::string subject;
  std::string text;
  std::string markdown;
};

// The car a message is about, from its [[elevator]] and the live state.
struct CarInfo {
  std::string id;
  std::string name;  // shown with the id when it differs
  std::string building;
  std::string registration_code;  // 注册代码: what 96333 asks for; may be empty
  std::optional<int> floor;       // where the car is now, if known
  std::string contractor_name;    // empty: no contractor
  std::string contractor_phone;   // its duty phone; may be empty
};

struct TextOptions {
  Language language = Language::kBoth;
  std::chrono::minutes utc_offset{8 * 60};  // the site's offset from UTC
  int arrival_target_min = 30;              // [site] arrival_target_min
  // "If no one is on site N min after the alarm, call 96333 / 119":
  // OnSiteDeadlineMin(chain), 25 in faults.md's chain.
  int call_authorities_after_min = 25;
};

// An alarm type in words and what to do about it, in one language (kBoth is
// taken as English). TRAPPED's advice carries the two TextOptions deadlines.
struct TypeWords {
  std::string what;  // "Passengers trapped in the car"
  std::string todo;  // "Security room: speak to the passengers over the intercom ..."
};
TypeWords AlarmTypeWords(AlarmType t, Language language, const TextOptions& options);

// One alarm transition the AlarmBook marked Notify::kNow. The headline says
// what happened (raised, raised again, no longer suppressed, shelve expired);
// "since" is the alarm's latest raise. An alarm of no car (IsCarAlarm false:
// CHANNEL_DOWN) ignores `car` and names the channel, whose id it carries in
// Transition::elevator.
Message AlarmMessage(const Transition& t, const CarInfo& car, WallTime now,
                     const TextOptions& options);

struct DigestEntry {
  Transition transition;  // a Digest item
  CarInfo car;
};
inline constexpr size_t kDigestMaxItems = 20;
inline constexpr size_t kMarkdownMaxBytes = 4096;  // WeCom group robot's markdown.content
// A flood digest: the non-critical alarms held back, one line each (the
// first kDigestMaxItems, fewer if the markdown would exceed
// kMarkdownMaxBytes, then how many more); the type by its short name.
Message DigestMessage(const std::vector<DigestEntry>& entries, WallTime now,
                      const TextOptions& options);

// Step `step_index` of `chain` falling due for `incident`. `subtype`: the
// TRAPPED alarm's subtype ("between_floors", ...), empty when the incident
// was opened by hand. `gaps`: the targets of this step that reach nobody
// (the EscalationGaps of this step); the message names them so the reader
// can phone them instead. The incident's open note is shown as a note.
Message EscalationMessage(const Incident& incident, std::string_view subtype, const Chain& chain,
                          size_t step_index, const std::vector<Unresolved>& gaps,
                          const CarInfo& car, WallTime now, const TextOptions& options);

}  // namespace lg::rules
