// liftsim's event loop. One thread; epoll over the TCP listeners, the TCP
// connections, the serial devices, the control port and its connections and
// an eventfd for RequestStop(). Timers (delayed and byte-by-byte replies,
// RTU inter-frame silence, device reopening, scenario steps) live in one
// min-heap and bound the epoll_wait timeout.
//
// Modbus framing is done here rather than with modbus_receive()/
// modbus_reply(): those block until a whole frame has arrived, serve one
// slave id per context and cannot misbehave, and all three would break the
// single non-blocking loop. libmodbus supplies the protocol constants.

#include "drivers/sim/sim_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <queue>
#include <thread>
#include <unordered_map>

#include "drivers/register_map.h"
#include "drivers/sim/car_model.h"
#include "drivers/sim/control.h"

namespace lg::sim {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kMs = 1'000'000;
constexpr size_t kMaxAdu = 260;
constexpr size_t kMaxOutBacklog = 1 << 20;
constexpr size_t kMaxPending = 4096;
constexpr size_t kMaxControlLine = 65536;
constexpr int64_t kReopenNs = 1000 * kMs;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint16_t Crc16(const uint8_t* p, size_t n) {
  static const auto table = [] {
    std::array<uint16_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      uint16_t c = static_cast<uint16_t>(i);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? static_cast<uint16_t>((c >> 1) ^ 0xA001) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i)
    crc = static_cast<uint16_t>((crc >> 8) ^ table[(crc ^ p[i]) & 0xFF]);
  return crc;
}

// CRC over p[0..n-2) matches the low-byte-first CRC in the last two bytes.
bool CrcOk(const uint8_t* p, size_t n) {
  if (n < 4) return false;
  uint16_t crc = Crc16(p, n - 2);
  return p[n - 2] == (crc & 0xFF) && p[n - 1] == (crc >> 8);
}

void PutCrc(uint8_t* p, size_t n_without_crc) {
  uint16_t crc = Crc16(p, n_without_crc);
  p[n_without_crc] = static_cast<uint8_t>(crc & 0xFF);
  p[n_without_crc + 1] = static_cast<uint8_t>(crc >> 8);
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Length of the RTU request frame starting at p (n bytes so far): > 0 the
// length, 0 more bytes needed to know, -1 a function code whose request
// length is not known (the frame ends at the next silence).
int RtuRequestLength(const uint8_t* p, size_t n) {
  if (n < 2) return 0;
  switch (p[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 8:
      return 8;
    case 7:
    case 11:
    case 12:
    case 17:
      return 4;
    case 15:
    case 16:
      return n < 7 ? 0 : 9 + p[6];
    case 20:
    case 21:
      return n < 3 ? 0 : 5 + p[2];
    case 22:
      return 10;
    case 23:
      return n < 11 ? 0 : 13 + p[10];
    case 24:
      return 6;
    default:
      return -1;
  }
}

speed_t BaudConstant(int baud) {
  switch (baud) {
    case 1200:
      return B1200;
    case 2400:
      return B2400;
    case 4800:
      return B4800;
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    case 115200:
      return B115200;
    case 230400:
      return B230400;
    case 460800:
      return B460800;
    case 921600:
      return B921600;
    default:
      return 0;
  }
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

class SimServer::Impl {
 public:
  explicit Impl(SimOptions o) : opt_(std::move(o)) {}
  ~Impl();

  Status Open();
  void Run();
  void RequestStop();

  SimOptions opt_;
  struct Link {
    std::string name;
    bool rtu = false;
    size_t spec = 0;                                  // index into opt_.tcp or opt_.rtu
    std::shared_ptr<const drivers::RegisterMap> map;  // what its cars serve
    // The car being answered, encoded with `map`; laid out by Open(), so
    // encoding into it does not allocate.
    drivers::RegisterImage image;
    std::array<bool, 5> serves_fc{};  // by function code 1..4: `map` uses that table
    std::array<int32_t, 256> car_of_unit;
    Misbehaviour mis;
    std::array<uint64_t, 256> fc{};
    uint64_t requests = 0;
    uint64_t crc_errors = 0;
    int endpoint = -1;  // listener or tty
    int port = 0;       // TCP
    int64_t silence_ns = 0;
  };
  struct Car {
    int link;
    int unit;
    CarModel model;
    Misbehaviour mis;
    uint64_t requests = 0;
  };
  std::vector<Link> links_;
  std::vector<Car> cars_;
  std::unordered_map<std::string, int> link_by_name_;
  int control_port_ = 0;
  std::atomic<bool> opened_{false};
  std::thread thread_;

 private:
  enum class Kind : uint8_t { kWake, kTcpListen, kTcpConn, kRtu, kControlListen, kControlConn };
  struct Pending {
    int64_t due = 0;
    int64_t interval = 0;  // > 0: one byte per interval
    uint16_t len = 0;
    uint16_t sent = 0;
    std::array<uint8_t, kMaxAdu> bytes{};
  };
  struct Endpoint {
    Kind kind = Kind::kWake;
    int fd = -1;
    int slot = -1;  // index in eps_, fixed
    uint32_t gen = 0;
    int link = -1;
    bool epollout = false;
    std::array<uint8_t, 1024> in{};
    size_t in_len = 0;
    std::vector<uint8_t> out;
    size_t out_off = 0;
    std::vector<Pending> pending;
    int in_progress = -1;
    int64_t armed = kNever;
    int64_t last_rx = 0;
    int64_t rtu_flush_at = kNever;
    int64_t reopen_at = kNever;
    std::string line;
  };
  struct Timer {
    int64_t due;
    int slot;  // endpoint, or -1 for a scenario step
    uint32_t gen;
    int step;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  int NewEndpoint(Kind kind, int fd, int link);
  Status Watch(int slot, uint32_t events);
  void SetWritable(Endpoint& ep, bool on);
  void Close(Endpoint& ep);
  Endpoint* Lookup(uint64_t key);
  Status Listen(const std::string& host, int port, int* bound_port, int* fd_out);
  Status OpenSerial(Link& link, int* fd_out);

  void OnEvent(Endpoint& ep, uint32_t events);
  void Accept(Endpoint& listener);
  void ReadTcp(Endpoint& ep);
  void ReadRtu(Endpoint& ep);
  void ReadControl(Endpoint& ep);
  void FlushOut(Endpoint& ep);
  bool WriteOut(Endpoint& ep, const uint8_t* p, size_t n);
  void Send(Endpoint& ep, const uint8_t* p, size_t n, const Misbehaviour& m, int64_t now);
  void Pump(Endpoint& ep, int64_t now);
  void Arm(Endpoint& ep, int slot, int64_t due);
  void Rearm(Endpoint& ep, int slot);
  void OnEndpointTimer(Endpoint& ep, int slot, int64_t now);
  void RtuFrameDone(Endpoint& ep, int64_t now);

  // Returns false if the endpoint was closed.
  bool HandleTcp(Endpoint& ep, const uint8_t* adu, size_t len);
  void HandleRtu(Endpoint& ep, const uint8_t* frame, size_t len);
  size_t Answer(Link& link, Car& car, const uint8_t* pdu, size_t pdu_len, uint8_t* out,
                int64_t now);
  const Misbehaviour& MisbehaviourFor(const Link& link, const Car* car) const;
  void Randomize(uint8_t* p, size_t n);

  std::string Execute(const Command& c);
  Car* FindCar(const Target& t, std::string* err);
  Link* FindLink(const Target& t, std::string* err);
  Status CheckTargets(const Command& c);

  std::vector<std::unique_ptr<Endpoint>> eps_;
  std::vector<int> free_slots_;
  // Scratch of Answer(): the car's state as the decoder gives it.
  Sample sample_;
  ControllerInfo info_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  int epfd_ = -1;
  int wake_slot_ = -1;
  std::atomic<int> wake_fd_{-1};  // read by RequestStop() from any thread or a signal handler
  int spare_fd_ = -1;
  std::vector<ScenarioStep> scenario_;
  uint64_t rng_ = 0x243F6A8885A308D3ull;
  bool paused_ = false;
  std::atomic<bool> stop_{false};
};

// ---------------------------------------------------------------------------
// Endpoints

int SimServer::Impl::NewEndpoint(Kind kind, int fd, int link) {
  int slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<int>(eps_.size());
    eps_.push_back(std::make_unique<Endpoint>());
    eps_.back()->slot = slot;
  }
  Endpoint& ep = *eps_[slot];
  ep.kind = kind;
  ep.fd = fd;
  ep.link = link;
  ep.epollout = false;
  ep.in_len = 0;
  ep.out.clear();
  ep.out_off = 0;
  ep.pending.clear();
  ep.in_progress = -1;
  ep.armed = kNever;
  ep.last_rx = 0;
  ep.rtu_flush_at = kNever;
  ep.reopen_at = kNever;
  ep.line.clear();
  return slot;
}

Status SimServer::Impl::Watch(int slot, uint32_t events) {
  Endpoint& ep = *eps_[slot];
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<uint64_t>(slot) | (static_cast<uint64_t>(ep.gen) << 32);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, ep.fd, &ev) != 0) {
    return Error::Permanent("io", Errno("epoll_ctl"));
  }
  return Status::Ok();
}

void SimServer::Impl::SetWritable(Endpoint& ep, bool on) {
  if (ep.epollout == on || ep.fd < 0) return;
  const int slot = ep.slot;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.u64 = static_cast<uint64_t>(slot) | (static_cast<uint64_t>(ep.gen) << 32);
  epoll_ctl(epfd_, EPOLL_CTL_MOD, ep.fd, &ev);
  ep.epollout = on;
}

SimServer::Impl::Endpoint* SimServer::Impl::Lookup(uint64_t key) {
  const size_t slot = key & 0xFFFFFFFFu;
  const uint32_t gen = static_cast<uint32_t>(key >> 32);
  if (slot >= eps_.size()) return nullptr;
  Endpoint* ep = eps_[slot].get();
  return ep->gen == gen && ep->fd >= 0 ? ep : nullptr;
}

void SimServer::Impl::Close(Endpoint& ep) {
  if (ep.fd < 0) return;
  epoll_ctl(epfd_, EPOLL_CTL_DEL, ep.fd, nullptr);
  ::close(ep.fd);
  ep.fd = -1;
  ep.pending.clear();
  ep.in_progress = -1;
  ep.out.clear();
  ep.out_off = 0;
  ep.in_len = 0;
  if (ep.kind == Kind::kRtu) return;  // keeps its slot (and generation) for reopening
  ++ep.gen;                           // stale events and timers no longer match
  free_slots_.push_back(ep.slot);
}

SimServer::Impl::~Impl() {
  for (auto& ep : eps_) {
    if (ep->fd >= 0) ::close(ep->fd);
  }
  if (epfd_ >= 0) ::close(epfd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

Status SimServer::Impl::Listen(const std::string& host, int port, int* bound_port, int* fd_out) {
  addrinfo hints{};
  hints.ai_family = host.empty() ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port_s = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port_s.c_str(), &hints, &res);
  const std::string where = (host.empty() ? std::string("*") : host) + ":" + port_s;
  if (rc != 0) return Error::Permanent("io", where + ": " + gai_strerror(rc));
  std::string err = where + ": no address";
  int fd = -1;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = Errno(where + ": socket");
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0) break;
    err = Errno(where + ": bind/listen");
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return Error::Permanent("io", err);
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl);
  *bound_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  *fd_out = fd;
  return Status::Ok();
}

Status SimServer::Impl::OpenSerial(Link& link, int* fd_out) {
  const RtuLinkSpec& s = opt_.rtu[link.spec];
  const speed_t speed = BaudConstant(s.baud);
  if (speed == 0) {
    return Error::Permanent("io", s.device + ": unsupported baud rate " + std::to_string(s.baud));
  }
  int fd = ::open(s.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Error::Permanent("io", Errno(s.device));
  termios tio{};
  if (tcgetattr(fd, &tio) != 0) {
    Error e = Error::Permanent("io", Errno(s.device + ": not a serial device (tcgetattr)"));
    ::close(fd);
    return e;
  }
  cfmakeraw(&tio);
  cfsetispeed(&tio, speed);
  cfsetospeed(&tio, speed);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB);
  tio.c_cflag |= s.data_bits == 5 ? CS5 : s.data_bits == 6 ? CS6 : s.data_bits == 7 ? CS7 : CS8;
  if (s.parity == 'E') tio.c_cflag |= PARENB;
  if (s.parity == 'O') tio.c_cflag |= PARENB | PARODD;
  if (s.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &tio) != 0) {
    Error e = Error::Permanent("io", Errno(s.device + ": tcsetattr"));
    ::close(fd);
    return e;
  }
  tcflush(fd, TCIOFLUSH);
  *fd_out = fd;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Open

Status SimServer::Impl::Open() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) return Error::Permanent("io", Errno("epoll_create1"));
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wfd < 0) return Error::Permanent("io", Errno("eventfd"));
  wake_fd_ = wfd;
  wake_slot_ = NewEndpoint(Kind::kWake, wfd, -1);
  if (auto s = Watch(wake_slot_, EPOLLIN); !s) return s;

  // Every link's map, before anything listens: a bad map file is refused
  // like a bad command line. A file named by several links is read once.
  std::map<std::string, std::shared_ptr<const drivers::RegisterMap>> maps;
  std::vector<std::shared_ptr<const drivers::RegisterMap>> tcp_maps, rtu_maps;
  auto load = [&](const std::string& name,
                  std::vector<std::shared_ptr<const drivers::RegisterMap>>& into) -> Status {
    auto it = maps.find(name);
    if (it == maps.end()) {
      auto m = drivers::RegisterMap::Resolve(name);
      if (!m) return Error::Permanent("config", m.error().message);
      it = maps.emplace(name, std::move(*m)).first;
    }
    into.push_back(it->second);
    return Status::Ok();
  };
  for (const TcpLinkSpec& spec : opt_.tcp) {
    if (auto s = load(spec.map, tcp_maps); !s) return s;
  }
  for (const RtuLinkSpec& spec : opt_.rtu) {
    if (auto s = load(spec.map, rtu_maps); !s) return s;
  }
  auto set_map = [this](Link& link, std::shared_ptr<const drivers::RegisterMap> map) {
    link.map = std::move(map);
    link.map->Encode(sample_, info_, link.image);  // lays the image out
    for (int fc = 1; fc <= 4; ++fc) {
      link.serves_fc[fc] = link.image.HasTable(static_cast<drivers::Table>(fc));
    }
  };

  const int64_t now = NowNs();
  rng_ ^= opt_.seed * 0x9E3779B97F4A7C15ull;

  auto add_cars = [&](int link_index, const std::vector<int>& units) {
    Link& link = links_[link_index];
    link.car_of_unit.fill(-1);
    for (int u : units) {
      CarConfig cfg;
      cfg.bottom_floor = opt_.bottom_floor;
      cfg.top_floor = opt_.top_floor;
      cfg.rated_speed_mm_s = opt_.rated_speed_mm_s;
      cfg.is_static = opt_.is_static;
      cfg.unit = u;
      cfg.seed = opt_.seed * 0x100000001B3ull ^ (static_cast<uint64_t>(link_index) << 20) ^
                 static_cast<uint64_t>(u);
      link.car_of_unit[u] = static_cast<int32_t>(cars_.size());
      cars_.push_back(Car{link_index, u, CarModel(cfg, now), Misbehaviour{}, 0});
    }
  };

  for (size_t i = 0; i < opt_.tcp.size(); ++i) {
    const TcpLinkSpec& spec = opt_.tcp[i];
    int port = 0, fd = -1;
    if (auto s = Listen(spec.host, spec.port, &port, &fd); !s) return s;
    Link link;
    link.rtu = false;
    link.spec = i;
    link.port = port;
    link.name = std::to_string(port);
    set_map(link, tcp_maps[i]);
    const int index = static_cast<int>(links_.size());
    link.endpoint = NewEndpoint(Kind::kTcpListen, fd, index);
    if (link_by_name_.count(link.name)) {
      return Error::Permanent("config", "two TCP links named " + link.name);
    }
    link_by_name_[link.name] = index;
    links_.push_back(std::move(link));
    if (auto s = Watch(links_.back().endpoint, EPOLLIN); !s) return s;
    add_cars(index, spec.units);
  }
  for (size_t i = 0; i < opt_.rtu.size(); ++i) {
    const RtuLinkSpec& spec = opt_.rtu[i];
    Link link;
    link.rtu = true;
    link.spec = i;
    link.name = "rtu" + std::to_string(i);
    const int64_t t35 =
        spec.baud <= 19200 ? static_cast<int64_t>(3.5 * 11 * 1e9 / spec.baud) : 1750 * 1000;
    link.silence_ns = std::max<int64_t>(t35, 20 * kMs);
    set_map(link, rtu_maps[i]);
    const int index = static_cast<int>(links_.size());
    link_by_name_[link.name] = index;
    links_.push_back(std::move(link));
    int fd = -1;
    if (auto s = OpenSerial(links_.back(), &fd); !s) return s;
    links_.back().endpoint = NewEndpoint(Kind::kRtu, fd, index);
    if (auto s = Watch(links_.back().endpoint, EPOLLIN); !s) return s;
    add_cars(index, spec.units);
  }
  {
    int fd = -1;
    if (auto s = Listen(opt_.control_host, opt_.control_port, &control_port_, &fd); !s) return s;
    int slot = NewEndpoint(Kind::kControlListen, fd, -1);
    if (auto s = Watch(slot, EPOLLIN); !s) return s;
  }
  if (!opt_.scenario_path.empty()) {
    auto steps = LoadScenario(opt_.scenario_path);
    if (!steps) return steps.error();
    for (const ScenarioStep& st : *steps) {
      if (auto s = CheckTargets(st.command); !s) {
        return Error::Permanent("scenario", opt_.scenario_path + ":" + std::to_string(st.line) +
                                                ": " + s.error().message);
      }
    }
    scenario_ = std::move(*steps);
  }
  opened_ = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Loop

