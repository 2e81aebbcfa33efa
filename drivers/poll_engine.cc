// PollEngine: one Link object per link, each driven on its own Asio strand.
//
// A link's cycle: pick the unit whose next poll is due soonest, wait until
// then, read its blocks one request at a time, decode, report, pause
// `gap_ms`, repeat. TCP requests wait for the reply with an async
// readability wait and a deadline on the same strand, so nothing blocks an
// I/O thread. RTU requests run whole on the serial pool (libmodbus blocks on
// the tty) and post their outcome back to the link's strand.
#include "drivers/poll_engine.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "drivers/backoff.h"
#include "drivers/modbus_wire.h"

namespace lg::drivers {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string_view LinkErrorKindName(LinkError::Kind k) {
  switch (k) {
    case LinkError::Kind::kNotConnected:
      return "not_connected";
    case LinkError::Kind::kConnect:
      return "connect";
    case LinkError::Kind::kTimeout:
      return "timeout";
    case LinkError::Kind::kIo:
      return "io";
    case LinkError::Kind::kException:
      return "exception";
    case LinkError::Kind::kBadFrame:
      return "bad_frame";
    case LinkError::Kind::kBadTransaction:
      return "bad_transaction";
  }
  return "?";
}

std::string_view LinkStatusName(LinkStatus s) {
  switch (s) {
    case LinkStatus::kConnecting:
      return "connecting";
    case LinkStatus::kUp:
      return "up";
    case LinkStatus::kDown:
      return "down";
  }
  return "?";
}

namespace {

// Consecutive failed polls on a link, across all its units, after which the
// connection itself is presumed dead (a hung gateway answers nobody).
constexpr int kLinkDeadAfterFailures = 3;
constexpr int kMaxAdu = 260;
constexpr int kMaxBlockWords = 2000;

struct UnitState {
  UnitSettings s;
  SteadyTime next_due{};
  int failures = 0;
  bool need_info = true;
  bool have_error = false;  // last poll failed
  LinkError last_error;
};

}  // namespace

class PollEngine::Impl {
 public:
  Impl(EngineSettings settings, PollSink& sink, const Clock& clock)
      : settings_(settings),
        sink_(sink),
        clock_(clock),
        // With one I/O thread, the hint lets Asio queue handlers that the
        // thread posts to itself without a lock or waking the reactor (an
        // epoll_ctl per reply otherwise).
        io_(std::max(1, settings.io_threads)),
        work_(asio::make_work_guard(io_)),
        serial_pool_(static_cast<size_t>(std::max(1, settings.serial_threads))) {
    StartTicker();
    for (int i = 0; i < std::max(1, settings_.io_threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }

  ~Impl() { Stop(); }

  void StartTicker();

  Status Reconcile(const std::vector<LinkSettings>& links, const std::vector<UnitSettings>& units);
  void Stop();
  std::vector<std::pair<std::string, LinkStats>> Stats() const;

  class Link;

  EngineSettings settings_;
  PollSink& sink_;
  const Clock& clock_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::thread_pool serial_pool_;
  // One timer for every link's waits (see Link::Wake); its period bounds how
  // late a poll or a timeout can be noticed. Each tick wakes the I/O thread,
  // which costs tens of microseconds on a virtual machine, so it is not
  // shorter than it needs to be.
  static constexpr Millis kTick{20};
  asio::steady_timer ticker_{io_};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;  // guards links_ and stopped_
  std::map<std::string, std::shared_ptr<Link>> links_;
  bool stopped_ = false;
};

// One link: its connection, its units and their schedule. Everything but the
// constructor, Stats() and the blocking RTU work runs on strand_.
class PollEngine::Impl::Link : public std::enable_shared_from_this<Link> {
 public:
  enum class Wake : uint8_t { kNone, kConnectTimeout, kReconnect, kSchedule, kReplyTimeout };

  Link(Impl& engine, LinkSettings settings)
      : e_(engine),
        s_(std::move(settings)),
        strand_(asio::make_strand(engine.io_)),
        socket_(strand_),
        backoff_(s_.backoff_first_ms, s_.backoff_cap_ms, 0.2, std::hash<std::string>{}(s_.id) | 1) {
  }

  ~Link() { FreeContext(); }

  const LinkSettings& settings() const { return s_; }

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Connect(); });
  }

