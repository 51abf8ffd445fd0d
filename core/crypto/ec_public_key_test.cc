#include "core/crypto/ec_public_key.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "core/base/hex.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

std::string Unhex(absl::string_view hex) { return *HexDecode(hex); }

// A P-256 key from Wycheproof (publicKeyDer of the first ECDSA group).
constexpr char kP256Spki[] =
    "3059301306072a8648ce3d020106082a8648ce3d0301070342000404aaec73635726f213fb8a9e64da3b8632e4"
    "1495a944d0045b522eba7240fad587d9315798aaa3a5ba01775787ced05eaaf7b4e09fc81d6d1aa546e8365d525d";

TEST(EcPublicKeyTest, ParsesCanonicalSpki) {
  absl::StatusOr<EcPublicKey> key = EcPublicKey::FromSpkiDer(Unhex(kP256Spki));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->curve(), Curve::kP256);
  EXPECT_EQ(HexEncode(key->spki_der()), kP256Spki);
  EXPECT_EQ(key->Fingerprint(), Sha256(Unhex(kP256Spki)));
}

TEST(EcPublicKeyTest, PemRoundTripBothCurves) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    absl::StatusOr<EcPrivateKey> private_key = EcPrivateKey::Generate(curve);
    ASSERT_TRUE(private_key.ok());
    const std::string pem = private_key->public_key().ToSpkiPem();
    EXPECT_TRUE(absl::StartsWith(pem, "-----BEGIN PUBLIC KEY-----\n"));
    absl::StatusOr<EcPublicKey> parsed = EcPublicKey::FromSpkiPem(pem);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->curve(), curve);
    EXPECT_TRUE(SameKey(*parsed, private_key->public_key()));
  }
}

struct BadKeyCase {
  std::string name;
  std::string der_hex;
  absl::StatusCode code;
  std::string message;
};

class EcPublicKeyBadDerTest : public testing::TestWithParam<BadKeyCase> {};

TEST_P(EcPublicKeyBadDerTest, IsRefusedPrecisely) {
  absl::StatusOr<EcPublicKey> key = EcPublicKey::FromSpkiDer(Unhex(GetParam().der_hex));
  EXPECT_EQ(key.status().code(), GetParam().code) << key.status();
  EXPECT_THAT(key.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, EcPublicKeyBadDerTest,
    testing::Values(
        BadKeyCase{"Empty", "", absl::StatusCode::kInvalidArgument, "public key is empty"},
        BadKeyCase{"Truncated", std::string(kP256Spki).substr(0, 100),
                   absl::StatusCode::kInvalidArgument, "not a valid SubjectPublicKeyInfo"},
        BadKeyCase{"Trailing", std::string(kP256Spki) + "00", absl::StatusCode::kInvalidArgument,
                   "trailing bytes"},
        // The last coordinate byte changed: the point is no longer on the curve.
        BadKeyCase{"NotOnCurve", std::string(kP256Spki).substr(0, 180) + "5e",
                   absl::StatusCode::kInvalidArgument, "not a valid point of the curve"},
        // Compressed form of a P-256 point (Wycheproof ECDH "compressed public key").
        BadKeyCase{"Compressed",
                   "3039301306072a8648ce3d020106082a8648ce3d030107032200"
                   "0362d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26",
                   absl::StatusCode::kInvalidArgument, "uncompressed"},
        // A secp256k1 key: a named curve, but not one Custody accepts.
        // A real secp256k1 key: a named curve, but not one Custody accepts.
        BadKeyCase{"WrongCurve",
                   "3056301006072a8648ce3d020106052b8104000a0342000478249c02f9090448d9cbcea4478af0"
                   "596fe1a4546d267e3bafd724c246ccf21cf8fd9e74a71a80f7573c95071978ad62d74c39073389"
                   "133f42662ad626322c72",
                   absl::StatusCode::kInvalidArgument, "unsupported curve secp256k1"},
        BadKeyCase{"TooLarge", std::string(2 * (kMaxPublicKeyDerSize + 1), 'a'),
                   absl::StatusCode::kResourceExhausted, "exceeds the limit"}),
    [](const testing::TestParamInfo<BadKeyCase>& info) { return info.param.name; });

TEST(EcPublicKeyTest, RefusesPemWithWrongLabelOrExtraText) {
  absl::StatusOr<EcPrivateKey> private_key = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(private_key.ok());
  std::string pem = private_key->public_key().ToSpkiPem();
  EXPECT_THAT(EcPublicKey::FromSpkiPem("hello\n" + pem).status().message(),
              HasSubstr("unexpected text"));
  EXPECT_THAT(EcPublicKey::FromSpkiPem(pem + "bye").status().message(),
              HasSubstr("unexpected text"));
  absl::StatusOr<SecretBytes> private_pem = private_key->ToPkcs8Pem();
  ASSERT_TRUE(private_pem.ok());
  EXPECT_THAT(EcPublicKey::FromSpkiPem(private_pem->Reveal()).status().message(),
              HasSubstr("expected \"PUBLIC KEY\""));
}

TEST(EcPublicKeyTest, CopiesShareTheKey) {
  absl::StatusOr<EcPrivateKey> private_key = EcPrivateKey::Generate(Curve::kP384);
  ASSERT_TRUE(private_key.ok());
  EcPublicKey copy = private_key->public_key();
  EXPECT_TRUE(SameKey(copy, private_key->public_key()));
  absl::StatusOr<EcPrivateKey> other = EcPrivateKey::Generate(Curve::kP384);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(SameKey(copy, other->public_key()));
}

// Keys are built from per-curve template keys shared by every thread; parsing and
// verifying from many threads at once must stay correct (and clean under ASan).
TEST(EcPublicKeyTest, ConcurrentParsingSharesTemplatesSafely) {
  const EcPrivateKey p256 = *EcPrivateKey::Generate(Curve::kP256);
  const EcPrivateKey p384 = *EcPrivateKey::Generate(Curve::kP384);
  const std::string sig256 = *EcdsaSign(p256, "m");
  const std::string sig384 = *EcdsaSign(p384, "m");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<EcPublicKey> a = EcPublicKey::FromSpkiDer(p256.public_key().spki_der());
        absl::StatusOr<EcPublicKey> b = EcPublicKey::FromSpkiDer(p384.public_key().spki_der());
        if (!a.ok() || !b.ok() || !EcdsaVerify(*a, "m", sig256).ok() ||
            !EcdsaVerify(*b, "m", sig384).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace custody::crypto
