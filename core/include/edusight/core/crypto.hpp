#pragma once
// Digests and secrets shared by the collector and the agent (Forward handshake, tokens, keys).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edusight/core/clock.hpp"

namespace edusight {

std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);
// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);
// SHA-256 (lower-case hex) of the DER of a PEM file's first certificate: the fingerprint
// that agents pin. Empty when the file cannot be read or holds no certificate.
std::string certificate_sha256_hex(const std::string& pem_file);

// Randomness for secrets (nonces, salts, keys, tokens): OpenSSL's CSPRNG behind the injected
// Random interface, so tests can still pass a SeededRandom.
class CryptoRandom final : public Random {
 public:
  std::uint64_t below(std::uint64_t bound) override;
};

// n bytes drawn from `random`.
std::string random_bytes(Random& random, std::size_t n);
// n random bytes as lower-case hex (2n characters): keys and tokens people copy.
std::string random_hex(Random& random, std::size_t n);

// Constant time, so a digest check leaks nothing through timing.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace edusight