  void Shutdown() {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->NoWake();
      self->CloseConnection();
    });
  }

  // Replaces the unit list; units whose settings did not change keep their
  // schedule and backoff.
  void SetUnits(std::vector<UnitSettings> units) {
    asio::post(strand_, [self = shared_from_this(), units = std::move(units)]() mutable {
      self->ApplyUnits(std::move(units));
    });
  }

  LinkStats Stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

  // From the engine's ticker, any thread: wakes the link if it is due.
  void MaybeTick(int64_t now_ns) {
    if (wake_ns_.load(std::memory_order_relaxed) > now_ns) return;
    if (tick_posted_.exchange(true)) return;
    asio::post(strand_, [self = shared_from_this()] { self->Tick(); });
  }

 private:
  static int64_t Ns(SteadyTime t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  void WakeAt(Wake w, SteadyTime at) {
    wake_ = w;
    wake_at_ = at;
    wake_ns_.store(Ns(at), std::memory_order_relaxed);
  }

  void NoWake() {
    wake_ = Wake::kNone;
    wake_ns_.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
  }

  void Tick() {
    tick_posted_ = false;
    if (stopped_ || wake_ == Wake::kNone) return;
    SteadyTime now = e_.clock_.Now();
    if (now < wake_at_) return;
    Wake w = wake_;
    NoWake();
    switch (w) {
      case Wake::kConnectTimeout: {
        ++gen_;
        boost::system::error_code ignored;
        socket_.close(ignored);
        ConnectFailed(LinkError{LinkError::Kind::kConnect, 0, "connect: timed out"});
        break;
      }
      case Wake::kReconnect:
        Count([](LinkStats& s) { ++s.reconnects; });
        Connect();
        break;
      case Wake::kSchedule:
        Schedule();
        break;
      case Wake::kReplyTimeout:
        ReplyTimedOut();
        break;
      case Wake::kNone:
        break;
    }
  }

  bool is_tcp() const { return s_.transport == LinkSettings::Transport::kTcp; }

  template <typename F>
  void Count(F f) {
    std::lock_guard lock(stats_mu_);
    f(stats_);
  }

  void ApplyUnits(std::vector<UnitSettings> units) {
    std::vector<UnitState> next;
    next.reserve(units.size());
    SteadyTime now = e_.clock_.Now();
    for (size_t i = 0; i < units.size(); ++i) {
      auto old = std::find_if(units_.begin(), units_.end(),
                              [&](const UnitState& u) { return u.s == units[i]; });
      if (old != units_.end()) {
        next.push_back(*old);
        continue;
      }
      UnitState u;
      u.s = std::move(units[i]);
      // Spread first polls over one interval so a link's units do not all
      // fall due at the same instant.
      u.next_due = now + Millis(u.s.interval_ms * static_cast<int64_t>(i) /
                                std::max<size_t>(1, units.size()));
      next.push_back(std::move(u));
    }
    units_ = std::move(next);
    due_.clear();
    for (const auto& u : units_) due_.push_back(u.next_due);
    if (status_ == LinkStatus::kUp && !busy_) Schedule();
  }

  // ---- connection --------------------------------------------------------

  void SetStatus(LinkStatus st) {
    if (st == status_) return;
    status_ = st;
    Count([&](LinkStats& s) { s.status = st; });
    e_.sink_.OnLinkStatus(s_.id, st);
  }

  void Connect() {
    if (stopped_) return;
    SetStatus(status_ == LinkStatus::kDown ? LinkStatus::kDown : LinkStatus::kConnecting);
    if (is_tcp()) {
      ConnectTcp();
    } else {
      ConnectRtu();
    }
  }

  void ConnectTcp() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(s_.host, ec);
    if (ec) {
      // A host name: resolve (Asio runs getaddrinfo off the I/O threads).
      auto resolver = std::make_shared<tcp::resolver>(strand_);
      resolver->async_resolve(
          s_.host, std::to_string(s_.port),
          [self = shared_from_this(), resolver](boost::system::error_code rec,
                                                tcp::resolver::results_type results) {
            if (self->stopped_) return;
            if (rec || results.empty()) {
              self->ConnectFailed(LinkError{LinkError::Kind::kConnect, 0,
                                            "resolve " + self->s_.host + ": " + rec.message()});
              return;
            }
            self->ConnectTo(results.begin()->endpoint());
          });
      return;
    }
    ConnectTo(tcp::endpoint(addr, static_cast<uint16_t>(s_.port)));
  }

  void ConnectTo(tcp::endpoint ep) {
    uint64_t gen = ++gen_;
    WakeAt(Wake::kConnectTimeout, e_.clock_.Now() + Millis(std::max(1000, s_.timeout_ms)));
    socket_.async_connect(ep, [self = shared_from_this(), gen](boost::system::error_code ec) {
      if (gen != self->gen_ || self->stopped_) return;
      ++self->gen_;
      self->NoWake();
      if (ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);
        self->ConnectFailed(LinkError{LinkError::Kind::kConnect, 0, "connect: " + ec.message()});
        return;
      }
      self->socket_.set_option(tcp::no_delay(true), ec);
      self->Connected();
    });
  }

  void ConnectRtu() {
    busy_ = true;
    asio::post(e_.serial_pool_, [self = shared_from_this()] {
      std::optional<LinkError> err;
      if (!self->ctx_) {
        self->ctx_ = modbus_new_rtu(self->s_.device.c_str(), self->s_.baud, self->s_.parity,
                                    self->s_.data_bits, self->s_.stop_bits);
      }
      if (!self->ctx_) {
        err = LinkError{LinkError::Kind::kConnect, 0, "modbus_new_rtu: bad serial settings"};
      } else {
        int t = self->s_.timeout_ms;
        modbus_set_response_timeout(self->ctx_, t / 1000, (t % 1000) * 1000);
        modbus_set_byte_timeout(self->ctx_, 0, 50'000);
        if (modbus_connect(self->ctx_) < 0) {
          err = ErrorFromErrno(errno, ("open " + self->s_.device).c_str());
          err->kind = LinkError::Kind::kConnect;
        }
      }
      asio::post(self->strand_, [self, err] {
        self->busy_ = false;
        if (self->stopped_) return;
        if (err) {
          self->ConnectFailed(*err);
        } else {
          self->Connected();
        }
      });
    });
  }

  void Connected() {
    backoff_.Reset();
    link_failures_ = 0;
    for (auto& u : units_) u.need_info = true;
    if (last_connect_error_) {
      spdlog::info("link {}: connected again", s_.id);
      last_connect_error_.reset();
    } else {
      spdlog::info("link {}: connected", s_.id);
    }
    SetStatus(LinkStatus::kUp);
    Schedule();
  }

  void ConnectFailed(const LinkError& err) {
    if (stopped_) return;
    int delay = backoff_.NextDelayMs();
    if (!last_connect_error_ || !(*last_connect_error_ == err) ||
        last_connect_error_->detail != err.detail) {
      spdlog::warn("link {}: {} (retrying with backoff, now {} ms)", s_.id, err.detail, delay);
      last_connect_error_ = err;
    }
    SetStatus(LinkStatus::kDown);
    for (auto& u : units_)
      e_.sink_.OnPollError(u.s.car, LinkError{LinkError::Kind::kNotConnected, 0, err.detail});
    ++gen_;
    WakeAt(Wake::kReconnect, e_.clock_.Now() + Millis(delay));
  }

  void CloseConnection() {
    ++gen_;
    if (is_tcp()) {
      boost::system::error_code ignored;
      socket_.close(ignored);
    } else if (!busy_ && ctx_) {  // busy: the pool thread owns ctx_ until it posts back
      modbus_close(ctx_);
    }
  }

  void FreeContext() {
    if (!ctx_) return;
    modbus_close(ctx_);
    modbus_free(ctx_);
    ctx_ = nullptr;
  }

  void LinkBroken(const LinkError& err) {
    spdlog::warn("link {}: {}; reconnecting", s_.id, err.detail);
    CloseConnection();
    if (!is_tcp()) {
      // A tty can be reopened at once; the backoff applies if that fails.
      busy_ = false;
    }
    ConnectFailed(err);
  }

  // ---- scheduling --------------------------------------------------------

  void Schedule() {
    if (stopped_ || status_ != LinkStatus::kUp || units_.empty()) return;
    auto next = std::min_element(due_.begin(), due_.end());
    size_t idx = static_cast<size_t>(next - due_.begin());
    SteadyTime now = e_.clock_.Now();
    // Due before the next tick: poll now rather than up to a tick late. A
    // poll a few milliseconds early costs nothing; a wake-up does.
    if (*next <= now + kTick) {
      PollUnit(idx);
      return;
    }
    WakeAt(Wake::kSchedule, *next);
  }

  void PollUnit(size_t idx) {
    UnitState& u = units_[idx];
    if (u.need_info && u.s.map->info_blocks().empty()) u.need_info = false;
    // The poll works on its own copy of the unit's settings: a reload may
    // replace units_ while a reply is awaited.
    current_ = u.s;
    current_idx_ = idx;
    current_info_ = u.need_info;
    block_ = 0;
    busy_ = true;
    started_ = e_.clock_.Now();
    NextBlock();
  }

  const std::vector<ReadBlock>& CurrentBlocks() const {
    const auto& m = *current_.map;
    return current_info_ ? m.info_blocks() : m.poll_blocks();
  }

  // Reads block `block_` of the current unit, or finishes the poll.
  void NextBlock() {
    const auto& blocks = CurrentBlocks();
    if (block_ >= blocks.size()) {
      FinishPoll(std::nullopt);
      return;
    }
    const ReadBlock& b = blocks[block_];
    size_t offset = 0;
    for (size_t i = 0; i < block_; ++i) offset += blocks[i].count;
    if (offset + b.count > words_.size()) words_.resize(offset + b.count);
    Count([](LinkStats& s) { ++s.requests; });
    if (is_tcp()) {
      TransactTcp(current_.unit, b, words_.data() + offset);
    } else {
      TransactRtu(current_.unit, b, offset);
    }
  }

  void BlockDone(std::optional<LinkError> err) {
    if (stopped_) return;
    if (err) {
      FinishPoll(err);
      return;
    }
    ++block_;
    NextBlock();
  }

  void FinishPoll(std::optional<LinkError> err) {
    busy_ = false;
    auto it = current_idx_ < units_.size() && units_[current_idx_].s == current_
                  ? units_.begin() + static_cast<std::ptrdiff_t>(current_idx_)
                  : std::find_if(units_.begin(), units_.end(),
                                 [&](const UnitState& x) { return x.s == current_; });
    if (it == units_.end()) {
      // The unit was removed by a reload while its poll ran.
      AfterPoll(err);
      return;
    }
    UnitState& u = *it;
    SteadyTime now = e_.clock_.Now();
    if (!err) {
      const auto& blocks = CurrentBlocks();
      raw_.clear();
      size_t offset = 0;
      for (const auto& b : blocks) {
        raw_.emplace_back(words_.data() + offset, b.count);
        offset += b.count;
      }
      if (current_info_) {
        auto info = u.s.map->DecodeInfo(raw_);
        if (info.ok()) {
          u.need_info = false;
          e_.sink_.OnControllerInfo(u.s.car, *info);
        } else {
          err = LinkError{LinkError::Kind::kBadFrame, 0, info.error().message};
        }
      } else {
        sample_.present.reset();
        sample_.flags.reset();
        sample_.model.clear();
        Status st = u.s.map->DecodePoll(raw_, sample_);
        if (st.ok()) {
          sample_.read_at = now;
          sample_.wall_at = e_.clock_.WallNow();
          e_.sink_.OnSample(u.s.car, sample_);
        } else {
          err = LinkError{LinkError::Kind::kBadFrame, 0, st.error().message};
        }
      }
    }
    if (!err) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count();
      Count([&](LinkStats& s) {
        ++s.replies;
        s.latency_us_sum += static_cast<uint64_t>(us);
      });
      if (u.have_error) {
        spdlog::info("link {} unit {}: answering again", s_.id, u.s.unit);
        u.have_error = false;
      }
      u.failures = 0;
      link_failures_ = 0;
      // An info read is followed at once by the first poll.
      if (!current_info_) {
        u.next_due += Millis(u.s.interval_ms);
        if (u.next_due < now) u.next_due = now;
      }
    } else {
      Count([&](LinkStats& s) {
        switch (err->kind) {
          case LinkError::Kind::kTimeout:
            ++s.timeouts;
            break;
          case LinkError::Kind::kException:
            ++s.exceptions;
            break;
          case LinkError::Kind::kBadFrame:
          case LinkError::Kind::kBadTransaction:
            ++s.bad_frames;
            break;
          default:
            ++s.io_errors;
            break;
        }
      });
      if (!u.have_error || !(u.last_error == *err)) {
        spdlog::warn("link {} unit {}: {}", s_.id, u.s.unit, err->detail);
        u.have_error = true;
        u.last_error = *err;
      }
      e_.sink_.OnPollError(u.s.car, *err);
      // A controller that answers with an exception is alive; keep its
      // interval. One that is silent or garbled is backed off so it costs
      // the live units on its link little.
      if (err->kind == LinkError::Kind::kException && current_info_) {
        // Some controllers refuse the identity registers; poll them anyway.
        u.need_info = false;
      } else if (err->kind == LinkError::Kind::kException) {
        u.next_due = now + Millis(u.s.interval_ms);
      } else {
        ++u.failures;
        u.next_due =
            now + Millis(Backoff::Delay(u.s.interval_ms,
                                        std::max(u.s.interval_ms, s_.backoff_cap_ms), u.failures));
      }
    }
    due_[static_cast<size_t>(it - units_.begin())] = u.next_due;
    AfterPoll(err);
  }

  void AfterPoll(const std::optional<LinkError>& err) {
    if (stopped_) return;
    if (err && err->kind != LinkError::Kind::kException) {
      bool broken = err->kind == LinkError::Kind::kIo;
      // Every unit silent: the connection (or gateway) is presumed dead.
      if (!broken && ++link_failures_ >= kLinkDeadAfterFailures &&
          std::all_of(units_.begin(), units_.end(),
                      [](const UnitState& u) { return u.failures > 0; })) {
        broken = true;
      }
      if (broken) {
        link_failures_ = 0;
        LinkBroken(*err);
        return;
      }
      if (is_tcp()) FlushTcp();
    }
    if (s_.gap_ms > 0) {
      WakeAt(Wake::kSchedule, e_.clock_.Now() + Millis(s_.gap_ms));
    } else {
      Schedule();
    }
  }

  // ---- TCP transaction ---------------------------------------------------

  void TransactTcp(int unit, const ReadBlock& b, uint16_t* out) {
    tid_ = static_cast<uint16_t>(tid_ + 1);
    int fc = static_cast<int>(b.table);
    rx_len_ = 0;
    stale_ = 0;
    if (auto err =
            SendReadRequestTcp(socket_.native_handle(), unit, fc, b.address, b.count, tid_)) {
      if (err->kind == LinkError::Kind::kTimeout) err->kind = LinkError::Kind::kIo;
      BlockDone(err);
      return;
    }
    uint64_t gen = ++gen_;
    WakeAt(Wake::kReplyTimeout, e_.clock_.Now() + Millis(s_.timeout_ms));
    WaitReply(gen, unit, fc, b.count, out);
  }

  void ReplyTimedOut() {
    ++gen_;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    if (stale_ > 0) {
      BlockDone(LinkError{LinkError::Kind::kBadTransaction, 0,
                          "only replies to other requests (wrong transaction id) within " +
                              std::to_string(s_.timeout_ms) + " ms"});
    } else if (rx_len_ > 0) {
      BlockDone(LinkError{LinkError::Kind::kBadFrame, 0,
                          "short reply: " + std::to_string(rx_len_) + " bytes, then silence"});
    } else {
      BlockDone(LinkError{LinkError::Kind::kTimeout, 0,
                          "no reply within " + std::to_string(s_.timeout_ms) + " ms"});
    }
  }

  // Waits for the reply; bytes are taken as they come, so a controller that
  // dribbles its reply never blocks or spins an I/O thread.
  void WaitReply(uint64_t gen, int unit, int fc, uint16_t count, uint16_t* out) {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), gen, unit, fc, count,
                                                out](boost::system::error_code ec) {
      if (gen != self->gen_ || self->stopped_) return;
      if (ec) {
        ++self->gen_;
        self->NoWake();
        self->BlockDone(LinkError{LinkError::Kind::kIo, 0, "wait: " + ec.message()});
        return;
      }
      self->OnReadable(gen, unit, fc, count, out);
    });
  }

  void OnReadable(uint64_t gen, int unit, int fc, uint16_t count, uint16_t* out) {
    auto fail = [&](LinkError err) {
      ++gen_;
      NoWake();
      BlockDone(std::move(err));
    };
    ssize_t n = ::recv(socket_.native_handle(), rx_ + rx_len_, sizeof rx_ - rx_len_, MSG_DONTWAIT);
    if (n == 0) return fail(LinkError{LinkError::Kind::kIo, 0, "connection closed by peer"});
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return WaitReply(gen, unit, fc, count, out);
      }
      return fail(ErrorFromErrno(errno, "recv"));
    }
    rx_len_ += static_cast<size_t>(n);
    OnReadableBuffered(gen, unit, fc, count, out);
  }

  // Looks at what has arrived so far.
  void OnReadableBuffered(uint64_t gen, int unit, int fc, uint16_t count, uint16_t* out) {
    auto fail = [&](LinkError err) {
      ++gen_;
      NoWake();
      BlockDone(std::move(err));
    };
    if (rx_len_ >= 6) {
      int protocol = (rx_[2] << 8) | rx_[3];
      int len = (rx_[4] << 8) | rx_[5];
      if (protocol != 0 || len < 2 || len > kMaxAdu - 6) {
        return fail(LinkError{LinkError::Kind::kBadFrame, 0,
                              "garbage reply (protocol " + std::to_string(protocol) + ", length " +
                                  std::to_string(len) + ")"});
      }
      size_t frame = static_cast<size_t>(6 + len);
      if (rx_len_ >= frame) {
        int tid = (rx_[0] << 8) | rx_[1];
        if (tid != tid_) {
          // A late reply to an earlier request (it timed out): drop it and
          // keep waiting for ours until the deadline, so one slow reply does
          // not fail every request after it. A deadline reached with only
          // such replies is reported as kBadTransaction.
          ++stale_;
          std::memmove(rx_, rx_ + frame, rx_len_ - frame);
          rx_len_ -= frame;
          return OnReadableBuffered(gen, unit, fc, count, out);
        }
        ++gen_;
        NoWake();
        BlockDone(ParseReadReply(rx_, static_cast<int>(frame), 7, tid_, unit, fc, count, out));
        return;
      }
    }
    WaitReply(gen, unit, fc, count, out);
  }

  void FlushTcp() {
    uint8_t buf[kMaxAdu];
    int fd = socket_.native_handle();
    while (fd >= 0 && ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
  }

  // ---- RTU transaction (blocking, on the serial pool) --------------------

  void TransactRtu(int unit, const ReadBlock& b, size_t offset) {
    asio::post(e_.serial_pool_, [self = shared_from_this(), unit, b, offset] {
      uint16_t words[kMaxBlockWords];
      uint8_t adu[MODBUS_RTU_MAX_ADU_LENGTH];
      int fc = static_cast<int>(b.table);
      auto err = SendReadRequestRtu(self->ctx_, unit, fc, b.address, b.count);
      if (!err) {
        int rc = modbus_receive_confirmation(self->ctx_, adu);
        if (rc < 0) {
          err = ErrorFromErrno(errno, "receive");
        } else if (rc == 0) {
          err = LinkError{LinkError::Kind::kBadTransaction, 0, "reply from another unit"};
        } else {
          err = ParseReadReply(adu, rc, 1, -1, unit, fc, b.count, words);
        }
        if (err) modbus_flush(self->ctx_);
      }
      std::vector<uint16_t> copy;
      if (!err) copy.assign(words, words + b.count);
      asio::post(self->strand_, [self, err, offset, copy = std::move(copy)] {
        if (!err) std::copy(copy.begin(), copy.end(), self->words_.begin() + offset);
        self->BlockDone(err);
      });
    });
  }

  Impl& e_;
  const LinkSettings s_;
  asio::strand<asio::io_context::executor_type> strand_;
  // What the link waits for besides I/O, and until when. The engine's
  // ticker looks at wake_ns_ every tick and posts Tick() once it is due,
  // so links arm no timers of their own (a timer per poll showed up as
  // timerfd_settime churn at thousands of cars).
  Wake wake_ = Wake::kNone;
  SteadyTime wake_at_{};
  std::atomic<int64_t> wake_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<bool> tick_posted_{false};
  tcp::socket socket_;
  modbus_t* ctx_ = nullptr;  // RTU only
  uint8_t rx_[kMaxAdu];      // TCP: the reply being received
  size_t rx_len_ = 0;
  int stale_ = 0;  // replies to earlier requests dropped during this one
  Backoff backoff_;
  std::optional<LinkError> last_connect_error_;
  LinkStatus status_ = LinkStatus::kConnecting;
  bool stopped_ = false;
  bool busy_ = false;
  uint64_t gen_ = 0;  // bumps invalidate stale timer / wait handlers
  uint16_t tid_ = 0;
  int link_failures_ = 0;

  std::vector<UnitState> units_;
  // units_[i].next_due, packed: Schedule() scans it after every poll.
  std::vector<SteadyTime> due_;
  size_t current_idx_ = 0;  // units_ index of the unit being polled (a hint)
  UnitSettings current_;    // the unit being polled, as it was when the poll began
  bool current_info_ = false;
  size_t block_ = 0;
  SteadyTime started_{};
  std::vector<uint16_t> words_ = std::vector<uint16_t>(256);
  std::vector<RawBlock> raw_;
  Sample sample_;

  mutable std::mutex stats_mu_;
  LinkStats stats_;
};  // namespace lg::drivers

