#include "daemon/records_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace lg {

using auth::Role;
using rules::Date;

namespace {

std::string D(Date d) { return rules::FormatDate(d); }
std::optional<Date> ParseD(const std::string& s) {
  if (s.empty()) return std::nullopt;
  auto d = rules::ParseDate(s);
  if (!d.ok()) return std::nullopt;
  return *d;
}

Error Bad(const std::string& message) { return Error::Permanent("bad_field", message); }
Error Forbidden(const auth::User& u, const std::string& what) {
  return Error::Permanent("forbidden",
                          "the role " + std::string(auth::RoleName(u.role)) + " may not " + what);
}
Error NotFound(const std::string& message) { return Error::Permanent("not_found", message); }

bool RoleIn(Role r, std::initializer_list<Role> roles) {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

constexpr rules::MaintenanceKind kPeriodic[] = {
    rules::MaintenanceKind::kHalfMonthly, rules::MaintenanceKind::kQuarterly,
    rules::MaintenanceKind::kHalfYearly, rules::MaintenanceKind::kAnnual};

std::optional<rules::MaintenanceKind> PeriodicKind(const std::string& name) {
  for (auto k : kPeriodic) {
    if (rules::MaintenanceKindName(k) == name) return k;
  }
  return std::nullopt;
}

bool ValidKind(const std::string& k) {
  return PeriodicKind(k) || k == "repair" || k == "emergency";
}

bool ValidItemResult(const std::string& r) {
  return r == "ok" || r == "adjusted" || r == "replaced" || r == "not_applicable" || r == "defect";
}

std::optional<rules::CertCategory> CategoryOf(const std::string& c) {
  if (c == "A") return rules::CertCategory::kA;
  if (c == "T") return rules::CertCategory::kT;
  if (c == "other") return rules::CertCategory::kOther;
  return std::nullopt;
}

rules::Certificate ToCert(const db::PersonnelCertRow& r) {
  rules::Certificate c;
  c.category = CategoryOf(r.category).value_or(rules::CertCategory::kOther);
  c.number = r.number;
  c.issued = ParseD(r.issued_on).value_or(Date{});
  return c;
}

// Several conditions of one type and subject make one alarm.
void Merge(std::vector<ComplianceAlarm>& out, ComplianceAlarm a) {
  for (auto& x : out) {
    if (x.type == a.type && x.subject == a.subject) {
      x.message += "; " + a.message;
      x.severity = std::max(x.severity, a.severity);
      return;
    }
  }
  out.push_back(std::move(a));
}

std::optional<ComplianceAlarm> FromFinding(const std::optional<rules::ComplianceFinding>& f,
                                           const std::string& prefix = "") {
  if (!f) return std::nullopt;
  auto type = AlarmTypeFromName(f->type);
  if (!type) return std::nullopt;
  return ComplianceAlarm{*type, f->subject, f->severity, prefix + f->message};
}

// A baseline passed as `last` is not a record: say so.
std::string Baseline(std::string message, const std::string& counted_from) {
  if (counted_from == "record" || counted_from == "drill") return message;
  const std::string from =
      counted_from == "contract_start" ? "the contract start " : "the start of records ";
  for (const char* key : {": last ", "last "}) {
    size_t at = message.find(key);
    if (at != std::string::npos) {
      std::string k(key);
      message.replace(at, k.size(), k.substr(0, k.size() - 5) + "no record; counted from " + from);
      break;
    }
  }
  return message;
}

}  // namespace

class RecordsService::Impl {
 public:
  explicit Impl(RecordsService& s) : s_(s), store_(s.db_) {}

  RecordsService& s_;
  db::RecordsStore store_;

  mutable std::mutex mu_;  // guards elevators_, evaluate_at_min_, sink_
  std::map<std::string, Elevator> elevators_;
  int evaluate_at_min_ = 6 * 60;
  Sink sink_;

  std::mutex eval_mu_;  // one evaluation (and its post) at a time, in order
  std::mutex thread_mu_;
  std::condition_variable cv_;
  bool requested_ = true;
  bool stop_ = false;
  std::thread thread_;
  std::optional<Date> last_daily_;

  Result<std::unique_ptr<SQLite::Database>> Reader() {
    return db::Database::OpenReader(s_.db_.path());
  }

  std::optional<Elevator> Find(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = elevators_.find(id);
    if (it == elevators_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<Elevator> All() const {
    std::lock_guard lock(mu_);
    std::vector<Elevator> out;
    for (const auto& [id, e] : elevators_) out.push_back(e);
    return out;
  }

  // The elevators a user may see: all, or a contractor's own.
  std::vector<std::string> Scope(const auth::User& u) const {
    std::vector<std::string> out;
    for (const auto& e : All()) {
      if (u.role != Role::kContractor || (!u.contractor.empty() && e.contractor == u.contractor)) {
        out.push_back(e.id);
      }
    }
    return out;
  }

  std::string Now() const { return db::FormatTime(s_.clock_.WallNow()); }

  // ---- the evaluation thread ---------------------------------------------

  void Run() {
    std::unique_lock lock(thread_mu_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || requested_; });
      if (stop_) break;
      WallTime now = s_.clock_.WallNow();
      Date today = s_.site_time_.LocalDate(now);
      int minute = s_.site_time_.LocalMinuteOfDay(now);
      int at;
      {
        std::lock_guard g(mu_);
        at = evaluate_at_min_;
      }
      bool daily = minute >= at && last_daily_ != today;
      if (!requested_ && !daily) continue;
      // An evaluation at any time counts for today's daily one once its
      // time has come.
      if (minute >= at) last_daily_ = today;
      requested_ = false;
      lock.unlock();
      EvaluateAndPost();
      lock.lock();
    }
  }

  void EvaluateAndPost() {
    std::lock_guard lock(eval_mu_);
    auto found = s_.Evaluate();
    if (!found.ok()) {
      spdlog::error("records: compliance not evaluated: {}", found.error().message);
      return;
    }
    Sink sink;
    {
      std::lock_guard g(mu_);
      sink = sink_;
    }
    // Posted under eval_mu_: the alarm service gets the lists in the order
    // they were made, so an older list never undoes a newer one.
    if (sink) sink(std::move(found).value());
  }

  // ---- checks shared by the writes ------------------------------------------

  Result<Elevator> Visible(const auth::User& u, const std::string& id, const std::string& field) {
    auto e = Find(id);
    if (!e || !s_.CanSee(u, id)) {
      return NotFound((field.empty() ? "" : "field \"" + field + "\": ") + "there is no elevator " +
                      id);
    }
    return *e;
  }

