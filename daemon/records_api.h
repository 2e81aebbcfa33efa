// RecordsApi: the records calls of the HTTP API (shared/spec/api.md
// "Records"; user docs docs/records.md): maintenance (with due, confirm,
// amend, edit and delete), inspections and their plan, rectification
// tasks, certificates and drills. JSON in and out; a body field that is
// unknown, missing or of the wrong type is a 400 naming it.
//
// Kept apart from http_server.cc (and from Beast): the server has
// authenticated the user and hands over a plain request; it sends the reply
// and writes the audit row (every call but a GET is audited, with `detail`).
//
// Thread-safety: HandleRecords may run on several threads at once (the
// service is thread-safe).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "daemon/auth.h"
#include "daemon/records_service.h"

namespace lg {

struct RecordsRequest {
  std::string method;  // "GET", "POST", "PUT", "DELETE", ...
  std::string path;    // decoded, without the query
  std::map<std::string, std::string> query;
  std::string body;
  auth::User user;
};

struct RecordsReply {
  int status = 200;
  std::string body;    // JSON text
  std::string allow;   // with 405: the methods allowed
  std::string detail;  // for the audit log: what was asked and what came of it
};

// Whether `path` is one of the calls above.
bool IsRecordsPath(std::string_view path);

// `records` may be null (the records are not running: 503).
RecordsReply HandleRecords(RecordsService* records, const RecordsRequest& req);

}  // namespace lg
