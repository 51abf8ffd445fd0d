#include "core/crypto/x509_certificate.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "core/base/byte_reader.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"
#include "core/crypto/internal/openssl_util.h"
#include "core/crypto/internal/pem.h"
#include "core/crypto/internal/signed_der.h"
#include "core/crypto/internal/x509_name.h"

namespace custody::crypto {

using internal::BioPtr;
using internal::BuildX509Name;
using internal::OpenSslError;
using internal::X509NamePtr;

namespace {

std::string NameField(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    internal::ClearOpenSslErrors();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

DistinguishedName ToDistinguishedName(const X509_NAME* name) {
  if (name == nullptr) return {};
  return DistinguishedName{NameField(name, NID_commonName), NameField(name, NID_organizationName),
                           NameField(name, NID_organizationalUnitName)};
}

absl::Time ToAbslTime(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InfinitePast();
  }
  return absl::FromTimeT(timegm(&tm));
}

template <typename T, int (*Encode)(const T*, unsigned char**)>
absl::StatusOr<std::string> EncodeDer(const T* object, absl::string_view what) {
  unsigned char* der = nullptr;
  const int len = Encode(object, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, absl::StrCat("encoding ", what));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::Status CheckDerSize(absl::string_view der, absl::string_view what) {
  if (der.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (der.size() > kMaxCertificateDerSize) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, " of ", der.size(), " bytes exceeds the limit of ", kMaxCertificateDerSize));
  }
  return absl::OkStatus();
}

// Decodes DER of an OpenSSL ASN.1 type, bounded by kMaxCertificateDerSize and
// requiring that the whole input be consumed.
template <typename T, T* (*Decode)(T**, const unsigned char**, long), void (*Free)(T*)>
absl::StatusOr<std::shared_ptr<T>> DecodeDer(absl::string_view der, absl::string_view what) {
  CUSTODY_RETURN_IF_ERROR(CheckDerSize(der, what));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  T* raw = Decode(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(what, " is not valid DER"));
  }
  std::shared_ptr<T> object(raw, Free);
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError(absl::StrCat("trailing bytes after the ", what, " DER"));
  }
  return object;
}

std::string PemOf(absl::string_view label, absl::string_view der) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio(bio.get(), std::string(label).c_str(), "",
                                      reinterpret_cast<const unsigned char*>(der.data()),
                                      static_cast<long>(der.size())) <= 0) {
    std::abort();
  }
  return std::string(internal::BioContents(bio.get()));
}

}  // namespace

// ---- Certificate -----------------------------------------------------------------

Certificate::Certificate(std::shared_ptr<X509> x509, std::string der)
    : x509_(std::move(x509)), der_(std::make_shared<const std::string>(std::move(der))) {}

absl::StatusOr<Certificate> Certificate::FromOwnedX509(X509* raw) {
  std::shared_ptr<X509> x509(raw, X509_free);
  if (x509 == nullptr) return absl::InvalidArgumentError("no certificate");
  CUSTODY_ASSIGN_OR_RETURN(std::string der, (EncodeDer<X509, i2d_X509>(raw, "certificate")));
  return Certificate(std::move(x509), std::move(der));
}

absl::StatusOr<Certificate> Certificate::FromDer(absl::string_view der) {
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<X509> x509,
                           (DecodeDer<X509, d2i_X509, X509_free>(der, "certificate")));
  return Certificate(std::move(x509), std::string(der));
}

absl::StatusOr<Certificate> Certificate::FromPem(absl::string_view pem) {
  CUSTODY_ASSIGN_OR_RETURN(
      SecretBytes der,
      internal::ReadPemBlock(pem, "CERTIFICATE", "certificate PEM", kMaxCertificatePemSize));
  return FromDer(der.Reveal());
}

