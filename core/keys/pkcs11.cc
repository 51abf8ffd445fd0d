#include "core/keys/pkcs11.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/base/file_util.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"

namespace custody::keys {
namespace {

constexpr size_t kMaxPinSize = 256;
constexpr size_t kMaxAttributeSize = 1024;
constexpr CK_ULONG kMaxObjects = 4;

// DER OIDs as CKA_EC_PARAMS carries them (namedCurve).
constexpr absl::string_view kP256Params("\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
constexpr absl::string_view kP384Params("\x06\x05\x2b\x81\x04\x00\x22", 7);

absl::string_view RvName(CK_RV rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_HOST_MEMORY:
      return "CKR_HOST_MEMORY";
    case CKR_SLOT_ID_INVALID:
      return "CKR_SLOT_ID_INVALID";
    case CKR_GENERAL_ERROR:
      return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED:
      return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD:
      return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_VALUE_INVALID:
      return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_DEVICE_ERROR:
      return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY:
      return "CKR_DEVICE_MEMORY";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE:
      return "CKR_OPERATION_ACTIVE";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_PIN_EXPIRED:
      return "CKR_PIN_EXPIRED";
    case CKR_SESSION_CLOSED:
      return "CKR_SESSION_CLOSED";
    case CKR_SESSION_COUNT:
      return "CKR_SESSION_COUNT";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TEMPLATE_INCOMPLETE:
      return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_TOKEN_WRITE_PROTECTED:
      return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED:
      return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED:
      return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    default:
      return "";
  }
}

// The token or its session is gone: the key may work again once it is back.
bool TokenLost(CK_RV rv) {
  return rv == CKR_DEVICE_REMOVED || rv == CKR_DEVICE_ERROR || rv == CKR_TOKEN_NOT_PRESENT ||
         rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_SESSION_HANDLE_INVALID ||
         rv == CKR_SESSION_CLOSED || rv == CKR_KEY_HANDLE_INVALID ||
         rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_USER_NOT_LOGGED_IN ||
         rv == CKR_SLOT_ID_INVALID;
}

absl::StatusCode CodeOf(CK_RV rv) {
  if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
      rv == CKR_USER_PIN_NOT_INITIALIZED) {
    return absl::StatusCode::kPermissionDenied;
  }
  if (TokenLost(rv)) return absl::StatusCode::kUnavailable;
  if (rv == CKR_HOST_MEMORY || rv == CKR_DEVICE_MEMORY || rv == CKR_SESSION_COUNT) {
    return absl::StatusCode::kResourceExhausted;
  }
  return absl::StatusCode::kInternal;
}

absl::Status RvError(absl::string_view uri, absl::string_view call, CK_RV rv) {
  const absl::string_view name = RvName(rv);
  std::string what = name.empty() ? absl::StrFormat("CKR 0x%08lx", rv) : std::string(name);
  std::string hint;
  if (rv == CKR_PIN_INCORRECT) hint = ": the PIN from pin-source is wrong";
  if (rv == CKR_PIN_LOCKED)
    hint = ": the token's user PIN is locked; the security officer must reset it";
  if (TokenLost(rv)) hint = ": the token is not reachable; check that it is present";
  return absl::Status(CodeOf(rv),
                      absl::StrCat("PKCS#11 key ", uri, ": ", call, " failed with ", what, hint));
}

std::string Trimmed(const unsigned char* field, size_t size) {
  return std::string(absl::StripTrailingAsciiWhitespace(
      absl::string_view(reinterpret_cast<const char*>(field), size)));
}

// ---- URIs -------------------------------------------------------------------------

struct UriFree {
  void operator()(P11KitUri* uri) const { p11_kit_uri_free(uri); }
};
using UriPtr = std::unique_ptr<P11KitUri, UriFree>;

struct ParsedUri {
  UriPtr uri;
  std::string text;
  std::string module_path;
  std::string pin_source;
  std::string label;
  std::string id;
};

std::string AttributeString(P11KitUri* uri, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE* attribute = p11_kit_uri_get_attribute(uri, type);
  if (attribute == nullptr || attribute->pValue == nullptr) return "";
  return std::string(static_cast<const char*>(attribute->pValue), attribute->ulValueLen);
}

absl::StatusOr<ParsedUri> ParseUri(absl::string_view text) {
  if (text.size() > kMaxPkcs11UriLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI is longer than ", kMaxPkcs11UriLength, " bytes"));
  }
  if (!IsPkcs11Uri(text)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a pkcs11: URI"));
  }
  // Before any message repeats the URI: one carrying its PIN is never echoed.
  if (absl::StrContains(text, "pin-value")) {
    return absl::InvalidArgumentError(
        "a PKCS#11 URI carries its PIN (pin-value); keep the PIN out of the configuration: "
        "pin-source=file:/path/to/pin (mode 0600) or pin-source=env:VARIABLE");
  }
  ParsedUri parsed;
  parsed.text = std::string(text);
  parsed.uri.reset(p11_kit_uri_new());
  if (parsed.uri == nullptr) return absl::ResourceExhaustedError("out of memory");
  const int rc = p11_kit_uri_parse(parsed.text.c_str(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN_AND_MODULE,
                                   parsed.uri.get());
  if (rc != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI ", text, " does not parse (", p11_kit_uri_message(rc), ")"));
  }
  if (p11_kit_uri_any_unrecognized(parsed.uri.get())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PKCS#11 URI ", text,
        " has an attribute this service does not know; it understands token, manufacturer, "
        "serial, model, object, id, type, module-path and pin-source"));
  }
  if (p11_kit_uri_get_pin_value(parsed.uri.get()) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI ", text,
                     " carries its PIN (pin-value); keep the PIN out of the configuration: "
                     "pin-source=file:/path/to/pin (mode 0600) or pin-source=env:VARIABLE"));
  }
  const char* module_path = p11_kit_uri_get_module_path(parsed.uri.get());
  if (module_path == nullptr || module_path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI ", text,
                     " names no module by absolute path; add "
                     "?module-path=/usr/lib/softhsm/libsofthsm2.so (or your HSM's module)"));
  }
  parsed.module_path = module_path;
  const char* pin_source = p11_kit_uri_get_pin_source(parsed.uri.get());
  if (pin_source != nullptr) parsed.pin_source = pin_source;
  parsed.label = AttributeString(parsed.uri.get(), CKA_LABEL);
  parsed.id = AttributeString(parsed.uri.get(), CKA_ID);
  if (parsed.label.empty() && parsed.id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PKCS#11 URI ", text, " names no key; add object=LABEL (and id=%xx... if labels repeat)"));
  }
  CK_ATTRIBUTE* type = p11_kit_uri_get_attribute(parsed.uri.get(), CKA_CLASS);
  if (type != nullptr && type->ulValueLen == sizeof(CK_OBJECT_CLASS) &&
      *static_cast<CK_OBJECT_CLASS*>(type->pValue) != CKO_PRIVATE_KEY) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI ", text, " names another object type than type=private"));
  }
  return parsed;
}

