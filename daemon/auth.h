// Auth: API users, their login tokens and login throttling, all in the
// daemon's SQLite file (schema version 3). The audit log is db/audit_log.h.
//
// Passwords are stored only as argon2id hashes (libsodium crypto_pwhash_str).
// A login hands out a random 32-byte token (hex); only its BLAKE2b hash
// (crypto_generichash) is stored, with an expiry. Repeated failed logins for
// one username are slowed down (ThrottlePolicy).
//
// The CLI uses CreateUser / SetPassword / Disable directly on the database;
// the HTTP server uses Login / Authenticate on its own connection.
//
// Ownership: borrows the Database. Thread-safety: none; one caller per
// Database at a time (the HTTP server serialises its calls). Hashing a
// password takes ~0.1 s and 64 MiB: never call Login on an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"

namespace lg::auth {

enum class Role : uint8_t { kOperator, kSafetyManager, kContractor, kInspector, kAdmin };
// "operator", "safety_manager", "contractor", "inspector", "admin"
std::string_view RoleName(Role r);
std::optional<Role> RoleFromName(std::string_view name);

inline constexpr size_t kMinPasswordLength = 10;

struct User {
  int64_t id = 0;
  std::string username;
  Role role = Role::kOperator;
  std::string contractor;  // a contractor id, for Role::kContractor; else empty
  bool disabled = false;
};

// User management (the CLI). Errors: "bad_request" (empty username, short
// password, a contractor without a contractor id), "exists", "not_found",
// "database".
Status CreateUser(db::Database& db, const std::string& username, const std::string& password,
                  Role role, const std::string& contractor = "");
// Also revokes the user's tokens.
Status SetPassword(db::Database& db, const std::string& username, const std::string& password);
// Refuses further logins and revokes the user's tokens.
Status Disable(db::Database& db, const std::string& username);
Result<std::optional<User>> FindUser(db::Database& db, const std::string& username);

// After `max_failures` failed logins for a username, each within `window`
// of the previous first failure, further attempts are refused (even with the
// right password) for first_delay, doubling with every further failure up
// to max_delay. A successful login clears the count; so does a quiet
// `window`.
struct ThrottlePolicy {
  int max_failures = 5;
  std::chrono::seconds window{15 * 60};
  std::chrono::seconds first_delay{30};
  std::chrono::seconds max_delay{15 * 60};
};

struct Session {
  std::string token;  // hex; shown once, stored only hashed
  User user;
  WallTime expires_at{};
};

struct LoginOutcome {
  std::optional<Session> session;
  // Without a session: code "unauthorized" (unknown user, wrong password,
  // disabled), "throttled" (see retry_after), or "database".
  Error error;
  std::chrono::seconds retry_after{0};
};

LoginOutcome Login(db::Database& db, const std::string& username, const std::string& password,
                   WallTime now, std::chrono::seconds ttl, const ThrottlePolicy& policy = {});

// The user a token belongs to, if it is known, unexpired and the user is
// not disabled; nullopt otherwise.
Result<std::optional<User>> Authenticate(db::Database& db, const std::string& token, WallTime now);

// The hex of crypto_generichash(token), as stored in tokens.token_hash.
std::string HashToken(const std::string& token);

}  // namespace lg::auth