absl::StatusOr<std::vector<Certificate>> Certificate::ListFromPem(absl::string_view pem,
                                                                  size_t max_count) {
  CUSTODY_ASSIGN_OR_RETURN(std::vector<SecretBytes> blocks,
                           internal::ReadPemBlocks(pem, "CERTIFICATE", "certificate PEM",
                                                   kMaxCertificatePemSize, max_count));
  std::vector<Certificate> out;
  out.reserve(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) {
    absl::StatusOr<Certificate> cert = FromDer(blocks[i].Reveal());
    if (!cert.ok()) return Annotate(cert.status(), absl::StrCat("certificate ", i + 1));
    out.push_back(*std::move(cert));
  }
  return out;
}

std::string Certificate::ToPem() const { return PemOf("CERTIFICATE", *der_); }

std::string Certificate::Fingerprint() const { return Sha256(*der_); }

absl::StatusOr<EcPublicKey> Certificate::PublicKey() const {
  // The canonical encoding straight from the DER (no decoder round trip); any
  // other encoding takes OpenSSL's parse, for its precise refusal.
  absl::StatusOr<absl::string_view> spki = CertificateSpkiDer(*der_);
  if (spki.ok()) {
    absl::StatusOr<EcPublicKey> fast = EcPublicKey::FromSpkiDer(*spki);
    if (fast.ok()) return fast;
  }
  const EVP_PKEY* pkey = X509_get0_pubkey(x509_.get());  // Owned by the certificate.
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "certificate key cannot be decoded");
  }
  absl::StatusOr<EcPublicKey> key = EcPublicKey::FromEvpPkey(pkey);
  if (!key.ok()) return Annotate(key.status(), "certificate subject key");
  return key;
}

DistinguishedName Certificate::Subject() const {
  return ToDistinguishedName(X509_get_subject_name(x509_.get()));
}

DistinguishedName Certificate::Issuer() const {
  return ToDistinguishedName(X509_get_issuer_name(x509_.get()));
}

absl::Time Certificate::NotBefore() const { return ToAbslTime(X509_get0_notBefore(x509_.get())); }

absl::Time Certificate::NotAfter() const { return ToAbslTime(X509_get0_notAfter(x509_.get())); }

std::string Certificate::SerialHex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x509_.get());
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                                     static_cast<size_t>(ASN1_STRING_length(serial))));
}

