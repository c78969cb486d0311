#include "collector/api/tokens.hpp"

#include <gtest/gtest.h>

#include <set>

#include "fake_store.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
using testing::FakeStore;

const Clock::time_point kStart = Clock::time_point(std::chrono::seconds(1'790'000'000));

TEST(Tokens, Sha256HexMatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Tokens, GeneratedTokensHavePrefixLengthAndUrlSafeAlphabet) {
  SeededRandom random(7);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const auto t = generate_token(random);
    ASSERT_EQ(t.rfind("es_", 0), 0u);
    EXPECT_EQ(t.size(), 3u + 43u);  // 32 bytes in unpadded base64url
    for (const char c : t.substr(3)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
    }
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 50u);
  // Same seed, same tokens: the Random is the only source.
  SeededRandom a(1), b(1);
  EXPECT_EQ(generate_token(a), generate_token(b));
  EXPECT_EQ(generate_secret(a, "esk_").rfind("esk_", 0), 0u);
}

TEST(Tokens, CryptoRandomStaysInBoundsAndVaries) {
  CryptoRandom r;
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const auto v = r.below(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_GT(seen.size(), 5u);
  EXPECT_EQ(r.below(1), 0u);
  EXPECT_EQ(r.below(0), 0u);
  EXPECT_NE(generate_token(r), generate_token(r));
}

TEST(Tokens, BearerHeaderParsing) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  es_A-b_c.d~e+f/g=="), "es_A-b_c.d~e+f/g==");
  EXPECT_EQ(bearer_token("BEARER abc  "), "abc");
  EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz"));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token("Bearer a b"));
  EXPECT_FALSE(bearer_token("Bearer =abc"));
  EXPECT_FALSE(bearer_token("Bearer ab=c"));
  EXPECT_FALSE(bearer_token("Bearer " + std::string(600, 'a')));
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.add_token("viewer", Role::viewer, sha256_hex("es_viewer"));
    store_.add_token("admin", Role::admin, sha256_hex("es_admin"));
    store_.add_token("old", Role::admin, sha256_hex("es_old"));
    store_.revoke_token("old");
  }
  ManualClock clock_{kStart};
  FakeStore store_{clock_};
};

TEST_F(AuthenticatorTest, MapsHeaderToTokenRecord) {
  Authenticator auth(store_, clock_, 0ms);
  auto r = auth.authenticate("Bearer es_admin");
  ASSERT_EQ(r.status, AuthStatus::ok);
  EXPECT_EQ(r.token->name, "admin");
  EXPECT_EQ(r.token->role, Role::admin);
  r = auth.authenticate("Bearer es_viewer");
  ASSERT_EQ(r.status, AuthStatus::ok);
  EXPECT_EQ(r.token->role, Role::viewer);
}

TEST_F(AuthenticatorTest, RefusesMissingMalformedUnknownAndRevoked) {
  Authenticator auth(store_, clock_, 0ms);
  EXPECT_EQ(auth.authenticate("").status, AuthStatus::missing);
  EXPECT_EQ(auth.authenticate("Basic eA==").status, AuthStatus::malformed);
  EXPECT_EQ(auth.authenticate("Bearer es_nobody").status, AuthStatus::unknown);
  EXPECT_EQ(auth.authenticate("Bearer es_old").status, AuthStatus::revoked);
  EXPECT_FALSE(auth.authenticate("Bearer es_old").token);
  store_.fail = true;
  const auto r = auth.authenticate("Bearer es_admin");
  EXPECT_EQ(r.status, AuthStatus::store_error);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(AuthenticatorTest, CachesValidTokensForTheTtlOnly) {
  Authenticator auth(store_, clock_, 5s);
  ASSERT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::ok);
  const int calls = store_.calls;
  ASSERT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::ok);
  EXPECT_EQ(store_.calls, calls);  // served from the cache

  store_.revoke_token("admin");
  clock_.advance(4s);
  EXPECT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::ok);  // still cached
  clock_.advance(2s);
  EXPECT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::revoked);

  // Unknown tokens are not cached: one created a moment later works at once.
  EXPECT_EQ(auth.authenticate("Bearer es_new").status, AuthStatus::unknown);
  store_.add_token("new", Role::viewer, sha256_hex("es_new"));
  EXPECT_EQ(auth.authenticate("Bearer es_new").status, AuthStatus::ok);
}

TEST_F(AuthenticatorTest, ClearCacheForgetsEverything) {
  Authenticator auth(store_, clock_, 60s);
  ASSERT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::ok);
  store_.revoke_token("admin");
  auth.clear_cache();
  EXPECT_EQ(auth.authenticate("Bearer es_admin").status, AuthStatus::revoked);
}

}  // namespace
}  // namespace edusight::collector::api
