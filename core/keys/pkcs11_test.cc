// The PKCS#11 backend against a real token: SoftHSM2 from Debian, its token folder
// made in the test's temporary directory and its tokens initialised with
// softhsm2-util before the module is first loaded.

#include "core/keys/pkcs11.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/fake_random.h"
#include "core/base/file_util.h"
#include "core/crypto/ecdsa.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::keys {
namespace {

using ::testing::HasSubstr;

constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
constexpr char kUtil[] = "/usr/bin/softhsm2-util";

std::string Dir() { return std::string(std::getenv("TEST_TMPDIR")) + "/softhsm"; }

void RunCommand(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null").c_str()), 0) << command;
}

void InitToken(const std::string& label, const std::string& pin) {
  RunCommand(absl::StrCat(kUtil, " --init-token --free --label ", label, " --pin ", pin,
                          " --so-pin 87654321"));
}

std::string Uri(const std::string& token, const std::string& object,
                const std::string& pin_file = "") {
  return absl::StrCat("pkcs11:token=", token, ";object=", object, "?module-path=", kModule,
                      "&pin-source=file:", pin_file.empty() ? Dir() + "/user.pin" : pin_file);
}

// A logged-in read-write session on the "custody" token, straight through the
// module (not through the code under test): for what only raw PKCS#11 can show.
class RawSession {
 public:
  RawSession() {
    handle_ = ::dlopen(kModule, RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) return;
    reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle_, "C_GetFunctionList"))(&f_);
    CK_C_INITIALIZE_ARGS args = {};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV init = f_->C_Initialize(&args);
    if (init != CKR_OK && init != CKR_CRYPTOKI_ALREADY_INITIALIZED) return;
    CK_ULONG count = 8;
    CK_SLOT_ID slots[8];
    if (f_->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK) return;
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info;
      if (f_->C_GetTokenInfo(slots[i], &info) != CKR_OK ||
          std::string(reinterpret_cast<char*>(info.label), 8) != "custody ") {
        continue;
      }
      if (f_->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                            &session_) != CKR_OK) {
        return;
      }
      std::string pin = "12345678";
      const CK_RV login = f_->C_Login(session_, CKU_USER,
                                      reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
      ok_ = login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN;
      return;
    }
  }
  ~RawSession() {
    if (session_ != CK_INVALID_HANDLE) f_->C_CloseSession(session_);
    if (handle_ != nullptr) ::dlclose(handle_);
  }
  bool ok() const { return ok_; }
  CK_FUNCTION_LIST_PTR f() const { return f_; }
  CK_SESSION_HANDLE session() const { return session_; }

  // The objects labelled `label` (of `object_class`, unless 0).
  std::vector<CK_OBJECT_HANDLE> Find(std::string label, CK_OBJECT_CLASS object_class = 0) const {
    std::vector<CK_ATTRIBUTE> match = {{CKA_LABEL, label.data(), label.size()}};
    if (object_class != 0) match.push_back({CKA_CLASS, &object_class, sizeof(object_class)});
    std::vector<CK_OBJECT_HANDLE> found(4);
    CK_ULONG count = 0;
    if (f_->C_FindObjectsInit(session_, match.data(), match.size()) != CKR_OK) return {};
    f_->C_FindObjects(session_, found.data(), found.size(), &count);
    f_->C_FindObjectsFinal(session_);
    found.resize(count);
    return found;
  }

 private:
  void* handle_ = nullptr;
  CK_FUNCTION_LIST_PTR f_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool ok_ = false;
};

class Pkcs11Test : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(::mkdir(Dir().c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((Dir() + "/tokens").c_str(), 0700), 0);
    ASSERT_TRUE(WriteFileAtomically(Dir() + "/softhsm2.conf",
                                    absl::StrCat("directories.tokendir = ", Dir(),
                                                 "/tokens\nobjectstore.backend = file\n"
                                                 "log.level = ERROR\n"),
                                    0600)
                    .ok());
    ::setenv("SOFTHSM2_CONF", (Dir() + "/softhsm2.conf").c_str(), 1);
    ASSERT_TRUE(WriteFileAtomically(Dir() + "/user.pin", "12345678\n", 0600).ok());
    ASSERT_TRUE(WriteFileAtomically(Dir() + "/wrong.pin", "00000000", 0600).ok());
    ASSERT_TRUE(WriteFileAtomically(Dir() + "/open.pin", "12345678", 0644).ok());
    ASSERT_TRUE(WriteFileAtomically(Dir() + "/empty.pin", "\n", 0600).ok());
    // Tokens first: the module reads its token folder when it is loaded.
    for (const char* label : {"custody", "pinlock", "removable"}) InitToken(label, "12345678");
  }

  DeterministicRandom random_{5};
};

