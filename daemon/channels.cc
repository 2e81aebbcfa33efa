#include "daemon/channels.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "db/database.h"

namespace lg {
namespace {

using json = nlohmann::json;
using Steady = std::chrono::steady_clock;

// Invalid UTF-8 in configured names must not stop a message: it is
// replaced, never thrown about.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Text(const db::OutboxMessage& m) { return m.text.empty() ? m.subject : m.text; }
std::string Markdown(const db::OutboxMessage& m) {
  return m.markdown.empty() ? Text(m) : m.markdown;
}

Error Timeout(std::string what) { return Error::Transient("timeout", std::move(what)); }
Error Unreachable(std::string what) { return Error::Transient("unreachable", std::move(what)); }
Error ServerError(std::string what) { return Error::Transient("server", std::move(what)); }
Error Refused(std::string what) { return Error::Permanent("refused", std::move(what)); }
Error Rejected(std::string what) { return Error::Permanent("rejected", std::move(what)); }
Error BadMessage(std::string what) { return Error::Permanent("bad_message", std::move(what)); }

// ---------------------------------------------------------------------------
// libcurl

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlHandle {
  CURL* h = nullptr;
  CurlHandle() {
    InitCurl();
    h = curl_easy_init();
  }
  ~CurlHandle() {
    if (h) curl_easy_cleanup(h);
  }
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
};

struct SList {
  curl_slist* l = nullptr;
  void Add(const std::string& s) { l = curl_slist_append(l, s.c_str()); }
  ~SList() { curl_slist_free_all(l); }
};

constexpr size_t kMaxReply = 64 * 1024;

size_t CollectReply(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t len = size * n;
  if (out->size() < kMaxReply) out->append(data, std::min(len, kMaxReply - out->size()));
  return len;
}

// A curl failure as one of our errors: what passes (the network, the
// server) is recoverable; a URL curl cannot use is not.
Error CurlError(CURLcode rc, const char* errbuf, const std::string& where) {
  std::string what = where + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return Timeout(what);
    case CURLE_URL_MALFORMAT:
    case CURLE_LOGIN_DENIED:
      return Refused(what);
    case CURLE_UNSUPPORTED_PROTOCOL:  // also what a garbled answer gives ("HTTP/0.9")
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_GOT_NOTHING:
      return ServerError(what);
    default:
      return Unreachable(what);
  }
}

void CommonOptions(CURL* h, const ChannelOptions& o, char* errbuf) {
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  errbuf[0] = 0;
}

struct HttpReply {
  long status = 0;
  std::string body;
};

// `shown` is the URL as errors name it.
Result<HttpReply> HttpPost(CURL* h, const std::string& url, const std::string& shown,
                           const std::string& body, const std::string& content_type,
                           const std::string& key, const ChannelOptions& o) {
  curl_easy_reset(h);
  char errbuf[CURL_ERROR_SIZE];
  CommonOptions(h, o, errbuf);
  SList headers;
  headers.Add("Content-Type: " + content_type);
  headers.Add("Idempotency-Key: " + channel_format::WireKey(key));
  headers.Add("Expect:");  // no 100-continue round trip
  HttpReply reply;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.l);
  curl_easy_setopt(h, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, CollectReply);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // curl's own text may quote the URL, secret key and all.
    std::string text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (shown != url) {
      for (size_t at = text.find(url); at != std::string::npos; at = text.find(url)) {
        text.replace(at, url.size(), shown);
      }
    }
    std::strncpy(errbuf, text.c_str(), CURL_ERROR_SIZE - 1);
    errbuf[CURL_ERROR_SIZE - 1] = 0;
    return CurlError(rc, errbuf, "POST " + shown);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

std::string Snippet(const std::string& body) {
  std::string s = body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// HTTP status to Status: 2xx accepted; 408, 425, 429 and 5xx may pass;
// every other answer will not change by asking again.
Status FromHttpStatus(const HttpReply& r, const std::string& url) {
  if (r.status >= 200 && r.status < 300) return Status::Ok();
  std::string what = "POST " + url + ": HTTP " + std::to_string(r.status);
  if (!r.body.empty()) what += ": " + Snippet(r.body);
  if (r.status >= 500 || r.status == 408 || r.status == 425 || r.status == 429) {
    return ServerError(what);
  }
  return Refused(what);
}

// WeCom and DingTalk answer 200 with {"errcode": N, "errmsg": ...}; N != 0
// is a refusal. Their rate limits and "busy" pass; the rest (a bad key, a
// keyword or signature the robot wants) is the channel's configuration.
Status FromRobotReply(const HttpReply& r, const std::string& url) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errcode") ||
      !j["errcode"].is_number_integer()) {
    return Status::Ok();
  }
  long code = j["errcode"].get<long>();
  if (code == 0) return Status::Ok();
  std::string msg = j.contains("errmsg") && j["errmsg"].is_string() ? j["errmsg"].get<std::string>()
                                                                    : std::string();
  std::string what = "POST " + url + ": robot errcode " + std::to_string(code) + " " + msg;
  static const std::set<long> kPassing = {-1, 45009, 45033, 130101};
  return kPassing.count(code) ? ServerError(what) : Refused(what);
}

