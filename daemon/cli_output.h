// CLI output: the `liftguard` command's exit codes, aligned text tables and
// time display. docs/cli.md describes what the user sees.
//
// Table measures cells in terminal columns, not bytes: CJK characters take
// two columns, combining marks none, so Chinese names line up. Control
// characters in cells (which come from the API, i.e. from configuration
// and controllers) are shown as spaces so a cell cannot move the cursor or
// inject terminal escapes.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace lg::cli {

// The exit codes docs/cli.md promises.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,   // a local command (user ..., db ...) did not do its job
  kExitUsage = 2,    // bad command line or missing input
  kExitAuth = 3,     // API said 401 or 403 (or no token at all)
  kExitApi = 4,      // any other API error answer
  kExitConnect = 5,  // the daemon could not be reached
};

// Terminal columns `utf8` takes (wcwidth-like; invalid bytes count as one).
size_t DisplayWidth(std::string_view utf8);

// `text` with C0/C1 control characters and DEL replaced by spaces.
std::string Printable(std::string_view text);

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void Add(std::vector<std::string> cells);
  size_t size() const { return rows_.size(); }
  // Headers, then rows; columns two spaces apart; no trailing blanks.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// An RFC 3339 time ("2026-11-22T08:15:02.120Z", "...+08:00") shown in the
// machine's local time zone as "2026-11-22 16:15:02"; "-" for an empty
// string; the text unchanged if it does not parse.
std::string LocalTime(std::string_view rfc3339);

}  // namespace lg::cli