absl::StatusOr<SecretBytes> ReadPin(const ParsedUri& parsed) {
  const std::string& source = parsed.pin_source;
  if (absl::StartsWith(source, "env:")) {
    const std::string name = source.substr(4);
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr || value[0] == '\0') {
      return absl::PermissionDeniedError(absl::StrCat("PKCS#11 key ", parsed.text,
                                                      ": the PIN variable ", name,
                                                      " is not set in the environment"));
    }
    const size_t size = std::strlen(value);
    if (size > kMaxPinSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("PKCS#11 key ", parsed.text, ": the PIN is longer than ", kMaxPinSize));
    }
    return SecretBytes::CopyFrom(absl::string_view(value, size));
  }
  const std::string path = absl::StartsWith(source, "file:") ? source.substr(5) : source;
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "PKCS#11 key ", parsed.text,
        ": pin-source must be file:/absolute/path or env:VARIABLE, not \"", source, "\""));
  }
  absl::StatusOr<SecretBytes> pin = ReadPrivateFile(path, kMaxPinSize);
  if (!pin.ok()) {
    // Never NOT_FOUND, which means "no such key" (and lets a first start create it).
    absl::StatusCode code = pin.status().code();
    if (code == absl::StatusCode::kFailedPrecondition) code = absl::StatusCode::kPermissionDenied;
    if (code == absl::StatusCode::kNotFound) code = absl::StatusCode::kFailedPrecondition;
    return absl::Status(code, absl::StrCat("PKCS#11 key ", parsed.text,
                                           ": reading its PIN: ", pin.status().message()));
  }
  size_t size = pin->size();
  while (size > 0 && (pin->data()[size - 1] == '\n' || pin->data()[size - 1] == '\r')) --size;
  if (size == pin->size()) return pin;
  return SecretBytes::CopyFrom(absl::MakeConstSpan(pin->data(), size));
}