// The URL without its query: robot URLs carry their secret key there, and
// errors end up in logs and in the outbox.
std::string Redact(const std::string& url) {
  size_t q = url.find('?');
  return q == std::string::npos ? url : url.substr(0, q) + "?...";
}

class WebhookChannel final : public Channel {
 public:
  WebhookChannel(const ChannelConfig& c, const ChannelOptions& o)
      : Channel(c.id), url_(c.url), format_(c.format), options_(o) {}
  std::string_view kind() const override { return "webhook"; }

  Status Deliver(const db::OutboxMessage& m) override {
    std::string body;
    switch (format_) {
      case ChannelConfig::Format::kGeneric:
        body = channel_format::Envelope(m);
        break;
      case ChannelConfig::Format::kWecom:
        body = channel_format::WecomBody(m);
        break;
      case ChannelConfig::Format::kDingtalk:
        body = channel_format::DingtalkBody(m);
        break;
    }
    std::string shown = Redact(url_);
    Result<HttpReply> r =
        HttpPost(curl_.h, url_, shown, body, "application/json; charset=utf-8", m.key, options_);
    if (!r) return r.error();
    if (Status st = FromHttpStatus(*r, shown); !st) return st;
    if (format_ != ChannelConfig::Format::kGeneric) return FromRobotReply(*r, shown);
    return Status::Ok();
  }

 private:
  std::string url_;
  ChannelConfig::Format format_;
  ChannelOptions options_;
  CurlHandle curl_;
};

class SmsChannel final : public Channel {
 public:
  SmsChannel(const ChannelConfig& c, const ChannelOptions& o)
      : Channel(c.id), url_(c.url), template_(c.body_template), options_(o) {
    size_t first = template_.find_first_not_of(" \t\r\n");
    json_ = first != std::string::npos && (template_[first] == '{' || template_[first] == '[');
  }
  std::string_view kind() const override { return "sms"; }
  bool needs_target() const override { return true; }

  Status Deliver(const db::OutboxMessage& m) override {
    if (m.target.empty()) return BadMessage("an sms message needs a phone number");
    std::string body = channel_format::FillSmsTemplate(template_, m);
    std::string shown = Redact(url_);
    Result<HttpReply> r = HttpPost(
        curl_.h, url_, shown, body,
        json_ ? "application/json; charset=utf-8" : "text/plain; charset=utf-8", m.key, options_);
    if (!r) return r.error();
    return FromHttpStatus(*r, shown);
  }

 private:
  std::string url_;
  std::string template_;
  bool json_ = false;
  ChannelOptions options_;
  CurlHandle curl_;
};

// ---------------------------------------------------------------------------
// E-mail

struct ReadState {
  const std::string* data;
  size_t pos = 0;
};

size_t FeedMessage(char* buf, size_t size, size_t n, void* user) {
  auto* s = static_cast<ReadState*>(user);
  size_t len = std::min(size * n, s->data->size() - s->pos);
  std::memcpy(buf, s->data->data() + s->pos, len);
  s->pos += len;
  return len;
}

