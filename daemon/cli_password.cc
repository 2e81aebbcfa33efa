#include "daemon/cli_password.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace lg::cli {
namespace {

// What the SIGINT handler restores; set only while a prompt is open.
termios g_saved;
volatile sig_atomic_t g_echo_off = 0;

extern "C" void RestoreAndDie(int sig) {
  if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
  (void)!write(STDERR_FILENO, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

void StripLineEnd(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

}  // namespace

Result<std::string> ReadPasswordLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) {
    return Error::Permanent("usage", "--password-stdin: nothing on stdin");
  }
  StripLineEnd(line);
  return line;
}

Result<std::string> PromptPassword(const std::string& prompt) {
  if (!isatty(STDIN_FILENO)) {
    return Error::Permanent("usage",
                            "stdin is not a terminal, so there is nobody to ask for a password; "
                            "use --password-stdin (or LIFTGUARD_PASSWORD for login)");
  }
  termios t{};
  bool echo_off = false;
  if (tcgetattr(STDIN_FILENO, &g_saved) == 0) {
    t = g_saved;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    t.c_lflag |= ECHONL;
    struct sigaction sa {
    }, old_int{}, old_term{};
    sa.sa_handler = RestoreAndDie;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_echo_off = 1;
    // Echo goes off before the prompt shows, so nothing typed after the
    // prompt can be echoed; what was typed before it is discarded.
    echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
    std::cerr << prompt << std::flush;
    std::string line;
    bool got = static_cast<bool>(std::getline(std::cin, line));
    if (echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved);
    g_echo_off = 0;
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    if (!got) return Error::Permanent("cancelled", "no password given");
    StripLineEnd(line);
    return line;
  }
  std::cerr << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return Error::Permanent("cancelled", "no password given");
  StripLineEnd(line);
  return line;
}

}  // namespace lg::cli