// ---- Modules ----------------------------------------------------------------------

// Loads and initialisations of modules, and their finalisations, one at a time.
ABSL_CONST_INIT absl::Mutex modules_mu(absl::kConstInit);

class Module {
 public:
  static absl::StatusOr<std::shared_ptr<Module>> Get(const ParsedUri& parsed) {
    // One module per library file, however the path names it (symlinks, "//").
    static auto* modules = new std::map<std::pair<dev_t, ino_t>, std::weak_ptr<Module>>();
    absl::MutexLock lock(&modules_mu);
    struct stat info;
    if (::stat(parsed.module_path.c_str(), &info) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "PKCS#11 key ", parsed.text, ": no module at ", parsed.module_path,
          "; install the package that provides it (SoftHSM2: softhsm2) or correct module-path"));
    }
    std::weak_ptr<Module>& slot = (*modules)[{info.st_dev, info.st_ino}];
    if (std::shared_ptr<Module> loaded = slot.lock()) return loaded;
    void* handle = ::dlopen(parsed.module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* reason = ::dlerror();
      return absl::FailedPreconditionError(
          absl::StrCat("PKCS#11 key ", parsed.text, ": the module ", parsed.module_path,
                       " does not load: ", reason != nullptr ? reason : "?"));
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR functions = nullptr;
    if (get_list == nullptr || get_list(&functions) != CKR_OK || functions == nullptr) {
      ::dlclose(handle);
      return absl::FailedPreconditionError(absl::StrCat(
          "PKCS#11 key ", parsed.text, ": ", parsed.module_path, " is not a PKCS#11 module"));
    }
    CK_C_INITIALIZE_ARGS args = {};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = functions->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      ::dlclose(handle);
      return RvError(parsed.text, "C_Initialize", rv);
    }
    std::shared_ptr<Module> module(new Module(handle, functions, /*finalize=*/rv == CKR_OK));
    slot = module;
    return module;
  }

  ~Module() {
    // Not while Get loads the same library again for a new key.
    absl::MutexLock lock(&modules_mu);
    if (finalize_) functions_->C_Finalize(nullptr);
    ::dlclose(handle_);
  }

  CK_FUNCTION_LIST_PTR f() const { return functions_; }

 private:
  Module(void* handle, CK_FUNCTION_LIST_PTR functions, bool finalize)
      : handle_(handle), functions_(functions), finalize_(finalize) {}

  void* handle_;
  CK_FUNCTION_LIST_PTR functions_;
  bool finalize_;
};

// ---- Sessions and objects ---------------------------------------------------------

struct Token {
  CK_SLOT_ID slot = 0;
  CK_TOKEN_INFO info = {};
};

absl::StatusOr<Token> FindToken(const Module& module, const ParsedUri& parsed) {
  CK_ULONG count = 0;
  CK_RV rv = module.f()->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return RvError(parsed.text, "C_GetSlotList", rv);
  constexpr CK_ULONG kMaxSlots = 256;
  if (count > kMaxSlots) {
    return absl::FailedPreconditionError(absl::StrCat("PKCS#11 key ", parsed.text,
                                                      ": the module reports ", count,
                                                      " slots, more than ", kMaxSlots));
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    rv = module.f()->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv != CKR_OK) return RvError(parsed.text, "C_GetSlotList", rv);
    slots.resize(count);
  }
  std::vector<Token> matches;
  std::vector<std::string> present;
  for (CK_SLOT_ID slot : slots) {
    Token token;
    token.slot = slot;
    if (module.f()->C_GetTokenInfo(slot, &token.info) != CKR_OK) continue;
    if ((token.info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    present.push_back(Trimmed(token.info.label, sizeof(token.info.label)));
    if (p11_kit_uri_match_token_info(parsed.uri.get(), &token.info) == 1) matches.push_back(token);
  }
  if (matches.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "PKCS#11 key ", parsed.text, ": no token present matches the URI (tokens present: ",
        present.empty() ? "none" : absl::StrJoin(present, ", "),
        "); insert the token or correct token="));
  }
  if (matches.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": ", matches.size(),
                     " tokens match the URI; add serial= to name one"));
  }
  return matches[0];
}

class Session {
 public:
  Session(std::shared_ptr<Module> module, CK_SESSION_HANDLE handle)
      : module_(std::move(module)), handle_(handle) {}
  Session(Session&& other) noexcept
      : module_(std::move(other.module_)),
        handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (handle_ != CK_INVALID_HANDLE) module_->f()->C_CloseSession(handle_);
  }
  CK_SESSION_HANDLE get() const { return handle_; }
  CK_SESSION_HANDLE Release() { return std::exchange(handle_, CK_INVALID_HANDLE); }

 private:
  std::shared_ptr<Module> module_;
  CK_SESSION_HANDLE handle_;
};