class EmailChannel final : public Channel {
 public:
  EmailChannel(std::string id, std::string url, const SmtpConfig& smtp, const ChannelOptions& o)
      : Channel(std::move(id)), url_(std::move(url)), smtp_(smtp), options_(o) {
    if (smtp_.from.empty()) smtp_.from = "liftguard@localhost";
  }
  std::string_view kind() const override { return "email"; }
  bool needs_target() const override { return true; }

  Status Deliver(const db::OutboxMessage& m) override {
    if (m.target.empty()) return BadMessage("an e-mail message needs an address");
    if (m.target.find_first_of("<>\r\n ") != std::string::npos) {
      return BadMessage("'" + m.target + "' is not an e-mail address");
    }
    std::string data =
        channel_format::EmailMessage(m, smtp_.from, std::chrono::system_clock::now());
    CURL* h = curl_.h;
    curl_easy_reset(h);
    char errbuf[CURL_ERROR_SIZE];
    CommonOptions(h, options_, errbuf);
    SList rcpt;
    rcpt.Add("<" + m.target + ">");
    std::string from = "<" + smtp_.from + ">";
    ReadState state{&data};
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.l);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, FeedMessage);
    curl_easy_setopt(h, CURLOPT_READDATA, &state);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    if (!smtp_.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, smtp_.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, smtp_.password.c_str());
    }
    // smtps:// is TLS from the start; on smtp:// use STARTTLS when offered.
    if (url_.rfind("smtp://", 0) == 0) curl_easy_setopt(h, CURLOPT_USE_SSL, CURLUSESSL_TRY);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) return Status::Ok();
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    std::string where = "SMTP " + url_ + " to " + m.target;
    std::string what = where + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (code > 0) what += " (reply " + std::to_string(code) + ")";
    if (rc == CURLE_OPERATION_TIMEDOUT) return Timeout(what);
    if (rc == CURLE_LOGIN_DENIED || code == 530 || code == 535 || code == 534) return Refused(what);
    if (code >= 400 && code < 500) return ServerError(what);
    // A 5xx after the server answered: the server refuses this sender,
    // recipient or message, and says it will keep doing so.
    if (code >= 500 && code < 600) return Rejected(what);
    if (rc == CURLE_URL_MALFORMAT) return Refused(what);
    return Unreachable(what);
  }

 private:
  std::string url_;
  SmtpConfig smtp_;
  ChannelOptions options_;
  CurlHandle curl_;
};

// ---------------------------------------------------------------------------
// MQTT

void InitMosquitto() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

struct BrokerUrl {
  bool tls = false;
  std::string host;
  int port = 1883;
  std::string username;
  std::string password;
};

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<BrokerUrl> ParseBrokerUrl(const std::string& url) {
  BrokerUrl b;
  std::string_view rest = url;
  if (rest.rfind("mqtt://", 0) == 0) {
    rest.remove_prefix(7);
  } else if (rest.rfind("mqtts://", 0) == 0) {
    rest.remove_prefix(8);
    b.tls = true;
    b.port = 8883;
  } else {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view user = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    size_t colon = user.find(':');
    b.username = PercentDecode(user.substr(0, colon));
    if (colon != std::string_view::npos) b.password = PercentDecode(user.substr(colon + 1));
  }
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    b.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && rest[0] == ':') port = rest.substr(1);
  } else {
    size_t colon = rest.find(':');
    b.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (!port.empty()) {
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + (c - '0');
      if (p > 65535) return std::nullopt;
    }
    if (p == 0) return std::nullopt;
    b.port = p;
  }
  if (b.host.empty()) return std::nullopt;
  return b;
}

// libmosquitto's connect blocks in the kernel for as long as TCP tries
// (minutes for a host that is off). A connect of our own with a timeout
// first finds a broker that is not there quickly.
Status ProbeTcp(const std::string& host, int port, Millis timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) return Unreachable("cannot resolve " + host + ": " + gai_strerror(gai));
  Status out = Unreachable("connect to " + host + ":" + std::to_string(port) + ": no address");
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (n == 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    ::close(fd);
    if (err == 0) {
      out = Status::Ok();
      break;
    }
    std::string what = "connect to " + host + ":" + std::to_string(port) + ": " + strerror(err);
    out = err == ETIMEDOUT ? Status(Timeout(what)) : Status(Unreachable(what));
  }
  ::freeaddrinfo(res);
  return out;
}