void SimServer::Impl::RequestStop() {
  stop_.store(true);
  const int fd = wake_fd_.load();
  if (fd >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(fd, &one, sizeof one);
  }
}

void SimServer::Impl::Run() {
  if (!opened_) return;
  const int64_t t0 = NowNs();
  for (size_t i = 0; i < scenario_.size(); ++i) {
    timers_.push(Timer{t0 + scenario_[i].at_ms * kMs, -1, 0, static_cast<int>(i)});
  }
  std::array<epoll_event, 256> events;
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t now = NowNs();
    while (!timers_.empty() && timers_.top().due <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      if (t.slot < 0) {
        const ScenarioStep& st = scenario_[t.step];
        std::string reply = Execute(st.command);
        std::fprintf(stderr, "liftsim: %s:%d: %s -> %s\n", opt_.scenario_path.c_str(), st.line,
                     st.text.c_str(), reply.c_str());
        continue;
      }
      Endpoint& ep = *eps_[t.slot];
      if (ep.gen != t.gen || t.due != ep.armed) continue;
      ep.armed = kNever;
      OnEndpointTimer(ep, t.slot, now);
      now = NowNs();
    }
    int timeout = -1;
    if (!timers_.empty()) {
      const int64_t wait = timers_.top().due - NowNs();
      timeout = wait <= 0 ? 0 : static_cast<int>(std::min<int64_t>((wait + kMs - 1) / kMs, 60000));
    }
    const int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "liftsim: epoll_wait: %s\n", std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      Endpoint* ep = Lookup(events[i].data.u64);
      if (ep != nullptr) OnEvent(*ep, events[i].events);
    }
  }
}

