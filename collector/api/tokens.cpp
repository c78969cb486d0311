#include "collector/api/tokens.hpp"

#include <cctype>
#include <vector>

namespace edusight::collector::api {
namespace {

constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kMaxTokenLength = 512;  // far above ours; bounds the work per request

bool is_token68_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

std::string base64url(const std::vector<unsigned char>& in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (const auto rest = in.size() - i; rest > 0) {
    const std::uint32_t v = (in[i] << 16) | (rest == 2 ? in[i + 1] << 8 : 0);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
  }
  return out;
}

}  // namespace

std::string generate_secret(Random& random, std::string_view prefix) {
  std::vector<unsigned char> bytes(kSecretBytes);
  for (auto& b : bytes) b = static_cast<unsigned char>(random.below(256));
  return std::string(prefix) + base64url(bytes);
}

std::string generate_token(Random& random) {
  return generate_secret(random, "es_");
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) {
      return std::nullopt;
    }
  }
  auto rest = authorization.substr(scheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.size() > kMaxTokenLength) return std::nullopt;
  // token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::size_t i = 0;
  while (i < rest.size() && is_token68_char(rest[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < rest.size() && rest[i] == '=') ++i;
  if (i != rest.size()) return std::nullopt;
  return rest;
}

Authenticator::Authenticator(TokenStore& tokens, const Clock& clock,
                             std::chrono::milliseconds cache_ttl, std::size_t cache_capacity)
    : tokens_(tokens), clock_(clock), ttl_(cache_ttl), capacity_(cache_capacity) {}

AuthResult Authenticator::authenticate(std::string_view authorization) {
  AuthResult out;
  if (authorization.empty()) {
    out.status = AuthStatus::missing;
    return out;
  }
  const auto token = bearer_token(authorization);
  if (!token) {
    out.status = AuthStatus::malformed;
    return out;
  }
  const std::string hash = sha256_hex(*token);
  const auto now = clock_.steady_now();

  if (ttl_.count() > 0) {
    std::lock_guard lock(mutex_);
    if (const auto it = cache_.find(hash); it != cache_.end()) {
      if (now < it->second.expires) {
        out.status = AuthStatus::ok;
        out.token = it->second.token;
        return out;
      }
      cache_.erase(it);
    }
  }

  auto found = tokens_.find_token(hash);
  if (!found.ok) {
    out.status = AuthStatus::store_error;
    out.error = std::move(found.error);
    return out;
  }
  if (!found.token) {
    out.status = AuthStatus::unknown;
    return out;
  }
  if (found.token->revoked) {
    out.status = AuthStatus::revoked;
    return out;
  }
  if (ttl_.count() > 0 && capacity_ > 0) {
    std::lock_guard lock(mutex_);
    // Dropping everything at capacity is crude but bounded; valid tokens are few.
    if (cache_.size() >= capacity_) cache_.clear();
    cache_[hash] = Entry{*found.token, now + ttl_};
  }
  out.status = AuthStatus::ok;
  out.token = std::move(found.token);
  return out;
}

void Authenticator::clear_cache() {
  std::lock_guard lock(mutex_);
  cache_.clear();
}

}  // namespace edusight::collector::api