class MqttChannel final : public Channel {
 public:
  MqttChannel(std::string id, std::string url, const ChannelOptions& o)
      : Channel(std::move(id)), url_(std::move(url)), options_(o) {
    InitMosquitto();
    broker_ = ParseBrokerUrl(url_);
  }
  ~MqttChannel() override { Reset(); }
  std::string_view kind() const override { return "mqtt"; }
  bool needs_target() const override { return true; }

  Status Deliver(const db::OutboxMessage& m) override {
    if (m.target.empty()) return BadMessage("an MQTT message needs a topic");
    if (!broker_) return Refused("'" + url_ + "' is not an MQTT broker URL");
    auto deadline = Steady::now() + options_.timeout;
    std::string payload = channel_format::Envelope(m);
    // A connection that went stale while idle fails at publish, before
    // anything was sent: one fresh connection is worth trying at once.
    for (int round = 0; round < 2; ++round) {
      if (!connected_) {
        if (Status st = Connect(deadline); !st) return st;
      }
      int mid = 0;
      acked_ = -1;
      int rc = mosquitto_publish(mosq_, &mid, m.target.c_str(), static_cast<int>(payload.size()),
                                 payload.data(), 1, m.retain);
      if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
        Reset();
        if (round == 0) continue;
        return Unreachable(Where() + ": " + mosquitto_strerror(rc));
      }
      if (rc != MOSQ_ERR_SUCCESS) {
        // Topic or payload the broker would never take.
        return BadMessage(Where() + ": cannot publish to '" + m.target +
                          "': " + mosquitto_strerror(rc));
      }
      while (acked_ != mid) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Steady::now()).count();
        if (left <= 0) {
          Reset();
          return Timeout(Where() + ": no PUBACK within " +
                         std::to_string(options_.timeout.count()) + " ms");
        }
        rc = mosquitto_loop(mosq_, static_cast<int>(std::min<long long>(left, 1000)), 1);
        if (rc != MOSQ_ERR_SUCCESS) {
          Reset();
          return Unreachable(Where() +
                             ": connection lost before PUBACK: " + mosquitto_strerror(rc));
        }
      }
      return Status::Ok();
    }
    return Unreachable(Where() + ": not connected");
  }

  void Idle() override {
    if (!connected_) return;
    // Services pings; a broker that has gone is found here rather than at
    // the next publish.
    if (mosquitto_loop(mosq_, 0, 1) != MOSQ_ERR_SUCCESS) Reset();
  }

 private:
  static constexpr int kKeepaliveS = 30;

  std::string Where() const {
    return "MQTT " + (broker_ ? broker_->host + ":" + std::to_string(broker_->port) : url_);
  }

  Status Connect(Steady::time_point deadline) {
    Reset();
    if (Status st = ProbeTcp(broker_->host, broker_->port, options_.connect_timeout); !st) {
      return Error{st.error().code, "MQTT " + st.error().message, true};
    }
    std::string client_id = "liftguard-" + id() + "-" + std::to_string(::getpid());
    client_id.erase(std::remove_if(client_id.begin(), client_id.end(),
                                   [](char c) { return c == '[' || c == ']'; }),
                    client_id.end());
    mosq_ = mosquitto_new(client_id.c_str(), true, this);
    if (!mosq_) return Unreachable(Where() + ": cannot create a client");
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_connect_callback_set(mosq_, [](mosquitto*, void* self, int rc) {
      static_cast<MqttChannel*>(self)->connack_ = rc;
    });
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int mid) {
      static_cast<MqttChannel*>(self)->acked_ = mid;
    });
    if (!broker_->username.empty()) {
      mosquitto_username_pw_set(mosq_, broker_->username.c_str(),
                                broker_->password.empty() ? nullptr : broker_->password.c_str());
    }
    if (broker_->tls) {
      int rc = mosquitto_tls_set(mosq_, nullptr, "/etc/ssl/certs", nullptr, nullptr, nullptr);
      if (rc != MOSQ_ERR_SUCCESS) {
        Reset();
        return Refused(Where() + ": TLS set-up failed: " + mosquitto_strerror(rc));
      }
    }
    connack_ = -1;
    int rc = mosquitto_connect(mosq_, broker_->host.c_str(), broker_->port, kKeepaliveS);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::string why = rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
      Reset();
      return Unreachable(Where() + ": " + why);
    }
    while (connack_ < 0) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Steady::now()).count();
      if (left <= 0) {
        Reset();
        return Timeout(Where() + ": no CONNACK");
      }
      rc = mosquitto_loop(mosq_, static_cast<int>(std::min<long long>(left, 1000)), 1);
      if (rc != MOSQ_ERR_SUCCESS && connack_ < 0) {
        Reset();
        return Unreachable(Where() + ": connection lost before CONNACK: " + mosquitto_strerror(rc));
      }
    }
    if (connack_ != 0) {
      int code = connack_;
      Reset();
      std::string what = Where() + ": " + mosquitto_connack_string(code);
      // 3: server unavailable passes; bad protocol, client id, login do not.
      return code == 3 ? Status(ServerError(what)) : Status(Refused(what));
    }
    connected_ = true;
    return Status::Ok();
  }

  void Reset() {
    if (mosq_) {
      if (connected_) mosquitto_disconnect(mosq_);
      mosquitto_destroy(mosq_);
      mosq_ = nullptr;
    }
    connected_ = false;
  }

  std::string url_;
  ChannelOptions options_;
  std::optional<BrokerUrl> broker_;
  mosquitto* mosq_ = nullptr;
  bool connected_ = false;
  int connack_ = -1;
  int acked_ = -1;
};

