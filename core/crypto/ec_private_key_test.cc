#include "core/crypto/ec_private_key.h"

#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "core/base/file_util.h"
#include "core/base/hex.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/internal/pem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::crypto {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

class EcPrivateKeyTest : public testing::TestWithParam<Curve> {};

TEST_P(EcPrivateKeyTest, GeneratedKeySignsAndPemRoundTrips) {
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->curve(), GetParam());
  absl::StatusOr<SecretBytes> pem = key->ToPkcs8Pem();
  ASSERT_TRUE(pem.ok());
  EXPECT_TRUE(absl::StartsWith(pem->Reveal(), "-----BEGIN PRIVATE KEY-----\n"));
  absl::StatusOr<EcPrivateKey> loaded = EcPrivateKey::FromPkcs8Pem(pem->Reveal());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(SameKey(loaded->public_key(), key->public_key()));
  absl::StatusOr<std::string> signature = EcdsaSign(*loaded, "message");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(EcdsaVerify(key->public_key(), "message", *signature).ok());
}

TEST_P(EcPrivateKeyTest, FileIsWrittenOwnerOnlyAndRefusedWhenOpened) {
  const std::string path = TempPath(GetParam() == Curve::kP256 ? "p256.key" : "p384.key");
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::Generate(GetParam());
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->SavePemFile(path).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  absl::StatusOr<EcPrivateKey> loaded = EcPrivateKey::LoadPemFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(SameKey(loaded->public_key(), key->public_key()));

  // Saving again without kReplace refuses and keeps the first key.
  absl::StatusOr<EcPrivateKey> other = EcPrivateKey::Generate(GetParam());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->SavePemFile(path).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(SameKey(EcPrivateKey::LoadPemFile(path)->public_key(), key->public_key()));

  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  absl::StatusOr<EcPrivateKey> refused = EcPrivateKey::LoadPemFile(path);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("chmod 600"));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcPrivateKeyTest, testing::Values(Curve::kP256, Curve::kP384),
                         [](const testing::TestParamInfo<Curve>& info) {
                           return info.param == Curve::kP256 ? "P256" : "P384";
                         });

TEST(EcPrivateKeyLoadTest, MissingFileIsNotFound) {
  EXPECT_EQ(EcPrivateKey::LoadPemFile(TempPath("absent.key")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(EcPrivateKeyLoadTest, GarbageFileNamesTheFile) {
  const std::string path = TempPath("garbage.key");
  ASSERT_TRUE(WriteFileAtomically(path, "not a key\n", 0600).ok());
  absl::StatusOr<EcPrivateKey> key = EcPrivateKey::LoadPemFile(path);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr(path));
}

TEST(EcPrivateKeyPemTest, RefusesEncryptedAndOtherLabels) {
  EXPECT_THAT(EcPrivateKey::FromPkcs8Pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                                         "-----END ENCRYPTED PRIVATE KEY-----\n")
                  .status()
                  .message(),
              HasSubstr("encrypted private keys are not supported"));
  EXPECT_THAT(EcPrivateKey::FromPkcs8Pem(
                  "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
                  .status()
                  .message(),
              HasSubstr("expected \"PRIVATE KEY\""));
  EXPECT_EQ(EcPrivateKey::FromPkcs8Pem("").status().code(), absl::StatusCode::kInvalidArgument);
}

absl::StatusOr<std::string> Pkcs8Der(const EcPrivateKey& key) {
  absl::StatusOr<SecretBytes> pem = key.ToPkcs8Pem();
  if (!pem.ok()) return pem.status();
  absl::StatusOr<SecretBytes> der =
      internal::ReadPemBlock(pem->Reveal(), "PRIVATE KEY", "test key", 4096);
  if (!der.ok()) return der.status();
  return std::string(der->Reveal());
}

TEST(EcPrivateKeyDerTest, RefusesMalformedAndMismatchedKeys) {
  absl::StatusOr<EcPrivateKey> a = EcPrivateKey::Generate(Curve::kP256);
  absl::StatusOr<EcPrivateKey> b = EcPrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::string> a_der = Pkcs8Der(*a);
  absl::StatusOr<std::string> b_der = Pkcs8Der(*b);
  ASSERT_TRUE(a_der.ok() && b_der.ok());
  ASSERT_EQ(a_der->size(), b_der->size());
  ASSERT_TRUE(EcPrivateKey::FromPkcs8Der(*a_der).ok());

  // A's private scalar with B's public point (the last 65 bytes).
  const std::string spliced =
      a_der->substr(0, a_der->size() - 65) + b_der->substr(b_der->size() - 65);
  absl::StatusOr<EcPrivateKey> mismatched = EcPrivateKey::FromPkcs8Der(spliced);
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatched.status().message(), HasSubstr("does not match its public key"));

  EXPECT_THAT(EcPrivateKey::FromPkcs8Der(a_der->substr(0, 40)).status().message(),
              HasSubstr("not a valid PKCS#8"));
  EXPECT_THAT(EcPrivateKey::FromPkcs8Der(*a_der + "x").status().message(),
              HasSubstr("trailing bytes"));
  EXPECT_THAT(EcPrivateKey::FromPkcs8Der("").status().message(), HasSubstr("empty"));
}

TEST(EcPrivateKeyScalarTest, RangeIsChecked) {
  EXPECT_THAT(EcPrivateKey::FromScalar(Curve::kP256, std::string(32, '\0')).status().message(),
              HasSubstr("zero"));
  // The P-256 group order n itself is out of range.
  const std::string order =
      *HexDecode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  EXPECT_THAT(EcPrivateKey::FromScalar(Curve::kP256, order).status().message(),
              HasSubstr("not below the curve order"));
  EXPECT_THAT(EcPrivateKey::FromScalar(Curve::kP256, std::string(33, '\x01')).status().message(),
              HasSubstr("larger than the curve order"));
  // One is the smallest valid scalar; its public key is the generator.
  absl::StatusOr<EcPrivateKey> one =
      EcPrivateKey::FromScalar(Curve::kP256, std::string("\x00\x01", 2));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(HexEncode(one->public_key().spki_der()),
              HasSubstr("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"));
}

}  // namespace
}  // namespace custody::crypto
