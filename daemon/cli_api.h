// The CLI's API commands (docs/cli.md): login, status, alarms, ack and
// incidents, each one or two calls of docs/api.md. Results go to `out` as
// a table or, with `json`, as the API's JSON; errors go to `err` as
// "liftguard: MESSAGE". Each returns an ExitCode (cli_output.h).
//
// Incidents follow the rescue incident contract (docs/incidents.md): the
// steps a user may post, eta_min only with `accepted`, cause only with
// `closed`. The daemon is the judge of the order; the CLI checks only what
// it can tell from the command line, to give a usage error before asking.
//
// Thread-safety: one command at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace lg::cli {

struct ApiOptions {
  std::string url;
  std::string token;  // "" = not logged in
  bool json = false;
};

struct Streams {
  std::ostream& out;
  std::ostream& err;
};

// Logs in, saves the token (cli_session.h) and says until when it holds.
int Login(const ApiOptions& o, const std::string& user, const std::string& password, Streams s);

int ShowStatus(const ApiOptions& o, Streams s);
int ListAlarms(const ApiOptions& o, bool all, const std::string& elevator, Streams s);
int AckAlarm(const ApiOptions& o, int64_t alarm_id, const std::optional<std::string>& note,
             Streams s);

int ListIncidents(const ApiOptions& o, bool all, Streams s);
int OpenIncident(const ApiOptions& o, const std::string& elevator,
                 const std::optional<std::string>& note, Streams s);

struct StepRequest {
  int64_t incident = 0;
  std::string step;
  std::optional<std::string> note;
  std::optional<int> eta_min;
  std::optional<std::string> cause;
};
// The steps a user may record (`open` and `dispatched` are the system's).
bool IsUserStep(const std::string& step);
int RecordStep(const ApiOptions& o, const StepRequest& r, Streams s);

}  // namespace lg::cli
