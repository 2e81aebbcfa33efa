#include "rules/message_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <utility>

namespace lg::rules {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

enum class L { kZh, kEn };

std::vector<L> Languages(Language l) {
  switch (l) {
    case Language::kChinese:
      return {L::kZh};
    case Language::kEnglish:
      return {L::kEn};
    case Language::kBoth:
      break;
  }
  return {L::kZh, L::kEn};
}

// What a message says in one language; rendered as plain text and markdown.
struct Doc {
  std::string subject;
  std::string title;
  std::vector<std::pair<std::string, std::string>> fields;  // label, value
  std::vector<std::string> items;                           // a list after the fields
  std::string after_items;
  L lang = L::kEn;

  void Field(std::string label, std::string value) {
    if (!value.empty()) fields.emplace_back(std::move(label), std::move(value));
  }
};

std::string Colon(L l) { return l == L::kZh ? "：" : ": "; }

std::string RenderText(const Doc& d) {
  std::string out = d.title + "\n";
  for (const auto& [label, value] : d.fields) out += label + Colon(d.lang) + value + "\n";
  for (const std::string& item : d.items) out += "- " + item + "\n";
  if (!d.after_items.empty()) out += d.after_items + "\n";
  return out;
}

std::string RenderMarkdown(const Doc& d) {
  std::string out = "### " + d.title + "\n";
  for (const auto& [label, value] : d.fields) {
    // The colon outside the bold: "**Car:** x" and "**电梯：**x" do not both
    // close the bold in CommonMark, "**Car**: x" and "**电梯**：x" do.
    out += "**" + label + "**" + Colon(d.lang) + value + "  \n";
  }
  for (const std::string& item : d.items) out += "- " + item + "  \n";
  if (!d.after_items.empty()) out += d.after_items + "  \n";
  return out;
}

template <typename Make>
Message Build(const TextOptions& o, Make make) {
  Message m;
  for (L l : Languages(o.language)) {
    Doc d = make(l);
    d.lang = l;
    if (!m.subject.empty()) {
      m.subject += " / ";
      m.text += "\n";
      m.markdown += "\n";
    }
    m.subject += d.subject;
    m.text += RenderText(d);
    m.markdown += RenderMarkdown(d);
  }
  return m;
}

// --- Times -------------------------------------------------------------------

std::tm Local(WallTime t, minutes offset) {
  std::time_t secs = std::chrono::floor<seconds>(t + offset).time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::string OffsetText(minutes offset) {
  // Real offsets lie within +-14 h; the clamp keeps the text two digits wide.
  const int m = static_cast<int>(std::min<long>(std::abs(offset.count()), 99 * 60 + 59));
  char buf[32];
  std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d", offset.count() < 0 ? '-' : '+', m / 60, m % 60);
  return buf;
}

// "2026-11-22 18:40:05 (UTC+08:00)"
std::string DateTime(WallTime t, minutes offset) {
  std::tm tm = Local(t, offset);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + " (" + OffsetText(offset) + ")";
}

// "18:40"
std::string ClockTime(WallTime t, minutes offset) {
  std::tm tm = Local(t, offset);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M", &tm);
  return buf;
}

std::string Span(seconds s, L l) {
  long total = s.count() < 0 ? 0 : static_cast<long>(s.count());
  long h = total / 3600, m = (total % 3600) / 60;
  if (l == L::kZh) {
    if (total < 60) return std::to_string(total) + " 秒";
    if (h == 0) return std::to_string(m) + " 分钟";
    return std::to_string(h) + " 小时 " + std::to_string(m) + " 分钟";
  }
  if (total < 60) return std::to_string(total) + " s";
  if (h == 0) return std::to_string(m) + " min";
  return std::to_string(h) + " h " + std::to_string(m) + " min";
}

// "2026-11-22 18:40:05 (UTC+08:00), 3 min ago"
std::string Since(WallTime since, WallTime now, const TextOptions& o, L l) {
  std::string span = Span(std::chrono::duration_cast<seconds>(now - since), l);
  if (l == L::kZh) return DateTime(since, o.utc_offset) + "，" + span + "前";
  return DateTime(since, o.utc_offset) + ", " + span + " ago";
}

// --- Cars --------------------------------------------------------------------

std::string CarLabel(const CarInfo& c, L l) {
  if (c.name.empty() || c.name == c.id) return c.id;
  return l == L::kZh ? c.name + "（" + c.id + "）" : c.name + " (" + c.id + ")";
}

std::string Where(const CarInfo& c, L l) {
  std::string floor;
  if (c.floor) {
    floor = l == L::kZh ? std::to_string(*c.floor) + " 层" : "floor " + std::to_string(*c.floor);
  }
  if (c.building.empty()) return floor.empty() ? (l == L::kZh ? "未知" : "unknown") : floor;
  if (floor.empty()) return c.building;
  return c.building + (l == L::kZh ? "，" : ", ") + floor;
}

// A compliance alarm's pseudo-key in words: "person:7" is a certificate
// holder, "contractor:acme" and "unit:site" the drilling party.
std::string PseudoSubject(const std::string& key, L l) {
  const bool zh = l == L::kZh;
  size_t colon = key.find(':');
  std::string kind = key.substr(0, colon);
  std::string id = colon == std::string::npos ? "" : key.substr(colon + 1);
  if (kind == "person") return (zh ? "持证人 #" : "certificate holder #") + id;
  if (kind == "contractor") return (zh ? "维保单位 " : "contractor ") + id;
  if (kind == "unit") return zh ? "使用单位" : "the user unit";
  return key;
}

// Which car and where, or for an alarm of no car (CHANNEL_DOWN) the channel,
// whose id such an alarm carries in `elevator`, or a compliance alarm's
// holder or drilling party.
std::string Source(const Transition& t, const CarInfo& c, L l) {
  if (IsAboutCar(t.type, t.elevator)) {
    return CarLabel(c, l) + (l == L::kZh ? "，" : ", ") + Where(c, l);
  }
  if (t.elevator.empty()) return "Liftguard";
  if (IsComplianceAlarm(t.type)) return PseudoSubject(t.elevator, l);
  return (l == L::kZh ? "通道 " : "channel ") + t.elevator;
}

std::string ContractorText(const CarInfo& c, L l) {
  if (c.contractor_name.empty()) return "";
  if (c.contractor_phone.empty()) return c.contractor_name;
  return l == L::kZh ? c.contractor_name + "，值班电话 " + c.contractor_phone
                     : c.contractor_name + ", duty phone " + c.contractor_phone;
}

std::string SeverityWord(Severity s, L l) {
  if (l == L::kEn) return std::string(SeverityName(s));
  switch (s) {
    case Severity::kCritical:
      return "严重";
    case Severity::kMajor:
      return "重要";
    case Severity::kMinor:
      break;
  }
  return "一般";
}

std::string Tag(Severity s, L l) {
  return l == L::kZh ? "【" + SeverityWord(s, l) + "】" : "[" + SeverityWord(s, l) + "] ";
}

// --- Alarm types ---------------------------------------------------------------

struct Words {
  std::string_view what_zh, what_en, todo_zh, todo_en;
};

// One row per type, so that a type added to core/alarm_type.h without words
// here fails to compile (-Wswitch) rather than going out as "Unknown alarm".
Words TypeTable(AlarmType t) {
  switch (t) {
    case AlarmType::kTrapped:
      return {"轿厢困人", "Passengers trapped in the car", "", ""};  // todo: TrappedTodo
    case AlarmType::kDoorOpenWhileMoving:
      return {"轿厢在开门状态下运行（开门走车）", "The car moved with a door open",
              "立即停用该电梯并疏散周边人员；通过对讲确认轿厢内是否有人受伤（如有请拨打 "
              "120）；维保单位须检查门系统及门锁，修复前不得恢复运行。",
              "Take the car out of service now and keep people away from it; ask over the "
              "intercom whether anyone inside is hurt (call 120 if so); the contractor must "
              "inspect the doors and door locks before the car runs again."};
    case AlarmType::kUcm:
      return {"轿厢意外移动：轿厢在开门状态下离开平层",
              "Unintended car movement: the car left the floor with the doors open",
              "立即停用电梯，疏散层门附近人员；通过对讲确认是否有人被困或受伤（如有伤员请拨打 "
              "120，如有人被困请启动困人救援）；维保单位须检查制动器及意外移动保护装置，修复前"
              "不得恢复运行。",
              "Stop using the car and keep everyone away from the landing doors; ask over the "
              "intercom whether anyone is trapped or hurt (call 120 for the hurt, open a rescue "
              "incident for the trapped); the contractor must inspect the brake and the UCM "
              "protection before the car runs again."};
    case AlarmType::kOverspeed:
      return {"轿厢超速运行", "The car ran faster than allowed (overspeed)",
              "立即停用电梯；通过对讲确认轿厢内是否有人，如有人被困请启动困人救援；维保单位须"
              "检查限速器和安全钳，修复前不得恢复运行。",
              "Stop using the car; ask over the intercom whether anyone is inside and open a "
              "rescue incident if passengers are trapped; the contractor must inspect the "
              "overspeed governor and the safety gear before the car runs again."};
    case AlarmType::kTopOverrun:
      return {"冲顶：轿厢越过顶层（触发上极限开关）",
              "Top overrun: the car ran past the top floor (top limit switch)",
              "乘客可能被困：立即通过对讲确认，如有人被困请启动困人救援；停用电梯；维保单位须"
              "检查后方可恢复运行。",
              "Passengers may be trapped: speak to them over the intercom now and open a rescue "
              "incident if anyone is inside; stop using the car; the contractor must inspect it "
              "before it runs again."};
    case AlarmType::kBottomOverrun:
      return {"蹲底：轿厢越过底层（触发下极限开关）",
              "Bottom overrun: the car ran past the bottom floor (bottom limit switch)",
              "乘客可能被困或受伤：立即通过对讲确认，如有人被困请启动困人救援，如有伤员请拨打 "
              "120；停用电梯；维保单位须检查后方可恢复运行。",
              "Passengers may be trapped or hurt: speak to them over the intercom now, open a "
              "rescue incident if anyone is inside and call 120 for the hurt; stop using the "
              "car; the contractor must inspect it before it runs again."};
    case AlarmType::kStopOutsideDoorZone:
      return {"门区外停梯：轿厢停在非平层位置",
              "The car stopped outside the door zone (between floors)",
              "通过对讲确认轿厢内是否有人；如有人，按困人处置（启动困人救援）；通知维保单位。",
              "Ask over the intercom whether anyone is inside; if so, treat it as trapped "
              "passengers (open a rescue incident); call the contractor."};
    case AlarmType::kSafetyCircuitOpen:
      return {"安全回路断路，电梯无法运行", "The safety circuit is open; the car cannot run",
              "通过对讲确认轿厢内是否有人（如有人被困请启动困人救援）；在各层门口放置停用警示；"
              "通知维保单位。",
              "Ask over the intercom whether anyone is inside (open a rescue incident if "
              "passengers are trapped); put an out-of-service notice at the landings; call the "
              "contractor."};
    case AlarmType::kDoorLockFault:
      return {"门锁回路断路", "The door lock circuit is broken",
              "停用电梯并在各层门口放置警示；通过对讲确认轿厢内是否有人；通知维保单位检查门锁。",
              "Take the car out of service and put a notice at the landings; ask over the "
              "intercom whether anyone is inside; call the contractor to inspect the door "
              "locks."};
    case AlarmType::kPowerFailure:
      return {"电梯主电源停电", "Mains power to the elevator has failed",
              "通过对讲确认轿厢内是否有人（如有人被困请启动困人救援）；通知电工恢复供电；恢复供电"
              "后电梯仍不能正常运行时通知维保单位。",
              "Ask over the intercom whether anyone is in the car (open a rescue incident if "
              "passengers are trapped); have the electricians restore power; call the "
              "contractor if the car does not return to service."};
    case AlarmType::kBrakeFault:
      return {"制动器故障", "Brake fault",
              "立即停用电梯并在各层门口放置警示；通过对讲确认轿厢内是否有人；维保单位须检查"
              "制动器，修复前不得恢复运行。",
              "Stop using the car at once and put a notice at the landings; ask over the "
              "intercom whether anyone is inside; the contractor must inspect the brake before "
              "the car runs again."};
    case AlarmType::kControllerFault:
      return {"控制器故障", "Controller fault",
              "通知维保单位并告知故障代码；如电梯不能正常运行，请停用并通过对讲确认轿厢内是否"
              "有人。",
              "Call the contractor and give the fault code; if the car does not run normally, "
              "take it out of service and ask over the intercom whether anyone is inside."};
    case AlarmType::kDoorOpenTooLong:
      return {"长时间开门", "A door has been open for a long time",
              "查看是否有物品阻挡或有人按住开门（如正在运送病床）；如无明显原因，通知维保单位。",
              "See whether something blocks the door or someone holds it open (a bed being "
              "moved, for example); if nothing does, call the contractor."};
    case AlarmType::kAlarmButton:
      return {"轿厢内紧急报警按钮被按下", "Someone pressed the alarm button in the car",
              "立即接听对讲并与呼叫人通话；如有人被困请启动困人救援；处理后确认报警。",
              "Answer the intercom at once and speak to the caller; if passengers are trapped, "
              "open a rescue incident; then acknowledge the alarm."};
    case AlarmType::kCommsLost:
      return {"与电梯控制器通信中断", "Liftguard has lost contact with the elevator's controller",
              "该电梯当前无法监控：请到现场或通过对讲确认电梯运行正常、无人被困；检查网络链路"
              "或网关；通知信息科或维保单位。",
              "The car is not being watched now: check on site or over the intercom that it "
              "runs and nobody is trapped; check the network link or gateway; call IT or the "
              "contractor."};
    case AlarmType::kControllerFrozen:
      return {"控制器心跳停止（可能死机）",
              "The controller answers but its heartbeat has stopped (it may have hung)",
              "该电梯上报的状态不可信：请到现场并通过对讲确认情况；通知维保单位。",
              "What the car reports cannot be trusted now: check it on site and over the "
              "intercom; call the contractor."};
    case AlarmType::kChannelDown:
      return {"通知通道故障：Liftguard 无法通过该通道发送通知",
              "A notification channel is failing: Liftguard cannot send messages through it",
              "报警通知可能无法送达相关人员：在通道恢复前请密切关注监控平台；检查该通道（Webhook "
              "接收端、邮件服务器、短信网关或 MQTT 服务器及其网络），并通知信息科。",
              "Alarms may not reach everyone who should hear of them: watch the dashboard "
              "closely until the channel works again; check the channel (the webhook receiver, "
              "mail server, SMS gateway or MQTT broker, and the network to it) and tell IT."};
    case AlarmType::kMaintenanceOverdue:
      return {"电梯维护保养超期：未按期完成维保",
              "Maintenance overdue: the elevator's servicing was not done in time",
              "通知维保单位尽快安排维保并在 Liftguard 中录入维保记录；安全管理员须核实并确认记录。",
              "Have the contractor service the elevator as soon as possible and enter the "
              "maintenance record in Liftguard; the safety manager checks and confirms it."};
    case AlarmType::kInspectionDue:
      return {"定期检验（或自行检测）即将到期",
              "The periodic inspection (or self-test) is due soon",
              "安全管理员须在检验合格标志到期前 1 个月向检验机构申请定期检验，约定日期后在 "
              "Liftguard 中录入检验计划。",
              "The safety manager applies to the inspection agency at least 1 month before the "
              "inspection mark expires and enters the agreed date in Liftguard's inspection "
              "plan."};
    case AlarmType::kInspectionOverdue:
      return {
          "定期检验超期：检验合格标志已过期，电梯不得使用",
          "Inspection overdue: the inspection mark has expired and the elevator may not be used",
          "立即停用该电梯并在各层门口放置停用警示；尽快联系检验机构完成检验，检验合格并录入"
          "新的检验合格标志后方可恢复使用。",
          "Take the elevator out of service now and put a notice at the landings; have the "
          "inspection agency inspect it as soon as possible; it runs again only after it "
          "passes and the new mark is recorded in Liftguard."};
    case AlarmType::kCertificateExpiring:
      return {"作业人员证书即将到期", "A personnel certificate expires soon",
              "持证人须在证书到期前 3 个月申请复审；复审后在 Liftguard 中录入新证书。",
              "The holder applies for renewal (at least 3 months before expiry); enter the "
              "renewed certificate in Liftguard."};
    case AlarmType::kCertificateExpired:
      return {"作业人员证书已过期", "A personnel certificate has expired",
              "持证人不得再从事相应作业（维保人员不得签署维保记录），直至取得新证书并录入 "
              "Liftguard。",
              "The holder may no longer do that work (a technician may not sign maintenance "
              "records) until a renewed certificate is entered in Liftguard."};
    case AlarmType::kDrillOverdue:
      return {"应急救援演练超期", "The rescue drill is overdue",
              "安全管理员须组织困人救援演练（使用单位每年至少一次，维保单位每 6 个月至少一次），"
              "并在 Liftguard 中录入演练记录。",
              "The safety manager organises a trapped-passenger rescue drill (the user unit at "
              "least once a year, the contractor at least every 6 months) and enters its record "
              "in Liftguard."};
    case AlarmType::kCount:
      break;
  }
  return {"未知报警", "Unknown alarm", "请查看监控平台并通知维保单位。",
          "Look at the dashboard and call the contractor."};
}

std::string TrappedTodo(const TextOptions& o, L l) {
  const std::string n = std::to_string(o.arrival_target_min);
  const std::string m = std::to_string(o.call_authorities_after_min);
  if (l == L::kZh) {
    return "监控室：立即通过对讲与被困乘客通话，告知救援正在赶来，请保持冷静、远离轿门；严禁任何"
           "人强行扒门。维保单位：确认接警并立即赶赴现场，须在 " +
           n + " 分钟内到达。若 " + m + " 分钟后仍无人到场，请拨打 96333（电梯应急处置）/ 119。";
  }
  return "Security room: speak to the passengers over the intercom now; tell them help is on "
         "the way, to stay calm and keep away from the doors; do not let anyone force the doors "
         "open. Contractor: accept the rescue and go to the car; you must be on site within " +
         n + " min. If no one is on site " + m +
         " min after the alarm, call 96333 (elevator emergency) / 119.";
}

// TRAPPED and CONTROLLER_FAULT subtypes in words; empty for none.
std::string SubtypeWords(AlarmType t, const std::string& subtype, L l) {
  if (subtype.empty()) return "";
  const bool zh = l == L::kZh;
  if (t == AlarmType::kTrapped) {
    if (subtype == "between_floors") return zh ? "非平层关人" : "stopped between floors";
    if (subtype == "at_floor") return zh ? "平层关人，门未打开" : "at a floor, doors not opening";
    if (subtype == "alarm_button") {
      return zh ? "乘客按下紧急报警按钮，轿厢停止且门关闭"
                : "alarm button pressed, car stopped with doors closed";
    }
    if (subtype == "power_loss") {
      return zh ? "停电，乘客被困在门区外" : "mains power lost, passengers outside the door zone";
    }
    return subtype;
  }
  if (t == AlarmType::kControllerFault) return (zh ? "故障代码 " : "fault code ") + subtype;
  return subtype;
}

std::string WhatWithSubtype(AlarmType t, const std::string& subtype, const TextOptions& o, L l) {
  std::string what =
      AlarmTypeWords(t, l == L::kZh ? Language::kChinese : Language::kEnglish, o).what;
  std::string sub = SubtypeWords(t, subtype, l);
  if (sub.empty()) return what;
  return l == L::kZh ? what + "（" + sub + "）" : what + " (" + sub + ")";
}

// "困人 TRAPPED" / "TRAPPED": the code name is what the dashboard shows.
std::string TypeCode(AlarmType t, L l) {
  if (l == L::kEn) return std::string(AlarmTypeName(t));
  return std::string(AlarmTypeChinese(t)) + " " + std::string(AlarmTypeName(t));
}

std::string KindPrefix(TransitionKind k, L l) {
  const bool zh = l == L::kZh;
  switch (k) {
    case TransitionKind::kReraised:
      return zh ? "再次报警：" : "Again: ";
    case TransitionKind::kSuppressionEnded:
      return zh ? "屏蔽解除后仍存在：" : "No longer suppressed, still active: ";
    case TransitionKind::kShelveExpired:
    case TransitionKind::kUnshelved:
      return zh ? "搁置结束，仍存在：" : "Back from the shelf, still active: ";
    default:
      break;
  }
  return "";
}

// --- Incidents -----------------------------------------------------------------

std::string WhyShort(const ChainStep& s, L l) {
  const std::string n = std::to_string(s.after_min);
  const bool zh = l == L::kZh;
  if (!s.unless) {
    if (s.after_min == 0) return zh ? "已启动" : "opened";
    return zh ? "已开启 " + n + " 分钟" : "open for " + n + " min";
  }
  switch (*s.unless) {
    case IncidentStep::kAcknowledged:
      return zh ? n + " 分钟未确认" : "not acknowledged after " + n + " min";
    case IncidentStep::kDispatched:
      return zh ? n + " 分钟未派单" : "contractor not notified after " + n + " min";
    case IncidentStep::kAccepted:
      return zh ? n + " 分钟维保单位未接警" : "not accepted after " + n + " min";
    case IncidentStep::kOnSite:
      return zh ? n + " 分钟未到场，请拨打 96333 / 119"
                : "not on site after " + n + " min: call 96333 / 119";
    case IncidentStep::kReleased:
      return zh ? n + " 分钟乘客仍未解救" : "passengers not out after " + n + " min";
    case IncidentStep::kClosed:
      return zh ? n + " 分钟仍未关闭" : "not closed after " + n + " min";
    case IncidentStep::kOpen:
    case IncidentStep::kFalseAlarm:
      break;
  }
  return zh ? "已开启 " + n + " 分钟" : "open for " + n + " min";
}

std::string WhyLong(const ChainStep& s, size_t index, size_t size, L l) {
  const std::string n = std::to_string(s.after_min);
  const bool zh = l == L::kZh;
  std::string level =
      zh ? "第 " + std::to_string(index + 1) + "/" + std::to_string(size) + " 级通知："
         : "escalation step " + std::to_string(index + 1) + " of " + std::to_string(size) + ": ";
  if (!s.unless) {
    if (s.after_min == 0) {
      return level + (zh ? "困人救援已启动，您在第一批通知名单中。"
                         : "a rescue has begun and you are on the first call list.");
    }
    return level + (zh ? "救援已开启 " + n + " 分钟。" : "the rescue has been open " + n + " min.");
  }
  switch (*s.unless) {
    case IncidentStep::kAcknowledged:
      return level + (zh ? "开启 " + n + " 分钟后仍无人确认（尚未与被困乘客通话）。"
                         : "nobody has acknowledged it (spoken to the passengers) " + n +
                               " min after it opened.");
    case IncidentStep::kDispatched:
      return level + (zh ? "开启 " + n + " 分钟后仍未通知维保单位。"
                         : "the contractor has not been notified " + n + " min after it opened.");
    case IncidentStep::kAccepted:
      return level + (zh ? "开启 " + n + " 分钟后维保单位仍未接警。"
                         : "the contractor has not accepted it " + n + " min after it opened.");
    case IncidentStep::kOnSite:
      return level +
             (zh ? "开启 " + n + " 分钟后救援人员仍未到场：请立即拨打 96333 / 119。"
                 : "no rescuer is on site " + n + " min after it opened: call 96333 / 119 now.");
    case IncidentStep::kReleased:
      return level + (zh ? "开启 " + n + " 分钟后乘客仍未解救。"
                         : "the passengers are still not out " + n + " min after it opened.");
    case IncidentStep::kClosed:
      return level + (zh ? "开启 " + n + " 分钟后救援仍未关闭。"
                         : "the rescue is still not closed " + n + " min after it opened.");
    case IncidentStep::kOpen:
    case IncidentStep::kFalseAlarm:
      break;
  }
  return level + (zh ? "救援已开启 " + n + " 分钟。" : "the rescue has been open " + n + " min.");
}

std::string Progress(const Incident& inc, const TextOptions& o, L l) {
  const bool zh = l == L::kZh;
  auto part = [&](IncidentStep s, std::string_view zh_name, std::string_view en_name) {
    std::optional<WallTime> at = inc.At(s);
    std::string name(zh ? zh_name : en_name);
    if (!at) return name + (zh ? "：未" : ": not yet");
    std::string out = name + " " + ClockTime(*at, o.utc_offset);
    if (s == IncidentStep::kAccepted && inc.eta_min) {
      out += zh ? "（预计 " + std::to_string(*inc.eta_min) + " 分钟到达）"
                : " (ETA " + std::to_string(*inc.eta_min) + " min)";
    }
    return out;
  };
  std::string sep = zh ? "；" : "; ";
  std::string out = part(IncidentStep::kAcknowledged, "已确认", "acknowledged") + sep +
                    part(IncidentStep::kAccepted, "已接警", "accepted") + sep +
                    part(IncidentStep::kOnSite, "已到场", "on site");
  if (auto at = inc.At(IncidentStep::kReleased)) {
    out += sep + (zh ? "乘客已解救 " : "passengers out ") + ClockTime(*at, o.utc_offset);
  }
  if (auto at = inc.At(IncidentStep::kClosed)) {
    out += sep + (zh ? "已关闭 " : "closed ") + ClockTime(*at, o.utc_offset);
  }
  if (auto at = inc.At(IncidentStep::kFalseAlarm)) {
    out += sep + (zh ? "误报 " : "false alarm ") + ClockTime(*at, o.utc_offset);
  }
  return out;
}

std::string Deadlines(const Incident& inc, const TextOptions& o, L l) {
  const WallTime opened = inc.opened_at();
  const std::string arrive = ClockTime(opened + minutes(o.arrival_target_min), o.utc_offset);
  const std::string call = ClockTime(opened + minutes(o.call_authorities_after_min), o.utc_offset);
  const std::string n = std::to_string(o.arrival_target_min);
  const std::string m = std::to_string(o.call_authorities_after_min);
  if (l == L::kZh) {
    return arrive + " 前到场（" + n + " 分钟）；" + call + "（" + m +
           " 分钟）仍无人到场则拨打 96333 / 119";
  }
  return "on site by " + arrive + " (" + n + " min); if no one is there by " + call + " (" + m +
         " min), call 96333 / 119";
}

}  // namespace

std::string_view LanguageName(Language l) {
  switch (l) {
    case Language::kChinese:
      return "zh";
    case Language::kEnglish:
      return "en";
    case Language::kBoth:
      break;
  }
  return "both";
}

std::optional<Language> LanguageFromName(std::string_view name) {
  if (name == "both") return Language::kBoth;
  if (name == "zh") return Language::kChinese;
  if (name == "en") return Language::kEnglish;
  return std::nullopt;
}

TypeWords AlarmTypeWords(AlarmType t, Language language, const TextOptions& options) {
  const L l = language == Language::kChinese ? L::kZh : L::kEn;
  const Words w = TypeTable(t);
  TypeWords out;
  out.what = std::string(l == L::kZh ? w.what_zh : w.what_en);
  out.todo = t == AlarmType::kTrapped ? TrappedTodo(options, l)
                                      : std::string(l == L::kZh ? w.todo_zh : w.todo_en);
  return out;
}

Message AlarmMessage(const Transition& t, const CarInfo& car, WallTime now, const TextOptions& o) {
  const Alarm& a = t.alarm;
  return Build(o, [&](L l) {
    const bool zh = l == L::kZh;
    const Language lang = zh ? Language::kChinese : Language::kEnglish;
    Doc d;
    const bool of_car = IsAboutCar(t.type, t.elevator);
    d.subject = Tag(a.severity, l) +
                (zh ? std::string(AlarmTypeChinese(t.type)) + "："
                    : std::string(AlarmTypeName(t.type)) + ": ") +
                Source(t, car, l);
    d.title = Tag(a.severity, l) + KindPrefix(t.kind, l) + WhatWithSubtype(t.type, a.subtype, o, l);
    if (of_car) {
      d.Field(zh ? "电梯" : "Car", CarLabel(car, l));
      d.Field(zh ? "注册代码" : "Registration code", car.registration_code);
      d.Field(zh ? "位置" : "Where", Where(car, l));
    } else if (IsComplianceAlarm(t.type)) {
      d.Field(zh ? "对象" : "About", PseudoSubject(t.elevator, l));
    } else {
      d.Field(zh ? "通道" : "Channel", t.elevator);
    }
    d.Field(zh ? "报警" : "Alarm", "#" + std::to_string(t.alarm_id) + " " + TypeCode(t.type, l) +
                                       (zh ? "，" : ", ") + SeverityWord(a.severity, l));
    d.Field(zh ? "开始时间" : "Since", Since(a.last_raised_at, now, o, l));
    if (a.message != AlarmTypeName(t.type)) d.Field(zh ? "详情" : "Details", a.message);
    if (of_car) d.Field(zh ? "维保单位" : "Contractor", ContractorText(car, l));
    if (a.chattering) {
      d.Field(zh ? "注意" : "Note",
              zh ? "该报警反复触发（抖动），通知已限频。"
                 : "this alarm keeps coming and going (chattering); its notices are limited.");
    }
    d.Field(zh ? "处置" : "What to do", AlarmTypeWords(t.type, lang, o).todo);
    return d;
  });
}

namespace {

Message DigestWith(const std::vector<DigestEntry>& entries, size_t shown, WallTime now,
                   const TextOptions& o) {
  return Build(o, [&](L l) {
    const bool zh = l == L::kZh;
    const std::string n = std::to_string(entries.size());
    Doc d;
    d.subject = zh ? "【报警汇总】报警泛滥期间 " + n + " 条报警"
                   : "[digest] " + n + " alarms during an alarm flood";
    d.title = zh ? "报警汇总：" + n + " 条报警" : "Alarm digest: " + n + " alarms";
    d.Field(zh ? "原因" : "Why",
            zh ? "短时间内新报警过多（报警泛滥）：非严重报警合并定时发送，严重报警仍逐条立即发送。"
               : "more new alarms than usual are coming in (an alarm flood): non-critical ones "
                 "are sent together every few minutes; critical ones still come at once, one by "
                 "one.");
    d.Field(zh ? "时间" : "At", DateTime(now, o.utc_offset));
    d.Field(zh ? "处置" : "What to do",
            zh ? "多条报警同时出现往往有共同原因（停电、网络、网关）：请先在监控平台查看全局，再按"
                 "各报警的处置要求逐台处理。"
               : "many alarms at once often share one cause (mains power, the network, a "
                 "gateway): look at the dashboard for the whole picture, then deal with each car "
                 "as its alarm says.");
    for (size_t i = 0; i < shown; ++i) {
      const Transition& t = entries[i].transition;
      const CarInfo& car = entries[i].car;
      // Short lines: the type's short name (Chinese) or code (English), so
      // that a full digest stays within a group robot's message size.
      std::string what =
          zh ? std::string(AlarmTypeChinese(t.type)) : std::string(AlarmTypeName(t.type));
      std::string sub = SubtypeWords(t.type, t.alarm.subtype, l);
      if (!sub.empty()) what += zh ? "（" + sub + "）" : " (" + sub + ")";
      d.items.push_back(Tag(t.alarm.severity, l) + KindPrefix(t.kind, l) + what + " — " +
                        Source(t, car, l) + (zh ? "，开始于 " : ", since ") +
                        ClockTime(t.alarm.last_raised_at, o.utc_offset) + " #" +
                        std::to_string(t.alarm_id));
    }
    if (entries.size() > shown) {
      const std::string more = std::to_string(entries.size() - shown);
      d.after_items = zh ? "另有 " + more + " 条，请在监控平台查看。"
                         : "and " + more + " more: see the dashboard.";
    }
    return d;
  });
}

}  // namespace

Message DigestMessage(const std::vector<DigestEntry>& entries, WallTime now, const TextOptions& o) {
  // As many lines as fit: long names or both languages make lines longer.
  size_t shown = std::min(entries.size(), kDigestMaxItems);
  Message m = DigestWith(entries, shown, now, o);
  while (shown > 1 && m.markdown.size() > kMarkdownMaxBytes) {
    m = DigestWith(entries, --shown, now, o);
  }
  return m;
}

Message EscalationMessage(const Incident& inc, std::string_view subtype, const Chain& chain,
                          size_t step_index, const std::vector<Unresolved>& gaps,
                          const CarInfo& car, WallTime now, const TextOptions& o) {
  const ChainStep step = step_index < chain.size() ? chain[step_index] : ChainStep{};
  const std::string sub(subtype);
  const std::string note = inc.steps.empty() ? std::string() : inc.steps.front().note;
  return Build(o, [&](L l) {
    const bool zh = l == L::kZh;
    const Language lang = zh ? Language::kChinese : Language::kEnglish;
    const std::string id = "#" + std::to_string(inc.id);
    Doc d;
    d.subject = (zh ? "【困人救援 " + id + "】" : "[rescue " + id + "] Passengers trapped: ") +
                CarLabel(car, l) + (zh ? "，" : ", ") + Where(car, l) + " — " + WhyShort(step, l);
    d.title = (zh ? "困人救援 " + id + "：" : "Rescue " + id + ": ") +
              WhatWithSubtype(AlarmType::kTrapped, sub, o, l);
    std::string why = WhyLong(step, step_index, chain.size(), l);
    if (!zh && !why.empty()) why[0] = static_cast<char>(std::toupper(why[0]));
    d.Field(zh ? "通知原因" : "Why you get this", why);
    d.Field(zh ? "电梯" : "Car", CarLabel(car, l));
    d.Field(zh ? "注册代码（拨打 96333 时报出）" : "Registration code (give it to 96333)",
            car.registration_code);
    d.Field(zh ? "位置" : "Where", Where(car, l));
    d.Field(zh ? "开始时间" : "Since", Since(inc.opened_at(), now, o, l));
    d.Field(zh ? "进展" : "Progress", Progress(inc, o, l));
    d.Field(zh ? "时限" : "Deadlines", Deadlines(inc, o, l));
    d.Field(zh ? "维保单位" : "Contractor", ContractorText(car, l));
    d.Field(zh ? "备注" : "Note", note);
    d.Field(zh ? "处置" : "What to do", AlarmTypeWords(AlarmType::kTrapped, lang, o).todo);
    if (!gaps.empty()) {
      std::string list;
      for (const Unresolved& g : gaps) {
        if (!list.empty()) list += zh ? "；" : "; ";
        list += TargetName(g.target) + (zh ? "（" + g.reason + "）" : " (" + g.reason + ")");
      }
      d.Field(zh ? "未能通知（请电话联系）" : "Not reached by Liftguard (phone them)", list);
    }
    return d;
  });
}

}  // namespace lg::rules