  // The technician's certificate on `on`: the newest with that number issued
  // on or before the date.
  Status CheckTechnician(SQLite::Database& r, size_t i, db::TechnicianRow& t, Date on) {
    std::string field = "field \"technicians\"[" + std::to_string(i) + "]";
    std::string who = t.name.empty() ? "" : " (" + t.name + ")";
    if (t.certificate.empty()) {
      return Bad(field + who +
                 ": \"certificate\" (the technician's certificate number) is required");
    }
    auto certs = db::RecordsStore::PersonnelCertsByNumber(r, t.certificate);
    if (!certs.ok()) return certs.error();
    // Newest issue first: the first issued by then is the one in force; if
    // none was, the oldest says "issued after".
    std::optional<db::PersonnelCertRow> pick;
    for (const auto& c : *certs) {
      auto issued = ParseD(c.issued_on);
      if (issued && rules::DaysBetween(*issued, on) >= 0) {
        pick = c;
        break;
      }
    }
    if (!pick && !certs->empty()) pick = certs->back();
    if (!pick) {
      return Bad(field + who + ": certificate " + t.certificate +
                 " is not on record; a category T certificate valid on " + D(on) +
                 " is needed to sign maintenance (enter it with POST /api/v1/certificates)");
    }
    Status st = rules::CanSign(ToCert(*pick), on);
    if (!st) return Bad(field + who + ": " + st.error().message);
    t.person_id = pick->person_id;
    if (t.name.empty()) t.name = pick->person_name;
    return Status::Ok();
  }

  // Everything about a maintenance record but its relation to others.
  Result<db::MaintenanceRow> CheckMaintenance(const auth::User& u, const MaintenanceInput& in) {
    if (!RoleIn(u.role, {Role::kContractor, Role::kSafetyManager})) {
      return Forbidden(u, "write maintenance records");
    }
    auto e = Visible(u, in.elevator, "elevator");
    if (!e.ok()) return e.error();
    if (!ValidKind(in.kind)) {
      return Bad("field \"kind\" is \"" + in.kind +
                 "\"; use half_monthly, quarterly, half_yearly, annual, repair or emergency");
    }
    WallTime now = s_.clock_.WallNow();
    if (in.ended_at < in.started_at) {
      return Bad("field \"ended_at\" (" + db::FormatTime(in.ended_at) +
                 ") is before \"started_at\" (" + db::FormatTime(in.started_at) +
                 "): a record may not end before it starts");
    }
    if (in.started_at > now) {
      return Bad("field \"started_at\" (" + db::FormatTime(in.started_at) +
                 ") is in the future; record maintenance once it has been done");
    }
    if (in.ended_at > now) {
      return Bad("field \"ended_at\" (" + db::FormatTime(in.ended_at) +
                 ") is in the future; record maintenance once it has been done");
    }
    const Date on = s_.site_time_.LocalDate(in.started_at);
    auto reader = Reader();
    if (!reader.ok()) return reader.error();
    SQLite::Database& r = **reader;

    std::string contractor = in.contractor;
    if (u.role == Role::kContractor) {
      if (!contractor.empty() && contractor != u.contractor) {
        return Error::Permanent("forbidden",
                                "field \"contractor\": a contractor user (" + u.contractor +
                                    ") records maintenance for itself only, not for " + contractor);
      }
      contractor = u.contractor;
    }
    auto assigned = db::RecordsStore::ContractorOn(r, in.elevator, D(on));
    if (!assigned.ok()) return assigned.error();
    if (contractor.empty()) {
      if (assigned->empty()) {
        return Bad("field \"contractor\": elevator " + in.elevator + " has no contractor on " +
                   D(on) + "; name the contractor that did the work");
      }
      contractor = *assigned;
    }
    if (*assigned != contractor) {
      return Bad("field \"contractor\": contractor " + contractor +
                 " is not assigned to elevator " + in.elevator + " on " + D(on) +
                 (assigned->empty() ? " (no contractor is)" : " (" + *assigned + " is)"));
    }
    if (in.technicians.empty()) {
      return Bad(
          "field \"technicians\": at least one technician (name and certificate number) "
          "is required");
    }
    db::MaintenanceRow row;
    row.technicians = in.technicians;
    for (size_t i = 0; i < row.technicians.size(); ++i) {
      if (Status st = CheckTechnician(r, i, row.technicians[i], on); !st) return st.error();
    }
    const bool periodic = PeriodicKind(in.kind).has_value();
    if (periodic && in.items.empty()) {
      return Bad("field \"items\": a " + in.kind +
                 " record lists the items checked, each with its result");
    }
    for (size_t i = 0; i < in.items.size(); ++i) {
      const auto& it = in.items[i];
      std::string field = "field \"items\"[" + std::to_string(i) + "]";
      if (it.item.empty()) return Bad(field + ": \"item\" may not be empty");
      if (!ValidItemResult(it.result)) {
        return Bad(field + ": \"result\" is \"" + it.result +
                   "\"; use ok, adjusted, replaced, not_applicable or defect");
      }
      if (it.result == "defect" && it.note.empty()) {
        return Bad(field + " (" + it.item + "): a defect needs a \"note\" saying what is wrong");
      }
    }
    for (size_t i = 0; i < in.parts.size(); ++i) {
      std::string field = "field \"parts\"[" + std::to_string(i) + "]";
      if (in.parts[i].name.empty()) return Bad(field + ": \"name\" may not be empty");
      if (in.parts[i].quantity < 1) return Bad(field + ": \"quantity\" must be at least 1");
    }
    if ((in.alarm_id || in.incident_id) && periodic) {
      return Bad(std::string("field \"") + (in.alarm_id ? "alarm_id" : "incident_id") +
                 "\": only a repair or emergency record links to an alarm or incident");
    }
    row.elevator = in.elevator;
    row.kind = in.kind;
    row.contractor = contractor;
    row.started_at = db::FormatTime(in.started_at);
    row.ended_at = db::FormatTime(in.ended_at);
    row.local_date = D(on);
    row.findings = in.findings;
    row.alarm_id = in.alarm_id;
    row.incident_id = in.incident_id;
    row.items = in.items;
    row.parts = in.parts;
    row.created_by = u.username;
    row.created_at = Now();
    row.updated_at = row.created_at;
    return row;
  }

