#include "core/crypto/hash.h"

#include <memory>

#include "absl/status/status.h"
#include "core/base/hex.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/curve.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha384("abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(DigestSize(HashAlgorithm::kSha384), 48u);
}

TEST(HashTest, IncrementalMatchesOneShotAndPeekDoesNotFinish) {
  std::unique_ptr<IncrementalHash> hash = IncrementalHash::New(HashAlgorithm::kSha256);
  ASSERT_TRUE(hash->Update("a").ok());
  absl::StatusOr<std::string> peek = hash->Peek();
  ASSERT_TRUE(peek.ok());
  EXPECT_EQ(*peek, Sha256("a"));
  ASSERT_TRUE(hash->Update("bc").ok());
  absl::StatusOr<std::string> digest = hash->Finish();
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, Sha256("abc"));
  EXPECT_EQ(hash->Update("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(hash->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ConstantTimeTest, ComparesLengthAndContent) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("nonce", "nonce"));
  EXPECT_FALSE(ConstantTimeEquals("nonce", "nonc"));
  EXPECT_FALSE(ConstantTimeEquals("nonce", "Nonce"));
  EXPECT_TRUE(ConstantTimeEquals(SecretBytes::CopyFrom("k"), SecretBytes::CopyFrom("k")));
  EXPECT_FALSE(ConstantTimeEquals(SecretBytes::CopyFrom("k"), SecretBytes::CopyFrom("j")));
}

TEST(CurveTest, NamesAndSuites) {
  EXPECT_EQ(*ParseCurve("p256"), Curve::kP256);
  EXPECT_EQ(*ParseCurve("P-384"), Curve::kP384);
  EXPECT_EQ(*ParseCurve("secp384r1"), Curve::kP384);
  EXPECT_EQ(ParseCurve("p521").status().message(), "unsupported curve \"p521\"; use p256 or p384");
  EXPECT_EQ(CurveHash(Curve::kP256), HashAlgorithm::kSha256);
  EXPECT_EQ(CurveHash(Curve::kP384), HashAlgorithm::kSha384);
  EXPECT_EQ(CurveFieldSize(Curve::kP384), 48u);
}

}  // namespace
}  // namespace custody::crypto
