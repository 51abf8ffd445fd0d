// Runs the Wycheproof vectors in testdata/wycheproof through Custody's own crypto
// API (not OpenSSL directly) and asserts each vector's expected result:
//   valid      -> the API accepts it and produces the expected output;
//   invalid    -> the API refuses it;
//   acceptable -> either, but an accepted result must be the expected one.
// Each file's test prints how many vectors ran, by result, and checks that the
// count equals the file's numberOfTests, so no vector is skipped silently.

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/aes_gcm.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/ecdh.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hkdf.h"
#include "core/crypto/hmac.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace custody::crypto {
namespace {

using json = nlohmann::json;

constexpr char kDir[] = "core/crypto/testdata/wycheproof/";

json LoadVectors(const std::string& file) {
  std::ifstream in(kDir + file);
  EXPECT_TRUE(in.good()) << "cannot open " << kDir << file;
  return json::parse(in);
}

std::string Hex(const json& value) {
  absl::StatusOr<std::string> bytes = HexDecode(value.get<std::string>());
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

// Tallies vectors by expected result, and how the acceptable ones fared.
struct Tally {
  int valid = 0;
  int invalid = 0;
  int acceptable = 0;
  int acceptable_accepted = 0;
  int refused_unsupported = 0;

  int total() const { return valid + invalid + acceptable; }

  void Count(const std::string& result) {
    if (result == "valid") {
      ++valid;
    } else if (result == "invalid") {
      ++invalid;
    } else {
      ASSERT_EQ(result, "acceptable");
      ++acceptable;
    }
  }

  void Report(const std::string& file, const json& vectors) const {
    std::string line = absl::StrCat("wycheproof ", file, ": ", total(), " vectors (", valid,
                                    " valid, ", invalid, " invalid, ", acceptable, " acceptable");
    if (acceptable > 0) {
      absl::StrAppend(&line, " of which ", acceptable_accepted, " accepted");
    }
    if (refused_unsupported > 0) {
      absl::StrAppend(&line, "; ", refused_unsupported,
                      " refused as unsupported parameters, as specified");
    }
    absl::StrAppend(&line, ")");
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    EXPECT_EQ(total(), vectors["numberOfTests"].get<int>()) << file;
  }
};

// Asserts the outcome of one vector: `accepted` says whether the API accepted it
// and `output_matches` whether what it produced is the expected value.
void ExpectOutcome(const json& test, bool accepted, bool output_matches, Tally* tally,
                   const std::string& file) {
  const std::string result = test["result"];
  const std::string where = absl::StrCat(file, " tcId ", test["tcId"].get<int>(), " (",
                                         test["comment"].get<std::string>(), ")");
  tally->Count(result);
  if (result == "valid") {
    EXPECT_TRUE(accepted) << where << ": valid vector refused";
    EXPECT_TRUE(!accepted || output_matches) << where << ": wrong output";
  } else if (result == "invalid") {
    EXPECT_FALSE(accepted && output_matches) << where << ": invalid vector accepted";
  } else {
    if (accepted) {
      ++tally->acceptable_accepted;
      EXPECT_TRUE(output_matches) << where << ": acceptable vector gave a wrong output";
    }
  }
}

// ---- ECDSA verify -----------------------------------------------------------------

class EcdsaVectorsTest : public testing::TestWithParam<const char*> {};

TEST_P(EcdsaVectorsTest, EveryVectorHasItsExpectedResult) {
  const std::string file = GetParam();
  const json vectors = LoadVectors(file);
  Tally tally;
  for (const json& group : vectors["testGroups"]) {
    absl::StatusOr<EcPublicKey> key = EcPublicKey::FromSpkiDer(Hex(group["publicKeyDer"]));
    for (const json& test : group["tests"]) {
      bool accepted = false;
      if (key.ok()) {
        const absl::Status status = EcdsaVerify(*key, Hex(test["msg"]), Hex(test["sig"]));
        accepted = status.ok();
        if (!status.ok()) {
          EXPECT_TRUE(status.code() == absl::StatusCode::kUnauthenticated ||
                      status.code() == absl::StatusCode::kInvalidArgument)
              << status;
        }
      }
      ExpectOutcome(test, accepted, /*output_matches=*/true, &tally, file);
    }
  }
  tally.Report(file, vectors);
}

INSTANTIATE_TEST_SUITE_P(Wycheproof, EcdsaVectorsTest,
                         testing::Values("ecdsa_secp256r1_sha256_test.json",
                                         "ecdsa_secp384r1_sha384_test.json"));

// ---- ECDH -------------------------------------------------------------------------

struct EcdhFile {
  const char* file;
  Curve curve;
};

class EcdhVectorsTest : public testing::TestWithParam<EcdhFile> {};

TEST_P(EcdhVectorsTest, EveryVectorHasItsExpectedResult) {
  const std::string file = GetParam().file;
  const json vectors = LoadVectors(file);
  Tally tally;
  for (const json& group : vectors["testGroups"]) {
    ASSERT_EQ(group["encoding"], "asn");
    for (const json& test : group["tests"]) {
      absl::StatusOr<EcPrivateKey> own =
          EcPrivateKey::FromScalar(GetParam().curve, Hex(test["private"]));
      ASSERT_TRUE(own.ok()) << file << " tcId " << test["tcId"] << ": " << own.status();
      absl::StatusOr<EcPublicKey> peer = EcPublicKey::FromSpkiDer(Hex(test["public"]));
      absl::StatusOr<SecretBytes> shared =
          peer.ok() ? EcdhSharedSecret(*own, *peer) : absl::StatusOr<SecretBytes>(peer.status());
      const bool matches = shared.ok() && shared->Reveal() == Hex(test["shared"]);
      ExpectOutcome(test, shared.ok(), matches, &tally, file);
    }
  }
  tally.Report(file, vectors);
}

INSTANTIATE_TEST_SUITE_P(Wycheproof, EcdhVectorsTest,
                         testing::Values(EcdhFile{"ecdh_secp256r1_test.json", Curve::kP256},
                                         EcdhFile{"ecdh_secp384r1_test.json", Curve::kP384}));

// ---- AES-GCM ----------------------------------------------------------------------

TEST(AesGcmVectorsTest, EveryVectorHasItsExpectedResult) {
  const std::string file = "aes_gcm_test.json";
  const json vectors = LoadVectors(file);
  Tally tally;
  for (const json& group : vectors["testGroups"]) {
    const int key_bits = group["keySize"];
    const int iv_bits = group["ivSize"];
    ASSERT_EQ(group["tagSize"].get<int>(), 128);
    for (const json& test : group["tests"]) {
      const std::string key = Hex(test["key"]);
      const std::string iv = Hex(test["iv"]);
      const std::string aad = Hex(test["aad"]);
      const std::string msg = Hex(test["msg"]);
      const std::string sealed = Hex(test["ct"]) + Hex(test["tag"]);
      absl::StatusOr<Aes256Gcm> aead = Aes256Gcm::New(SecretBytes::CopyFrom(key));
      if (key_bits != 256) {
        // AES-128/192 are deliberately not offered: the key is refused.
        EXPECT_EQ(aead.status().code(), absl::StatusCode::kInvalidArgument);
        tally.Count(test["result"]);
        ++tally.refused_unsupported;
        continue;
      }
      ASSERT_TRUE(aead.ok()) << aead.status();
      absl::StatusOr<std::string> opened = aead->Open(iv, sealed, aad);
      if (iv_bits != 96) {
        // Only 96-bit nonces are offered: other sizes are refused, both ways.
        EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_EQ(aead->Seal(iv, msg, aad).status().code(), absl::StatusCode::kInvalidArgument);
        tally.Count(test["result"]);
        ++tally.refused_unsupported;
        continue;
      }
      if (test["result"] == "invalid" && !opened.ok()) {
        EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnauthenticated) << opened.status();
      }
      absl::StatusOr<std::string> resealed = aead->Seal(iv, msg, aad);
      ASSERT_TRUE(resealed.ok()) << resealed.status();
      const bool matches = opened.ok() && *opened == msg;
      ExpectOutcome(test, opened.ok(), matches, &tally, file);
      if (test["result"] == "valid") {
        EXPECT_EQ(HexEncode(*resealed), HexEncode(sealed)) << "tcId " << test["tcId"];
      }
    }
  }
  tally.Report(file, vectors);
  // The 256-bit, 96-bit-nonce vectors are the ones Custody uses: make sure they ran.
  EXPECT_GT(tally.total() - tally.refused_unsupported, 60);
}

// ---- HKDF -------------------------------------------------------------------------

struct HashFile {
  const char* file;
  HashAlgorithm algorithm;
};

class HkdfVectorsTest : public testing::TestWithParam<HashFile> {};

TEST_P(HkdfVectorsTest, EveryVectorHasItsExpectedResult) {
  const std::string file = GetParam().file;
  const json vectors = LoadVectors(file);
  Tally tally;
  for (const json& group : vectors["testGroups"]) {
    for (const json& test : group["tests"]) {
      absl::StatusOr<SecretBytes> okm =
          Hkdf(GetParam().algorithm, SecretBytes::CopyFrom(Hex(test["ikm"])), Hex(test["salt"]),
               Hex(test["info"]), test["size"].get<size_t>());
      if (!okm.ok()) {
        EXPECT_EQ(okm.status().code(), absl::StatusCode::kInvalidArgument);
      }
      const bool matches = okm.ok() && okm->Reveal() == Hex(test["okm"]);
      ExpectOutcome(test, okm.ok(), matches, &tally, file);
    }
  }
  tally.Report(file, vectors);
}

INSTANTIATE_TEST_SUITE_P(Wycheproof, HkdfVectorsTest,
                         testing::Values(HashFile{"hkdf_sha256_test.json", HashAlgorithm::kSha256},
                                         HashFile{"hkdf_sha384_test.json",
                                                  HashAlgorithm::kSha384}));

// ---- HMAC -------------------------------------------------------------------------

class HmacVectorsTest : public testing::TestWithParam<HashFile> {};

TEST_P(HmacVectorsTest, EveryVectorHasItsExpectedResult) {
  const std::string file = GetParam().file;
  const HashAlgorithm algorithm = GetParam().algorithm;
  const json vectors = LoadVectors(file);
  Tally tally;
  int truncated = 0;
  for (const json& group : vectors["testGroups"]) {
    const size_t tag_bytes = group["tagSize"].get<size_t>() / 8;
    for (const json& test : group["tests"]) {
      const SecretBytes key = SecretBytes::CopyFrom(Hex(test["key"]));
      const std::string msg = Hex(test["msg"]);
      const std::string tag = Hex(test["tag"]);
      const absl::Status verified = HmacVerify(algorithm, key, msg, tag);
      if (tag_bytes == DigestSize(algorithm)) {
        if (!verified.ok()) {
          EXPECT_EQ(verified.code(), absl::StatusCode::kUnauthenticated) << verified;
        }
        ExpectOutcome(test, verified.ok(), true, &tally, file);
      } else {
        // Truncated tags are never accepted by HmacVerify; the full tag that
        // HmacCompute produces must still begin with the vector's tag exactly when
        // the vector is valid.
        ++truncated;
        EXPECT_EQ(verified.code(), absl::StatusCode::kInvalidArgument);
        absl::StatusOr<std::string> full = HmacCompute(algorithm, key, msg);
        ASSERT_TRUE(full.ok()) << full.status();
        const bool prefix_matches = full->substr(0, tag_bytes) == tag;
        ExpectOutcome(test, prefix_matches, true, &tally, file);
      }
    }
  }
  tally.Report(file, vectors);
  std::printf("  (%d of them with truncated tags, checked through HmacCompute)\n", truncated);
}

INSTANTIATE_TEST_SUITE_P(Wycheproof, HmacVectorsTest,
                         testing::Values(HashFile{"hmac_sha256_test.json", HashAlgorithm::kSha256},
                                         HashFile{"hmac_sha384_test.json",
                                                  HashAlgorithm::kSha384}));

}  // namespace
}  // namespace custody::crypto