class FunctionChannel final : public Channel {
 public:
  FunctionChannel(std::string id, std::function<Status(const db::OutboxMessage&)> f)
      : Channel(std::move(id)), f_(std::move(f)) {}
  std::string_view kind() const override { return "function"; }
  Status Deliver(const db::OutboxMessage& m) override { return f_(m); }

 private:
  std::function<Status(const db::OutboxMessage&)> f_;
};

// ---------------------------------------------------------------------------
// Formats

void AppendBase64(std::string& out, std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint8_t>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

bool PlainAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// A header value: no line breaks can be smuggled in from configured names.
std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return out;
}

std::string RfcDate(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string Hex128(std::string_view s) {
  // FNV-1a, 128-bit: offset basis and prime from the FNV specification.
  unsigned __int128 h =
      (static_cast<unsigned __int128>(0x6c62272e07bb0142ULL) << 64) | 0x62b821756295c58dULL;
  const unsigned __int128 prime = (static_cast<unsigned __int128>(1) << 88) | 0x13b;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= prime;
  }
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h >> 64),
                static_cast<unsigned long long>(h));
  return buf;
}

std::string FirstAddress(const Config& config, ContactRoute::Kind kind) {
  for (const ContactConfig& c : config.contacts) {
    for (const ContactRoute& r : c.routes) {
      if (r.kind == kind) return r.address;
    }
  }
  return "";
}

const ChannelConfig* FirstChannel(const Config& config, ChannelConfig::Kind kind) {
  for (const ChannelConfig& c : config.channels) {
    if (c.kind == kind) return &c;
  }
  return nullptr;
}

std::string TestTopic(const Config& config) {
  return (config.mqtt ? config.mqtt->topic_prefix : std::string("liftguard")) + "/test";
}

}  // namespace

bool ChannelErrorCountsAgainstHealth(const Error& e) {
  return e.code != "rejected" && e.code != "bad_message";
}

std::unique_ptr<Channel> MakeWebhookChannel(const ChannelConfig& c, const ChannelOptions& o) {
  return std::make_unique<WebhookChannel>(c, o);
}

std::unique_ptr<Channel> MakeSmsChannel(const ChannelConfig& c, const ChannelOptions& o) {
  return std::make_unique<SmsChannel>(c, o);
}

