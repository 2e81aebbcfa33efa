#include "daemon/cli_records.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "daemon/cli_db.h"
#include "daemon/cli_http.h"
#include "daemon/cli_output.h"
#include "daemon/config.h"
#include "daemon/records_csv.h"
#include "db/audit_log.h"
#include "db/database.h"

namespace lg::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/liftguard/liftguard.toml";
// A records file is a few thousand lines; anything this big is a mistake.
constexpr std::streamsize kMaxFile = 64 * 1024 * 1024;

int Fail(const std::string& message, int code, Streams s) {
  s.err << "liftguard: " << Printable(message) << "\n";
  return code;
}

std::string UnixUser() {
  if (passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return "uid" + std::to_string(getuid());
}

// Writes `data` to `path` through a temporary file renamed onto it, so a
// reader never sees half a report.
Status WriteFile(const std::string& path, const std::string& data) {
  if (fs::is_directory(path)) {
    return Error::Permanent("usage", path + " is a folder; give a file name");
  }
  std::string tmp = path + ".partial";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Error::Permanent("failed", "cannot write " + tmp);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Error::Permanent("failed", "cannot write " + tmp);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Error::Permanent("failed", "cannot move the file to " + path + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::string> ReadInput(const std::string& file) {
  std::string data;
  if (file == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream f(file, std::ios::binary);
  if (!f) return Error::Permanent("usage", "cannot read " + file);
  data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (static_cast<std::streamsize>(data.size()) > kMaxFile) {
    return Error::Permanent("usage", file + " is larger than 64 MiB; split it");
  }
  return data;
}

std::string KindList() {
  std::string out;
  for (auto k : records_csv::kAllKinds) {
    out += (out.empty() ? "" : ", ") + std::string(records_csv::KindName(k));
  }
  return out;
}

}  // namespace

int Report(const ApiOptions& o, const ReportCommand& c, Streams s) {
  if (c.which != "month" && c.which != "year") {
    return Fail(
        "a report is for a month or a year: `liftguard report month --period 2026-11` or "
        "`liftguard report year --period 2026`",
        kExitUsage, s);
  }
  std::string format = c.format.empty() ? (o.json ? "json" : "csv") : c.format;
  if (format != "csv" && format != "json" && format != "html") {
    return Fail("--format is csv, json or html", kExitUsage, s);
  }
  if (o.token.empty()) {
    return Fail(
        "not logged in: run `liftguard login --user NAME`, or pass --token or "
        "LIFTGUARD_TOKEN",
        kExitAuth, s);
  }
  ApiClient api(o.url, o.token);
  auto r = api.Get("/api/v1/reports/" + c.which + "?period=" + api.Escape(c.period) +
                   "&format=" + format);
  if (!r.ok()) return TransportExit(r.error(), s.err);
  if (!r->ok()) return FailureExit(*r, s.err);
  if (c.out.empty()) {
    s.out << r->raw;
    return kExitOk;
  }
  if (Status st = WriteFile(c.out, r->raw); !st) {
    return Fail(st.error().message, st.error().code == "usage" ? kExitUsage : kExitFailed, s);
  }
  s.out << "wrote the " << c.which << " report for " << Printable(c.period) << " (" << format
        << ", " << r->raw.size() << " bytes) to " << Printable(c.out) << "\n";
  return kExitOk;
}

int Import(const ImportCommand& c, bool json_out, Streams s) {
  auto kind = records_csv::KindFromName(c.kind);
  if (!kind) {
    return Fail("unknown kind \"" + c.kind + "\"; one of " + KindList(), kExitUsage, s);
  }
  auto ctx = ResolveDb(c.db, c.config);
  if (!ctx.ok()) return Fail(ctx.error().message, ctx.error().code == "usage" ? kExitUsage : 1, s);
  // The configuration gives the elevators and the site's time zone.
  records_csv::ImportContext ic;
  ic.who = "cli:" + UnixUser();
  ic.now = std::chrono::system_clock::now();
  std::string config = !c.config.empty() ? c.config : (c.db.empty() ? kDefaultConfig : "");
  if (!config.empty()) {
    auto cfg = LoadConfig(config);
    if (!cfg.ok()) return Fail(cfg.error().message, kExitFailed, s);
    ic.site_time = SiteTime::Fixed(std::chrono::minutes(cfg->site.utc_offset_min));
    std::vector<RecordsService::Elevator> cars;
    for (const auto& e : cfg->elevators) cars.push_back({e.id, e.name, e.first_use, e.contractor});
    ic.elevators = std::move(cars);
  } else if (records_csv::NamesElevators(*kind)) {
    return Fail("importing " + c.kind +
                    " needs the configuration, for the elevators and the site's time zone: give "
                    "--config FILE instead of --db",
                kExitUsage, s);
  }
  ic.dry_run = c.dry_run;
  auto text = ReadInput(c.file);
  if (!text.ok()) return Fail(text.error().message, kExitUsage, s);
  auto db = db::Database::Open(ctx->path);
  if (!db.ok()) return Fail(db.error().message, kExitFailed, s);
  auto res = records_csv::Import(**db, *kind, *text, ic);
  if (!res.ok()) {
    return Fail(res.error().message, res.error().code == "usage" ? kExitUsage : kExitFailed, s);
  }
  const std::string name = c.file == "-" ? "stdin" : c.file;
  if (!c.dry_run) {
    db::AuditEntry e;
    e.at = ic.now;
    e.who = ic.who;
    e.address = "local";
    e.method = "CLI";
    e.path = "import " + c.kind;
    e.status = res->errors.empty() ? 200 : 400;
    e.detail =
        name + ": " + std::to_string(res->lines) + " lines, " +
        (res->errors.empty() ? std::to_string(res->imported) + " imported"
                             : "nothing imported: " + std::to_string(res->errors.size()) +
                                   " bad (first: line " + std::to_string(res->errors.front().line) +
                                   ": " + res->errors.front().message + ")");
    if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && sudo[0] != '\0') {
      e.detail += " (sudo by " + std::string(sudo) + ")";
    }
    if (Status st = db::AppendAudit(**db, e); !st) {
      s.err << "liftguard: warning: could not write the audit log: " << st.error().message << "\n";
    }
  }
  for (const auto& e : res->errors) {
    s.err << Printable(name) << ":" << e.line << ": " << Printable(e.message) << "\n";
  }
  if (json_out) {
    json errors = json::array();
    for (const auto& e : res->errors) errors.push_back({{"line", e.line}, {"message", e.message}});
    s.out << json{{"kind", c.kind},       {"file", name},        {"database", ctx->path},
                  {"dry_run", c.dry_run}, {"lines", res->lines}, {"imported", res->imported},
                  {"errors", errors}}
                 .dump()
          << "\n";
  }
  if (!res->errors.empty()) {
    s.err << "liftguard: nothing imported: " << res->errors.size() << " of " << res->lines
          << " lines of " << Printable(name) << (res->errors.size() == 1 ? " is" : " are")
          << " bad; mend " << (res->errors.size() == 1 ? "it" : "them")
          << " and run the import again\n";
    return kExitFailed;
  }
  if (!json_out) {
    if (c.dry_run) {
      s.out << Printable(name) << ": all " << res->lines << " lines of " << c.kind
            << " are good; nothing written (--dry-run)\n";
    } else {
      s.out << "imported " << res->imported << " " << c.kind << " lines from " << Printable(name)
            << " into " << ctx->path << "\n";
    }
  }
  return kExitOk;
}

int Export(const ExportCommand& c, Streams s) {
  auto kind = records_csv::KindFromName(c.kind);
  if (!kind) {
    return Fail("unknown kind \"" + c.kind + "\"; one of " + KindList(), kExitUsage, s);
  }
  auto ctx = ResolveDb(c.db, c.config);
  if (!ctx.ok()) return Fail(ctx.error().message, ctx.error().code == "usage" ? kExitUsage : 1, s);
  if (!fs::exists(ctx->path)) return Fail("there is no database at " + ctx->path, kExitFailed, s);
  auto reader = db::Database::OpenReader(ctx->path);
  if (!reader.ok()) return Fail(reader.error().message, kExitFailed, s);
  auto text = records_csv::Export(**reader, *kind);
  if (!text.ok()) return Fail(text.error().message, kExitFailed, s);
  if (c.out.empty()) {
    s.out << *text;
    return kExitOk;
  }
  if (Status st = WriteFile(c.out, *text); !st) {
    return Fail(st.error().message, st.error().code == "usage" ? kExitUsage : kExitFailed, s);
  }
  s.out << "exported " << c.kind << " to " << Printable(c.out) << "\n";
  return kExitOk;
}

}  // namespace lg::cli