// Opens a session on the token and logs the user in (once per token and process:
// further logins answer CKR_USER_ALREADY_LOGGED_IN).
absl::StatusOr<Session> OpenSession(const std::shared_ptr<Module>& module, const Token& token,
                                    const ParsedUri& parsed, const SecretBytes* pin,
                                    bool read_write) {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  const CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_RV rv = module->f()->C_OpenSession(token.slot, flags, nullptr, nullptr, &handle);
  if (rv != CKR_OK) return RvError(parsed.text, "C_OpenSession", rv);
  Session session(module, handle);
  // With a PIN configured, log in even if the token does not require it: the
  // key is a private object, invisible otherwise (and then wrongly "not found").
  if ((token.info.flags & CKF_LOGIN_REQUIRED) != 0 || pin != nullptr) {
    if (pin == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("PKCS#11 key ", parsed.text,
                       ": the token requires a PIN; add pin-source=file:/path or env:VARIABLE"));
    }
    if (pin->empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("PKCS#11 key ", parsed.text, ": the PIN from pin-source is empty"));
    }
    rv = module->f()->C_Login(handle, CKU_USER, const_cast<CK_UTF8CHAR_PTR>(pin->data()),
                              static_cast<CK_ULONG>(pin->size()));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      return RvError(parsed.text, "C_Login", rv);
    }
  }
  return session;
}

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(const Module& module,
                                                          CK_SESSION_HANDLE session,
                                                          const ParsedUri& parsed,
                                                          CK_OBJECT_CLASS object_class,
                                                          bool label_only = false) {
  std::vector<CK_ATTRIBUTE> match;
  match.push_back({CKA_CLASS, &object_class, sizeof(object_class)});
  std::string label = parsed.label;
  std::string id = parsed.id;
  if (!label.empty()) match.push_back({CKA_LABEL, label.data(), label.size()});
  if (!id.empty() && !label_only) match.push_back({CKA_ID, id.data(), id.size()});
  CK_RV rv = module.f()->C_FindObjectsInit(session, match.data(), match.size());
  if (rv != CKR_OK) return RvError(parsed.text, "C_FindObjectsInit", rv);
  // A module may return fewer objects per call than there are: call until it
  // returns none (or enough to tell one from several).
  std::vector<CK_OBJECT_HANDLE> found(kMaxObjects);
  size_t total = 0;
  while (total < kMaxObjects) {
    CK_ULONG count = 0;
    rv = module.f()->C_FindObjects(session, found.data() + total, kMaxObjects - total, &count);
    if (rv != CKR_OK || count == 0 || count > kMaxObjects - total) break;
    total += count;
  }
  module.f()->C_FindObjectsFinal(session);
  if (rv != CKR_OK) return RvError(parsed.text, "C_FindObjects", rv);
  found.resize(total);
  return found;
}

absl::StatusOr<std::string> GetAttribute(const Module& module, CK_SESSION_HANDLE session,
                                         CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type,
                                         const ParsedUri& parsed, absl::string_view what) {
  CK_ATTRIBUTE attribute = {type, nullptr, 0};
  CK_RV rv = module.f()->C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK)
    return RvError(parsed.text, absl::StrCat("C_GetAttributeValue(", what, ")"), rv);
  if (attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
      attribute.ulValueLen > kMaxAttributeSize) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": the token does not give its ", what));
  }
  std::string value(attribute.ulValueLen, '\0');
  attribute.pValue = value.data();
  rv = module.f()->C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK)
    return RvError(parsed.text, absl::StrCat("C_GetAttributeValue(", what, ")"), rv);
  if (attribute.ulValueLen > value.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": the token gave an inconsistent ", what));
  }
  value.resize(attribute.ulValueLen);
  return value;
}

absl::StatusOr<bool> GetBool(const Module& module, CK_SESSION_HANDLE session,
                             CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type,
                             const ParsedUri& parsed, absl::string_view what) {
  CUSTODY_ASSIGN_OR_RETURN(std::string value,
                           GetAttribute(module, session, object, type, parsed, what));
  if (value.size() != sizeof(CK_BBOOL)) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": its ", what, " is not a boolean"));
  }
  return value[0] != 0;
}