TEST_F(Pkcs11Test, AKeyMadeInTheTokenSignsAndStaysThere) {
  for (crypto::Curve curve : {crypto::Curve::kP256, crypto::Curve::kP384}) {
    const std::string uri = Uri("custody", absl::StrCat("signing-", crypto::CurveName(curve)));
    absl::StatusOr<std::unique_ptr<crypto::Signer>> created =
        CreatePkcs11Signer(uri, curve, random_);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ((*created)->curve(), curve);
    EXPECT_EQ((*created)->uri(), uri);
    absl::StatusOr<std::string> signature = (*created)->Sign("voucher entry");
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(crypto::EcdsaVerify((*created)->public_key(), "voucher entry", *signature).ok());
    EXPECT_FALSE(crypto::EcdsaVerify((*created)->public_key(), "another entry", *signature).ok());

    absl::StatusOr<std::unique_ptr<crypto::Signer>> opened = OpenPkcs11Signer(uri);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(crypto::SameKey((*opened)->public_key(), (*created)->public_key()));

    absl::StatusOr<Pkcs11KeyInfo> info = InspectPkcs11Key(uri);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->token_label, "custody");
    EXPECT_EQ(info->label, absl::StrCat("signing-", crypto::CurveName(curve)));
    EXPECT_EQ(info->id.size(), 16u);
    EXPECT_EQ(info->curve, curve);
    EXPECT_TRUE(info->sensitive);
    EXPECT_FALSE(info->extractable);
    EXPECT_TRUE(info->always_sensitive);
    EXPECT_TRUE(info->never_extractable);
    EXPECT_EQ(info->public_key_spki, (*created)->public_key().spki_der());
  }
}

// The private value cannot be read through PKCS#11 by anyone logged in.
TEST_F(Pkcs11Test, TheTokenRefusesToRevealTheKey) {
  const std::string uri = Uri("custody", "unreadable");
  ASSERT_TRUE(CreatePkcs11Signer(uri, crypto::Curve::kP256, random_).ok());
  RawSession raw;
  ASSERT_TRUE(raw.ok());
  const std::vector<CK_OBJECT_HANDLE> keys = raw.Find("unreadable", CKO_PRIVATE_KEY);
  ASSERT_EQ(keys.size(), 1u);
  CK_ATTRIBUTE value = {CKA_VALUE, nullptr, 0};
  EXPECT_EQ(raw.f()->C_GetAttributeValue(raw.session(), keys[0], &value, 1),
            CKR_ATTRIBUTE_SENSITIVE);
  CK_BBOOL extractable = CK_TRUE;
  CK_ATTRIBUTE flag = {CKA_EXTRACTABLE, &extractable, sizeof(extractable)};
  ASSERT_EQ(raw.f()->C_GetAttributeValue(raw.session(), keys[0], &flag, 1), CKR_OK);
  EXPECT_EQ(extractable, CK_FALSE);
}

TEST_F(Pkcs11Test, KeysAreNeverOverwritten) {
  const std::string uri = Uri("custody", "once");
  absl::StatusOr<std::unique_ptr<crypto::Signer>> first =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<crypto::Signer>> second =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("never overwritten"));
  absl::StatusOr<std::unique_ptr<crypto::Signer>> still = OpenPkcs11Signer(uri);
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(crypto::SameKey((*still)->public_key(), (*first)->public_key()));
}

