// ApiClient: the CLI's HTTP client for the daemon's API (docs/api.md), on
// libcurl. One blocking request at a time; JSON in and out.
//
// Send() fails (an Error) only when no HTTP answer came: code "connect"
// (refused, unresolvable, timed out, connection dropped) or "usage" (a URL
// curl cannot use). Any HTTP answer, 4xx and 5xx included, is an ApiReply;
// FailureExit turns a bad one into the exit code and message docs/cli.md
// promises.
//
// Ownership: owns its curl handle. Thread-safety: one thread at a time.
// curl_global_init must have run (CurlGlobal in main) before the first one
// is made.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "core/result.h"

namespace lg::cli {

// curl_global_init / curl_global_cleanup for the life of main.
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
};

struct ApiReply {
  long status = 0;
  nlohmann::json body;  // null if the answer was not JSON
  std::string raw;
  bool ok() const { return status >= 200 && status < 300; }
};

class ApiClient {
 public:
  // `base_url` like "http://127.0.0.1:8080" (a trailing "/" is dropped);
  // `token` may be empty (then no Authorization header is sent).
  ApiClient(std::string base_url, std::string token);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const std::string& base_url() const { return base_; }

  // `target` is the path and query, e.g. "/api/v1/alarms?state=all".
  Result<ApiReply> Get(const std::string& target);
  Result<ApiReply> Post(const std::string& target, const nlohmann::json& body);

  // `text` escaped for a path segment or query value.
  std::string Escape(const std::string& text);

 private:
  Result<ApiReply> Send(const std::string& target, const std::optional<std::string>& body);

  std::string base_;
  std::string token_;
  void* curl_;  // CURL*
};

// For an answer that is not 2xx: prints "liftguard: MESSAGE" (the API's
// error message, or the HTTP status when the answer is not the API's error
// shape) on `err` and returns kExitAuth for 401/403, else kExitApi.
int FailureExit(const ApiReply& reply, std::ostream& err);

// For a transport error from Send: prints it and returns kExitConnect or
// kExitUsage.
int TransportExit(const Error& error, std::ostream& err);

}  // namespace lg::cli