  // A stored record the user may see (a contractor: its own records).
  Result<db::MaintenanceRow> Stored(const auth::User& u, int64_t id) {
    auto reader = Reader();
    if (!reader.ok()) return reader.error();
    auto row = db::RecordsStore::GetMaintenance(**reader, id);
    if (!row.ok()) return row.error();
    if (!*row || !s_.CanSee(u, (*row)->elevator) ||
        (u.role == Role::kContractor && (*row)->contractor != u.contractor)) {
      return NotFound("there is no maintenance record " + std::to_string(id));
    }
    return **row;
  }

  Result<db::MaintenanceRow> Reload(int64_t id) {
    auto reader = Reader();
    if (!reader.ok()) return reader.error();
    auto row = db::RecordsStore::GetMaintenance(**reader, id);
    if (!row.ok()) return row.error();
    if (!*row) return NotFound("there is no maintenance record " + std::to_string(id));
    return **row;
  }

  // Where each periodic kind stands for each elevator in `which`.
  Result<std::vector<MaintenanceDueRow>> Due(const std::vector<std::string>& which, Date today) {
    auto reader = Reader();
    if (!reader.ok()) return reader.error();
    SQLite::Database& r = **reader;
    auto last = db::RecordsStore::LastMaintenance(r);
    if (!last.ok()) return last.error();
    auto since = db::RecordsStore::Meta(r, "records_since");
    if (!since.ok()) return since.error();
    std::map<std::pair<std::string, std::string>, db::RecordsStore::LastDone> by;
    for (const auto& l : *last) by[{l.elevator, l.kind}] = l;
    std::vector<MaintenanceDueRow> out;
    for (const auto& id : which) {
      auto assignments = db::RecordsStore::Assignments(r, id);
      if (!assignments.ok()) return assignments.error();
      // The start of the assignment in force today, if any.
      std::optional<Date> contract_start;
      for (const auto& a : *assignments) {
        auto s = ParseD(a.starts_on);  // none: since before records began
        auto e = ParseD(a.ends_on);
        if ((!s || rules::DaysBetween(*s, today) >= 0) &&
            (!e || rules::DaysBetween(today, *e) >= 0)) {
          contract_start = s;
        }
      }
      for (size_t k = 0; k < std::size(kPeriodic); ++k) {
        MaintenanceDueRow row;
        row.elevator = id;
        row.kind = kPeriodic[k];
        // A longer kind includes the shorter kinds' items (TSG T5002): its
        // record counts for them too.
        for (size_t j = k; j < std::size(kPeriodic); ++j) {
          auto it = by.find({id, std::string(rules::MaintenanceKindName(kPeriodic[j]))});
          if (it == by.end()) continue;
          auto d = ParseD(it->second.local_date);
          if (d && (!row.last || rules::DaysBetween(*row.last, *d) > 0)) {
            row.last = d;
            row.last_record_id = it->second.record_id;
          }
        }
        if (row.last) {
          row.counted_from = "record";
        } else if (contract_start) {
          row.last = contract_start;
          row.counted_from = "contract_start";
        } else if (auto s = ParseD(*since)) {
          row.last = s;
          row.counted_from = "records_start";
        }
        row.due = rules::NextMaintenance(row.kind, row.last, today);
        out.push_back(std::move(row));
      }
    }
    return out;
  }

  struct InspectionFacts {
    std::vector<rules::DoneCheck> done;
    std::optional<Date> mark;
    std::optional<int64_t> planned_id;
    std::optional<Date> agreed;
  };

  Result<std::map<std::string, InspectionFacts>> Facts(SQLite::Database& r) {
    std::map<std::string, InspectionFacts> out;
    db::RecordFilter f;
    f.limit = 1000000;
    auto rows = db::RecordsStore::Inspections(r, f);
    if (!rows.ok()) return rows.error();
    for (const auto& i : *rows) {
      auto& x = out[i.elevator];
      if (i.state == "done") {
        auto on = ParseD(i.done_on);
        if (!on) continue;
        x.done.push_back(
            {i.kind == "self_test" ? rules::CheckKind::kSelfTest : rules::CheckKind::kInspection,
             *on, i.result == "pass" || i.result == "pass_with_rectification"});
      } else if (i.state == "planned" && (!x.planned_id || i.id > *x.planned_id)) {
        x.planned_id = i.id;
        x.agreed = ParseD(i.agreed_on);
      }
    }
    db::RecordFilter m;
    m.kind = "inspection_mark";
    auto marks = db::RecordsStore::ElevatorCerts(r, m);
    if (!marks.ok()) return marks.error();
    for (const auto& c : *marks) {  // by id: the latest entered wins
      if (auto e = ParseD(c.expires_on)) out[c.elevator].mark = e;
    }
    return out;
  }

  // The due date INSPECTION_DUE/OVERDUE count to (see the header for the
  // baseline without a mark or any check on record).
  std::optional<Date> NextDue(const Elevator& e, const InspectionFacts& f, Date today,
                              std::optional<Date> since) {
    auto first_use = ParseD(e.first_use);
    if (f.mark) return f.mark;
    if (!first_use) return std::nullopt;
    if (f.done.empty() && since) {
      for (int year = 1; year < 200; ++year) {
        Date due = rules::CheckDueDate(*first_use, year);
        if (rules::DaysBetween(*since, due) >= 0) return due;
      }
      return std::nullopt;
    }
    return rules::NextInspectionDue(*first_use, f.done, std::nullopt, today);
  }
};

// ---- lifecycle -------------------------------------------------------------------

RecordsService::RecordsService(db::Database& db, const Clock& clock, SiteTime site_time)
    : db_(db),
      clock_(clock),
      site_time_(std::move(site_time)),
      impl_(std::make_unique<Impl>(*this)) {}

RecordsService::~RecordsService() { Stop(); }

Status RecordsService::SetConfig(std::vector<Elevator> elevators,
                                 std::vector<db::ContractorRow> contractors, int evaluate_at_min) {
  {
    std::lock_guard lock(impl_->mu_);
    impl_->elevators_.clear();
    for (auto& e : elevators) impl_->elevators_[e.id] = e;
    impl_->evaluate_at_min_ = evaluate_at_min;
  }
  const std::string today = rules::FormatDate(Today());
  auto since = impl_->store_.RecordsSince(today);
  if (!since.ok()) return since.error();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& e : elevators) pairs.emplace_back(e.id, e.contractor);
  Status st = impl_->store_.SyncConfig(contractors, pairs, today, impl_->Now());
  RequestEvaluation();
  return st;
}

void RecordsService::SetSink(Sink sink) {
  std::lock_guard lock(impl_->mu_);
  impl_->sink_ = std::move(sink);
}

