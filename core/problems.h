// Problems: the mistakes found in one input file (configuration, register
// map, scenario), collected so a person can mend them all in one round.
// Reported as one "FILE:LINE: reason" line each, in file order (problems of
// the whole file, line 0, first; several on one line in the order found).
//
// Thread-safety: a plain value type.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace lg {

class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}

  void Add(int line, std::string reason) { items_.emplace_back(line, std::move(reason)); }
  bool empty() const { return items_.empty(); }

  // `code` is the Error code: "config", "map", ...
  Error ToError(const std::string& code) const {
    std::vector<std::pair<int, std::string>> sorted = items_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string text;
    for (const auto& [line, reason] : sorted) {
      if (!text.empty()) text += '\n';
      text += file_;
      if (line > 0) text += ':' + std::to_string(line);
      text += ": " + reason;
    }
    return Error::Permanent(code, std::move(text));
  }

 private:
  std::string file_;
  std::vector<std::pair<int, std::string>> items_;
};

}  // namespace lg
