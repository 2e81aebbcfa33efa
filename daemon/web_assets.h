// Web assets: the security-room dashboard (web/), compiled into the daemon
// by cmake/EmbedWeb.cmake, and what the HTTP server needs to serve it.
//
// FindAsset maps a request path ("/app.js") to the file's bytes and its
// Content-Type. Only files that were in web/ at build time exist: there is
// no file system access at run time, so no path can reach outside web/.
//
// Ownership: the bytes are static and live as long as the program.
// Thread-safety: everything here is immutable; call from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace lg::web {

struct Asset {
  std::string_view body;
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  bool is_html = false;
};

// The file at `path` (with its leading slash; "/" is not mapped here, the
// caller asks for "/index.html"), or nullopt.
std::optional<Asset> FindAsset(std::string_view path);

// The Content-Security-Policy the dashboard is served with: everything from
// the daemon itself, nothing inline, no frames, no plugins.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// The generated table (web_assets_data.cc), ended by an entry with a null
// path.
struct EmbeddedFile {
  const char* path;
  std::string_view body;
};
extern const EmbeddedFile kEmbeddedFiles[];

}  // namespace lg::web