std::vector<std::string> Certificate::SubjectAltNames() const {
  std::vector<std::string> out;
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    internal::ClearOpenSslErrors();
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      out.push_back(absl::StrCat(
          "DNS:", absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                    static_cast<size_t>(ASN1_STRING_length(dns)))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if ((ASN1_STRING_length(ip) == 4 || ASN1_STRING_length(ip) == 16) &&
          inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text)) != nullptr) {
        out.push_back(absl::StrCat("IP:", text));
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

bool Certificate::IsCa() const {
  // X509_check_ca caches extensions; 1 means a CA by basicConstraints.
  return X509_check_ca(x509_.get()) == 1;
}

namespace {

// One DER element: its tag, contents, and the whole encoding.
struct DerElement {
  uint8_t tag = 0;
  absl::string_view contents;
  absl::string_view whole;
};

absl::StatusOr<DerElement> ReadDerElement(ByteReader& reader, absl::string_view all,
                                          uint8_t expected_tag, absl::string_view what,
                                          absl::string_view structure = "certificate") {
  const size_t start = reader.offset();
  CUSTODY_ASSIGN_OR_RETURN(uint8_t tag, reader.ReadU8(what));
  if (tag != expected_tag) {
    return absl::InvalidArgumentError(
        absl::StrCat(structure, " ", what, ": unexpected tag ", static_cast<int>(tag)));
  }
  CUSTODY_ASSIGN_OR_RETURN(uint8_t first, reader.ReadU8(what));
  size_t length = first;
  if (first == 0x81) {
    CUSTODY_ASSIGN_OR_RETURN(uint8_t b, reader.ReadU8(what));
    if (b < 0x80)
      return absl::InvalidArgumentError(absl::StrCat(structure, " ", what, ": non-minimal length"));
    length = b;
  } else if (first == 0x82) {
    CUSTODY_ASSIGN_OR_RETURN(uint16_t b, reader.ReadU16(what));
    if (b < 0x100)
      return absl::InvalidArgumentError(absl::StrCat(structure, " ", what, ": non-minimal length"));
    length = b;
  } else if (first >= 0x80) {
    return absl::InvalidArgumentError(
        absl::StrCat(structure, " ", what, ": unsupported length form"));
  }
  CUSTODY_ASSIGN_OR_RETURN(absl::string_view contents, reader.ReadBytes(length, what));
  return DerElement{tag, contents, all.substr(start, reader.offset() - start)};
}

}  // namespace

absl::StatusOr<absl::string_view> CertificateSpkiDer(absl::string_view der) {
  CUSTODY_RETURN_IF_ERROR(CheckDerSize(der, "certificate"));
  constexpr uint8_t kSequence = 0x30;
  ByteReader outer(der);
  CUSTODY_ASSIGN_OR_RETURN(DerElement certificate,
                           ReadDerElement(outer, der, kSequence, "Certificate"));
  CUSTODY_RETURN_IF_ERROR(outer.ExpectEnd("the certificate"));
  ByteReader in_certificate(certificate.contents);
  CUSTODY_ASSIGN_OR_RETURN(DerElement tbs, ReadDerElement(in_certificate, certificate.contents,
                                                          kSequence, "TBSCertificate"));
  ByteReader fields(tbs.contents);
  ByteReader peek = fields;
  CUSTODY_ASSIGN_OR_RETURN(uint8_t first_tag, peek.ReadU8("version"));
  if (first_tag == 0xa0) {
    CUSTODY_RETURN_IF_ERROR(ReadDerElement(fields, tbs.contents, 0xa0, "version").status());
  }
  CUSTODY_RETURN_IF_ERROR(ReadDerElement(fields, tbs.contents, 0x02, "serialNumber").status());
  for (absl::string_view field : {"signature", "issuer", "validity", "subject"}) {
    CUSTODY_RETURN_IF_ERROR(ReadDerElement(fields, tbs.contents, kSequence, field).status());
  }
  CUSTODY_ASSIGN_OR_RETURN(DerElement spki,
                           ReadDerElement(fields, tbs.contents, kSequence, "subjectPublicKeyInfo"));
  return spki.whole;
}

namespace {

// DER of the OIDs a request may use.
constexpr absl::string_view kOidEcdsaWithSha256("\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 10);
constexpr absl::string_view kOidEcdsaWithSha384("\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03", 10);
constexpr absl::string_view kOidCommonName("\x06\x03\x55\x04\x03", 5);
constexpr absl::string_view kOidOrganization("\x06\x03\x55\x04\x0a", 5);
constexpr absl::string_view kOidOrganizationalUnit("\x06\x03\x55\x04\x0b", 5);
constexpr absl::string_view kRequest = "CSR";

// Reads CN, O and OU from a Name (SEQUENCE OF SET OF {OID, string}). Each may
// appear once; other attributes are skipped. The strings must be UTF8String,
// PrintableString or IA5String, and CN, O and OU printable ASCII.
absl::StatusOr<DistinguishedName> ReadName(absl::string_view name_contents) {
  DistinguishedName name;
  bool seen[3] = {false, false, false};
  ByteReader rdns(name_contents);
  while (rdns.remaining() > 0) {
    CUSTODY_ASSIGN_OR_RETURN(DerElement rdn,
                             ReadDerElement(rdns, name_contents, 0x31, "subject RDN", kRequest));
    ByteReader attributes(rdn.contents);
    while (attributes.remaining() > 0) {
      CUSTODY_ASSIGN_OR_RETURN(DerElement attribute, ReadDerElement(attributes, rdn.contents, 0x30,
                                                                    "subject attribute", kRequest));
      ByteReader parts(attribute.contents);
      CUSTODY_ASSIGN_OR_RETURN(DerElement type, ReadDerElement(parts, attribute.contents, 0x06,
                                                               "subject attribute type", kRequest));
      CUSTODY_ASSIGN_OR_RETURN(uint8_t value_tag, ByteReader(parts).ReadU8("subject value"));
      if (value_tag != 0x0c && value_tag != 0x13 && value_tag != 0x16) {
        return absl::InvalidArgumentError(
            "CSR subject value is not a UTF8, printable or IA5 string");
      }
      CUSTODY_ASSIGN_OR_RETURN(
          DerElement value,
          ReadDerElement(parts, attribute.contents, value_tag, "subject value", kRequest));
      CUSTODY_RETURN_IF_ERROR(parts.ExpectEnd("the CSR subject attribute"));
      int index = -1;
      std::string* field = nullptr;
      if (type.whole == kOidCommonName) {
        index = 0;
        field = &name.common_name;
      } else if (type.whole == kOidOrganization) {
        index = 1;
        field = &name.organization;
      } else if (type.whole == kOidOrganizationalUnit) {
        index = 2;
        field = &name.organizational_unit;
      }
      if (field == nullptr) continue;
      if (seen[index]) return absl::InvalidArgumentError("CSR subject repeats an attribute");
      for (char c : value.contents) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
          return absl::InvalidArgumentError(
              "CSR subject CN, O or OU has a character outside printable ASCII");
        }
      }
      seen[index] = true;
      field->assign(value.contents.data(), value.contents.size());
    }
  }
  return name;
}

}  // namespace

