#include "daemon/cli_http.h"

#include <curl/curl.h>

#include "daemon/cli_output.h"

namespace lg::cli {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// The API's answers are small; anything bigger is not the daemon talking.
constexpr size_t kMaxAnswer = 256 * 1024 * 1024;

}  // namespace

CurlGlobal::CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
CurlGlobal::~CurlGlobal() { curl_global_cleanup(); }

ApiClient::ApiClient(std::string base_url, std::string token)
    : base_(std::move(base_url)), token_(std::move(token)), curl_(curl_easy_init()) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

ApiClient::~ApiClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

std::string ApiClient::Escape(const std::string& text) {
  char* e = curl_easy_escape(static_cast<CURL*>(curl_), text.data(), static_cast<int>(text.size()));
  std::string out = e != nullptr ? e : "";
  curl_free(e);
  return out;
}

Result<ApiReply> ApiClient::Get(const std::string& target) { return Send(target, std::nullopt); }

Result<ApiReply> ApiClient::Post(const std::string& target, const nlohmann::json& body) {
  return Send(target, body.dump());
}

Result<ApiReply> ApiClient::Send(const std::string& target,
                                 const std::optional<std::string>& body) {
  auto* c = static_cast<CURL*>(curl_);
  if (c == nullptr) return Error::Permanent("connect", "cannot start an HTTP client (libcurl)");
  curl_easy_reset(c);
  std::string url = base_ + target;
  std::string answer;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  std::string auth;
  if (!token_.empty()) {
    auth = "Authorization: Bearer " + token_;
    headers = curl_slist_append(headers, auth.c_str());
  }
  if (body) headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxAnswer));
  // Only the daemon (or its TLS proxy) is spoken to; a redirect elsewhere
  // would carry the token along.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "liftguard-cli");
  if (body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return Error::Permanent("usage", "cannot use the URL " + base_ + ": " + why);
    }
    return Error::Transient("connect", "cannot reach liftguardd at " + base_ + ": " + why +
                                           " (is it running? set --url or LIFTGUARD_URL)");
  }
  ApiReply reply;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  reply.raw = std::move(answer);
  reply.body = nlohmann::json::parse(reply.raw, nullptr, /*allow_exceptions=*/false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

int FailureExit(const ApiReply& reply, std::ostream& err) {
  std::string message;
  const auto& b = reply.body;
  if (b.is_object() && b.contains("error") && b["error"].is_object() &&
      b["error"].contains("message") && b["error"]["message"].is_string()) {
    message = b["error"]["message"].get<std::string>();
  } else if (reply.ok()) {
    message = "the daemon's answer is not the JSON this command expects";
  } else {
    message = "HTTP " + std::to_string(reply.status) + " from the server";
  }
  err << "liftguard: " << Printable(message) << "\n";
  if (reply.status == 401) {
    err << "liftguard: log in with `liftguard login --user NAME` (or pass --token)\n";
  }
  return reply.status == 401 || reply.status == 403 ? kExitAuth : kExitApi;
}

int TransportExit(const Error& error, std::ostream& err) {
  err << "liftguard: " << error.message << "\n";
  return error.code == "usage" ? kExitUsage : kExitConnect;
}

}  // namespace lg::cli