absl::StatusOr<crypto::Curve> CurveOfParams(absl::string_view params, const ParsedUri& parsed) {
  if (params == kP256Params) return crypto::Curve::kP256;
  if (params == kP384Params) return crypto::Curve::kP384;
  return absl::FailedPreconditionError(absl::StrCat(
      "PKCS#11 key ", parsed.text, ": the key is on a curve other than P-256 and P-384"));
}

// CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40); some
// modules give the bare point.
absl::StatusOr<crypto::EcPublicKey> PublicKeyOf(crypto::Curve curve, absl::string_view point,
                                                const ParsedUri& parsed) {
  const size_t bare = 1 + 2 * crypto::CurveFieldSize(curve);
  if (point.size() == bare + 2 && point[0] == '\x04' &&
      static_cast<unsigned char>(point[1]) == bare) {
    point.remove_prefix(2);
  } else if (point.size() == bare + 3 && point[0] == '\x04' && point[1] == '\x81' &&
             static_cast<unsigned char>(point[2]) == bare) {
    point.remove_prefix(3);
  }
  absl::StatusOr<crypto::EcPublicKey> key =
      crypto::EcPublicKey::FromUncompressedPoint(curve, point);
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 key ", parsed.text, ": its public key does not decode: ", key.status().message()));
  }
  return key;
}

// The private key and its public half, found and checked.
struct FoundKey {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  crypto::EcPublicKey public_key;
  Pkcs11KeyInfo info;
};

absl::StatusOr<FoundKey> FindKey(const Module& module, CK_SESSION_HANDLE session,
                                 const ParsedUri& parsed) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> privates,
                           FindObjects(module, session, parsed, CKO_PRIVATE_KEY));
  if (privates.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "PKCS#11 key ", parsed.text,
        ": the token holds no private key with this label/id (create it with custodyctl keygen)"));
  }
  if (privates.size() > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 key ", parsed.text, ": several private keys match; add id= to name one"));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> publics,
                           FindObjects(module, session, parsed, CKO_PUBLIC_KEY));
  if (publics.size() != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 key ", parsed.text, ": ", publics.size(),
        " public key objects match the private key's label/id; exactly one is needed"));
  }
  const CK_OBJECT_HANDLE key = privates[0];
  Pkcs11KeyInfo info;
  CUSTODY_ASSIGN_OR_RETURN(std::string key_type,
                           GetAttribute(module, session, key, CKA_KEY_TYPE, parsed, "key type"));
  CK_KEY_TYPE type = 0;
  if (key_type.size() == sizeof(type)) std::memcpy(&type, key_type.data(), sizeof(type));
  if (type != CKK_EC) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": the key is not an elliptic-curve key"));
  }
  CUSTODY_ASSIGN_OR_RETURN(info.sensitive,
                           GetBool(module, session, key, CKA_SENSITIVE, parsed, "CKA_SENSITIVE"));
  CUSTODY_ASSIGN_OR_RETURN(
      info.extractable, GetBool(module, session, key, CKA_EXTRACTABLE, parsed, "CKA_EXTRACTABLE"));
  CUSTODY_ASSIGN_OR_RETURN(
      info.always_sensitive,
      GetBool(module, session, key, CKA_ALWAYS_SENSITIVE, parsed, "CKA_ALWAYS_SENSITIVE"));
  CUSTODY_ASSIGN_OR_RETURN(
      info.never_extractable,
      GetBool(module, session, key, CKA_NEVER_EXTRACTABLE, parsed, "CKA_NEVER_EXTRACTABLE"));
  CUSTODY_ASSIGN_OR_RETURN(info.is_private,
                           GetBool(module, session, key, CKA_PRIVATE, parsed, "CKA_PRIVATE"));
  CUSTODY_ASSIGN_OR_RETURN(info.can_sign,
                           GetBool(module, session, key, CKA_SIGN, parsed, "CKA_SIGN"));
  CUSTODY_ASSIGN_OR_RETURN(info.label,
                           GetAttribute(module, session, key, CKA_LABEL, parsed, "label"));
  CUSTODY_ASSIGN_OR_RETURN(info.id, GetAttribute(module, session, key, CKA_ID, parsed, "id"));
  CUSTODY_ASSIGN_OR_RETURN(std::string params, GetAttribute(module, session, publics[0],
                                                            CKA_EC_PARAMS, parsed, "curve"));
  CUSTODY_ASSIGN_OR_RETURN(info.curve, CurveOfParams(params, parsed));
  CUSTODY_ASSIGN_OR_RETURN(std::string point, GetAttribute(module, session, publics[0],
                                                           CKA_EC_POINT, parsed, "public point"));
  CUSTODY_ASSIGN_OR_RETURN(crypto::EcPublicKey public_key, PublicKeyOf(info.curve, point, parsed));
  info.public_key_spki = public_key.spki_der();
  return FoundKey{key, std::move(public_key), std::move(info)};
}