void PollEngine::Impl::StartTicker() {
  ticker_.expires_after(kTick);
  ticker_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Now().time_since_epoch())
            .count();
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      for (auto& [id, link] : links_) link->MaybeTick(now);
    }
    StartTicker();
  });
}

Status PollEngine::Impl::Reconcile(const std::vector<LinkSettings>& links,
                                   const std::vector<UnitSettings>& units) {
  std::map<std::string, std::vector<UnitSettings>> by_link;
  for (const auto& l : links) by_link[l.id];
  for (const auto& u : units) {
    auto it = by_link.find(u.link);
    if (it == by_link.end()) {
      return Error::Permanent(
          "config", "car " + std::to_string(u.car) + " is on unknown link '" + u.link + "'");
    }
    if (!u.map) return Error::Permanent("config", "car " + std::to_string(u.car) + " has no map");
    it->second.push_back(u);
  }
  std::lock_guard lock(mu_);
  if (stopped_) return Status::Ok();
  for (auto it = links_.begin(); it != links_.end();) {
    auto want = std::find_if(links.begin(), links.end(),
                             [&](const LinkSettings& l) { return l.id == it->first; });
    if (want == links.end() || !(*want == it->second->settings())) {
      it->second->Shutdown();
      it = links_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& l : links) {
    auto& link = links_[l.id];
    bool fresh = !link;
    if (fresh) link = std::make_shared<Link>(*this, l);
    link->SetUnits(by_link[l.id]);
    if (fresh) link->Start();
  }
  return Status::Ok();
}

void PollEngine::Impl::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, link] : links_) link->Shutdown();
    links_.clear();
  }
  asio::post(io_, [this] { ticker_.cancel(); });
  work_.reset();
  serial_pool_.join();
  // Links close their sockets on their strands; then the context runs dry.
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::vector<std::pair<std::string, LinkStats>> PollEngine::Impl::Stats() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, LinkStats>> out;
  out.reserve(links_.size());
  for (const auto& [id, link] : links_) out.emplace_back(id, link->Stats());
  return out;
}

PollEngine::PollEngine(EngineSettings settings, PollSink& sink, const Clock& clock)
    : impl_(std::make_unique<Impl>(settings, sink, clock)) {}
PollEngine::~PollEngine() = default;

Status PollEngine::Reconcile(const std::vector<LinkSettings>& links,
                             const std::vector<UnitSettings>& units) {
  return impl_->Reconcile(links, units);
}
void PollEngine::Stop() { impl_->Stop(); }
std::vector<std::pair<std::string, LinkStats>> PollEngine::Stats() const { return impl_->Stats(); }

}  // namespace lg::drivers
