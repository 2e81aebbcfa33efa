#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lg::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
int FreePortOnce();
}  // namespace

std::string SourceDir() { return LG_SOURCE_DIR; }
std::string BinaryDir() { return LG_BINARY_DIR; }
std::string LiftsimPath() { return BinaryDir() + "/drivers/sim/liftsim"; }
std::string DaemonPath() { return BinaryDir() + "/daemon/liftguardd"; }

int FreePort() {
  // The kernel may hand the same ephemeral port out twice in a row once it
  // is closed again; remember what this process already took.
  static std::set<int> taken;
  for (;;) {
    int port = FreePortOnce();
    if (taken.insert(port).second) return port;
  }
}

namespace {
int FreePortOnce() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}
}  // namespace

std::string TempDir(const std::string& name) {
  fs::path p = fs::path(BinaryDir()) / "tmp" / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

Process::Process(const std::vector<std::string>& argv, const std::string& log_path)
    : log_(log_path) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0 && !exited_) Stop(2000ms);
}

Process::Process(Process&& o) noexcept { *this = std::move(o); }
Process& Process::operator=(Process&& o) noexcept {
  std::swap(pid_, o.pid_);
  std::swap(status_, o.status_);
  std::swap(exited_, o.exited_);
  std::swap(log_, o.log_);
  return *this;
}

bool Process::running() {
  if (pid_ <= 0 || exited_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = st;
    return false;
  }
  return true;
}

std::string Process::Output() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Process::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (Output().find(text) != std::string::npos) return true;
    if (!running()) return Output().find(text) != std::string::npos;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (running() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  if (!exited_) return -1000;
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1001;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1002;
  if (!exited_) {
    Signal(SIGTERM);
    int r = Wait(grace);
    if (r != -1000) return r;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
  return Wait(5000ms);
}

std::string SimControl::Send(const std::string& line) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port_));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "err cannot connect to control port";
  }
  std::string msg = line + "\n";
  (void)!::write(fd, msg.data(), msg.size());
  std::string reply;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') reply.push_back(c);
  ::close(fd);
  return reply;
}

std::string SimControl::Must(const std::string& line) {
  std::string r = Send(line);
  if (r.rfind("ok", 0) != 0) throw std::runtime_error("sim refused '" + line + "': " + r);
  return r;
}

std::map<std::string, std::string> SimControl::Pairs(const std::string& reply) {
  std::map<std::string, std::string> out;
  std::istringstream in(reply);
  std::string tok;
  while (in >> tok) {
    auto eq = tok.find('=');
    if (eq != std::string::npos) out[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  return out;
}

Sim::Sim(const std::vector<std::string>& tcp, const std::vector<std::string>& rtu, bool stationary,
         const std::string& log_dir, const std::vector<std::string>& extra)
    : control_port_(FreePort()), control_(control_port_) {
  std::vector<std::string> argv = {LiftsimPath()};
  for (const auto& t : tcp) {
    argv.push_back("--tcp");
    argv.push_back("127.0.0.1:" + t);
  }
  for (const auto& r : rtu) {
    argv.push_back("--rtu");
    argv.push_back(r);
  }
  argv.push_back("--control");
  argv.push_back("127.0.0.1:" + std::to_string(control_port_));
  if (stationary) argv.push_back("--static");
  for (const auto& e : extra) argv.push_back(e);
  proc_ = Process(argv, log_dir + "/liftsim.log");
  if (!proc_.WaitForOutput("liftsim ready", 10s)) {
    throw std::runtime_error("liftsim did not start: " + proc_.Output());
  }
}

PtyPair::PtyPair(const std::string& dir) : a(dir + "/pty-a"), b(dir + "/pty-b") {
  proc_ = Process({"socat", "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b},
                  dir + "/socat.log");
  if (!Eventually([&] { return fs::exists(a) && fs::exists(b); }, 5s)) {
    throw std::runtime_error("socat did not create the pty pair: " + proc_.Output());
  }
}

bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

}  // namespace lg::testing