std::unique_ptr<Channel> MakeEmailChannel(std::string id, std::string url, const SmtpConfig& smtp,
                                          const ChannelOptions& o) {
  return std::make_unique<EmailChannel>(std::move(id), std::move(url), smtp, o);
}

std::unique_ptr<Channel> MakeMqttChannel(std::string id, std::string url, const ChannelOptions& o) {
  return std::make_unique<MqttChannel>(std::move(id), std::move(url), o);
}

std::unique_ptr<Channel> MakeFunctionChannel(
    std::string id, std::function<Status(const db::OutboxMessage&)> deliver) {
  return std::make_unique<FunctionChannel>(std::move(id), std::move(deliver));
}

std::vector<ChannelEntry> MakeChannels(const Config& config, const ChannelOptions& o) {
  std::vector<ChannelEntry> out;
  std::string email = FirstAddress(config, ContactRoute::Kind::kEmail);
  std::string phone = FirstAddress(config, ContactRoute::Kind::kSms);
  if (phone.empty()) {
    for (const ContractorConfig& c : config.contractors) {
      if (!c.duty_phone.empty()) {
        phone = c.duty_phone;
        break;
      }
    }
  }
  auto add = [&](std::unique_ptr<Channel> ch, std::string target, bool needs) {
    bool test = !needs || !target.empty();
    out.push_back(ChannelEntry{std::shared_ptr<Channel>(std::move(ch)), std::move(target), test});
  };
  for (const ChannelConfig& c : config.channels) {
    switch (c.kind) {
      case ChannelConfig::Kind::kWebhook:
        add(MakeWebhookChannel(c, o), "", false);
        break;
      case ChannelConfig::Kind::kSms:
        add(MakeSmsChannel(c, o), phone, true);
        break;
      case ChannelConfig::Kind::kEmail:
        add(MakeEmailChannel(c.id, c.url, config.smtp.value_or(SmtpConfig{}), o), email, true);
        break;
      case ChannelConfig::Kind::kMqtt:
        add(MakeMqttChannel(c.id, c.url, o), TestTopic(config), true);
        break;
    }
  }
  if (config.smtp) {
    add(MakeEmailChannel(std::string(kSmtpChannelId), config.smtp->url, *config.smtp, o), email,
        true);
  }
  if (config.mqtt) {
    add(MakeMqttChannel(std::string(kMqttChannelId), config.mqtt->url, o), TestTopic(config), true);
  }
  return out;
}

std::optional<ChannelRoute> RouteFor(const Config& config, const rules::Recipient& r) {
  using K = rules::Recipient::Kind;
  switch (r.kind) {
    case K::kSecurityRoom:
      return ChannelRoute{std::string(kSecurityRoomChannelId), ""};
    case K::kEmail:
      if (config.smtp) return ChannelRoute{std::string(kSmtpChannelId), r.address};
      if (const ChannelConfig* c = FirstChannel(config, ChannelConfig::Kind::kEmail)) {
        return ChannelRoute{c->id, r.address};
      }
      return std::nullopt;
    case K::kChannel:
      for (const ChannelConfig& c : config.channels) {
        if (c.id == r.address) return ChannelRoute{c.id, ""};
      }
      return std::nullopt;
    case K::kSms:
      if (const ChannelConfig* c = FirstChannel(config, ChannelConfig::Kind::kSms)) {
        return ChannelRoute{c->id, r.address};
      }
      return std::nullopt;
    case K::kMqtt:
      if (config.mqtt) return ChannelRoute{std::string(kMqttChannelId), r.address};
      if (const ChannelConfig* c = FirstChannel(config, ChannelConfig::Kind::kMqtt)) {
        return ChannelRoute{c->id, r.address};
      }
      return std::nullopt;
  }
  return std::nullopt;
}

std::string MqttStateTopic(std::string_view prefix, std::string_view elevator) {
  return std::string(prefix) + "/elevators/" + std::string(elevator) + "/state";
}
std::string MqttAlarmsTopic(std::string_view prefix) { return std::string(prefix) + "/alarms"; }
std::string MqttIncidentsTopic(std::string_view prefix) {
  return std::string(prefix) + "/incidents";
}

