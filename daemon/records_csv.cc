#include "daemon/records_csv.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "core/rfc3339.h"
#include "db/records_store.h"
#include "rules/compliance.h"

namespace lg::records_csv {
namespace {

using rules::Date;

std::string D(Date d) { return rules::FormatDate(d); }

std::optional<Date> ParseD(const std::string& s) {
  if (s.empty()) return std::nullopt;
  auto d = rules::ParseDate(s);
  if (!d.ok()) return std::nullopt;
  return *d;
}

// ---- the columns --------------------------------------------------------------------

struct Spec {
  Kind kind;
  const char* name;
  std::vector<std::string> columns;   // export order
  std::vector<std::string> required;  // must be in the header
  bool names_elevators;
};

const std::vector<Spec>& Specs() {
  static const std::vector<Spec> specs = {
      {Kind::kContractors, "contractors", {"id", "name", "duty_phone"}, {"id", "name"}, false},
      {Kind::kAssignments,
       "assignments",
       {"elevator", "contractor", "starts_on", "ends_on"},
       {"elevator", "contractor"},
       true},
      {Kind::kPeople, "people", {"name", "contractor", "role", "phone", "active"}, {"name"}, false},
      {Kind::kCertificates,
       "certificates",
       {"holder", "holder_contractor", "holder_role", "category", "number", "issued_on",
        "expires_on"},
       {"holder", "category", "number", "issued_on"},
       false},
      {Kind::kElevatorCertificates,
       "elevator-certificates",
       {"elevator", "kind", "number", "registration_code", "issued_on", "expires_on", "note"},
       {"elevator", "kind"},
       true},
      {Kind::kMaintenance,
       "maintenance",
       {"elevator", "kind", "contractor", "started_at", "ended_at", "technicians", "items", "parts",
        "findings", "alarm_id", "incident_id", "confirmed_by", "confirmed_at"},
       {"elevator", "kind", "started_at", "ended_at", "technicians"},
       true},
      {Kind::kInspections,
       "inspections",
       {"elevator", "kind", "state", "agreed_on", "done_on", "result", "agency", "report_number",
        "next_due", "items", "rectify_by", "note"},
       {"elevator", "kind", "state"},
       true},
  };
  return specs;
}

const Spec& SpecOf(Kind k) {
  for (const auto& s : Specs()) {
    if (s.kind == k) return s;
  }
  return Specs().front();
}

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : sep) + x;
  return out;
}

std::string Trim(std::string s) {
  auto space = [](unsigned char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// ---- list cells: "a|b; c|d" -----------------------------------------------------------

// Entries are separated by ';', their parts by '|'; a backslash takes the
// next character literally.
std::vector<std::vector<std::string>> SplitList(const std::string& cell) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> entry;
  std::string part;
  bool any = false;
  auto end_part = [&] {
    entry.push_back(Trim(part));
    part.clear();
  };
  auto end_entry = [&] {
    end_part();
    bool empty = std::all_of(entry.begin(), entry.end(), [](const auto& p) { return p.empty(); });
    if (!empty) out.push_back(entry);
    entry.clear();
  };
  for (size_t i = 0; i < cell.size(); ++i) {
    char c = cell[i];
    any = true;
    if (c == '\\' && i + 1 < cell.size()) {
      part.push_back(cell[++i]);
    } else if (c == '|') {
      end_part();
    } else if (c == ';') {
      end_entry();
    } else {
      part.push_back(c);
    }
  }
  if (any) end_entry();
  return out;
}

std::string ListPart(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '|' || c == ';') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string ListCell(const std::vector<std::vector<std::string>>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += "; ";
    // Trailing empty parts (a note not given) are left out.
    size_t n = e.size();
    while (n > 1 && e[n - 1].empty()) --n;
    for (size_t i = 0; i < n; ++i) {
      if (i) out += "|";
      out += ListPart(e[i]);
    }
  }
  return out;
}

// ---- cells -----------------------------------------------------------------------------

// A line of the file, by column name. A bad cell throws LineFault, which
// the import turns into "FILE:LINE: message".
struct LineFault {
  std::string message;
};

[[noreturn]] void Fault(std::string message) { throw LineFault{std::move(message)}; }

std::string Col(const std::string& c) { return "column \"" + c + "\""; }

struct Line {
  int number = 0;
  std::map<std::string, std::string> cells;

  std::string Get(const std::string& c) const {
    auto it = cells.find(c);
    return it == cells.end() ? "" : it->second;
  }
  std::string Required(const std::string& c, const std::string& what) const {
    std::string v = Get(c);
    if (v.empty()) Fault(Col(c) + " (" + what + ") is required");
    return v;
  }
  std::optional<Date> DateOf(const std::string& c) const {
    std::string v = Get(c);
    if (v.empty()) return std::nullopt;
    auto d = rules::ParseDate(v);
    if (!d.ok())
      Fault(Col(c) + ": \"" + v + "\" is not a date; write it YYYY-MM-DD, e.g. 2026-11-22");
    return *d;
  }
  std::optional<WallTime> Time(const std::string& c) const {
    std::string v = Get(c);
    if (v.empty()) return std::nullopt;
    auto t = ParseRfc3339(v);
    if (!t) {
      Fault(Col(c) + ": \"" + v +
            "\" is not a time; write it RFC 3339 with its offset, e.g. 2026-11-20T09:00:00+08:00");
    }
    return t;
  }
  std::optional<int64_t> Id(const std::string& c) const {
    std::string v = Get(c);
    if (v.empty()) return std::nullopt;
    int64_t x = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || p != v.data() + v.size() || x <= 0) {
      Fault(Col(c) + ": \"" + v + "\" is not a positive whole number");
    }
    return x;
  }
};