TEST_F(Pkcs11Test, AWrongPinIsRefusedByName) {
  const std::string uri = Uri("pinlock", "signing", Dir() + "/wrong.pin");
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer = OpenPkcs11Signer(uri);
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(signer.status().message(), HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(signer.status().message(), HasSubstr("token=pinlock;object=signing"));
  absl::StatusOr<std::unique_ptr<crypto::Signer>> created =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(Pkcs11Test, BadUrisAndPinSourcesAreRefusedBeforeTheToken) {
  struct Case {
    std::string uri;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Uri("custody", "k") + "&pin-value=12345678", absl::StatusCode::kInvalidArgument,
       "keep the PIN out of the configuration"},
      {"pkcs11:token=custody;object=k?module-path=libsofthsm2.so",
       absl::StatusCode::kInvalidArgument, "absolute path"},
      {"pkcs11:token=custody;object=k", absl::StatusCode::kInvalidArgument, "names no module"},
      {"pkcs11:token=custody?module-path=/usr/lib/softhsm/libsofthsm2.so",
       absl::StatusCode::kInvalidArgument, "names no key"},
      {"pkcs11:token=custody;object=k;colour=blue?module-path=/usr/lib/softhsm/libsofthsm2.so",
       absl::StatusCode::kInvalidArgument, "does not know"},
      {"pkcs11:token=custody;object=k;type=cert?module-path=/usr/lib/softhsm/libsofthsm2.so",
       absl::StatusCode::kInvalidArgument, "type=private"},
      {"file:/tmp/key", absl::StatusCode::kInvalidArgument, "not a pkcs11: URI"},
      {"pkcs11:token=custody;object=k?module-path=/usr/lib/nowhere/libnone.so",
       absl::StatusCode::kFailedPrecondition, "no module at /usr/lib/nowhere/libnone.so"},
      {Uri("custody", "k", Dir() + "/open.pin"), absl::StatusCode::kPermissionDenied,
       "reading its PIN"},
      {Uri("custody", "k", Dir() + "/absent.pin"), absl::StatusCode::kFailedPrecondition,
       "reading its PIN"},
      {absl::StrCat("pkcs11:token=custody;object=k?module-path=", kModule,
                    "&pin-source=env:CUSTODY_TEST_UNSET_PIN"),
       absl::StatusCode::kPermissionDenied, "CUSTODY_TEST_UNSET_PIN is not set"},
      {Uri("absent", "k"), absl::StatusCode::kUnavailable, "no token present matches"},
      {Uri("custody", "k", Dir() + "/empty.pin"), absl::StatusCode::kPermissionDenied,
       "the PIN from pin-source is empty"},
      {Uri("custody", "no-such-key"), absl::StatusCode::kNotFound, "holds no private key"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<crypto::Signer>> signer = OpenPkcs11Signer(c.uri);
    EXPECT_EQ(signer.status().code(), c.code) << c.uri << ": " << signer.status();
    EXPECT_THAT(signer.status().message(), HasSubstr(c.message)) << c.uri;
  }
}

TEST_F(Pkcs11Test, ThePinMayComeFromTheEnvironment) {
  ASSERT_TRUE(CreatePkcs11Signer(Uri("custody", "from-env"), crypto::Curve::kP256, random_).ok());
  ::setenv("CUSTODY_TEST_PIN", "12345678", 1);
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer =
      OpenPkcs11Signer(absl::StrCat("pkcs11:token=custody;object=from-env?module-path=", kModule,
                                    "&pin-source=env:CUSTODY_TEST_PIN"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_TRUE((*signer)->Sign("x").ok());
}

TEST_F(Pkcs11Test, AnExtractableKeyIsRefused) {
  {
    // Made the way a careless import would: CKA_EXTRACTABLE true.
    RawSession raw;
    ASSERT_TRUE(raw.ok());
    std::string params("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
    std::string label = "exportable";
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, 1},
                          {CKA_EC_PARAMS, params.data(), params.size()},
                          {CKA_LABEL, label.data(), label.size()}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1},
                           {CKA_PRIVATE, &yes, 1},
                           {CKA_SIGN, &yes, 1},
                           {CKA_EXTRACTABLE, &yes, 1},
                           {CKA_LABEL, label.data(), label.size()}};
    CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE a, b;
    ASSERT_EQ(raw.f()->C_GenerateKeyPair(raw.session(), &mechanism, pub, 3, priv, 5, &a, &b),
              CKR_OK);
  }
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer =
      OpenPkcs11Signer(Uri("custody", "exportable"));
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(signer.status().message(), HasSubstr("can leave the token"));
}

TEST_F(Pkcs11Test, SignaturesRunInParallel) {
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer =
      CreatePkcs11Signer(Uri("custody", "parallel"), crypto::Curve::kP256, random_);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::vector<std::thread> threads;
  std::vector<int> good(12, 0);
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const std::string data = absl::StrCat("message ", t, "/", i);
        absl::StatusOr<std::string> signature = (*signer)->Sign(data);
        if (signature.ok() && crypto::EcdsaVerify((*signer)->public_key(), data, *signature).ok()) {
          ++good[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 12; ++t) EXPECT_EQ(good[t], 40) << "thread " << t;
}

// One library under two spellings of its path is one module: letting go of the
// key that loaded it does not finalise the module under the other.
TEST_F(Pkcs11Test, AModuleNamedTwoWaysIsLoadedOnce) {
  ASSERT_TRUE(CreatePkcs11Signer(Uri("custody", "twice"), crypto::Curve::kP256, random_).ok());
  absl::StatusOr<std::unique_ptr<crypto::Signer>> first = OpenPkcs11Signer(Uri("custody", "twice"));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<crypto::Signer>> second = OpenPkcs11Signer(
      absl::StrCat("pkcs11:token=custody;object=twice?module-path=/usr/lib/softhsm//libsofthsm2.so"
                   "&pin-source=file:",
                   Dir(), "/user.pin"));
  ASSERT_TRUE(second.ok()) << second.status();
  first->reset();
  absl::StatusOr<std::string> signature = (*second)->Sign("still here");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(crypto::EcdsaVerify((*second)->public_key(), "still here", *signature).ok());
}

// The token deleted while the key is in use: each signature fails by name with
// UNAVAILABLE; a new token under the same label with another key is refused.
TEST_F(Pkcs11Test, ATokenRemovedWhileRunningFailsEachSignatureByName) {
  const std::string uri = Uri("removable", "signing");
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  ASSERT_TRUE(signer.ok()) << signer.status();
  ASSERT_TRUE((*signer)->Sign("before").ok());
  RunCommand(absl::StrCat(kUtil, " --delete-token --token removable"));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> signature = (*signer)->Sign("after");
    EXPECT_EQ(signature.status().code(), absl::StatusCode::kUnavailable) << signature.status();
    EXPECT_THAT(signature.status().message(), HasSubstr("token=removable;object=signing"));
  }
}

// The key destroyed and another made under its label while the signer holds the
// first: the signer finds the token again but refuses the other key.
TEST_F(Pkcs11Test, AnotherKeyUnderTheSameNameIsRefused) {
  const std::string uri = Uri("custody", "replaced");
  absl::StatusOr<std::unique_ptr<crypto::Signer>> signer =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  ASSERT_TRUE(signer.ok()) << signer.status();
  ASSERT_TRUE((*signer)->Sign("before").ok());
  int destroyed = 0;
  {
    RawSession raw;
    ASSERT_TRUE(raw.ok());
    for (CK_OBJECT_HANDLE object : raw.Find("replaced")) {
      if (raw.f()->C_DestroyObject(raw.session(), object) == CKR_OK) ++destroyed;
    }
  }
  ASSERT_EQ(destroyed, 2);
  absl::StatusOr<std::unique_ptr<crypto::Signer>> impostor =
      CreatePkcs11Signer(uri, crypto::Curve::kP256, random_);
  ASSERT_TRUE(impostor.ok()) << impostor.status();
  absl::StatusOr<std::string> signature = (*signer)->Sign("after");
  EXPECT_EQ(signature.status().code(), absl::StatusCode::kFailedPrecondition) << signature.status();
  EXPECT_THAT(signature.status().message(), HasSubstr("another key under this name"));
  EXPECT_TRUE((*impostor)->Sign("after").ok());
}

}  // namespace
}  // namespace custody::keys