void SimServer::Impl::OnEvent(Endpoint& ep, uint32_t events) {
  switch (ep.kind) {
    case Kind::kWake: {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(ep.fd, &v, sizeof v);
      return;
    }
    case Kind::kTcpListen:
    case Kind::kControlListen:
      Accept(ep);
      return;
    case Kind::kTcpConn:
    case Kind::kControlConn:
      if (events & EPOLLOUT) {
        FlushOut(ep);
        if (ep.fd < 0) return;
      }
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ep.kind == Kind::kTcpConn ? ReadTcp(ep) : ReadControl(ep);
      }
      return;
    case Kind::kRtu:
      if (events & EPOLLOUT) {
        FlushOut(ep);
        if (ep.fd < 0) return;
      }
      if (events & EPOLLIN) ReadRtu(ep);
      if (ep.fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
        const int slot = links_[ep.link].endpoint;
        std::fprintf(stderr, "liftsim: %s: %s hung up; reopening every second\n",
                     links_[ep.link].name.c_str(), opt_.rtu[links_[ep.link].spec].device.c_str());
        Close(ep);
        ep.reopen_at = NowNs() + kReopenNs;
        Rearm(ep, slot);
      }
      return;
  }
}

void SimServer::Impl::Accept(Endpoint& listener) {
  for (;;) {
    int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: take the connection and close it, so that the
        // listener does not stay readable for ever.
        ::close(spare_fd_);
        int c = accept(listener.fd, nullptr, nullptr);
        if (c >= 0) ::close(c);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        std::fprintf(stderr, "liftsim: out of file descriptors, connection refused\n");
        continue;
      }
      return;  // EAGAIN or a real error; the listener stays
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const Kind kind = listener.kind == Kind::kTcpListen ? Kind::kTcpConn : Kind::kControlConn;
    const int slot = NewEndpoint(kind, fd, listener.link);
    if (!Watch(slot, EPOLLIN)) {
      ::close(fd);
      eps_[slot]->fd = -1;
      ++eps_[slot]->gen;
      free_slots_.push_back(slot);
    }
  }
}