void RecordsService::Start() {
  std::lock_guard lock(impl_->thread_mu_);
  if (impl_->thread_.joinable()) return;
  impl_->stop_ = false;
  impl_->requested_ = true;
  impl_->thread_ = std::thread([this] { impl_->Run(); });
}

void RecordsService::Stop() {
  {
    std::lock_guard lock(impl_->thread_mu_);
    impl_->stop_ = true;
  }
  impl_->cv_.notify_all();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

void RecordsService::RequestEvaluation() {
  {
    std::lock_guard lock(impl_->thread_mu_);
    impl_->requested_ = true;
  }
  impl_->cv_.notify_all();
}

Date RecordsService::Today() const { return site_time_.LocalDate(clock_.WallNow()); }

bool RecordsService::CanSee(const auth::User& u, const std::string& elevator) const {
  auto e = impl_->Find(elevator);
  if (!e) return false;
  if (u.role != Role::kContractor) return true;
  return !u.contractor.empty() && e->contractor == u.contractor;
}

// ---- compliance -------------------------------------------------------------------

Result<std::vector<ComplianceAlarm>> RecordsService::Evaluate() {
  const Date today = Today();
  std::vector<ComplianceAlarm> out;
  std::vector<Elevator> elevators = impl_->All();
  std::vector<std::string> ids;
  for (const auto& e : elevators) ids.push_back(e.id);

  auto due = impl_->Due(ids, today);
  if (!due.ok()) return due.error();
  for (const auto& d : *due) {
    auto f = rules::MaintenanceFinding(d.elevator, d.kind, d.last, today);
    if (auto a = FromFinding(f)) {
      a->message = Baseline(a->message, d.counted_from);
      Merge(out, std::move(*a));
    }
  }

  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  SQLite::Database& r = **reader;
  auto since_text = db::RecordsStore::Meta(r, "records_since");
  if (!since_text.ok()) return since_text.error();
  const std::optional<Date> since = ParseD(*since_text);

  auto facts = impl_->Facts(r);
  if (!facts.ok()) return facts.error();
  for (const auto& e : elevators) {
    auto next = impl_->NextDue(e, (*facts)[e.id], today, since);
    if (auto a = FromFinding(rules::InspectionFinding(e.id, next, today))) {
      Merge(out, std::move(*a));
    }
  }

  auto certs = db::RecordsStore::PersonnelCerts(r);
  if (!certs.ok()) return certs.error();
  // The newest certificate of each holder and category is the one in force.
  std::map<std::pair<int64_t, std::string>, db::PersonnelCertRow> newest;
  for (const auto& c : *certs) {
    if (!c.person_active) continue;
    auto& n = newest[{c.person_id, c.category}];
    if (n.id == 0 || c.issued_on > n.issued_on || (c.issued_on == n.issued_on && c.id > n.id)) {
      n = c;
    }
  }
  for (const auto& [key, c] : newest) {
    std::string subject = "person:" + std::to_string(c.person_id);
    auto f = rules::CertificateFinding(subject, ToCert(c), today);
    if (auto a = FromFinding(f, c.person_name + " (category " + c.category + "): ")) {
      Merge(out, std::move(*a));
    }
  }

  // Drills: the user unit, and each contractor with an elevator today.
  db::RecordFilter all;
  all.limit = 1000000;
  auto drills = db::RecordsStore::Drills(r, all);
  if (!drills.ok()) return drills.error();
  auto last_drill = [&](const std::string& party, const std::string& contractor) {
    std::optional<Date> last;
    for (const auto& d : *drills) {  // newest first
      if (d.party == party && (party == "user_unit" || d.contractor == contractor)) {
        last = ParseD(d.held_on);
        if (last) break;
      }
    }
    return last;
  };
  {
    auto last = last_drill("user_unit", "");
    std::string from = last ? "drill" : "records_start";
    if (!last) last = since;
    auto f = rules::DrillFinding("unit:site", rules::DrillParty::kUserUnit, last, today);
    if (auto a = FromFinding(f)) {
      a->message = Baseline(a->message, from);
      Merge(out, std::move(*a));
    }
  }
  auto dues = DrillsDue(auth::User{0, "system", Role::kSafetyManager, "", false});
  if (!dues.ok()) return dues.error();
  for (const auto& d : *dues) {
    if (d.party != "contractor") continue;
    auto f = rules::DrillFinding("contractor:" + d.contractor, rules::DrillParty::kContractor,
                                 d.last, today);
    if (auto a = FromFinding(f)) {
      a->message = Baseline(a->message, d.counted_from);
      Merge(out, std::move(*a));
    }
  }
  return out;
}

// ---- maintenance ----------------------------------------------------------------------

Result<db::MaintenanceRow> RecordsService::AddMaintenance(const auth::User& u,
                                                          const MaintenanceInput& in) {
  auto row = impl_->CheckMaintenance(u, in);
  if (!row.ok()) return row.error();
  auto id = impl_->store_.AddMaintenance(*row);
  if (!id.ok()) return id.error();
  RequestEvaluation();
  return impl_->Reload(*id);
}

Result<db::MaintenanceRow> RecordsService::EditMaintenance(const auth::User& u, int64_t id,
                                                           const MaintenanceInput& in) {
  auto old = impl_->Stored(u, id);
  if (!old.ok()) return old.error();
  if (in.elevator != old->elevator) {
    return Bad("field \"elevator\": record " + std::to_string(id) + " is of elevator " +
               old->elevator + "; it cannot move to " + in.elevator);
  }
  auto row = impl_->CheckMaintenance(u, in);
  if (!row.ok()) return row.error();
  row->id = id;
  if (Status st = impl_->store_.UpdateMaintenance(*row); !st) return st.error();
  RequestEvaluation();
  return impl_->Reload(id);
}

Result<db::MaintenanceRow> RecordsService::AmendMaintenance(const auth::User& u, int64_t id,
                                                            const MaintenanceInput& in) {
  auto old = impl_->Stored(u, id);
  if (!old.ok()) return old.error();
  if (old->confirmed_by.empty()) {
    return Error::Permanent("not_confirmed", "maintenance record " + std::to_string(id) +
                                                 " is not confirmed yet: correct it in place (PUT "
                                                 "/api/v1/maintenance/" +
                                                 std::to_string(id) + ") instead of amending it");
  }
  if (old->amended_by) {
    return Error::Permanent("superseded", "maintenance record " + std::to_string(id) +
                                              " is already amended by record " +
                                              std::to_string(*old->amended_by) +
                                              "; amend that one");
  }
  if (in.elevator != old->elevator) {
    return Bad("field \"elevator\": an amendment corrects a record of the same elevator (" +
               old->elevator + ")");
  }
  auto row = impl_->CheckMaintenance(u, in);
  if (!row.ok()) return row.error();
  row->amends = id;
  auto nid = impl_->store_.AddMaintenance(*row);
  if (!nid.ok()) return nid.error();
  RequestEvaluation();
  return impl_->Reload(*nid);
}

Result<db::MaintenanceRow> RecordsService::ConfirmMaintenance(const auth::User& u, int64_t id) {
  if (u.role != Role::kSafetyManager) return Forbidden(u, "confirm maintenance records");
  auto old = impl_->Stored(u, id);
  if (!old.ok()) return old.error();
  if (Status st = impl_->store_.ConfirmMaintenance(id, u.username, impl_->Now()); !st) {
    return st.error();
  }
  return impl_->Reload(id);
}

Status RecordsService::DeleteMaintenance(const auth::User& u, int64_t id) {
  if (u.role != Role::kSafetyManager) return Forbidden(u, "delete maintenance records");
  auto old = impl_->Stored(u, id);
  if (!old.ok()) return old.error();
  // A record dated D may go from D + 4 years on: dated on or before
  // today - 4 years (calendar steps never make that later).
  Date cutoff = rules::AddYears(Today(), -4);
  Status st = impl_->store_.DeleteMaintenance(id, D(rules::AddDays(cutoff, 1)));
  if (!st) return st;
  RequestEvaluation();
  return Status::Ok();
}

Result<std::vector<db::MaintenanceRow>> RecordsService::ListMaintenance(const auth::User& u,
                                                                        db::RecordFilter f) {
  if (!f.elevator.empty() && !CanSee(u, f.elevator)) {
    return NotFound("there is no elevator " + f.elevator);
  }
  if (u.role == Role::kContractor) {
    f.elevators = impl_->Scope(u);
    if (f.elevators.empty()) return std::vector<db::MaintenanceRow>{};
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  auto rows = db::RecordsStore::Maintenance(**reader, f);
  if (!rows.ok()) return rows;
  if (u.role == Role::kContractor) {
    std::erase_if(*rows, [&](const auto& m) { return m.contractor != u.contractor; });
  }
  return rows;
}

Result<db::MaintenanceRow> RecordsService::GetMaintenance(const auth::User& u, int64_t id) {
  return impl_->Stored(u, id);
}

Result<std::vector<MaintenanceDueRow>> RecordsService::MaintenanceDue(const auth::User& u,
                                                                      const std::string& elevator) {
  std::vector<std::string> which;
  if (!elevator.empty()) {
    if (!CanSee(u, elevator)) return NotFound("there is no elevator " + elevator);
    which.push_back(elevator);
  } else {
    which = impl_->Scope(u);
  }
  return impl_->Due(which, Today());
}

// ---- inspections and rectifications ------------------------------------------------------

Result<db::InspectionRow> RecordsService::AddInspection(const auth::User& u,
                                                        const InspectionInput& in) {
  if (u.role != Role::kSafetyManager) return Forbidden(u, "write inspections");
  auto e = impl_->Visible(u, in.elevator, "elevator");
  if (!e.ok()) return e.error();
  const Date today = Today();
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  auto facts_all = impl_->Facts(**reader);
  if (!facts_all.ok()) return facts_all.error();
  Impl::InspectionFacts facts = (*facts_all)[in.elevator];
  auto first_use = ParseD(e->first_use);

  db::InspectionRow row;
  row.elevator = in.elevator;
  row.kind = in.kind;
  row.agency = in.agency;
  row.report_number = in.report_number;
  row.note = in.note;
  row.created_by = u.username;
  row.created_at = impl_->Now();
  row.updated_at = row.created_at;
  std::optional<rules::PlanItem> next_item;
  if (first_use) {
    for (const auto& it :
         rules::InspectionPlan(*first_use, facts.done, std::nullopt, today, 2 * 366)) {
      if (it.state != rules::PlanState::kDone) {
        next_item = it;
        break;
      }
    }
  }
  if (row.kind.empty()) {
    if (!next_item) {
      return Bad("field \"kind\" is required (inspection or self_test): elevator " + in.elevator +
                 " has no first_use in the configuration to tell which is due");
    }
    row.kind = std::string(rules::CheckKindName(next_item->kind));
  }
  if (row.kind != "inspection" && row.kind != "self_test") {
    return Bad("field \"kind\" is \"" + row.kind + "\"; use inspection or self_test");
  }
  std::vector<db::RectificationRow> opens;
  if (in.state == "planned") {
    if (!in.agreed_date) {
      return Bad(
          "field \"agreed_date\" (the date agreed with the agency) is required to plan "
          "an inspection");
    }
    if (rules::DaysBetween(today, *in.agreed_date) < 0) {
      return Bad("field \"agreed_date\" (" + D(*in.agreed_date) +
                 ") is in the past; record the inspection as done, or agree a new date");
    }
    if (in.date || !in.result.empty() || !in.items.empty() || in.next_due) {
      return Bad(
          "a planned inspection has only \"agreed_date\"; \"date\", \"result\", "
          "\"items\" and \"next_due\" are for one that is done");
    }
    row.state = "planned";
    row.agreed_on = D(*in.agreed_date);
  } else if (in.state == "done") {
    if (!in.date) return Bad("field \"date\" (the day it was done) is required");
    if (rules::DaysBetween(*in.date, today) < 0) {
      return Bad("field \"date\" (" + D(*in.date) +
                 ") is in the future; record the inspection once it is done, or plan it with "
                 "state planned and agreed_date");
    }
    if (in.agreed_date) return Bad("field \"agreed_date\" is for a planned inspection");
    if (in.result != "pass" && in.result != "pass_with_rectification" && in.result != "fail") {
      return Bad("field \"result\" is \"" + in.result +
                 "\"; use pass, pass_with_rectification or fail");
    }
    for (size_t i = 0; i < in.items.size(); ++i) {
      if (in.items[i].item.empty()) {
        return Bad("field \"items\"[" + std::to_string(i) + "]: \"item\" may not be empty");
      }
    }
    if (in.result == "pass" && !in.items.empty()) {
      return Bad(
          "field \"items\": a plain pass has nothing to rectify; use "
          "pass_with_rectification for a pass with items found");
    }
    if (in.result == "pass_with_rectification" && in.items.empty()) {
      return Bad("field \"items\": pass_with_rectification lists the items to rectify");
    }
    const bool passed = in.result != "fail";
    std::optional<Date> next_due = in.next_due;
    if (next_due && !passed) return Bad("field \"next_due\": a failed check renews no mark");
    if (passed && !next_due && first_use) {
      // The next anniversary after the check this one covers.
      auto done = facts.done;
      done.push_back(
          {row.kind == "self_test" ? rules::CheckKind::kSelfTest : rules::CheckKind::kInspection,
           *in.date, true});
      for (const auto& it :
           rules::InspectionPlan(*first_use, done, std::nullopt, *in.date, 2 * 366)) {
        if (it.state != rules::PlanState::kDone && rules::DaysBetween(*in.date, it.due) > 0) {
          next_due = it.due;
          break;
        }
      }
    }
    if (passed && !next_due) {
      return Bad(
          "field \"next_due\" (the new inspection mark's due date) is required with a "
          "pass: elevator " +
          in.elevator + " has no first_use in the configuration to work it out from");
    }
    if (next_due && rules::DaysBetween(*in.date, *next_due) <= 0) {
      return Bad("field \"next_due\" (" + D(*next_due) + ") must be after \"date\" (" +
                 D(*in.date) + ")");
    }
    row.state = "done";
    row.done_on = D(*in.date);
    row.result = in.result;
    row.items = in.items;
    if (next_due) row.next_due = D(*next_due);
    // The open plan, if any, is the one now done.
    if (facts.planned_id) row.id = *facts.planned_id;
    for (const auto& it : in.items) {
      db::RectificationRow r;
      r.elevator = in.elevator;
      r.item = it.item;
      r.note = it.note;
      if (in.rectify_by) r.due_on = D(*in.rectify_by);
      r.opened_at = row.created_at;
      r.opened_by = u.username;
      opens.push_back(std::move(r));
    }
  } else {
    return Bad("field \"state\" is \"" + in.state + "\"; use planned or done");
  }
  auto id = impl_->store_.SaveInspection(row, opens);
  if (!id.ok()) return id.error();
  RequestEvaluation();
  auto r2 = impl_->Reader();
  if (!r2.ok()) return r2.error();
  auto stored = db::RecordsStore::GetInspection(**r2, *id);
  if (!stored.ok()) return stored.error();
  if (!*stored) return NotFound("inspection " + std::to_string(*id) + " vanished");
  return **stored;
}

Result<std::vector<db::InspectionRow>> RecordsService::ListInspections(const auth::User& u,
                                                                       db::RecordFilter f) {
  if (!f.elevator.empty() && !CanSee(u, f.elevator)) {
    return NotFound("there is no elevator " + f.elevator);
  }
  if (u.role == Role::kContractor) {
    f.elevators = impl_->Scope(u);
    if (f.elevators.empty()) return std::vector<db::InspectionRow>{};
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  return db::RecordsStore::Inspections(**reader, f);
}

Result<std::vector<InspectionPlanRow>> RecordsService::Plan(const auth::User& u,
                                                            const std::string& elevator, int days) {
  std::vector<std::string> which;
  if (!elevator.empty()) {
    if (!CanSee(u, elevator)) return NotFound("there is no elevator " + elevator);
    which.push_back(elevator);
  } else {
    which = impl_->Scope(u);
  }
  const Date today = Today();
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  auto facts = impl_->Facts(**reader);
  if (!facts.ok()) return facts.error();
  auto since = db::RecordsStore::Meta(**reader, "records_since");
  if (!since.ok()) return since.error();
  std::vector<InspectionPlanRow> out;
  for (const auto& id : which) {
    auto e = impl_->Find(id);
    if (!e) continue;
    const auto& f = (*facts)[id];
    InspectionPlanRow row;
    row.elevator = id;
    row.name = e->name;
    row.first_use = ParseD(e->first_use);
    row.mark_expires = f.mark;
    row.planned_id = f.planned_id;
    row.next_due = impl_->NextDue(*e, f, today, ParseD(*since));
    if (row.first_use) {
      row.items = rules::InspectionPlan(*row.first_use, f.done, std::nullopt, today, days);
      // A missed check is not shown as overdue while a valid inspection
      // mark is on record: the mark proves the checks due before its date
      // were passed, and it may be all that was entered. (With no mark and
      // no check on record the miss stays listed, as a prompt to enter
      // them, though no alarm is raised before records began.)
      std::erase_if(row.items, [&](const rules::PlanItem& it) {
        return it.state == rules::PlanState::kOverdue && f.mark && *f.mark >= today &&
               it.due < *f.mark;
      });
      // The agreed date belongs to the first check not done, as in
      // rules::InspectionPlan, once the covered misses are gone.
      if (f.agreed) {
        auto it = std::find_if(row.items.begin(), row.items.end(), [](const rules::PlanItem& p) {
          return p.state != rules::PlanState::kDone;
        });
        if (it != row.items.end()) {
          it->agreed = f.agreed;
          if (it->state != rules::PlanState::kOverdue) it->state = rules::PlanState::kPlanned;
        }
      }
    } else {
      row.note = "no first_use in the configuration: the plan needs the date of first use";
    }
    out.push_back(std::move(row));
  }
  return out;
}

Result<db::RectificationRow> RecordsService::AddRectification(const auth::User& u,
                                                              const RectificationInput& in) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kContractor})) {
    return Forbidden(u, "write rectification tasks");
  }
  auto e = impl_->Visible(u, in.elevator, "elevator");
  if (!e.ok()) return e.error();
  if (in.item.empty()) return Bad("field \"item\" (what is to be rectified) may not be empty");
  db::RectificationRow r;
  r.elevator = in.elevator;
  r.item = in.item;
  r.note = in.note;
  if (in.due) r.due_on = D(*in.due);
  r.opened_at = impl_->Now();
  r.opened_by = u.username;
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  if (in.inspection_id) {
    auto i = db::RecordsStore::GetInspection(**reader, *in.inspection_id);
    if (!i.ok()) return i.error();
    if (!*i || (*i)->elevator != in.elevator) {
      return NotFound("field \"inspection_id\": elevator " + in.elevator + " has no inspection " +
                      std::to_string(*in.inspection_id));
    }
    r.inspection_id = in.inspection_id;
  }
  auto id = impl_->store_.AddRectification(r);
  if (!id.ok()) return id.error();
  auto stored = db::RecordsStore::GetRectification(**reader, *id);
  if (!stored.ok()) return stored.error();
  if (!*stored) return NotFound("rectification " + std::to_string(*id) + " vanished");
  return **stored;
}

