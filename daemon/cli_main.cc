// liftguard: the command-line client (docs/cli.md). Thin: the command line,
// where passwords and the token come from, then one command of cli_api.h
// (over HTTP) or cli_db.h (on the SQLite file).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "daemon/auth.h"
#include "daemon/cli_api.h"
#include "daemon/cli_db.h"
#include "daemon/cli_http.h"
#include "daemon/cli_output.h"
#include "daemon/cli_password.h"
#include "daemon/cli_records.h"
#include "daemon/cli_session.h"

namespace {

using namespace lg::cli;

struct DbFlags {
  std::string db;
  std::string config;
};

void AddDbFlags(CLI::App* sub, DbFlags& f) {
  sub->add_option("--db", f.db, "the daemon's SQLite file");
  sub->add_option("--config", f.config,
                  "the daemon's configuration; its [daemon].database is used (default "
                  "/etc/liftguard/liftguard.toml)");
}

// A new password: stdin's first line, or asked twice on the terminal.
PasswordSource NewPassword(const std::string& user, const bool& from_stdin) {
  return [&user, &from_stdin]() -> lg::Result<std::string> {
    if (from_stdin) return ReadPasswordLine();
    auto first = PromptPassword("New password for " + user + " (at least " +
                                std::to_string(lg::auth::kMinPasswordLength) + " characters): ");
    if (!first.ok()) return first;
    if (first->size() < lg::auth::kMinPasswordLength) {
      return lg::Error::Permanent("usage", "a password needs at least " +
                                               std::to_string(lg::auth::kMinPasswordLength) +
                                               " characters");
    }
    auto again = PromptPassword("The same again: ");
    if (!again.ok()) return again;
    if (*again != *first) return lg::Error::Permanent("usage", "the two passwords differ");
    return first;
  };
}

}  // namespace