bool ValidId(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

constexpr rules::MaintenanceKind kPeriodic[] = {
    rules::MaintenanceKind::kHalfMonthly, rules::MaintenanceKind::kQuarterly,
    rules::MaintenanceKind::kHalfYearly, rules::MaintenanceKind::kAnnual};

bool Periodic(const std::string& k) {
  return std::any_of(std::begin(kPeriodic), std::end(kPeriodic),
                     [&](auto p) { return rules::MaintenanceKindName(p) == k; });
}

std::optional<rules::CertCategory> CategoryOf(const std::string& c) {
  if (c == "A") return rules::CertCategory::kA;
  if (c == "T") return rules::CertCategory::kT;
  if (c == "other") return rules::CertCategory::kOther;
  return std::nullopt;
}

// Store readers answer with a Result; inside the import a failure of one
// is the database's, not the line's: it ends the import.
struct DbFailure {
  Error error;
};

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) throw DbFailure{r.error()};
  return std::move(r).value();
}

// ---- the import -------------------------------------------------------------------------

class Importer {
 public:
  Importer(SQLite::Database& db, const ImportContext& c)
      : db_(db), c_(c), today_(c.site_time.LocalDate(c.now)), now_(db::FormatTime(c.now)) {
    if (c.elevators) {
      for (const auto& e : *c.elevators) elevators_[e.id] = e;
    }
  }

  void Run(Kind k, const Line& l) {
    switch (k) {
      case Kind::kContractors:
        return Contractor(l);
      case Kind::kAssignments:
        return Assignment(l);
      case Kind::kPeople:
        return Person(l);
      case Kind::kCertificates:
        return Certificate(l);
      case Kind::kElevatorCertificates:
        return ElevatorCertificate(l);
      case Kind::kMaintenance:
        return Maintenance(l);
      case Kind::kInspections:
        return Inspection(l);
    }
  }

 private:
  // A line repeating an earlier one of the file (by key) names it.
  void Once(const std::string& key, const Line& l, const std::string& what) {
    auto [it, fresh] = seen_.emplace(key, l.number);
    if (!fresh) Fault(what + " repeats line " + std::to_string(it->second));
  }

  const RecordsService::Elevator& Car(const Line& l) {
    std::string id = l.Required("elevator", "the elevator's id");
    auto it = elevators_.find(id);
    if (it == elevators_.end()) {
      Fault(Col("elevator") + ": there is no elevator " + id + " in the configuration");
    }
    return it->second;
  }

  void KnownContractor(const std::string& column, const std::string& id) {
    if (id.empty()) return;
    auto cs = Must(db::RecordsStore::Contractors(db_));
    if (std::none_of(cs.begin(), cs.end(), [&](const auto& c) { return c.id == id; })) {
      Fault(Col(column) + ": there is no contractor " + id +
            " (contractors come from the configuration once liftguardd has run with it, or from "
            "an import of contractors)");
    }
  }

  void NotFuture(const std::string& column, Date d, const std::string& hint) {
    if (rules::DaysBetween(d, today_) < 0) {
      Fault(Col(column) + " (" + D(d) + ") is in the future" + hint);
    }
  }

  // ---- contractors, assignments, people --------------------------------------------

  void Contractor(const Line& l) {
    std::string id = l.Required("id", "the contractor's id");
    if (!ValidId(id)) {
      Fault(Col("id") + ": \"" + id + "\" is not an id; use letters, digits, _ . and - only");
    }
    std::string name = l.Required("name", "the company's name");
    Once(id, l, "contractor " + id);
    for (const auto& c : Must(db::RecordsStore::Contractors(db_))) {
      if (c.id == id) {
        Fault("contractor " + id + " is on record already" +
              (c.from_config ? " (from the configuration)" : ""));
      }
    }
    SQLite::Statement ins(db_,
                          "INSERT INTO contractors(id, name, duty_phone, from_config, updated_at) "
                          "VALUES (?,?,?,0,?)");
    ins.bind(1, id);
    ins.bind(2, name);
    ins.bind(3, l.Get("duty_phone"));
    ins.bind(4, now_);
    ins.exec();
  }

  void Assignment(const Line& l) {
    const auto& car = Car(l);
    std::string contractor = l.Required("contractor", "the contractor's id");
    KnownContractor("contractor", contractor);
    auto starts = l.DateOf("starts_on");
    auto ends = l.DateOf("ends_on");
    if (starts && ends && rules::DaysBetween(*starts, *ends) < 0) {
      Fault(Col("ends_on") + " (" + D(*ends) + ") is before \"starts_on\" (" + D(*starts) + ")");
    }
    std::string s = starts ? D(*starts) : "", e = ends ? D(*ends) : "";
    Once(car.id + "\x1f" + contractor + "\x1f" + s + "\x1f" + e, l, "this assignment");
    for (const auto& a : Must(db::RecordsStore::Assignments(db_, car.id))) {
      if (a.contractor == contractor && a.starts_on == s && a.ends_on == e) {
        Fault("the assignment of " + contractor + " to elevator " + car.id + " from " +
              (s.empty() ? "the start" : s) + " to " + (e.empty() ? "open end" : e) +
              " is on record already");
      }
    }
    SQLite::Statement ins(db_,
                          "INSERT INTO contractor_assignments(elevator, contractor, starts_on, "
                          "ends_on, source, created_at) VALUES (?,?,?,?,'import',?)");
    ins.bind(1, car.id);
    ins.bind(2, contractor);
    ins.bind(3, s);
    ins.bind(4, e);
    ins.bind(5, now_);
    ins.exec();
  }

