#include "daemon/auth.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <mutex>

namespace lg::auth {
namespace {

void InitSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();  // no usable randomness: nothing is safe
  });
}

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

Result<std::string> HashPassword(const std::string& password) {
  InitSodium();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Error::Transient("out_of_memory", "not enough memory to hash the password");
  }
  return std::string(out.data());
}

bool VerifyPassword(const std::string& hash, const std::string& password) {
  InitSodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// A hash nobody's password matches, verified for unknown users so a miss
// takes as long as a wrong password.
const std::string& DummyHash() {
  static const std::string h = [] {
    auto r = HashPassword("liftguard-no-such-user-dummy");
    return r.ok() ? *r : std::string();
  }();
  return h;
}

Status CheckPassword(const std::string& password) {
  if (password.size() < kMinPasswordLength) {
    return Error::Permanent("bad_request", "a password needs at least " +
                                               std::to_string(kMinPasswordLength) + " characters");
  }
  return Status::Ok();
}

template <typename F>
auto Guard(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error::Transient("database", std::string("database error: ") + e.what());
  }
}

User ReadUser(SQLite::Statement& q) {
  User u;
  u.id = q.getColumn(0).getInt64();
  u.username = q.getColumn(1).getString();
  u.role = RoleFromName(q.getColumn(2).getString()).value_or(Role::kInspector);
  u.contractor = q.getColumn(3).getString();
  u.disabled = q.getColumn(4).getInt() != 0;
  return u;
}

