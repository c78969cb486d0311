#include "edusight/core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace edusight {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

std::string digest_hex(std::string_view data, const EVP_MD* md) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, md, nullptr);
  return hex(digest.data(), len);
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  return digest_hex(data, EVP_sha256());
}
std::string sha512_hex(std::string_view data) {
  return digest_hex(data, EVP_sha512());
}

std::string to_hex(std::string_view bytes) {
  return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string certificate_sha256_hex(const std::string& pem_file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(pem_file.c_str(), "rb"),
                                                    &std::fclose);
  if (!f) return {};
  std::unique_ptr<X509, void (*)(X509*)> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                              &X509_free);
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return {};
  return hex(md, len);
}

std::uint64_t CryptoRandom::below(std::uint64_t bound) {
  if (bound == 0) return 0;
  // Rejection sampling keeps the result uniform for any bound.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  while (true) {
    std::uint64_t v = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed: no secure randomness");
    }
    if (v < limit) return v % bound;
  }
}

std::string random_bytes(Random& random, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(random.below(256));
  return out;
}

std::string random_hex(Random& random, std::size_t n) {
  const std::string bytes = random_bytes(random, n);
  return hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace edusight