Result<db::RectificationRow> RecordsService::CloseRectification(const auth::User& u, int64_t id,
                                                                const std::string& note) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kContractor})) {
    return Forbidden(u, "close rectification tasks");
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  auto r = db::RecordsStore::GetRectification(**reader, id);
  if (!r.ok()) return r.error();
  if (!*r || !CanSee(u, (*r)->elevator)) {
    return NotFound("there is no rectification " + std::to_string(id));
  }
  if (note.empty()) {
    return Bad(
        "field \"note\" is required: a rectification is closed with a note saying what "
        "was done");
  }
  if (Status st = impl_->store_.CloseRectification(id, u.username, impl_->Now(), note); !st) {
    return st.error();
  }
  auto stored = db::RecordsStore::GetRectification(**reader, id);
  if (!stored.ok()) return stored.error();
  return **stored;
}

Result<std::vector<db::RectificationRow>> RecordsService::ListRectifications(const auth::User& u,
                                                                             db::RecordFilter f) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kContractor, Role::kInspector})) {
    return Forbidden(u, "read rectification tasks");
  }
  if (!f.elevator.empty() && !CanSee(u, f.elevator)) {
    return NotFound("there is no elevator " + f.elevator);
  }
  if (u.role == Role::kContractor) {
    f.elevators = impl_->Scope(u);
    if (f.elevators.empty()) return std::vector<db::RectificationRow>{};
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  return db::RecordsStore::Rectifications(**reader, f);
}