namespace channel_format {

std::string WireKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7f && c != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string Envelope(const db::OutboxMessage& m) {
  json j = json::object();
  j["idempotency_key"] = WireKey(m.key);
  j["event"] = m.event;
  j["recipient"] = m.recipient;
  j["subject"] = m.subject;
  j["text"] = Text(m);
  j["created_at"] = m.created_at;
  j["test"] = m.test;
  if (m.payload.empty()) {
    j["data"] = nullptr;
  } else {
    json data = json::parse(m.payload, nullptr, false);
    j["data"] = data.is_discarded() ? json(m.payload) : std::move(data);
  }
  return Dump(j);
}

std::string WecomBody(const db::OutboxMessage& m) {
  json j = {{"msgtype", "markdown"}, {"markdown", {{"content", Markdown(m)}}}};
  return Dump(j);
}

std::string DingtalkBody(const db::OutboxMessage& m) {
  json j = {{"msgtype", "markdown"},
            {"markdown",
             {{"title", m.subject.empty() ? std::string("Liftguard") : m.subject},
              {"text", Markdown(m)}}}};
  return Dump(j);
}

std::string FillSmsTemplate(std::string_view tmpl, const db::OutboxMessage& m) {
  auto escaped = [](const std::string& s) {
    std::string d = Dump(json(s));
    return d.substr(1, d.size() - 2);
  };
  const std::pair<std::string_view, std::string> vars[] = {
      {"{{phone}}", escaped(m.target)},
      {"{{subject}}", escaped(m.subject)},
      {"{{text}}", escaped(Text(m))},
      {"{{key}}", escaped(WireKey(m.key))},
  };
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    bool replaced = false;
    if (tmpl.compare(i, 2, "{{") == 0) {
      for (const auto& [name, value] : vars) {
        if (tmpl.compare(i, name.size(), name) == 0) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += tmpl[i++];
  }
  return out;
}

std::string MessageId(std::string_view key, std::string_view domain) {
  return "<lg." + Hex128(key) + "@" + std::string(domain.empty() ? "liftguard" : domain) + ">";
}

std::string EncodeSubject(std::string_view subject) {
  std::string s = OneLine(subject);
  if (PlainAscii(s) && s.size() <= 900) return s;
  // Each encoded word at most 75 characters: 45 bytes of UTF-8 become 60 of
  // base64 plus 12 of "=?UTF-8?B?" and "?=".
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = std::min(s.size(), i + 45);
    // Back up to the start of a character.
    while (end < s.size() && end > i && (static_cast<uint8_t>(s[end]) & 0xC0) == 0x80) --end;
    if (end == i) end = std::min(s.size(), i + 45);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    AppendBase64(out, std::string_view(s).substr(i, end - i));
    out += "?=";
    i = end;
  }
  return out;
}

std::string EmailMessage(const db::OutboxMessage& m, std::string_view from, WallTime date) {
  std::string domain;
  size_t at = from.rfind('@');
  if (at != std::string_view::npos) domain = std::string(from.substr(at + 1));
  std::string out;
  out += "Date: " + RfcDate(date) + "\r\n";
  out += "From: Liftguard <" + std::string(from) + ">\r\n";
  out += "To: <" + OneLine(m.target) + ">\r\n";
  out += "Subject: " + EncodeSubject(m.subject.empty() ? "Liftguard" : m.subject) + "\r\n";
  out += "Message-ID: " + MessageId(m.key, domain) + "\r\n";
  out += "X-Liftguard-Idempotency-Key: " + WireKey(m.key) + "\r\n";
  if (!m.event.empty()) out += "X-Liftguard-Event: " + WireKey(m.event) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n";
  // CRLF line ends in the text itself, as RFC 5322 wants them.
  std::string text;
  std::string body = Text(m);
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) text += '\r';
    text += body[i];
  }
  std::string b64;
  AppendBase64(b64, text);
  for (size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
  return out;
}

}  // namespace channel_format
}  // namespace lg