// ---------------------------------------------------------------------------
// Output

bool SimServer::Impl::WriteOut(Endpoint& ep, const uint8_t* p, size_t n) {
  if (ep.fd < 0) return false;
  if (n == 0) return true;
  size_t done = 0;
  if (ep.out_off >= ep.out.size()) {
    ssize_t w = ep.kind == Kind::kRtu ? ::write(ep.fd, p, n) : ::send(ep.fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        if (ep.kind != Kind::kRtu) {
          Close(ep);
          return false;
        }
        return true;  // a serial write error loses this reply only
      }
      w = 0;
    }
    done = static_cast<size_t>(w);
    if (done == n) return true;
  }
  if (ep.out.size() - ep.out_off + (n - done) > kMaxOutBacklog) {
    std::fprintf(stderr, "liftsim: a peer does not read its replies; closing it\n");
    if (ep.kind != Kind::kRtu) {
      Close(ep);
      return false;
    }
    ep.out.clear();
    ep.out_off = 0;
    return true;
  }
  ep.out.insert(ep.out.end(), p + done, p + n);
  SetWritable(ep, true);
  return true;
}

void SimServer::Impl::FlushOut(Endpoint& ep) {
  while (ep.out_off < ep.out.size()) {
    const size_t n = ep.out.size() - ep.out_off;
    ssize_t w = ep.kind == Kind::kRtu ? ::write(ep.fd, ep.out.data() + ep.out_off, n)
                                      : ::send(ep.fd, ep.out.data() + ep.out_off, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (ep.kind != Kind::kRtu) {
        Close(ep);
        return;
      }
      ep.out.clear();
      ep.out_off = 0;
      break;
    }
    ep.out_off += static_cast<size_t>(w);
  }
  ep.out.clear();
  ep.out_off = 0;
  SetWritable(ep, false);
}