// ---- certificates -------------------------------------------------------------------------

Result<int64_t> RecordsService::AddCertificate(const auth::User& u, const CertificateInput& in) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kAdmin})) {
    return Forbidden(u, "write certificates");
  }
  const Date today = Today();
  if (in.issued && rules::DaysBetween(*in.issued, today) < 0) {
    return Bad("field \"issued\" (" + D(*in.issued) + ") is in the future");
  }
  const std::string now = impl_->Now();
  if (in.kind == "personnel") {
    auto category = CategoryOf(in.category);
    if (!category) return Bad("field \"category\" is \"" + in.category + "\"; use A, T or other");
    if (in.number.empty()) return Bad("field \"number\" (the certificate number) is required");
    if (!in.issued) return Bad("field \"issued\" (the date of issue) is required");
    if (!in.elevator.empty() || !in.registration_code.empty() || in.expires) {
      return Bad(
          "a personnel certificate has no \"elevator\", \"registration_code\" or "
          "\"expires\" (it expires 4 years after \"issued\")");
    }
    auto reader = impl_->Reader();
    if (!reader.ok()) return reader.error();
    auto people = db::RecordsStore::People(**reader);
    if (!people.ok()) return people.error();
    std::optional<int64_t> person;
    if (in.holder_id) {
      for (const auto& p : *people) {
        if (p.id == *in.holder_id) person = p.id;
      }
      if (!person)
        return NotFound("field \"holder_id\": there is no person " + std::to_string(*in.holder_id));
    } else {
      if (in.holder.empty())
        return Bad("field \"holder\" (the holder's name) or \"holder_id\" is required");
      if (!in.holder_contractor.empty()) {
        auto cs = db::RecordsStore::Contractors(**reader);
        if (!cs.ok()) return cs.error();
        if (std::none_of(cs->begin(), cs->end(),
                         [&](const auto& c) { return c.id == in.holder_contractor; })) {
          return Bad("field \"holder_contractor\": there is no contractor " + in.holder_contractor);
        }
      }
      for (const auto& p : *people) {
        if (p.name == in.holder && p.contractor == in.holder_contractor) person = p.id;
      }
      if (!person) {
        db::PersonRow p;
        p.name = in.holder;
        p.contractor = in.holder_contractor;
        p.role = in.holder_role;
        p.created_at = now;
        auto id = impl_->store_.AddPerson(p);
        if (!id.ok()) return id.error();
        person = *id;
      }
    }
    db::PersonnelCertRow c;
    c.person_id = *person;
    c.category = in.category;
    c.number = in.number;
    c.issued_on = D(*in.issued);
    c.expires_on = D(rules::CertificateStatus(*in.issued, today).expires);
    c.created_by = u.username;
    c.created_at = now;
    auto id = impl_->store_.AddPersonnelCert(c);
    if (!id.ok()) {
      if (id.error().code == "exists")
        return Error::Permanent("exists", "field \"number\": " + id.error().message);
      return id.error();
    }
    RequestEvaluation();
    return id;
  }
  if (in.kind == "use_registration" || in.kind == "inspection_mark") {
    auto e = impl_->Visible(u, in.elevator, "elevator");
    if (!e.ok()) return e.error();
    if (!in.holder.empty() || in.holder_id || !in.category.empty()) {
      return Bad("an elevator certificate has no \"holder\", \"holder_id\" or \"category\"");
    }
    db::ElevatorCertRow c;
    c.elevator = in.elevator;
    c.kind = in.kind;
    c.number = in.number;
    c.registration_code = in.registration_code;
    c.note = in.note;
    c.created_by = u.username;
    c.created_at = now;
    if (in.issued) c.issued_on = D(*in.issued);
    if (in.kind == "use_registration") {
      if (in.number.empty()) return Bad("field \"number\" (the registration number) is required");
      if (!in.issued) return Bad("field \"issued\" (the date of registration) is required");
      if (in.expires) return Bad("field \"expires\": a use registration does not expire");
    } else {
      if (!in.expires) {
        return Bad("field \"expires\" (the inspection mark's next due date) is required");
      }
      if (in.issued && rules::DaysBetween(*in.issued, *in.expires) <= 0) {
        return Bad("field \"expires\" (" + D(*in.expires) + ") must be after \"issued\" (" +
                   D(*in.issued) + ")");
      }
      c.expires_on = D(*in.expires);
    }
    auto id = impl_->store_.AddElevatorCert(c);
    if (!id.ok()) return id.error();
    RequestEvaluation();
    return id;
  }
  return Bad("field \"kind\" is \"" + in.kind +
             "\"; use personnel, use_registration or inspection_mark");
}

