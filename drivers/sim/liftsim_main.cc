// liftsim: the Liftguard controller simulator. See docs/simulator.md.
//
// Exit status: 0 after SIGTERM/SIGINT, 2 for a bad command line or a bad
// scenario file, 1 when a port or device cannot be opened.

#include <signal.h>
#include <sys/resource.h>

#include <cstdio>

#include "drivers/sim/sim_server.h"

namespace {

lg::sim::SimServer* g_server = nullptr;

void OnSignal(int) {
  if (g_server != nullptr) g_server->RequestStop();
}

// Many cars may mean many connections: take every descriptor allowed.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto options = lg::sim::ParseCommandLine(argc, argv);
  if (!options) {
    if (options.error().code == "help") {
      std::fputs(options.error().message.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "liftsim: %s\n%s", options.error().message.c_str(),
                 std::string(lg::sim::Usage()).c_str());
    return 2;
  }
  RaiseFileLimit();
  signal(SIGPIPE, SIG_IGN);

  lg::sim::SimServer server(std::move(*options));
  if (auto s = server.Open(); !s) {
    std::fprintf(stderr, "liftsim: %s\n", s.error().message.c_str());
    return s.error().code == "io" ? 1 : 2;
  }
  g_server = &server;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const auto names = server.link_names();
  std::fprintf(stderr, "liftsim: %zu cars on %zu links (", server.car_count(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    std::fprintf(stderr, "%s%s", i ? " " : "", names[i].c_str());
  }
  std::fprintf(stderr, "), control port %d\n", server.control_port());
  std::fputs("liftsim ready\n", stdout);
  std::fflush(stdout);

  server.Run();
  g_server = nullptr;
  return 0;
}
