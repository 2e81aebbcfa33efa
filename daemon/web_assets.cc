#include "daemon/web_assets.h"

#include <array>
#include <utility>

namespace lg::web {

namespace {

// Only the kinds of file web/ holds; anything else is served as bytes, which
// with nosniff a browser will not run.
std::string_view TypeOf(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  }
  return "application/octet-stream";
}

}  // namespace

std::optional<Asset> FindAsset(std::string_view path) {
  // A linear scan: web/ is a handful of files.
  for (const EmbeddedFile* f = kEmbeddedFiles; f->path; ++f) {
    if (path == f->path) {
      std::string_view type = TypeOf(path);
      return Asset{f->body, type, type.rfind("text/html", 0) == 0};
    }
  }
  return std::nullopt;
}

}  // namespace lg::web