Result<std::vector<CertificateView>> RecordsService::ListPersonnelCertificates(
    const auth::User& u) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kAdmin, Role::kInspector})) {
    return Forbidden(u, "read certificates");
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  auto rows = db::RecordsStore::PersonnelCerts(**reader);
  if (!rows.ok()) return rows.error();
  const Date today = Today();
  std::map<std::pair<int64_t, std::string>, std::pair<std::string, int64_t>> newest;
  for (const auto& c : *rows) {
    auto& n = newest[{c.person_id, c.category}];
    if (c.issued_on > n.first || (c.issued_on == n.first && c.id > n.second))
      n = {c.issued_on, c.id};
  }
  std::vector<CertificateView> out;
  for (const auto& c : *rows) {
    CertificateView v;
    v.row = c;
    v.status = rules::CertificateStatus(ParseD(c.issued_on).value_or(today), today);
    v.current = newest[{c.person_id, c.category}].second == c.id;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<db::ElevatorCertRow>> RecordsService::ListElevatorCertificates(
    const auth::User& u, db::RecordFilter f) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kAdmin, Role::kInspector})) {
    return Forbidden(u, "read certificates");
  }
  if (!f.elevator.empty() && !CanSee(u, f.elevator)) {
    return NotFound("there is no elevator " + f.elevator);
  }
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  return db::RecordsStore::ElevatorCerts(**reader, f);
}