  void Person(const Line& l) {
    std::string name = l.Required("name", "the person's name");
    std::string contractor = l.Get("contractor");
    KnownContractor("contractor", contractor);
    std::string active = l.Get("active");
    std::transform(active.begin(), active.end(), active.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    bool is_active = true;
    if (active == "no" || active == "false" || active == "0") {
      is_active = false;
    } else if (!active.empty() && active != "yes" && active != "true" && active != "1") {
      Fault(Col("active") + " is \"" + l.Get("active") + "\"; use yes or no");
    }
    Once(name + "\x1f" + contractor, l, "person " + name);
    for (const auto& p : Must(db::RecordsStore::People(db_))) {
      if (p.name == name && p.contractor == contractor) {
        Fault("person " + name + (contractor.empty() ? "" : " of " + contractor) +
              " is on record already (id " + std::to_string(p.id) + ")");
      }
    }
    AddPerson(name, contractor, l.Get("role"), l.Get("phone"), is_active);
  }

  int64_t AddPerson(const std::string& name, const std::string& contractor, const std::string& role,
                    const std::string& phone, bool active) {
    db::PersonRow row;
    row.name = name;
    row.contractor = contractor;
    row.role = role;
    row.phone = phone;
    row.active = active;
    row.created_at = now_;
    return db::RecordsStore::InsertPerson(db_, row);
  }

  // ---- certificates --------------------------------------------------------------------

  void Certificate(const Line& l) {
    std::string holder = l.Required("holder", "the holder's name");
    std::string contractor = l.Get("holder_contractor");
    std::string category = l.Required("category", "A, T or other");
    if (!CategoryOf(category))
      Fault(Col("category") + " is \"" + category + "\"; use A, T or other");
    std::string number = l.Required("number", "the certificate number");
    auto issued = l.DateOf("issued_on");
    if (!issued) Fault(Col("issued_on") + " (the date of issue) is required");
    NotFuture("issued_on", *issued, "");
    Date expires = rules::CertificateStatus(*issued, today_).expires;
    if (auto given = l.DateOf("expires_on"); given && rules::DaysBetween(*given, expires) != 0) {
      Fault(Col("expires_on") + " (" + D(*given) +
            ") does not match \"issued_on\": a certificate " + "expires 4 years after issue, on " +
            D(expires) + " (leave the column empty)");
    }
    KnownContractor("holder_contractor", contractor);
    Once(number + "\x1f" + D(*issued), l, "certificate " + number + " issued " + D(*issued));
    SQLite::Statement dup(
        db_, "SELECT id FROM personnel_certificates WHERE number = ? AND issued_on = ?");
    dup.bind(1, number);
    dup.bind(2, D(*issued));
    if (dup.executeStep()) {
      Fault(Col("number") + ": certificate " + number + " issued " + D(*issued) +
            " is on record already (id " + std::to_string(dup.getColumn(0).getInt64()) + ")");
    }
    std::optional<int64_t> person;
    for (const auto& p : Must(db::RecordsStore::People(db_))) {
      if (p.name == holder && p.contractor == contractor) person = p.id;
    }
    if (!person) person = AddPerson(holder, contractor, l.Get("holder_role"), "", true);
    db::PersonnelCertRow row;
    row.person_id = *person;
    row.category = category;
    row.number = number;
    row.issued_on = D(*issued);
    row.expires_on = D(expires);
    row.created_by = c_.who;
    row.created_at = now_;
    db::RecordsStore::InsertPersonnelCert(db_, row);
  }

  void ElevatorCertificate(const Line& l) {
    const auto& car = Car(l);
    std::string kind = l.Required("kind", "use_registration or inspection_mark");
    auto issued = l.DateOf("issued_on");
    auto expires = l.DateOf("expires_on");
    if (issued) NotFuture("issued_on", *issued, "");
    std::string number = l.Get("number");
    if (kind == "use_registration") {
      if (number.empty()) Fault(Col("number") + " (the registration number) is required");
      if (!issued) Fault(Col("issued_on") + " (the date of registration) is required");
      if (expires) Fault(Col("expires_on") + ": a use registration does not expire");
    } else if (kind == "inspection_mark") {
      if (!expires) Fault(Col("expires_on") + " (the inspection mark's next due date) is required");
      if (issued && rules::DaysBetween(*issued, *expires) <= 0) {
        Fault(Col("expires_on") + " (" + D(*expires) + ") must be after \"issued_on\" (" +
              D(*issued) + ")");
      }
    } else {
      Fault(Col("kind") + " is \"" + kind + "\"; use use_registration or inspection_mark");
    }
    std::string i = issued ? D(*issued) : "", e = expires ? D(*expires) : "";
    Once(car.id + "\x1f" + kind + "\x1f" + number + "\x1f" + i + "\x1f" + e, l, "this certificate");
    db::RecordFilter f;
    f.elevator = car.id;
    f.kind = kind;
    for (const auto& c : Must(db::RecordsStore::ElevatorCerts(db_, f))) {
      if (c.number == number && c.issued_on == i && c.expires_on == e) {
        Fault("this " + kind + " of elevator " + car.id + " is on record already (id " +
              std::to_string(c.id) + ")");
      }
    }
    db::ElevatorCertRow row;
    row.elevator = car.id;
    row.kind = kind;
    row.number = number;
    row.registration_code = l.Get("registration_code");
    row.issued_on = i;
    row.expires_on = e;
    row.note = l.Get("note");
    row.created_by = c_.who;
    row.created_at = now_;
    db::RecordsStore::InsertElevatorCert(db_, row);
  }

  // ---- maintenance -----------------------------------------------------------------------

  // As RecordsService: the newest certificate with that number issued on or
  // before the day, else the oldest (to say "issued after").
  void CheckTechnician(size_t i, db::TechnicianRow& t, Date on) {
    std::string field = Col("technicians") + " entry " + std::to_string(i + 1);
    std::string who = t.name.empty() ? "" : " (" + t.name + ")";
    if (t.certificate.empty()) {
      Fault(field + who + ": the certificate number is required (write name|certificate)");
    }
    auto certs = Must(db::RecordsStore::PersonnelCertsByNumber(db_, t.certificate));
    std::optional<db::PersonnelCertRow> pick;
    for (const auto& c : certs) {
      auto issued = ParseD(c.issued_on);
      if (issued && rules::DaysBetween(*issued, on) >= 0) {
        pick = c;
        break;
      }
    }
    if (!pick && !certs.empty()) pick = certs.back();
    if (!pick) {
      Fault(field + who + ": certificate " + t.certificate +
            " is not on record; a category T certificate valid on " + D(on) +
            " is needed to sign maintenance (import it with `liftguard import certificates`)");
    }
    rules::Certificate cert;
    cert.category = CategoryOf(pick->category).value_or(rules::CertCategory::kOther);
    cert.number = pick->number;
    cert.issued = ParseD(pick->issued_on).value_or(Date{});
    if (Status st = rules::CanSign(cert, on); !st) Fault(field + who + ": " + st.error().message);
    t.person_id = pick->person_id;
    if (t.name.empty()) t.name = pick->person_name;
  }

  void Maintenance(const Line& l) {
    const auto& car = Car(l);
    std::string kind = l.Required("kind",
                                  "half_monthly, quarterly, half_yearly, annual, repair "
                                  "or emergency");
    const bool periodic = Periodic(kind);
    if (!periodic && kind != "repair" && kind != "emergency") {
      Fault(Col("kind") + " is \"" + kind +
            "\"; use half_monthly, quarterly, half_yearly, annual, repair or emergency");
    }
    auto started = l.Time("started_at");
    auto ended = l.Time("ended_at");
    if (!started) Fault(Col("started_at") + " (when the work began) is required");
    if (!ended) Fault(Col("ended_at") + " (when the work ended) is required");
    if (*ended < *started) {
      Fault(Col("ended_at") + " (" + db::FormatTime(*ended) + ") is before \"started_at\" (" +
            db::FormatTime(*started) + "): a record may not end before it starts");
    }
    if (*started > c_.now) {
      Fault(Col("started_at") + " (" + db::FormatTime(*started) +
            ") is in the future; record maintenance once it has been done");
    }
    if (*ended > c_.now) {
      Fault(Col("ended_at") + " (" + db::FormatTime(*ended) +
            ") is in the future; record maintenance once it has been done");
    }
    const Date on = c_.site_time.LocalDate(*started);
    std::string contractor = l.Get("contractor");
    std::string assigned = Must(db::RecordsStore::ContractorOn(db_, car.id, D(on)));
    if (contractor.empty()) {
      if (assigned.empty()) {
        Fault(Col("contractor") + ": elevator " + car.id + " has no contractor on " + D(on) +
              "; name the contractor that did the work");
      }
      contractor = assigned;
    }
    if (assigned != contractor) {
      Fault(Col("contractor") + ": contractor " + contractor + " is not assigned to elevator " +
            car.id + " on " + D(on) +
            (assigned.empty() ? " (no contractor is)" : " (" + assigned + " is)"));
    }
    db::MaintenanceRow row;
    for (const auto& e : SplitList(l.Get("technicians"))) {
      if (e.size() > 2) Fault(Col("technicians") + ": write each technician as name|certificate");
      row.technicians.push_back({e[0], e.size() > 1 ? e[1] : "", std::nullopt});
    }
    if (row.technicians.empty()) {
      Fault(Col("technicians") +
            ": at least one technician (name|certificate; several separated by ;) is required");
    }
    for (size_t i = 0; i < row.technicians.size(); ++i) CheckTechnician(i, row.technicians[i], on);
    for (const auto& e : SplitList(l.Get("items"))) {
      if (e.size() > 3) Fault(Col("items") + ": write each item as item|result|note");
      row.items.push_back({e[0], e.size() > 1 ? e[1] : "", e.size() > 2 ? e[2] : ""});
    }
    if (periodic && row.items.empty()) {
      Fault(Col("items") + ": a " + kind +
            " record lists the items checked, each as item|result (several separated by ;)");
    }
    for (size_t i = 0; i < row.items.size(); ++i) {
      const auto& it = row.items[i];
      std::string field = Col("items") + " entry " + std::to_string(i + 1);
      if (it.item.empty()) Fault(field + ": the item may not be empty");
      if (it.result != "ok" && it.result != "adjusted" && it.result != "replaced" &&
          it.result != "not_applicable" && it.result != "defect") {
        Fault(field + " (" + it.item + "): the result is \"" + it.result +
              "\"; use ok, adjusted, replaced, not_applicable or defect");
      }
      if (it.result == "defect" && it.note.empty()) {
        Fault(field + " (" + it.item + "): a defect needs a note saying what is wrong");
      }
    }
    for (const auto& e : SplitList(l.Get("parts"))) {
      if (e.size() > 3) Fault(Col("parts") + ": write each part as name|quantity|note");
      db::PartRow p{e[0], 1, e.size() > 2 ? e[2] : ""};
      if (p.name.empty()) Fault(Col("parts") + ": a part's name may not be empty");
      if (e.size() > 1 && !e[1].empty()) {
        auto [ptr, ec] = std::from_chars(e[1].data(), e[1].data() + e[1].size(), p.quantity);
        if (ec != std::errc() || ptr != e[1].data() + e[1].size() || p.quantity < 1) {
          Fault(Col("parts") + " (" + p.name + "): the quantity \"" + e[1] +
                "\" must be a whole number of at least 1");
        }
      }
      row.parts.push_back(p);
    }
    row.alarm_id = l.Id("alarm_id");
    row.incident_id = l.Id("incident_id");
    if ((row.alarm_id || row.incident_id) && periodic) {
      Fault(Col(row.alarm_id ? "alarm_id" : "incident_id") +
            ": only a repair or emergency record links to an alarm or incident");
    }
    std::string confirmed_by = l.Get("confirmed_by");
    auto confirmed_at = l.Time("confirmed_at");
    if (confirmed_by.empty() != !confirmed_at) {
      Fault(
          "columns \"confirmed_by\" and \"confirmed_at\" go together: who confirmed the record, "
          "and when");
    }
    if (confirmed_at && (*confirmed_at < *ended || *confirmed_at > c_.now)) {
      Fault(Col("confirmed_at") + " (" + db::FormatTime(*confirmed_at) +
            ") must be after the work ended and not in the future");
    }
    row.elevator = car.id;
    row.kind = kind;
    row.contractor = contractor;
    row.started_at = db::FormatTime(*started);
    row.ended_at = db::FormatTime(*ended);
    row.local_date = D(on);
    row.findings = l.Get("findings");
    Once(row.elevator + "\x1f" + kind + "\x1f" + row.started_at, l, "this record");
    SQLite::Statement dup(db_,
                          "SELECT id FROM maintenance_records WHERE elevator = ? AND kind = ? AND "
                          "local_date = ? AND started_at = ?");
    // local_date follows from started_at; naming it lets the index find the day.
    dup.bind(1, row.elevator);
    dup.bind(2, kind);
    dup.bind(3, row.local_date);
    dup.bind(4, row.started_at);
    if (dup.executeStep()) {
      Fault("a " + kind + " record of elevator " + row.elevator + " started " + row.started_at +
            " is on record already (id " + std::to_string(dup.getColumn(0).getInt64()) + ")");
    }
    SQLite::Statement ins(db_,
                          "INSERT INTO maintenance_records(elevator, kind, contractor, started_at, "
                          "ended_at, local_date, findings, alarm_id, incident_id, confirmed_by, "
                          "confirmed_at, created_by, created_at, updated_at) VALUES "
                          "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, row.elevator);
    ins.bind(2, row.kind);
    ins.bind(3, row.contractor);
    ins.bind(4, row.started_at);
    ins.bind(5, row.ended_at);
    ins.bind(6, row.local_date);
    ins.bind(7, row.findings);
    if (row.alarm_id)
      ins.bind(8, *row.alarm_id);
    else
      ins.bind(8);
    if (row.incident_id)
      ins.bind(9, *row.incident_id);
    else
      ins.bind(9);
    ins.bind(10, confirmed_by);
    ins.bind(11, confirmed_at ? db::FormatTime(*confirmed_at) : "");
    ins.bind(12, c_.who);
    ins.bind(13, now_);
    ins.bind(14, now_);
    ins.exec();
    int64_t id = db_.getLastInsertRowid();
    SQLite::Statement t(db_,
                        "INSERT INTO maintenance_technicians(record_id, position, name, "
                        "certificate, person_id) VALUES (?,?,?,?,?)");
    for (size_t i = 0; i < row.technicians.size(); ++i) {
      t.bind(1, id);
      t.bind(2, static_cast<int64_t>(i));
      t.bind(3, row.technicians[i].name);
      t.bind(4, row.technicians[i].certificate);
      if (row.technicians[i].person_id)
        t.bind(5, *row.technicians[i].person_id);
      else
        t.bind(5);
      t.exec();
      t.reset();
    }
    SQLite::Statement it(db_,
                         "INSERT INTO maintenance_items(record_id, position, item, result, note) "
                         "VALUES (?,?,?,?,?)");
    for (size_t i = 0; i < row.items.size(); ++i) {
      it.bind(1, id);
      it.bind(2, static_cast<int64_t>(i));
      it.bind(3, row.items[i].item);
      it.bind(4, row.items[i].result);
      it.bind(5, row.items[i].note);
      it.exec();
      it.reset();
    }
    SQLite::Statement p(db_,
                        "INSERT INTO maintenance_parts(record_id, position, name, quantity, note) "
                        "VALUES (?,?,?,?,?)");
    for (size_t i = 0; i < row.parts.size(); ++i) {
      p.bind(1, id);
      p.bind(2, static_cast<int64_t>(i));
      p.bind(3, row.parts[i].name);
      p.bind(4, row.parts[i].quantity);
      p.bind(5, row.parts[i].note);
      p.exec();
      p.reset();
    }
  }

  // ---- inspections ---------------------------------------------------------------------

  void Inspection(const Line& l) {
    const auto& car = Car(l);
    std::string kind = l.Required("kind", "inspection or self_test");
    if (kind != "inspection" && kind != "self_test") {
      Fault(Col("kind") + " is \"" + kind + "\"; use inspection or self_test");
    }
    std::string state = l.Required("state", "done or planned");
    auto agreed = l.DateOf("agreed_on");
    auto done_on = l.DateOf("done_on");
    auto next_due = l.DateOf("next_due");
    auto rectify_by = l.DateOf("rectify_by");
    std::string result = l.Get("result");
    std::vector<db::InspectionItemRow> items;
    for (const auto& e : SplitList(l.Get("items"))) {
      if (e.size() > 2) Fault(Col("items") + ": write each item as item|note");
      if (e[0].empty()) Fault(Col("items") + ": an item may not be empty");
      items.push_back({e[0], e.size() > 1 ? e[1] : ""});
    }
    db::InspectionRow row;
    row.elevator = car.id;
    row.kind = kind;
    row.agency = l.Get("agency");
    row.report_number = l.Get("report_number");
    row.note = l.Get("note");
    row.created_by = c_.who;
    row.created_at = now_;
    row.updated_at = now_;
    if (state == "planned") {
      if (!agreed) {
        Fault(Col("agreed_on") +
              " (the date agreed with the agency) is required to plan an "
              "inspection");
      }
      if (rules::DaysBetween(today_, *agreed) < 0) {
        Fault(Col("agreed_on") + " (" + D(*agreed) +
              ") is in the past; record the inspection as done, or agree a new date");
      }
      if (done_on || !result.empty() || !items.empty() || next_due || rectify_by) {
        Fault(
            "a planned inspection has only \"agreed_on\"; \"done_on\", \"result\", \"items\", "
            "\"next_due\" and \"rectify_by\" are for one that is done");
      }
      row.state = "planned";
      row.agreed_on = D(*agreed);
      Once(car.id + "\x1fplanned", l, "a plan for elevator " + car.id);
      // A new agreed date replaces the elevator's open plan, as through the API.
      SQLite::Statement cancel(db_,
                               "UPDATE inspections SET state = 'cancelled', updated_at = ? WHERE "
                               "elevator = ? AND state = 'planned'");
      cancel.bind(1, now_);
      cancel.bind(2, car.id);
      cancel.exec();
      Insert(row, {}, std::nullopt);
      return;
    }
    if (state != "done") Fault(Col("state") + " is \"" + state + "\"; use done or planned");
    if (!done_on) Fault(Col("done_on") + " (the day it was done) is required");
    NotFuture("done_on", *done_on, "; record the inspection once it is done");
    if (agreed) Fault(Col("agreed_on") + " is for a planned inspection");
    if (result != "pass" && result != "pass_with_rectification" && result != "fail") {
      Fault(Col("result") + " is \"" + result + "\"; use pass, pass_with_rectification or fail");
    }
    if (result == "pass" && !items.empty()) {
      Fault(Col("items") +
            ": a plain pass has nothing to rectify; use pass_with_rectification "
            "for a pass with items found");
    }
    if (result == "pass_with_rectification" && items.empty()) {
      Fault(Col("items") + ": pass_with_rectification lists the items to rectify (item|note; ...)");
    }
    const bool passed = result != "fail";
    if (next_due && !passed) Fault(Col("next_due") + ": a failed check renews no mark");
    auto first_use = ParseD(car.first_use);
    if (passed && !next_due && first_use) {
      // The next anniversary after the check this one covers, as the API does.
      std::vector<rules::DoneCheck> done;
      SQLite::Statement q(db_,
                          "SELECT kind, done_on, result FROM inspections WHERE elevator = ? AND "
                          "state = 'done'");
      q.bind(1, car.id);
      while (q.executeStep()) {
        auto d = ParseD(q.getColumn(1).getString());
        if (!d) continue;
        std::string r = q.getColumn(2).getString();
        done.push_back({q.getColumn(0).getString() == "self_test" ? rules::CheckKind::kSelfTest
                                                                  : rules::CheckKind::kInspection,
                        *d, r == "pass" || r == "pass_with_rectification"});
      }
      done.push_back(
          {kind == "self_test" ? rules::CheckKind::kSelfTest : rules::CheckKind::kInspection,
           *done_on, true});
      for (const auto& it :
           rules::InspectionPlan(*first_use, done, std::nullopt, *done_on, 2 * 366)) {
        if (it.state != rules::PlanState::kDone && rules::DaysBetween(*done_on, it.due) > 0) {
          next_due = it.due;
          break;
        }
      }
    }
    if (passed && !next_due) {
      Fault(Col("next_due") +
            " (the new inspection mark's due date) is required with a pass: "
            "elevator " +
            car.id + " has no first_use in the configuration to work it out from");
    }
    if (next_due && rules::DaysBetween(*done_on, *next_due) <= 0) {
      Fault(Col("next_due") + " (" + D(*next_due) + ") must be after \"done_on\" (" + D(*done_on) +
            ")");
    }
    row.state = "done";
    row.done_on = D(*done_on);
    row.result = result;
    row.items = items;
    if (next_due) row.next_due = D(*next_due);
    Once(car.id + "\x1f" + kind + "\x1f" + row.done_on, l, "this inspection");
    SQLite::Statement dup(db_,
                          "SELECT id FROM inspections WHERE elevator = ? AND kind = ? AND state = "
                          "'done' AND done_on = ?");
    dup.bind(1, car.id);
    dup.bind(2, kind);
    dup.bind(3, row.done_on);
    if (dup.executeStep()) {
      Fault("the " + kind + " of elevator " + car.id + " done on " + row.done_on +
            " is on record already (id " + std::to_string(dup.getColumn(0).getInt64()) + ")");
    }
    Insert(row, items, rectify_by);
  }

  void Insert(const db::InspectionRow& row, const std::vector<db::InspectionItemRow>& opens,
              std::optional<Date> rectify_by) {
    SQLite::Statement ins(db_,
                          "INSERT INTO inspections(elevator, kind, state, agreed_on, done_on, "
                          "result, agency, report_number, next_due, note, created_by, "
                          "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    ins.bind(1, row.elevator);
    ins.bind(2, row.kind);
    ins.bind(3, row.state);
    ins.bind(4, row.agreed_on);
    ins.bind(5, row.done_on);
    ins.bind(6, row.result);
    ins.bind(7, row.agency);
    ins.bind(8, row.report_number);
    ins.bind(9, row.next_due);
    ins.bind(10, row.note);
    ins.bind(11, row.created_by);
    ins.bind(12, row.created_at);
    ins.bind(13, row.updated_at);
    ins.exec();
    int64_t id = db_.getLastInsertRowid();
    SQLite::Statement item(db_,
                           "INSERT INTO inspection_items(inspection_id, position, item, note) "
                           "VALUES (?,?,?,?)");
    SQLite::Statement task(db_,
                           "INSERT INTO rectifications(elevator, inspection_id, item, note, "
                           "due_on, state, opened_at, opened_by) VALUES (?,?,?,?,?,'open',?,?)");
    for (size_t i = 0; i < opens.size(); ++i) {
      item.bind(1, id);
      item.bind(2, static_cast<int64_t>(i));
      item.bind(3, opens[i].item);
      item.bind(4, opens[i].note);
      item.exec();
      item.reset();
      // Each item opens a rectification task, tracked until closed.
      task.bind(1, row.elevator);
      task.bind(2, id);
      task.bind(3, opens[i].item);
      task.bind(4, opens[i].note);
      task.bind(5, rectify_by ? D(*rectify_by) : "");
      task.bind(6, now_);
      task.bind(7, c_.who);
      task.exec();
      task.reset();
    }
    if (row.state == "done" && !row.next_due.empty() &&
        (row.result == "pass" || row.result == "pass_with_rectification")) {
      // A passed check with the new mark's date renews the mark.
      SQLite::Statement mark(db_,
                             "INSERT INTO elevator_certificates(elevator, kind, number, "
                             "issued_on, expires_on, note, created_by, created_at) VALUES "
                             "(?, 'inspection_mark', ?, ?, ?, ?, ?, ?)");
      mark.bind(1, row.elevator);
      mark.bind(2, row.report_number);
      mark.bind(3, row.done_on);
      mark.bind(4, row.next_due);
      mark.bind(5, "from inspection " + std::to_string(id));
      mark.bind(6, c_.who);
      mark.bind(7, now_);
      mark.exec();
    }
  }

  SQLite::Database& db_;
  const ImportContext& c_;
  const Date today_;
  const std::string now_;
  std::map<std::string, RecordsService::Elevator> elevators_;
  std::map<std::string, int> seen_;
};

// ---- export ---------------------------------------------------------------------------

std::string YesNo(bool b) { return b ? "yes" : "no"; }

}  // namespace

std::string_view KindName(Kind k) { return SpecOf(k).name; }

std::optional<Kind> KindFromName(std::string_view name) {
  for (const auto& s : Specs()) {
    if (name == s.name) return s.kind;
  }
  return std::nullopt;
}

const std::vector<std::string>& Columns(Kind k) { return SpecOf(k).columns; }

bool NamesElevators(Kind k) { return SpecOf(k).names_elevators; }

Result<ImportResult> Import(db::Database& database, Kind kind, std::string_view text,
                            const ImportContext& ctx) {
  const Spec& spec = SpecOf(kind);
  if (spec.names_elevators && !ctx.elevators) {
    return Error::Permanent("usage", std::string("importing ") + spec.name +
                                         " needs the configuration (--config) to know the "
                                         "elevators and the site's time zone");
  }
  ImportResult out;
  csv::Parsed parsed = csv::Parse(text);
  out.errors = parsed.errors;
  if (parsed.records.empty()) {
    if (out.errors.empty()) {
      out.errors.push_back(
          {1, "the file is empty; its first line names the columns: " + Join(spec.columns, ",")});
    }
    return out;
  }
  // The header: the first line, unless that line is itself broken.
  const csv::Record& header = parsed.records.front();
  if (!out.errors.empty() && out.errors.front().line < header.line) {
    out.errors.push_back({out.errors.front().line,
                          "the first line must name the columns: " + Join(spec.columns, ",")});
    std::sort(out.errors.begin(), out.errors.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    return out;
  }
  std::vector<std::string> names;
  std::vector<csv::LineError> header_errors;
  for (const auto& f : header.fields) {
    std::string name = Trim(f);
    if (std::find(spec.columns.begin(), spec.columns.end(), name) == spec.columns.end()) {
      header_errors.push_back({header.line, "unknown column \"" + name + "\"; the columns of " +
                                                spec.name + " are " + Join(spec.columns, ",")});
    } else if (std::find(names.begin(), names.end(), name) != names.end()) {
      header_errors.push_back({header.line, "column \"" + name + "\" is named twice"});
    }
    names.push_back(name);
  }
  for (const auto& r : spec.required) {
    if (std::find(names.begin(), names.end(), r) == names.end()) {
      header_errors.push_back({header.line, "column \"" + r + "\" is missing; the columns of " +
                                                spec.name + " are " + Join(spec.columns, ",") +
                                                " (required: " + Join(spec.required, ",") + ")"});
    }
  }
  if (!header_errors.empty()) {
    out.errors.insert(out.errors.end(), header_errors.begin(), header_errors.end());
    std::sort(out.errors.begin(), out.errors.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    return out;
  }
  // Data lines: the records read, and those dropped for a broken line.
  out.lines = static_cast<int>(parsed.records.size()) - 1 +
              static_cast<int>(std::count_if(out.errors.begin(), out.errors.end(),
                                             [&](const auto& e) { return e.line > header.line; }));

  std::vector<Line> lines;
  for (size_t i = 1; i < parsed.records.size(); ++i) {
    const auto& rec = parsed.records[i];
    if (rec.fields.size() != names.size()) {
      out.errors.push_back({rec.line, std::to_string(rec.fields.size()) +
                                          " fields, but the first line names " +
                                          std::to_string(names.size()) + " columns"});
      continue;
    }
    Line l;
    l.number = rec.line;
    for (size_t c = 0; c < names.size(); ++c)
      l.cells[names[c]] = csv::Unprotect(Trim(rec.fields[c]));
    lines.push_back(std::move(l));
  }
  // Every line is checked in one transaction that is rolled back unless all
  // are good: what a line wrote is seen by the lines after it.
  const std::string kRollBack = "\x01roll back";
  std::optional<Error> db_failure;
  db::RecordsStore store(database);
  Status st = store.Batch([&](SQLite::Database& tx) -> Status {
    Importer im(tx, ctx);
    for (const auto& l : lines) {
      try {
        im.Run(kind, l);
      } catch (const LineFault& f) {
        out.errors.push_back({l.number, f.message});
      } catch (const DbFailure& f) {
        db_failure = f.error;
        return f.error;
      }
    }
    if (!out.errors.empty() || ctx.dry_run) return Error::Permanent(kRollBack, "");
    return Status::Ok();
  });
  if (db_failure) return *db_failure;
  if (!st && st.error().code != kRollBack) return st.error();
  std::stable_sort(out.errors.begin(), out.errors.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  if (st && out.errors.empty()) out.imported = static_cast<int>(lines.size());
  return out;
}

Result<std::string> Export(SQLite::Database& r, Kind kind) {
  csv::Writer w;
  w.Row(Columns(kind));
  try {
    switch (kind) {
      case Kind::kContractors:
        for (const auto& c : Must(db::RecordsStore::Contractors(r))) {
          w.Row({c.id, c.name, c.duty_phone});
        }
        break;
      case Kind::kAssignments:
        for (const auto& a : Must(db::RecordsStore::Assignments(r, ""))) {
          w.Row({a.elevator, a.contractor, a.starts_on, a.ends_on});
        }
        break;
      case Kind::kPeople:
        for (const auto& p : Must(db::RecordsStore::People(r))) {
          w.Row({p.name, p.contractor, p.role, p.phone, YesNo(p.active)});
        }
        break;
      case Kind::kCertificates: {
        std::map<int64_t, std::string> roles;
        for (const auto& p : Must(db::RecordsStore::People(r))) roles[p.id] = p.role;
        for (const auto& c : Must(db::RecordsStore::PersonnelCerts(r))) {
          w.Row({c.person_name, c.person_contractor, roles[c.person_id], c.category, c.number,
                 c.issued_on, c.expires_on});
        }
        break;
      }
      case Kind::kElevatorCertificates:
        for (const auto& c : Must(db::RecordsStore::ElevatorCerts(r, {}))) {
          // Marks a passed inspection recorded come back with the inspection.
          if (c.kind == "inspection_mark" && c.note.starts_with("from inspection ")) continue;
          w.Row({c.elevator, c.kind, c.number, c.registration_code, c.issued_on, c.expires_on,
                 c.note});
        }
        break;
      case Kind::kMaintenance: {
        db::RecordFilter f;
        f.limit = 100000000;
        auto rows = Must(db::RecordsStore::Maintenance(r, f));
        std::reverse(rows.begin(), rows.end());  // oldest first
        for (const auto& m : rows) {
          if (m.amended_by) continue;  // the current version only
          std::vector<std::vector<std::string>> techs, items, parts;
          for (const auto& t : m.technicians) techs.push_back({t.name, t.certificate});
          for (const auto& i : m.items) items.push_back({i.item, i.result, i.note});
          for (const auto& p : m.parts)
            parts.push_back({p.name, std::to_string(p.quantity), p.note});
          w.Row({m.elevator, m.kind, m.contractor, m.started_at, m.ended_at, ListCell(techs),
                 ListCell(items), ListCell(parts), m.findings,
                 m.alarm_id ? std::to_string(*m.alarm_id) : "",
                 m.incident_id ? std::to_string(*m.incident_id) : "", m.confirmed_by,
                 m.confirmed_at});
        }
        break;
      }
      case Kind::kInspections: {
        db::RecordFilter f;
        f.limit = 100000000;
        auto rows = Must(db::RecordsStore::Inspections(r, f));
        std::reverse(rows.begin(), rows.end());
        db::RecordFilter all;
        all.limit = 100000000;
        std::map<int64_t, std::string> rectify_by;
        for (const auto& t : Must(db::RecordsStore::Rectifications(r, all))) {
          if (t.inspection_id && !t.due_on.empty()) rectify_by[*t.inspection_id] = t.due_on;
        }
        for (const auto& i : rows) {
          if (i.state == "cancelled") continue;
          std::vector<std::vector<std::string>> items;
          for (const auto& it : i.items) items.push_back({it.item, it.note});
          w.Row({i.elevator, i.kind, i.state, i.agreed_on, i.done_on, i.result, i.agency,
                 i.report_number, i.next_due, ListCell(items),
                 rectify_by.count(i.id) ? rectify_by[i.id] : "", i.note});
        }
        break;
      }
    }
  } catch (const DbFailure& f) {
    return f.error;
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("export failed: ") + e.what());
  }
  return w.str();
}

}  // namespace lg::records_csv