void SimServer::Impl::Arm(Endpoint& ep, int slot, int64_t due) {
  if (due >= ep.armed) return;
  ep.armed = due;
  timers_.push(Timer{due, slot, ep.gen, -1});
}

void SimServer::Impl::Rearm(Endpoint& ep, int slot) {
  int64_t next = std::min(ep.rtu_flush_at, ep.reopen_at);
  if (ep.in_progress >= 0) {
    next = std::min(next, ep.pending[ep.in_progress].due);
  } else {
    for (const Pending& p : ep.pending) next = std::min(next, p.due);
  }
  if (next != kNever) Arm(ep, slot, next);
}

void SimServer::Impl::Send(Endpoint& ep, const uint8_t* p, size_t n, const Misbehaviour& m,
                           int64_t now) {
  int64_t delay = 0, interval = 0;
  if (m.kind == MisbehaviourKind::kDelay) delay = m.arg * kMs;
  if (m.kind == MisbehaviourKind::kBytewise) interval = m.arg * kMs;
  if (delay == 0 && (interval == 0 || n <= 1) && ep.pending.empty()) {
    WriteOut(ep, p, n);
    return;
  }
  if (ep.pending.size() >= kMaxPending) return;  // a flood of late replies: this one is lost
  Pending& q = ep.pending.emplace_back();
  q.due = now + delay;
  q.interval = interval;
  q.len = static_cast<uint16_t>(n);
  q.sent = 0;
  std::memcpy(q.bytes.data(), p, n);
  Pump(ep, now);
}

void SimServer::Impl::Pump(Endpoint& ep, int64_t now) {
  while (ep.fd >= 0) {
    if (ep.in_progress >= 0) {
      Pending& p = ep.pending[ep.in_progress];
      if (p.due > now) break;
      if (!WriteOut(ep, &p.bytes[p.sent], 1)) return;
      if (++p.sent == p.len) {
        ep.pending.erase(ep.pending.begin() + ep.in_progress);
        ep.in_progress = -1;
      } else {
        p.due = now + p.interval;  // MS apart, even after a late wake-up
      }
      continue;
    }
    auto it = std::find_if(ep.pending.begin(), ep.pending.end(),
                           [now](const Pending& p) { return p.due <= now; });
    if (it == ep.pending.end()) break;
    if (it->interval > 0 && it->len > 1) {
      ep.in_progress = static_cast<int>(it - ep.pending.begin());
      continue;
    }
    if (!WriteOut(ep, it->bytes.data(), it->len)) return;
    ep.pending.erase(it);
  }
  if (ep.fd >= 0 && !ep.pending.empty()) Rearm(ep, ep.slot);
}

void SimServer::Impl::OnEndpointTimer(Endpoint& ep, int slot, int64_t now) {
  if (ep.kind == Kind::kRtu && ep.fd < 0) {
    if (ep.reopen_at != kNever && ep.reopen_at <= now) {
      ep.reopen_at = kNever;
      Link& link = links_[ep.link];
      int fd = -1;
      if (OpenSerial(link, &fd)) {
        ep.fd = fd;
        ep.epollout = false;
        if (Watch(slot, EPOLLIN)) {
          std::fprintf(stderr, "liftsim: %s: reopened %s\n", link.name.c_str(),
                       opt_.rtu[link.spec].device.c_str());
        } else {
          ::close(fd);
          ep.fd = -1;
        }
      }
      if (ep.fd < 0) ep.reopen_at = now + kReopenNs;
    }
    Rearm(ep, slot);
    return;
  }
  if (ep.kind == Kind::kRtu && ep.rtu_flush_at <= now) RtuFrameDone(ep, now);
  Pump(ep, now);
  if (ep.fd >= 0) Rearm(ep, slot);
}

void SimServer::Impl::Randomize(uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    p[i] = static_cast<uint8_t>(rng_ >> 24);
  }
}

// ---------------------------------------------------------------------------
// Modbus

const Misbehaviour& SimServer::Impl::MisbehaviourFor(const Link& link, const Car* car) const {
  if (car != nullptr && car->mis.kind != MisbehaviourKind::kNormal) return car->mis;
  return link.mis;
}

