#include "daemon/csv.h"

#include <cmath>
#include <cstdio>

namespace lg::csv {
namespace {

bool NeedsProtection(std::string_view t) {
  if (t.empty()) return false;
  switch (t.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
    case '\'':
      return true;
    default:
      return false;
  }
}

}  // namespace

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past Unicode are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

Parsed Parse(std::string_view text) {
  Parsed out;
  if (text.starts_with(kBom)) text.remove_prefix(kBom.size());
  size_t i = 0;
  int line = 1;
  while (i < text.size()) {
    Record rec;
    rec.line = line;
    std::string field;
    std::string error;
    bool end_of_record = false;
    bool raw_bytes_ok = true;
    size_t record_start = i;
    while (!end_of_record) {
      // One field.
      field.clear();
      if (i < text.size() && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < text.size()) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          out.errors.push_back({rec.line,
                                "a quoted field is not closed (a \" is missing before the end of "
                                "the file)"});
          return out;
        }
        // After the closing quote: a separator, the end of the line, or the end.
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (error.empty()) {
            error = "text after a closing quote; a \" inside a quoted field is written \"\"";
          }
          while (i < text.size() && text[i] != ',' && text[i] != '\n') ++i;
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '"' && error.empty()) {
            error =
                "a \" inside a field that is not quoted; put the field in quotes and double the "
                "\" (\"\")";
          }
          field.push_back(text[i]);
          ++i;
        }
        if (!field.empty() && field.back() == '\r' && (i >= text.size() || text[i] == '\n')) {
          field.pop_back();
        }
      }
      rec.fields.push_back(field);
      if (i >= text.size()) {
        end_of_record = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') {
          ++i;
          ++line;
        }
        end_of_record = true;
      }
    }
    if (!ValidUtf8(text.substr(record_start, i - record_start))) raw_bytes_ok = false;
    bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
    if (blank) continue;
    if (!raw_bytes_ok) {
      out.errors.push_back({rec.line,
                            "the line is not UTF-8 text; save the file as \"CSV UTF-8\" (a "
                            "spreadsheet's default may be GBK)"});
    } else if (!error.empty()) {
      out.errors.push_back({rec.line, error});
    } else {
      out.records.push_back(std::move(rec));
    }
  }
  return out;
}

std::string Cell(std::string_view text, bool protect) {
  std::string t(text);
  if (protect && NeedsProtection(t)) t.insert(t.begin(), '\'');
  bool quote = t.find_first_of(",\"\r\n") != std::string::npos ||
               (!t.empty() && t.front() == ' ') || (!t.empty() && t.back() == ' ');
  if (!quote) return t;
  std::string q = "\"";
  for (char c : t) {
    if (c == '"') q.push_back('"');
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

std::string Unprotect(std::string text) {
  if (text.size() >= 2 && text.front() == '\'' &&
      NeedsProtection(std::string_view(text).substr(1))) {
    text.erase(text.begin());
  }
  return text;
}

Writer::Writer(bool bom) {
  if (bom) out_ = std::string(kBom);
}

void Writer::Sep() {
  if (row_started_) out_.push_back(',');
  row_started_ = true;
}

Writer& Writer::Text(std::string_view text) {
  Sep();
  out_ += Cell(text);
  return *this;
}

Writer& Writer::Int(int64_t v) {
  Sep();
  out_ += std::to_string(v);
  return *this;
}

Writer& Writer::Fixed(double v, int decimals) {
  Sep();
  if (std::isnan(v)) return *this;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  out_ += buf;
  return *this;
}

Writer& Writer::Empty() {
  Sep();
  return *this;
}

void Writer::EndRow() {
  out_ += "\r\n";
  row_started_ = false;
}

void Writer::Row(const std::vector<std::string>& cells) {
  for (const auto& c : cells) Text(c);
  EndRow();
}

}  // namespace lg::csv