absl::Status CheckUsable(const Pkcs11KeyInfo& info, const ParsedUri& parsed) {
  if (!info.sensitive || info.extractable || !info.always_sensitive || !info.never_extractable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 key ", parsed.text,
        ": the key can leave the token or once could (CKA_SENSITIVE, CKA_EXTRACTABLE, "
        "CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE); use a key generated in the token as "
        "non-extractable (custodyctl key create)"));
  }
  if (!info.is_private) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 key ", parsed.text, ": the key is usable without login (CKA_PRIVATE false)"));
  }
  if (!info.can_sign) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", parsed.text, ": the key may not sign (CKA_SIGN false)"));
  }
  return absl::OkStatus();
}

void FillTokenInfo(const Token& token, const ParsedUri& parsed, Pkcs11KeyInfo* info) {
  info->module_path = parsed.module_path;
  info->token_label = Trimmed(token.info.label, sizeof(token.info.label));
  info->token_manufacturer = Trimmed(token.info.manufacturerID, sizeof(token.info.manufacturerID));
  info->token_model = Trimmed(token.info.model, sizeof(token.info.model));
  info->token_serial = Trimmed(token.info.serialNumber, sizeof(token.info.serialNumber));
}

// ---- The signer -------------------------------------------------------------------

class Pkcs11Signer final : public crypto::Signer {
 public:
  Pkcs11Signer(ParsedUri parsed, std::shared_ptr<Module> module, std::optional<SecretBytes> pin,
               crypto::EcPublicKey public_key)
      : parsed_(std::move(parsed)),
        module_(std::move(module)),
        pin_(std::move(pin)),
        public_key_(std::move(public_key)) {}

  ~Pkcs11Signer() override {
    absl::MutexLock lock(&mu_);
    CloseLocked();
  }

  const crypto::EcPublicKey& public_key() const override { return public_key_; }
  std::string uri() const override { return parsed_.text; }

  absl::StatusOr<std::string> Sign(absl::string_view data) const override {
    const std::string digest = crypto::ComputeHash(crypto::CurveHash(curve()), data);
    absl::StatusOr<std::string> raw = SignDigest(digest);
    // A token that went away and came back: one more try on a fresh session.
    if (raw.status().code() == absl::StatusCode::kUnavailable) raw = SignDigest(digest);
    if (!raw.ok()) return raw.status();
    return crypto::EcdsaRawToDer(curve(), *raw);
  }

  // Connects now, so that a service refuses to start on a key it cannot use.
  absl::Status Connect() const {
    absl::MutexLock lock(&mu_);
    return ConnectLocked();
  }