std::optional<std::pair<User, std::string>> LoadUser(SQLite::Database& h,
                                                     const std::string& username) {
  SQLite::Statement q(h,
                      "SELECT id, username, role, contractor, disabled, password_hash FROM users "
                      "WHERE username = ?");
  q.bind(1, username);
  if (!q.executeStep()) return std::nullopt;
  User u = ReadUser(q);
  return std::make_pair(u, q.getColumn(5).getString());
}

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kOperator:
      return "operator";
    case Role::kSafetyManager:
      return "safety_manager";
    case Role::kContractor:
      return "contractor";
    case Role::kInspector:
      return "inspector";
    case Role::kAdmin:
      return "admin";
  }
  return "inspector";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role r :
       {Role::kOperator, Role::kSafetyManager, Role::kContractor, Role::kInspector, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string HashToken(const std::string& token) {
  InitSodium();
  std::array<unsigned char, crypto_generichash_BYTES> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return Hex(out.data(), out.size());
}

Status CreateUser(db::Database& db, const std::string& username, const std::string& password,
                  Role role, const std::string& contractor) {
  if (username.empty() || username.size() > 64) {
    return Error::Permanent("bad_request", "a username needs 1 to 64 characters");
  }
  if (Status st = CheckPassword(password); !st) return st;
  if (role == Role::kContractor && contractor.empty()) {
    return Error::Permanent("bad_request", "a contractor user needs the contractor's id");
  }
  if (role != Role::kContractor && !contractor.empty()) {
    return Error::Permanent("bad_request", "only a contractor user has a contractor id");
  }
  auto hash = HashPassword(password);
  if (!hash.ok()) return hash.error();
  return db.Transaction([&](SQLite::Database& h) -> Status {
    SQLite::Statement exists(h, "SELECT 1 FROM users WHERE username = ?");
    exists.bind(1, username);
    if (exists.executeStep()) {
      return Error::Permanent("exists", "there is a user " + username + " already");
    }
    SQLite::Statement ins(h,
                          "INSERT INTO users(username, password_hash, role, contractor, disabled, "
                          "created_at) VALUES (?, ?, ?, ?, 0, ?)");
    ins.bind(1, username);
    ins.bind(2, *hash);
    ins.bind(3, std::string(RoleName(role)));
    ins.bind(4, contractor);
    ins.bind(5, db::FormatTime(std::chrono::system_clock::now()));
    ins.exec();
    return Status::Ok();
  });
}

Status SetPassword(db::Database& db, const std::string& username, const std::string& password) {
  if (Status st = CheckPassword(password); !st) return st;
  auto hash = HashPassword(password);
  if (!hash.ok()) return hash.error();
  return db.Transaction([&](SQLite::Database& h) -> Status {
    SQLite::Statement up(h, "UPDATE users SET password_hash = ? WHERE username = ?");
    up.bind(1, *hash);
    up.bind(2, username);
    if (up.exec() == 0) return Error::Permanent("not_found", "there is no user " + username);
    SQLite::Statement del(h,
                          "DELETE FROM tokens WHERE user_id = (SELECT id FROM users WHERE "
                          "username = ?)");
    del.bind(1, username);
    del.exec();
    SQLite::Statement clr(h, "DELETE FROM login_failures WHERE username = ?");
    clr.bind(1, username);
    clr.exec();
    return Status::Ok();
  });
}

Status Disable(db::Database& db, const std::string& username) {
  return db.Transaction([&](SQLite::Database& h) -> Status {
    SQLite::Statement up(h, "UPDATE users SET disabled = 1 WHERE username = ?");
    up.bind(1, username);
    if (up.exec() == 0) return Error::Permanent("not_found", "there is no user " + username);
    SQLite::Statement del(h,
                          "DELETE FROM tokens WHERE user_id = (SELECT id FROM users WHERE "
                          "username = ?)");
    del.bind(1, username);
    del.exec();
    return Status::Ok();
  });
}

Result<std::optional<User>> FindUser(db::Database& db, const std::string& username) {
  return Guard([&]() -> Result<std::optional<User>> {
    auto u = LoadUser(db.handle(), username);
    if (!u) return std::optional<User>();
    return std::optional<User>(u->first);
  });
}

LoginOutcome Login(db::Database& db, const std::string& username, const std::string& password,
                   WallTime now, std::chrono::seconds ttl, const ThrottlePolicy& policy) {
  LoginOutcome out;
  out.error = Error::Permanent("unauthorized", "wrong username or password");
  try {
    SQLite::Database& h = db.handle();
    // Throttling first: a locked-out name is refused without looking at the
    // password, so guessing costs the guesser time, not us CPU.
    int failures = 0;
    WallTime first{}, last{};
    {
      SQLite::Statement q(h,
                          "SELECT count, first_at, last_at FROM login_failures WHERE username = ?");
      q.bind(1, username);
      if (q.executeStep()) {
        failures = q.getColumn(0).getInt();
        first = db::ParseTime(q.getColumn(1).getString()).value_or(WallTime{});
        last = db::ParseTime(q.getColumn(2).getString()).value_or(WallTime{});
        if (now - last >= policy.window) failures = 0;  // a quiet window forgives
      }
    }
    auto delay_for = [&](int n) {
      if (n < policy.max_failures) return std::chrono::seconds(0);
      auto d = policy.first_delay;
      for (int i = policy.max_failures; i < n && d < policy.max_delay; ++i) d *= 2;
      return std::min(d, policy.max_delay);
    };
    if (failures >= policy.max_failures) {
      auto until = last + delay_for(failures);
      if (now < until) {
        out.error = Error::Transient(
            "throttled", "too many failed logins for " + username + "; try again later");
        out.retry_after =
            std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(until - now));
        return out;
      }
    }

    auto user = LoadUser(h, username);
    bool ok = VerifyPassword(user ? user->second : DummyHash(), password);
    if (ok && user && !user->first.disabled) {
      unsigned char raw[32];
      InitSodium();
      randombytes_buf(raw, sizeof raw);
      Session s;
      s.token = Hex(raw, sizeof raw);
      s.user = user->first;
      s.expires_at = now + ttl;
      Status st = db.Transaction([&](SQLite::Database& w) -> Status {
        SQLite::Statement clr(w, "DELETE FROM login_failures WHERE username = ?");
        clr.bind(1, username);
        clr.exec();
        SQLite::Statement old(w, "DELETE FROM tokens WHERE expires_at <= ?");
        old.bind(1, db::FormatTime(now));
        old.exec();
        SQLite::Statement ins(
            w, "INSERT INTO tokens(token_hash, user_id, expires_at) VALUES (?, ?, ?)");
        ins.bind(1, HashToken(s.token));
        ins.bind(2, s.user.id);
        ins.bind(3, db::FormatTime(s.expires_at));
        ins.exec();
        return Status::Ok();
      });
      if (!st) {
        out.error = st.error();
        return out;
      }
      out.session = std::move(s);
      return out;
    }
    if (ok && user && user->first.disabled) {
      out.error = Error::Permanent("unauthorized", "the user " + username + " is disabled");
    }
    // Count the failure.
    int n = failures + 1;
    if (failures == 0) first = now;
    Status st = db.Transaction([&](SQLite::Database& w) -> Status {
      SQLite::Statement up(w,
                           "INSERT INTO login_failures(username, count, first_at, last_at) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(username) DO UPDATE SET "
                           "count = ?2, first_at = ?3, last_at = ?4");
      up.bind(1, username);
      up.bind(2, n);
      up.bind(3, db::FormatTime(first));
      up.bind(4, db::FormatTime(now));
      up.exec();
      return Status::Ok();
    });
    if (!st) out.error = st.error();
    return out;
  } catch (const std::exception& e) {
    out.error = Error::Transient("database", std::string("database error: ") + e.what());
    return out;
  }
}

Result<std::optional<User>> Authenticate(db::Database& db, const std::string& token, WallTime now) {
  if (token.size() != 64) return std::optional<User>();
  return Guard([&]() -> Result<std::optional<User>> {
    SQLite::Statement q(db.handle(),
                        "SELECT u.id, u.username, u.role, u.contractor, u.disabled FROM tokens t "
                        "JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND "
                        "t.expires_at > ? AND u.disabled = 0");
    q.bind(1, HashToken(token));
    q.bind(2, db::FormatTime(now));
    if (!q.executeStep()) return std::optional<User>();
    return std::optional<User>(ReadUser(q));
  });
}

}  // namespace lg::auth
