// CSV as people exchange it with spreadsheets (RFC 4180): reading the files
// `liftguard import` takes, and writing reports and exports.
//
// Reading: UTF-8 with or without a byte order mark; fields separated by
// commas; a field in double quotes may hold commas, line breaks and doubled
// quotes (""); lines end in LF or CRLF; blank lines are skipped. Every
// record keeps the physical line it starts on, so an error can name it.
// A record that is not valid UTF-8 (a file saved as GBK, say) is an error
// of that line rather than garbage in the database.
//
// Writing: CRLF line ends, a field quoted only when it must be, and a byte
// order mark first so that spreadsheet programs read UTF-8 (Chinese names)
// correctly. A text cell a spreadsheet would run as a formula (one that
// starts with = + - @, a tab or a CR) is written with a leading apostrophe,
// and so is one that starts with an apostrophe; Unprotect() undoes exactly
// that, so an export imports back unchanged.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lg::csv {

struct Record {
  int line = 0;  // the physical line (from 1) the record starts on
  std::vector<std::string> fields;
};

struct LineError {
  int line = 0;
  std::string message;
};

struct Parsed {
  std::vector<Record> records;  // the records without errors, in order
  std::vector<LineError> errors;
};

Parsed Parse(std::string_view text);

bool ValidUtf8(std::string_view s);

inline constexpr std::string_view kBom = "\xEF\xBB\xBF";

// The cell as written (quoted if needed, protected against formulas when
// `protect`).
std::string Cell(std::string_view text, bool protect = true);
// Undoes the protection of Cell(): drops one leading apostrophe before a
// character that would have needed it.
std::string Unprotect(std::string text);

// Builds a CSV text row by row. Starts with the byte order mark unless
// `bom` is false.
class Writer {
 public:
  explicit Writer(bool bom = true);
  Writer& Text(std::string_view text);
  Writer& Int(int64_t v);
  // A number with `decimals` digits after the point; an empty cell for NaN.
  Writer& Fixed(double v, int decimals);
  Writer& Empty();
  void EndRow();
  // A whole row of text cells.
  void Row(const std::vector<std::string>& cells);
  const std::string& str() const { return out_; }

 private:
  void Sep();
  std::string out_;
  bool row_started_ = false;
};

}  // namespace lg::csv