absl::StatusOr<RequestParts> ReadRequestParts(absl::string_view der) {
  CUSTODY_RETURN_IF_ERROR(CheckDerSize(der, "CSR"));
  ByteReader outer(der);
  CUSTODY_ASSIGN_OR_RETURN(DerElement request,
                           ReadDerElement(outer, der, 0x30, "CertificationRequest", kRequest));
  CUSTODY_RETURN_IF_ERROR(outer.ExpectEnd("the CSR"));
  ByteReader parts(request.contents);
  CUSTODY_ASSIGN_OR_RETURN(DerElement info, ReadDerElement(parts, request.contents, 0x30,
                                                           "CertificationRequestInfo", kRequest));
  CUSTODY_ASSIGN_OR_RETURN(DerElement algorithm, ReadDerElement(parts, request.contents, 0x30,
                                                                "signatureAlgorithm", kRequest));
  CUSTODY_ASSIGN_OR_RETURN(DerElement signature,
                           ReadDerElement(parts, request.contents, 0x03, "signature", kRequest));
  CUSTODY_RETURN_IF_ERROR(parts.ExpectEnd("the CSR"));

  RequestParts out;
  out.signed_bytes = info.whole;
  ByteReader fields(info.contents);
  CUSTODY_ASSIGN_OR_RETURN(DerElement version,
                           ReadDerElement(fields, info.contents, 0x02, "version", kRequest));
  if (version.contents != absl::string_view("\x00", 1)) {
    return absl::InvalidArgumentError("CSR version is not 1 (encoded 0)");
  }
  CUSTODY_ASSIGN_OR_RETURN(DerElement subject,
                           ReadDerElement(fields, info.contents, 0x30, "subject", kRequest));
  CUSTODY_ASSIGN_OR_RETURN(out.subject, ReadName(subject.contents));
  CUSTODY_ASSIGN_OR_RETURN(DerElement spki,
                           ReadDerElement(fields, info.contents, 0x30, "subjectPKInfo", kRequest));
  out.spki_der = spki.whole;
  CUSTODY_RETURN_IF_ERROR(
      ReadDerElement(fields, info.contents, 0xa0, "attributes", kRequest).status());
  CUSTODY_RETURN_IF_ERROR(fields.ExpectEnd("the CSR's CertificationRequestInfo"));

  // ecdsa-with-SHA256 or -SHA384, parameters absent.
  if (algorithm.contents == kOidEcdsaWithSha256) {
    out.hash = HashAlgorithm::kSha256;
  } else if (algorithm.contents == kOidEcdsaWithSha384) {
    out.hash = HashAlgorithm::kSha384;
  } else {
    return absl::InvalidArgumentError(
        "CSR signature algorithm is not ecdsa-with-SHA256 or ecdsa-with-SHA384");
  }
  if (signature.contents.empty() || signature.contents[0] != '\0') {
    return absl::InvalidArgumentError("CSR signature BIT STRING has unused bits");
  }
  out.signature_der = signature.contents.substr(1);
  return out;
}

