#include "daemon/reports_api.h"

#include <nlohmann/json.hpp>

#include "db/database.h"

namespace lg {
namespace {

using json = nlohmann::json;
using auth::Role;

ReportReply Err(int status, const std::string& code, const std::string& message) {
  return {status, "application/json",
          json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n", "", ""};
}

}  // namespace

ReportReply HandleReport(const ReportRequest& req) {
  if (req.which != "month" && req.which != "year") {
    return Err(404, "not_found",
               "there is no report \"" + req.which +
                   "\"; use /api/v1/reports/month?period=YYYY-MM or "
                   "/api/v1/reports/year?period=YYYY");
  }
  Role r = req.user.role;
  if (r != Role::kSafetyManager && r != Role::kInspector && r != Role::kAdmin) {
    return Err(403, "forbidden",
               "the role " + std::string(auth::RoleName(r)) +
                   " may not read reports (safety_manager, inspector and admin may)");
  }
  for (const auto& [k, v] : req.query) {
    if (k != "period" && k != "format") {
      return Err(400, "unknown_parameter", "unknown parameter \"" + k + "\"; use period, format");
    }
  }
  auto p = req.query.find("period");
  if (p == req.query.end() || p->second.empty()) {
    return Err(400, "bad_parameter",
               std::string("period is required: ") +
                   (req.which == "month" ? "a month written YYYY-MM, e.g. period=2026-11"
                                         : "a year written YYYY, e.g. period=2026"));
  }
  auto period = reports::ParsePeriod(req.which, p->second);
  if (!period.ok()) return Err(400, period.error().code, period.error().message);
  std::string format = req.query.count("format") ? req.query.at("format") : "json";
  if (format != "json" && format != "csv" && format != "html") {
    return Err(400, "bad_parameter", "format must be json, csv or html; got \"" + format + "\"");
  }
  auto reader = db::Database::OpenReader(req.db_path);
  if (!reader.ok()) return Err(503, "database", reader.error().message);
  reports::Options o;
  o.site_time = req.site_time;
  o.now = req.now;
  o.elevators = req.elevators;
  auto report = reports::Compute(**reader, *period, o);
  if (!report.ok()) return Err(503, report.error().code, report.error().message);
  ReportReply out;
  if (format == "json") {
    out.content_type = "application/json";
    out.body = reports::ToJson(*report).dump() + "\n";
  } else if (format == "csv") {
    out.content_type = "text/csv; charset=utf-8";
    out.body = reports::ToCsv(*report);
    out.content_disposition = "attachment; filename=\"" + reports::FileStem(*period) + ".csv\"";
  } else {
    out.content_type = "text/html; charset=utf-8";
    out.body = reports::ToHtml(*report);
    out.csp = reports::HtmlContentSecurityPolicy();
  }
  return out;
}

}  // namespace lg