int main(int argc, char** argv) {
  // Database::Open logs migrations; keep stdout for the command's output.
  auto logger = spdlog::stderr_color_st("liftguard");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);

  CLI::App app{"liftguard: the Liftguard command line (docs/cli.md)", "liftguard"};
  app.fallthrough();  // global options may come after the command too
  app.require_subcommand(1);

  ApiOptions api;
  api.url = "http://127.0.0.1:8080";
  std::string token_flag;
  app.add_option("--url", api.url,
                 "the daemon's API (default $LIFTGUARD_URL, else " + api.url + ")")
      ->envname("LIFTGUARD_URL");
  app.add_option("--token", token_flag,
                 "an API token (default $LIFTGUARD_TOKEN, else the saved "
                 "login)")
      ->envname("LIFTGUARD_TOKEN");
  app.add_flag("--json", api.json, "print JSON (the API's answer) instead of a table");

  std::string user;
  bool password_stdin = false;
  auto* login = app.add_subcommand("login", "log in and save the token for later commands");
  login->add_option("--user", user, "username")->required();
  login->add_flag("--password-stdin", password_stdin,
                  "read the password from stdin's first line (else $LIFTGUARD_PASSWORD, else "
                  "ask)");
  auto* logout = app.add_subcommand("logout", "forget the saved token");

  auto* status = app.add_subcommand("status", "every car: floor, direction, door, mode, alarms");

  bool all = false;
  std::string elevator;
  auto* alarms = app.add_subcommand("alarms", "active alarms (or all with --all)");
  alarms->add_flag("--all", all, "closed ones too");
  alarms->add_option("--elevator", elevator, "one car's alarms");

  int64_t id = 0;
  std::optional<std::string> note;
  auto* ack = app.add_subcommand("ack", "acknowledge an alarm");
  ack->add_option("ALARM_ID", id, "the alarm's id (see `liftguard alarms`)")
      ->required()
      ->check(CLI::PositiveNumber);
  ack->add_option("--note", note, "what was done");

  auto* incident = app.add_subcommand("incident", "rescue incidents");
  incident->require_subcommand(1);
  auto* inc_list = incident->add_subcommand("list", "open incidents (or all with --all)");
  inc_list->add_flag("--all", all, "ended ones too");
  auto* inc_open = incident->add_subcommand("open", "open an incident by hand");
  inc_open->add_option("ELEVATOR", elevator, "the car's id")->required();
  inc_open->add_option("--note", note, "what happened");
  StepRequest step;
  auto* inc_step = incident->add_subcommand("step", "record the next step of an incident");
  inc_step->add_option("ID", step.incident, "the incident's id")
      ->required()
      ->check(CLI::PositiveNumber);
  inc_step
      ->add_option("STEP", step.step,
                   "acknowledged, accepted, on_site, released, closed or false_alarm")
      ->required();
  inc_step->add_option("--note", step.note, "a note");
  inc_step->add_option("--eta", step.eta_min, "accepted: minutes until on site")
      ->check(CLI::Range(1, 240));
  inc_step->add_option("--cause", step.cause, "closed: what caused it");

  DbFlags dbf;
  std::string role, contractor;
  auto* users = app.add_subcommand("user", "manage API users (on the database file)");
  users->require_subcommand(1);
  auto* u_add = users->add_subcommand("add", "add a user");
  u_add->add_option("NAME", user, "username")->required();
  u_add->add_option("--role", role, "operator, safety_manager, contractor, inspector or admin")
      ->required();
  u_add->add_option("--contractor", contractor, "contractor users: the [[contractor]] id");
  u_add->add_flag("--password-stdin", password_stdin, "read the password from stdin's first line");
  AddDbFlags(u_add, dbf);
  auto* u_passwd = users->add_subcommand("passwd", "set a user's password (ends their sessions)");
  u_passwd->add_option("NAME", user, "username")->required();
  u_passwd->add_flag("--password-stdin", password_stdin,
                     "read the password from stdin's first line");
  AddDbFlags(u_passwd, dbf);
  auto* u_disable = users->add_subcommand("disable", "refuse a user's logins, end their sessions");
  u_disable->add_option("NAME", user, "username")->required();
  AddDbFlags(u_disable, dbf);
  auto* u_list = users->add_subcommand("list", "list the users");
  AddDbFlags(u_list, dbf);

  std::string dest;
  auto* dbcmd = app.add_subcommand("db", "the database file");
  dbcmd->require_subcommand(1);
  auto* backup = dbcmd->add_subcommand("backup", "copy the database safely, also while it is used");
  backup->add_option("DEST", dest, "the backup file to write")->required();
  AddDbFlags(backup, dbf);

  int audit_limit = 50;
  auto* audit = app.add_subcommand("audit", "the audit log (on the database file)");
  audit->require_subcommand(1);
  auto* a_verify = audit->add_subcommand(
      "verify",
      "check the audit log's hash chain; names the first changed, deleted, inserted "
      "or reordered row");
  AddDbFlags(a_verify, dbf);
  auto* a_list = audit->add_subcommand("list", "the newest audit rows");
  a_list->add_option("--limit", audit_limit, "how many rows (default 50)")
      ->check(CLI::Range(1, 10000));
  AddDbFlags(a_list, dbf);

  ReportCommand report_cmd;
  auto* report =
      app.add_subcommand("report", "a monthly or yearly safety report (docs/reports.md)");
  report->add_option("PERIOD_KIND", report_cmd.which, "month or year")
      ->required()
      ->check(CLI::IsMember({"month", "year"}));
  report->add_option("--period", report_cmd.period, "the month (YYYY-MM) or year (YYYY)")
      ->required();
  report->add_option("--format", report_cmd.format, "csv (default), json or html")
      ->check(CLI::IsMember({"csv", "json", "html"}));
  report->add_option("--out", report_cmd.out, "write it to this file instead of stdout");

  ImportCommand import_cmd;
  auto* import = app.add_subcommand(
      "import", "import records from a CSV file, all lines or none (on the database file)");
  import
      ->add_option("KIND", import_cmd.kind,
                   "contractors, assignments, people, certificates, elevator-certificates, "
                   "maintenance or inspections")
      ->required();
  import->add_option("FILE", import_cmd.file, "the CSV file (UTF-8); - for stdin")->required();
  import->add_flag("--dry-run", import_cmd.dry_run, "check every line, write nothing");
  import->add_option("--db", import_cmd.db, "the daemon's SQLite file");
  import->add_option("--config", import_cmd.config,
                     "the daemon's configuration (default /etc/liftguard/liftguard.toml): its "
                     "database, elevators and time zone");

  ExportCommand export_cmd;
  auto* export_ = app.add_subcommand("export", "write records as CSV that import takes back");
  export_->add_option("KIND", export_cmd.kind, "as for import")->required();
  export_->add_option("--out", export_cmd.out, "write it to this file instead of stdout");
  export_->add_option("--db", export_cmd.db, "the daemon's SQLite file");
  export_->add_option("--config", export_cmd.config,
                      "the daemon's configuration; its [daemon].database is used");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  Streams s{std::cout, std::cerr};
  auto done = [](int rc) {
    std::cout.flush();
    return rc;
  };

  if (import->parsed()) return done(Import(import_cmd, api.json, s));
  if (export_->parsed()) return done(Export(export_cmd, s));

  // Database commands.
  if (users->parsed() || dbcmd->parsed() || audit->parsed()) {
    auto ctx = ResolveDb(dbf.db, dbf.config);
    if (!ctx.ok()) {
      std::cerr << "liftguard: " << ctx.error().message << "\n";
      return ctx.error().code == "usage" ? kExitUsage : kExitFailed;
    }
    if (u_add->parsed()) {
      return done(
          UserAdd(*ctx, user, role, contractor, NewPassword(user, password_stdin), api.json, s));
    }
    if (u_passwd->parsed()) {
      return done(UserPasswd(*ctx, user, NewPassword(user, password_stdin), api.json, s));
    }
    if (u_disable->parsed()) return done(UserDisable(*ctx, user, api.json, s));
    if (u_list->parsed()) return done(UserList(*ctx, api.json, s));
    if (backup->parsed()) return done(Backup(*ctx, dest, api.json, s));
    if (a_verify->parsed()) return done(AuditVerify(*ctx, api.json, s));
    if (a_list->parsed()) return done(AuditList(*ctx, audit_limit, api.json, s));
    return kExitUsage;
  }

  if (logout->parsed()) {
    auto removed = RemoveToken();
    if (!removed.ok()) {
      std::cerr << "liftguard: " << removed.error().message << "\n";
      return kExitFailed;
    }
    std::cout << (*removed ? "logged out (the saved token is deleted)" : "not logged in") << "\n";
    return kExitOk;
  }

  CurlGlobal curl;
  if (login->parsed()) {
    lg::Result<std::string> pw = std::string();
    const char* env = std::getenv("LIFTGUARD_PASSWORD");
    if (password_stdin) {
      pw = ReadPasswordLine();
    } else if (env != nullptr && env[0] != '\0') {
      pw = std::string(env);
    } else {
      pw = PromptPassword("Password for " + user + ": ");
    }
    if (!pw.ok()) {
      std::cerr << "liftguard: " << pw.error().message << "\n";
      return kExitUsage;
    }
    return done(Login(api, user, *pw, s));
  }

  api.token = token_flag;
  if (api.token.empty()) {
    auto saved = LoadToken();
    if (!saved.ok()) {
      std::cerr << "liftguard: " << saved.error().message << "\n";
      return kExitUsage;
    }
    api.token = *saved;
  }
  if (status->parsed()) return done(ShowStatus(api, s));
  if (alarms->parsed()) return done(ListAlarms(api, all, elevator, s));
  if (ack->parsed()) return done(AckAlarm(api, id, note, s));
  if (inc_list->parsed()) return done(ListIncidents(api, all, s));
  if (inc_open->parsed()) return done(OpenIncident(api, elevator, note, s));
  if (inc_step->parsed()) return done(RecordStep(api, step, s));
  if (report->parsed()) return done(Report(api, report_cmd, s));
  return kExitUsage;
}