absl::Status VerifyRequestSignature(const RequestParts& parts, const EcPublicKey& key) {
  if (parts.hash != CurveHash(key.curve())) {
    return absl::InvalidArgumentError(
        "CSR signature hash does not match the key's curve (P-256: SHA-256, P-384: SHA-384)");
  }
  absl::Status verified = EcdsaVerify(key, parts.signed_bytes, parts.signature_der);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        "CSR signature does not verify with its own key (no proof of possession)");
  }
  return absl::OkStatus();
}

std::string CertificatesToPem(const std::vector<Certificate>& certificates) {
  std::string out;
  for (const Certificate& cert : certificates) out += cert.ToPem();
  return out;
}

// ---- CertificateRequest ------------------------------------------------------------

CertificateRequest::CertificateRequest(std::shared_ptr<X509_REQ> req, std::string der)
    : req_(std::move(req)), der_(std::make_shared<const std::string>(std::move(der))) {}

absl::StatusOr<CertificateRequest> CertificateRequest::Create(const Signer& key,
                                                              const DistinguishedName& subject) {
  CUSTODY_ASSIGN_OR_RETURN(X509NamePtr name, BuildX509Name(subject));
  std::shared_ptr<X509_REQ> req(X509_REQ_new(), X509_REQ_free);
  if (req == nullptr || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.public_key().evp_pkey()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "creating the CSR failed");
  }
  unsigned char* info = nullptr;
  const int info_length = i2d_re_X509_REQ_tbs(req.get(), &info);
  if (info_length <= 0) return OpenSslError(absl::StatusCode::kInternal, "encoding the CSR failed");
  absl::StatusOr<std::string> signed_der = internal::SignDer(
      absl::string_view(reinterpret_cast<const char*>(info), static_cast<size_t>(info_length)),
      key);
  OPENSSL_free(info);
  if (!signed_der.ok()) return Annotate(signed_der.status(), "signing the CSR");
  // Parsed back, so the request object and its DER are exactly what is sent.
  CUSTODY_ASSIGN_OR_RETURN(req,
                           (DecodeDer<X509_REQ, d2i_X509_REQ, X509_REQ_free>(*signed_der, "CSR")));
  std::string der = *std::move(signed_der);
  return CertificateRequest(std::move(req), std::move(der));
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromDer(absl::string_view der) {
  CUSTODY_ASSIGN_OR_RETURN(std::shared_ptr<X509_REQ> req,
                           (DecodeDer<X509_REQ, d2i_X509_REQ, X509_REQ_free>(der, "CSR")));
  return CertificateRequest(std::move(req), std::string(der));
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromPem(absl::string_view pem) {
  CUSTODY_ASSIGN_OR_RETURN(
      SecretBytes der,
      internal::ReadPemBlock(pem, "CERTIFICATE REQUEST", "CSR PEM", kMaxCertificatePemSize));
  return FromDer(der.Reveal());
}

std::string CertificateRequest::ToPem() const { return PemOf("CERTIFICATE REQUEST", *der_); }

absl::StatusOr<EcPublicKey> CertificateRequest::PublicKey() const {
  const EVP_PKEY* pkey = X509_REQ_get0_pubkey(req_.get());  // Owned by the request.
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "CSR key cannot be decoded");
  }
  absl::StatusOr<EcPublicKey> key = EcPublicKey::FromEvpPkey(pkey);
  if (!key.ok()) return Annotate(key.status(), "CSR subject key");
  return key;
}

DistinguishedName CertificateRequest::Subject() const {
  return ToDistinguishedName(X509_REQ_get_subject_name(req_.get()));
}

absl::Status CertificateRequest::VerifyProofOfPossession() const {
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey key, PublicKey());
  const int result = X509_REQ_verify(req_.get(), key.evp_pkey());
  internal::ClearOpenSslErrors();
  if (result != 1) {
    return absl::UnauthenticatedError("CSR signature does not verify with the key it carries");
  }
  return absl::OkStatus();
}

}  // namespace custody::crypto