// Reads of the four read tables, from the car's state encoded with the
// link's map. A table the map does not use is an unknown function.
size_t SimServer::Impl::Answer(Link& link, Car& car, const uint8_t* pdu, size_t pdu_len,
                               uint8_t* out, int64_t now) {
  const uint8_t fc = pdu[0];
  auto exception = [&](uint8_t code) {
    out[0] = static_cast<uint8_t>(fc | 0x80);
    out[1] = code;
    return size_t{2};
  };
  if (fc < MODBUS_FC_READ_COILS || fc > MODBUS_FC_READ_INPUT_REGISTERS || !link.serves_fc[fc]) {
    return exception(MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
  }
  if (pdu_len != 5) return exception(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
  const bool bits = fc == MODBUS_FC_READ_COILS || fc == MODBUS_FC_READ_DISCRETE_INPUTS;
  const auto table = static_cast<drivers::Table>(fc);
  const int addr = Be16(pdu + 1);
  const int count = Be16(pdu + 3);
  if (count < 1 || count > (bits ? MODBUS_MAX_READ_BITS : MODBUS_MAX_READ_REGISTERS)) {
    return exception(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
  }
  if (link.image.Read(table, addr, count).empty()) {
    return exception(MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
  }
  car.model.Advance(now);
  car.model.State().ToSample(sample_, info_);
  link.map->Encode(sample_, info_, link.image);
  const std::span<const uint16_t> src = link.image.Read(table, addr, count);
  out[0] = fc;
  if (bits) {
    const int bytes = (count + 7) / 8;
    out[1] = static_cast<uint8_t>(bytes);
    std::memset(out + 2, 0, static_cast<size_t>(bytes));
    for (int i = 0; i < count; ++i) {
      if (src[i] != 0) out[2 + i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    }
    return 2 + static_cast<size_t>(bytes);
  }
  out[1] = static_cast<uint8_t>(count * 2);
  for (int i = 0; i < count; ++i) {
    out[2 + 2 * i] = static_cast<uint8_t>(src[i] >> 8);
    out[3 + 2 * i] = static_cast<uint8_t>(src[i] & 0xFF);
  }
  return 2 + static_cast<size_t>(count) * 2;
}

// A reply PDU after the PDU-level misbehaviours (exception, short).
static size_t ApplyPduMisbehaviour(const Misbehaviour& m, uint8_t fc, uint8_t* pdu, size_t len) {
  if (m.kind == MisbehaviourKind::kException) {
    pdu[0] = static_cast<uint8_t>(fc | 0x80);
    pdu[1] = static_cast<uint8_t>(m.arg);
    return 2;
  }
  if (m.kind == MisbehaviourKind::kShort && len >= 2 && (pdu[0] & 0x80) == 0) {
    // Half the registers that were asked for (rounded down), consistent
    // byte count: the frame is well formed but carries too little. Of a
    // bit read, half the bytes.
    const bool bits = fc == MODBUS_FC_READ_COILS || fc == MODBUS_FC_READ_DISCRETE_INPUTS;
    const int keep_bytes = bits ? pdu[1] / 2 : pdu[1] / 2 / 2 * 2;
    pdu[1] = static_cast<uint8_t>(keep_bytes);
    return 2 + static_cast<size_t>(keep_bytes);
  }
  return len;
}

bool SimServer::Impl::HandleTcp(Endpoint& ep, const uint8_t* adu, size_t len) {
  Link& link = links_[ep.link];
  const uint8_t unit = adu[6];
  const uint8_t* pdu = adu + 7;
  const size_t pdu_len = len - 7;
  const uint8_t fc = pdu[0];
  ++link.fc[fc];
  ++link.requests;
  const int32_t ci = link.car_of_unit[unit];
  Car* car = ci >= 0 ? &cars_[ci] : nullptr;
  if (car != nullptr) ++car->requests;
  const Misbehaviour& m = MisbehaviourFor(link, car);
  if (m.kind == MisbehaviourKind::kSilent) return true;
  if (m.kind == MisbehaviourKind::kDrop) {
    Close(ep);
    return false;
  }
  if (car != nullptr && !car->model.answering()) return true;
  const int64_t now = NowNs();
  uint8_t rsp[kMaxAdu];
  size_t rlen;
  if (car == nullptr) {
    rsp[7] = static_cast<uint8_t>(fc | 0x80);
    rsp[8] = MODBUS_EXCEPTION_GATEWAY_TARGET;
    rlen = 2;
  } else {
    rlen = Answer(link, *car, pdu, pdu_len, rsp + 7, now);
  }
  rlen = ApplyPduMisbehaviour(m, fc, rsp + 7, rlen);
  std::memcpy(rsp, adu, 4);  // transaction and protocol id
  rsp[4] = static_cast<uint8_t>((rlen + 1) >> 8);
  rsp[5] = static_cast<uint8_t>((rlen + 1) & 0xFF);
  rsp[6] = unit;
  size_t total = 7 + rlen;
  if (m.kind == MisbehaviourKind::kBadTid) {
    const uint16_t tid = static_cast<uint16_t>(Be16(adu) + 1);
    rsp[0] = static_cast<uint8_t>(tid >> 8);
    rsp[1] = static_cast<uint8_t>(tid & 0xFF);
  } else if (m.kind == MisbehaviourKind::kGarbage) {
    Randomize(rsp, total);
  } else if (m.kind == MisbehaviourKind::kTruncate) {
    total = std::max<size_t>(1, total / 2);
  }
  Send(ep, rsp, total, m, now);
  return ep.fd >= 0;
}

void SimServer::Impl::ReadTcp(Endpoint& ep) {
  ssize_t r = ::recv(ep.fd, ep.in.data() + ep.in_len, ep.in.size() - ep.in_len, 0);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    Close(ep);
    return;
  }
  ep.in_len += static_cast<size_t>(r);
  size_t off = 0;
  while (ep.in_len - off >= 7) {
    const uint8_t* p = ep.in.data() + off;
    const size_t mbap_len = Be16(p + 4);
    if (mbap_len < 2 || mbap_len > 254) {
      std::fprintf(stderr, "liftsim: %s: bad MBAP length %zu, closing the connection\n",
                   links_[ep.link].name.c_str(), mbap_len);
      Close(ep);
      return;
    }
    const size_t total = 6 + mbap_len;
    if (ep.in_len - off < total) break;
    if (!HandleTcp(ep, p, total)) return;
    off += total;
  }
  if (off > 0) {
    std::memmove(ep.in.data(), ep.in.data() + off, ep.in_len - off);
    ep.in_len -= off;
  }
}

void SimServer::Impl::HandleRtu(Endpoint& ep, const uint8_t* frame, size_t len) {
  Link& link = links_[ep.link];
  const uint8_t unit = frame[0];
  const uint8_t fc = frame[1];
  ++link.fc[fc];
  ++link.requests;
  if (unit == 0) return;  // broadcast: never answered
  const int32_t ci = link.car_of_unit[unit];
  if (ci < 0) return;  // another device's business
  Car& car = cars_[ci];
  ++car.requests;
  const Misbehaviour& m = MisbehaviourFor(link, &car);
  if (m.kind == MisbehaviourKind::kSilent || m.kind == MisbehaviourKind::kDrop) return;
  if (!car.model.answering()) return;
  const int64_t now = NowNs();
  uint8_t rsp[kMaxAdu];
  size_t rlen = Answer(link, car, frame + 1, len - 3, rsp + 1, now);
  rlen = ApplyPduMisbehaviour(m, fc, rsp + 1, rlen);
  rsp[0] = m.kind == MisbehaviourKind::kBadTid ? static_cast<uint8_t>(unit % 247 + 1) : unit;
  PutCrc(rsp, 1 + rlen);
  size_t total = 3 + rlen;
  if (m.kind == MisbehaviourKind::kGarbage) {
    Randomize(rsp, total);
  } else if (m.kind == MisbehaviourKind::kTruncate) {
    total = std::max<size_t>(1, total / 2);
  }
  Send(ep, rsp, total, m, now);
}

void SimServer::Impl::RtuFrameDone(Endpoint& ep, int64_t now) {
  // Silence after bytes that did not make a known frame: take them as one
  // frame if the CRC agrees, else drop them.
  (void)now;
  ep.rtu_flush_at = kNever;
  if (ep.in_len == 0) return;
  Link& link = links_[ep.link];
  if (ep.in_len >= 4 && CrcOk(ep.in.data(), ep.in_len)) {
    HandleRtu(ep, ep.in.data(), ep.in_len);
  } else {
    ++link.crc_errors;
  }
  ep.in_len = 0;
}

void SimServer::Impl::ReadRtu(Endpoint& ep) {
  Link& link = links_[ep.link];
  const int64_t now = NowNs();
  if (ep.in_len > 0 && now - ep.last_rx > link.silence_ns) RtuFrameDone(ep, now);
  if (ep.in_len == ep.in.size()) {  // nothing framed in 1 KiB: noise
    ++link.crc_errors;
    ep.in_len = 0;
  }
  ssize_t r = ::read(ep.fd, ep.in.data() + ep.in_len, ep.in.size() - ep.in_len);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    const int slot = link.endpoint;
    std::fprintf(stderr, "liftsim: %s: %s: %s; reopening every second\n", link.name.c_str(),
                 opt_.rtu[link.spec].device.c_str(), r == 0 ? "end of file" : std::strerror(errno));
    Close(ep);
    ep.reopen_at = now + kReopenNs;
    Rearm(ep, slot);
    return;
  }
  ep.in_len += static_cast<size_t>(r);
  ep.last_rx = now;
  size_t off = 0;
  while (ep.in_len - off >= 4 && ep.fd >= 0) {
    const uint8_t* p = ep.in.data() + off;
    const size_t avail = ep.in_len - off;
    const int want = RtuRequestLength(p, avail);
    if (want < 0) break;  // unknown length: the frame ends at the next silence
    if (want == 0 || avail < static_cast<size_t>(want)) break;
    if (CrcOk(p, static_cast<size_t>(want))) {
      HandleRtu(ep, p, static_cast<size_t>(want));
      off += static_cast<size_t>(want);
    } else {
      ++link.crc_errors;
      off += 1;  // hunt for the next frame start
    }
  }
  if (off > 0) {
    std::memmove(ep.in.data(), ep.in.data() + off, ep.in_len - off);
    ep.in_len -= off;
  }
  ep.rtu_flush_at = ep.in_len > 0 ? now + link.silence_ns : kNever;
  if (ep.fd >= 0) Rearm(ep, link.endpoint);
}

// ---------------------------------------------------------------------------
// Control

void SimServer::Impl::ReadControl(Endpoint& ep) {
  char buf[4096];
  ssize_t r = ::recv(ep.fd, buf, sizeof buf, 0);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    Close(ep);
    return;
  }
  ep.line.append(buf, static_cast<size_t>(r));
  size_t start = 0;
  for (;;) {
    const size_t nl = ep.line.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(ep.line.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string reply;
    auto cmd = ParseCommand(line);
    reply = cmd ? Execute(*cmd) : "err " + cmd.error().message;
    reply += '\n';
    if (!WriteOut(ep, reinterpret_cast<const uint8_t*>(reply.data()), reply.size())) return;
    start = nl + 1;
  }
  ep.line.erase(0, start);
  if (ep.line.size() > kMaxControlLine) {
    static const char kTooLong[] = "err line too long\n";
    WriteOut(ep, reinterpret_cast<const uint8_t*>(kTooLong), sizeof kTooLong - 1);
    Close(ep);
  }
}

SimServer::Impl::Link* SimServer::Impl::FindLink(const Target& t, std::string* err) {
  auto it = link_by_name_.find(t.link);
  if (it == link_by_name_.end()) {
    *err = "unknown link " + t.link;
    return nullptr;
  }
  return &links_[it->second];
}

SimServer::Impl::Car* SimServer::Impl::FindCar(const Target& t, std::string* err) {
  Link* link = FindLink(t, err);
  if (link == nullptr) return nullptr;
  if (t.unit < 1 || t.unit > 255 || link->car_of_unit[t.unit] < 0) {
    *err = "unknown car " + t.ToString();
    return nullptr;
  }
  return &cars_[link->car_of_unit[t.unit]];
}

Status SimServer::Impl::CheckTargets(const Command& c) {
  if (!c.has_target) return Status::Ok();
  std::string err;
  const bool ok =
      c.target.is_car() ? FindCar(c.target, &err) != nullptr : FindLink(c.target, &err) != nullptr;
  if (!ok) return Error::Permanent("config", err);
  return Status::Ok();
}

std::string SimServer::Impl::Execute(const Command& c) {
  std::string err;
  auto stamp = [] { return "ok t=" + std::to_string(NowNs()); };
  Car* car = nullptr;
  Link* link = nullptr;
  if (c.has_target) {
    if (c.target.is_car()) {
      car = FindCar(c.target, &err);
      if (car == nullptr) return "err " + err;
      link = &links_[car->link];
    } else {
      link = FindLink(c.target, &err);
      if (link == nullptr) return "err " + err;
    }
  }
  switch (c.verb) {
    case Verb::kSet:
      car->model.Advance(NowNs());
      if (c.field == Field::kModel) {
        car->model.SetModelOverride(c.text);
      } else {
        car->model.SetOverride(c.field, c.value);
      }
      return stamp();
    case Verb::kRelease:
      car->model.Advance(NowNs());
      if (c.has_field) {
        car->model.Release(c.field);
      } else {
        car->model.ReleaseAll();
      }
      return stamp();
    case Verb::kFault:
      car->model.SetCondition(c.condition, c.on, NowNs(), c.fault_code);
      return stamp();
    case Verb::kMisbehave:
      if (car != nullptr) {
        car->mis = c.misbehaviour;
      } else {
        link->mis = c.misbehaviour;
        if (c.misbehaviour.kind == MisbehaviourKind::kNormal) {
          for (Car& k : cars_) {
            if (&links_[k.link] == link) k.mis = Misbehaviour{};
          }
        }
      }
      return stamp();
    case Verb::kFcodes: {
      std::array<uint64_t, 256> sum{};
      for (const Link& l : links_) {
        if (link != nullptr && &l != link) continue;
        for (int i = 0; i < 256; ++i) sum[i] += l.fc[i];
      }
      std::string r = "ok";
      for (int i = 0; i < 256; ++i) {
        if (sum[i] != 0) r += " " + std::to_string(i) + "=" + std::to_string(sum[i]);
      }
      return r;
    }
    case Verb::kRequests:
      return "ok " + std::to_string(car != nullptr ? car->requests : link->requests);
    case Verb::kGet: {
      car->model.Advance(NowNs());
      const CarState s = car->model.State();
      std::string r = "ok";
      for (int i = 0; i < kFieldCount; ++i) {
        const Field f = static_cast<Field>(i);
        r += ' ';
        r += FieldName(f);
        r += '=';
        r += f == Field::kModel ? s.ModelText() : std::to_string(s.Get(f));
      }
      return r;
    }
    case Verb::kPause:
    case Verb::kResume: {
      paused_ = c.verb == Verb::kPause;
      const int64_t now = NowNs();
      for (Car& k : cars_) k.model.SetPaused(paused_, now);
      return stamp();
    }
    case Verb::kNow:
      return "ok " + std::to_string(NowNs());
    case Verb::kClearCounts:
      for (Link& l : links_) {
        if (link != nullptr && &l != link) continue;
        l.fc.fill(0);
        l.requests = 0;
        l.crc_errors = 0;
      }
      for (Car& k : cars_) {
        if (link == nullptr || &links_[k.link] == link) k.requests = 0;
      }
      return stamp();
    case Verb::kHelp:
      return "ok " + std::string(CommandHelp());
  }
  return "err unhandled command";
}

// ---------------------------------------------------------------------------
// SimServer

SimServer::SimServer(SimOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SimServer::~SimServer() { Stop(); }

Status SimServer::Open() {
  if (impl_->opened_) return Error::Permanent("config", "SimServer::Open called twice");
  return impl_->Open();
}

void SimServer::Run() { impl_->Run(); }

Status SimServer::Start() {
  if (!impl_->opened_) return Error::Permanent("config", "SimServer::Start before Open");
  if (impl_->thread_.joinable()) return Error::Permanent("config", "SimServer already started");
  impl_->thread_ = std::thread([this] { impl_->Run(); });
  return Status::Ok();
}

void SimServer::Stop() {
  impl_->RequestStop();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

void SimServer::RequestStop() { impl_->RequestStop(); }

std::vector<std::string> SimServer::link_names() const {
  std::vector<std::string> names;
  for (const auto& l : impl_->links_) names.push_back(l.name);
  return names;
}

int SimServer::tcp_port(size_t i) const {
  for (const auto& l : impl_->links_) {
    if (!l.rtu && l.spec == i) return l.port;
  }
  return -1;
}

int SimServer::control_port() const { return impl_->control_port_; }

size_t SimServer::car_count() const { return impl_->cars_.size(); }

}  // namespace lg::sim