 private:
  absl::StatusOr<std::string> SignDigest(const std::string& digest) const {
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    uint64_t generation = 0;
    {
      absl::MutexLock lock(&mu_);
      if (!connected_) {
        CUSTODY_RETURN_IF_ERROR(ConnectLocked());
      }
      mu_.Await(absl::Condition(
          +[](const Pkcs11Signer* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return !self->connected_ || !self->idle_.empty() || self->open_ < kMaxPkcs11Sessions;
          },
          this));
      if (!connected_)
        return absl::UnavailableError(
            absl::StrCat("PKCS#11 key ", parsed_.text, ": the token went away"));
      if (!idle_.empty()) {
        session = idle_.back();
        idle_.pop_back();
      } else {
        absl::StatusOr<CK_SESSION_HANDLE> opened = OpenLocked();
        if (!opened.ok()) {
          // A token gone: look for it again on the next signature.
          if (opened.status().code() == absl::StatusCode::kUnavailable) CloseLocked();
          return opened.status();
        }
        session = *opened;
      }
      key = key_;
      generation = generation_;
    }
    CK_MECHANISM mechanism = {CKM_ECDSA, nullptr, 0};
    std::string raw(2 * crypto::CurveFieldSize(curve()), '\0');
    CK_ULONG length = raw.size();
    CK_RV rv = module_->f()->C_SignInit(session, &mechanism, key);
    absl::string_view call = "C_SignInit";
    if (rv == CKR_OK) {
      call = "C_Sign";
      rv = module_->f()->C_Sign(session,
                                reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(digest.data())),
                                digest.size(), reinterpret_cast<CK_BYTE_PTR>(raw.data()), &length);
    }
    absl::MutexLock lock(&mu_);
    if (generation != generation_) {
      module_->f()->C_CloseSession(session);
    } else if (TokenLost(rv)) {
      module_->f()->C_CloseSession(session);
      --open_;
      CloseLocked();
    } else if (rv != CKR_OK) {
      // The operation may still be active on it: never reuse the session.
      module_->f()->C_CloseSession(session);
      --open_;
    } else {
      idle_.push_back(session);
    }
    if (rv != CKR_OK) return RvError(parsed_.text, call, rv);
    if (length != raw.size()) {
      return absl::InternalError(absl::StrCat("PKCS#11 key ", parsed_.text, ": the token gave a ",
                                              length, "-byte signature"));
    }
    return raw;
  }

  absl::StatusOr<CK_SESSION_HANDLE> OpenLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    CUSTODY_ASSIGN_OR_RETURN(Session session,
                             OpenSession(module_, token_, parsed_, pin_ ? &*pin_ : nullptr, false));
    ++open_;
    return session.Release();
  }

  absl::Status ConnectLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (connected_) return absl::OkStatus();
    CUSTODY_ASSIGN_OR_RETURN(token_, FindToken(*module_, parsed_));
    CUSTODY_ASSIGN_OR_RETURN(Session session,
                             OpenSession(module_, token_, parsed_, pin_ ? &*pin_ : nullptr, false));
    CUSTODY_ASSIGN_OR_RETURN(FoundKey found, FindKey(*module_, session.get(), parsed_));
    CUSTODY_RETURN_IF_ERROR(CheckUsable(found.info, parsed_));
    if (!crypto::SameKey(found.public_key, public_key_)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "PKCS#11 key ", parsed_.text,
          ": the token now holds another key under this name; refusing to sign with it"));
    }
    key_ = found.handle;
    idle_.push_back(session.Release());
    open_ = 1;
    connected_ = true;
    return absl::OkStatus();
  }

  // Closes the idle sessions; sessions in use close when their signature ends.
  void CloseLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (CK_SESSION_HANDLE session : idle_) module_->f()->C_CloseSession(session);
    idle_.clear();
    open_ = 0;
    connected_ = false;
    ++generation_;
  }

  const ParsedUri parsed_;
  const std::shared_ptr<Module> module_;
  const std::optional<SecretBytes> pin_;
  const crypto::EcPublicKey public_key_;

  mutable absl::Mutex mu_;
  mutable bool connected_ ABSL_GUARDED_BY(mu_) = false;
  mutable Token token_ ABSL_GUARDED_BY(mu_);
  mutable CK_OBJECT_HANDLE key_ ABSL_GUARDED_BY(mu_) = CK_INVALID_HANDLE;
  mutable std::vector<CK_SESSION_HANDLE> idle_ ABSL_GUARDED_BY(mu_);
  mutable size_t open_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Opened {
  ParsedUri parsed;
  std::shared_ptr<Module> module;
  std::optional<SecretBytes> pin;
  Token token;
};

absl::StatusOr<Opened> OpenToken(absl::string_view uri) {
  Opened opened;
  CUSTODY_ASSIGN_OR_RETURN(opened.parsed, ParseUri(uri));
  if (!opened.parsed.pin_source.empty()) {
    CUSTODY_ASSIGN_OR_RETURN(opened.pin, ReadPin(opened.parsed));
  }
  CUSTODY_ASSIGN_OR_RETURN(opened.module, Module::Get(opened.parsed));
  CUSTODY_ASSIGN_OR_RETURN(opened.token, FindToken(*opened.module, opened.parsed));
  return opened;
}

}  // namespace

bool IsPkcs11Uri(absl::string_view uri) { return absl::StartsWith(uri, "pkcs11:"); }

