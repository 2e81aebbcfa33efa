// ReportsApi: GET /api/v1/reports/{month|year}?period=P&format=json|csv|html
// (shared/spec/api.md; user docs docs/reports.md), kept apart from
// http_server.cc and Beast like records_api.h: the server authenticates the
// user and hands over a plain request, then sends the reply as given.
//
// Roles: safety_manager, inspector and admin; others get 403. `period` is
// required (400 naming it when missing or malformed); `format` defaults to
// json; any other parameter is a 400. The reply carries its Content-Type,
// and for csv a Content-Disposition naming the file; an html reply carries
// the Content-Security-Policy that allows exactly its own <style> element
// (reports::HtmlContentSecurityPolicy).
//
// Thread-safety: HandleReport may run on several threads at once; each call
// opens its own read-only connection.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "daemon/auth.h"
#include "daemon/reports.h"
#include "daemon/site_time.h"

namespace lg {

struct ReportRequest {
  std::string which;  // the path segment after /api/v1/reports/: "month" or "year"
  std::map<std::string, std::string> query;
  auth::User user;
  std::string db_path;
  SiteTime site_time;
  WallTime now{};
  std::vector<reports::Elevator> elevators;  // configured, in order
};

struct ReportReply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string content_disposition;  // "" = none
  std::string csp;                  // "" = the server's default
};

ReportReply HandleReport(const ReportRequest& req);

}  // namespace lg