// ---- drills -------------------------------------------------------------------------------

Result<db::DrillRow> RecordsService::AddDrill(const auth::User& u, const DrillInput& in) {
  if (u.role != Role::kSafetyManager) return Forbidden(u, "write drills");
  if (!in.date) return Bad("field \"date\" (the day of the drill) is required");
  if (rules::DaysBetween(*in.date, Today()) < 0) {
    return Bad("field \"date\" (" + D(*in.date) + ") is in the future; record a drill once held");
  }
  db::DrillRow d;
  if (in.party == "user_unit") {
    if (!in.contractor.empty()) return Bad("field \"contractor\" is for party contractor");
  } else if (in.party == "contractor") {
    auto reader = impl_->Reader();
    if (!reader.ok()) return reader.error();
    auto cs = db::RecordsStore::Contractors(**reader);
    if (!cs.ok()) return cs.error();
    if (in.contractor.empty()) return Bad("field \"contractor\" is required for party contractor");
    if (std::none_of(cs->begin(), cs->end(),
                     [&](const auto& c) { return c.id == in.contractor; })) {
      return Bad("field \"contractor\": there is no contractor " + in.contractor);
    }
    d.contractor = in.contractor;
  } else {
    return Bad("field \"party\" is \"" + in.party + "\"; use user_unit or contractor");
  }
  for (size_t i = 0; i < in.elevators.size(); ++i) {
    if (!impl_->Find(in.elevators[i])) {
      return NotFound("field \"elevators\"[" + std::to_string(i) + "]: there is no elevator " +
                      in.elevators[i]);
    }
  }
  if (in.scenario.empty()) return Bad("field \"scenario\" (what was drilled) is required");
  if (in.duration_min < 0 || in.duration_min > 24 * 60) {
    return Bad("field \"duration_min\" must be 0..1440");
  }
  for (const auto& list : {&in.elevators, &in.participants}) {
    for (const auto& s : *list) {
      if (s.find('\x1f') != std::string::npos) return Bad("a name holds a control character");
    }
  }
  d.party = in.party;
  d.held_on = D(*in.date);
  d.elevators = in.elevators;
  d.participants = in.participants;
  d.scenario = in.scenario;
  d.duration_min = in.duration_min;
  d.findings = in.findings;
  d.created_by = u.username;
  d.created_at = impl_->Now();
  auto id = impl_->store_.AddDrill(d);
  if (!id.ok()) return id.error();
  d.id = *id;
  RequestEvaluation();
  return d;
}

Result<std::vector<db::DrillRow>> RecordsService::ListDrills(const auth::User& u,
                                                             db::RecordFilter f) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kInspector})) return Forbidden(u, "read drills");
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  return db::RecordsStore::Drills(**reader, f);
}

Result<std::vector<DrillDueRow>> RecordsService::DrillsDue(const auth::User& u) {
  if (!RoleIn(u.role, {Role::kSafetyManager, Role::kInspector})) return Forbidden(u, "read drills");
  const Date today = Today();
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.error();
  SQLite::Database& r = **reader;
  db::RecordFilter all;
  all.limit = 1000000;
  auto drills = db::RecordsStore::Drills(r, all);
  if (!drills.ok()) return drills.error();
  auto since = db::RecordsStore::Meta(r, "records_since");
  if (!since.ok()) return since.error();
  auto assignments = db::RecordsStore::Assignments(r, "");
  if (!assignments.ok()) return assignments.error();
  // Contractors with an elevator today, and when their earliest such
  // contract began.
  std::map<std::string, Date> contractors;
  std::set<std::string> configured;
  for (const auto& e : impl_->All()) configured.insert(e.id);
  const std::optional<Date> records_start = ParseD(*since);
  for (const auto& a : *assignments) {
    // No start: since before records began.
    auto s = a.starts_on.empty() ? records_start : ParseD(a.starts_on);
    auto e = ParseD(a.ends_on);
    if (!configured.count(a.elevator) || !s || rules::DaysBetween(*s, today) < 0 ||
        (e && rules::DaysBetween(today, *e) < 0)) {
      continue;
    }
    auto it = contractors.find(a.contractor);
    if (it == contractors.end() || rules::DaysBetween(*s, it->second) > 0) {
      contractors[a.contractor] = *s;
    }
  }
  auto last_of = [&](const std::string& party, const std::string& c) -> std::optional<Date> {
    for (const auto& d : *drills) {
      if (d.party == party && (party == "user_unit" || d.contractor == c)) {
        if (auto on = ParseD(d.held_on)) return on;
      }
    }
    return std::nullopt;
  };
  std::vector<DrillDueRow> out;
  DrillDueRow unit;
  unit.party = "user_unit";
  unit.last = last_of("user_unit", "");
  unit.counted_from = unit.last ? "drill" : "records_start";
  if (!unit.last) unit.last = ParseD(*since);
  unit.due = rules::NextDrill(rules::DrillParty::kUserUnit, unit.last, today);
  out.push_back(unit);
  for (const auto& [c, start] : contractors) {
    DrillDueRow row;
    row.party = "contractor";
    row.contractor = c;
    row.last = last_of("contractor", c);
    row.counted_from = row.last ? "drill"
                       : (records_start && rules::DaysBetween(*records_start, start) == 0)
                           ? "records_start"
                           : "contract_start";
    if (!row.last) row.last = start;
    row.due = rules::NextDrill(rules::DrillParty::kContractor, row.last, today);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace lg
