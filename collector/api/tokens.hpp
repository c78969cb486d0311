#pragma once
// API tokens: generation, hashing, and mapping an Authorization header to the token's record.
// Only SHA-256 hashes of tokens are stored, so a leaked database does not leak credentials.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "collector/store/store.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/crypto.hpp"

namespace edusight::collector::api {

// OpenSSL-backed CryptoRandom and sha256_hex (lower-case hex) come from core, so the
// collector's CLI, the ingest side and the API hash tokens the same way. Production passes a
// CryptoRandom to generate_token(); tests may pass a SeededRandom for repeatable tokens.
using edusight::CryptoRandom;
using edusight::sha256_hex;

// "es_" + base64url (no padding) of 32 bytes drawn from `random`: 256 bits, as strong as the
// Random it comes from, so production must pass a CSPRNG-backed Random (CryptoRandom).
std::string generate_token(Random& random);
// The same shape with another prefix, e.g. "esk_" for agents' Forward shared keys.
std::string generate_secret(Random& random, std::string_view prefix);

// The token of "Bearer <token>" (scheme case-insensitive); nullopt when the header is not a
// well-formed bearer credential.
std::optional<std::string_view> bearer_token(std::string_view authorization);

enum class AuthStatus {
  ok,
  missing,      // no Authorization header
  malformed,    // not "Bearer <token68>"
  unknown,      // no such token
  revoked,      // the token exists but was revoked
  store_error,  // the lookup failed; error says why
};

struct AuthResult {
  AuthStatus status = AuthStatus::missing;
  std::optional<TokenRecord> token;  // set when ok
  std::string error;
};

// Maps an Authorization header to a token record through TokenStore::find_token. Valid
// tokens are cached for `cache_ttl` (monotonic clock) so a busy dashboard does not cost a
// store query per request; a revoked token therefore keeps working for at most cache_ttl.
// Unknown and revoked tokens are never cached, so a new token works at once. Thread-safe,
// but the TokenStore it calls must only be used from one thread (the API's store thread).
class Authenticator {
 public:
  explicit Authenticator(TokenStore& tokens, const Clock& clock,
                         std::chrono::milliseconds cache_ttl = std::chrono::seconds(5),
                         std::size_t cache_capacity = 1024);

  // `authorization` is the header's value, empty when absent.
  AuthResult authenticate(std::string_view authorization);
  // Forget every cached token (e.g. after revoking one through the API).
  void clear_cache();

 private:
  struct Entry {
    TokenRecord token;
    std::chrono::steady_clock::time_point expires;
  };
  TokenStore& tokens_;
  const Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> cache_;  // by token hash
};

}  // namespace edusight::collector::api