absl::StatusOr<std::unique_ptr<crypto::Signer>> OpenPkcs11Signer(absl::string_view uri) {
  CUSTODY_ASSIGN_OR_RETURN(Opened opened, OpenToken(uri));
  std::optional<crypto::EcPublicKey> public_key;
  {
    CUSTODY_ASSIGN_OR_RETURN(Session session,
                             OpenSession(opened.module, opened.token, opened.parsed,
                                         opened.pin ? &*opened.pin : nullptr, false));
    CUSTODY_ASSIGN_OR_RETURN(FoundKey found, FindKey(*opened.module, session.get(), opened.parsed));
    CUSTODY_RETURN_IF_ERROR(CheckUsable(found.info, opened.parsed));
    public_key = std::move(found.public_key);
  }
  auto signer = std::make_unique<Pkcs11Signer>(std::move(opened.parsed), std::move(opened.module),
                                               std::move(opened.pin), *std::move(public_key));
  CUSTODY_RETURN_IF_ERROR(signer->Connect());
  // The public key is read from a separate object: prove it is the private key's.
  constexpr absl::string_view kSelfTest = "Custody PKCS#11 key self-test";
  CUSTODY_ASSIGN_OR_RETURN(std::string signature, signer->Sign(kSelfTest));
  if (!crypto::EcdsaVerify(signer->public_key(), kSelfTest, signature).ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("PKCS#11 key ", signer->uri(),
                     ": the public key object beside it does not belong to the private key"));
  }
  return signer;
}

absl::StatusOr<std::unique_ptr<crypto::Signer>> CreatePkcs11Signer(absl::string_view uri,
                                                                   crypto::Curve curve,
                                                                   SecureRandom& random) {
  CUSTODY_ASSIGN_OR_RETURN(Opened opened, OpenToken(uri));
  const ParsedUri& parsed = opened.parsed;
  if (parsed.label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 URI ", parsed.text, " names no label (object=) for the new key"));
  }
  {
    CUSTODY_ASSIGN_OR_RETURN(Session session,
                             OpenSession(opened.module, opened.token, parsed,
                                         opened.pin ? &*opened.pin : nullptr, true));
    for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      CUSTODY_ASSIGN_OR_RETURN(
          std::vector<CK_OBJECT_HANDLE> existing,
          FindObjects(*opened.module, session.get(), parsed, object_class, /*label_only=*/true));
      if (existing.empty() && !parsed.id.empty()) {
        ParsedUri by_id;
        by_id.text = parsed.text;
        by_id.id = parsed.id;
        CUSTODY_ASSIGN_OR_RETURN(existing,
                                 FindObjects(*opened.module, session.get(), by_id, object_class));
      }
      if (!existing.empty()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "PKCS#11 key ", parsed.text,
            ": the token already holds a key with this label; keys are never overwritten"));
      }
    }
    std::string id = parsed.id;
    if (id.empty()) {
      CUSTODY_ASSIGN_OR_RETURN(id, random.Bytes(16));
    }
    std::string label = parsed.label;
    std::string params(curve == crypto::Curve::kP256 ? kP256Params : kP384Params);
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE public_template[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},          {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_VERIFY, &yes, sizeof(yes)},         {CKA_EC_PARAMS, params.data(), params.size()},
        {CKA_LABEL, label.data(), label.size()}, {CKA_ID, id.data(), id.size()},
    };
    CK_ATTRIBUTE private_template[] = {
        {CKA_TOKEN, &yes, sizeof(yes)},          {CKA_PRIVATE, &yes, sizeof(yes)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},      {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_SIGN, &yes, sizeof(yes)},           {CKA_DERIVE, &no, sizeof(no)},
        {CKA_DECRYPT, &no, sizeof(no)},          {CKA_UNWRAP, &no, sizeof(no)},
        {CKA_LABEL, label.data(), label.size()}, {CKA_ID, id.data(), id.size()},
    };
    CK_MECHANISM mechanism = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE public_handle = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE private_handle = CK_INVALID_HANDLE;
    const CK_RV rv = opened.module->f()->C_GenerateKeyPair(
        session.get(), &mechanism, public_template, std::size(public_template), private_template,
        std::size(private_template), &public_handle, &private_handle);
    if (rv != CKR_OK) return RvError(parsed.text, "C_GenerateKeyPair", rv);
  }
  return OpenPkcs11Signer(uri);
}

absl::StatusOr<Pkcs11KeyInfo> InspectPkcs11Key(absl::string_view uri) {
  CUSTODY_ASSIGN_OR_RETURN(Opened opened, OpenToken(uri));
  CUSTODY_ASSIGN_OR_RETURN(Session session,
                           OpenSession(opened.module, opened.token, opened.parsed,
                                       opened.pin ? &*opened.pin : nullptr, false));
  CUSTODY_ASSIGN_OR_RETURN(FoundKey found, FindKey(*opened.module, session.get(), opened.parsed));
  FillTokenInfo(opened.token, opened.parsed, &found.info);
  return std::move(found.info);
}

}  // namespace custody::keys
