#include "daemon/cli_session.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lg::cli {
namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }

}  // namespace

Result<std::string> TokenPath() {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and to be ignored.
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/liftguard/token";
  const char* home = std::getenv("HOME");
  std::string h = home != nullptr ? home : "";
  if (h.empty()) {
    if (passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) h = pw->pw_dir;
  }
  if (h.empty()) {
    return Error::Permanent("usage", "cannot tell where to keep the login: set XDG_CONFIG_HOME");
  }
  return h + "/.config/liftguard/token";
}

Result<std::string> LoadToken() {
  auto path = TokenPath();
  if (!path.ok()) return path.error();
  std::ifstream in(*path);
  if (!in) return std::string();
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

Status SaveToken(const std::string& token) {
  auto path = TokenPath();
  if (!path.ok()) return path.error();
  fs::path file(*path);
  fs::path dir = file.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error::Permanent("failed", "cannot create " + dir.string() + ": " + ec.message());
  }
  // Our own folder only; ~/.config itself is left as it is.
  ::chmod(dir.c_str(), 0700);
  std::string tmp = file.string() + ".new." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Error::Permanent("failed", "cannot write " + tmp + ": " + Errno());
  std::string data = token + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
            ::fsync(fd) == 0;
  std::string why = ok ? "" : Errno();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    if (why.empty()) why = Errno();
    ::unlink(tmp.c_str());
    return Error::Permanent("failed", "cannot write " + file.string() + ": " + why);
  }
  return Status::Ok();
}

Result<bool> RemoveToken() {
  auto path = TokenPath();
  if (!path.ok()) return path.error();
  if (::unlink(path->c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return Error::Permanent("failed", "cannot remove " + *path + ": " + Errno());
}

}  // namespace lg::cli
