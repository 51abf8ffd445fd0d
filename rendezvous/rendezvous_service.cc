#include "rendezvous/rendezvous_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"
#include "core/protocol/rendezvous_format.h"
#include "core/voucher/voucher_format.h"
#include "server/admin_auth.h"
#include "server/grpc_status.h"

namespace custody::rendezvous {
namespace {

using pki::AdminRole;

constexpr uint32_t kDefaultPageSize = 100;
constexpr size_t kMaxLabelLength = 128;

v1::RegistrationSummary Summarize(const storage::RegistrationRecord& record) {
  v1::RegistrationSummary summary;
  summary.set_guid(record.guid);
  if (record.owner_chain.size() >= 32) {
    summary.set_owner_key_fingerprint(record.owner_chain.substr(record.owner_chain.size() - 32));
  }
  summary.set_entries(static_cast<uint32_t>(record.owner_chain.size() / 32));
  summary.set_registered_at_unix(absl::ToUnixSeconds(record.registered_at));
  summary.set_expires_at_unix(absl::ToUnixSeconds(record.expires_at));
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record.voucher);
  v1::VoucherHeader header;
  if (voucher.ok() && header.ParseFromString(voucher->header())) {
    summary.set_manufacturer_key_fingerprint(crypto::Sha256(header.manufacturer_key().spki_der()));
  }
  // Stored after verification; read back for display only.
  v1::SignedPayload signed_record;
  v1::AddressRecord address_record;
  if (signed_record.ParseFromString(record.address_record) &&
      address_record.ParseFromString(signed_record.payload())) {
    *summary.mutable_addresses() = address_record.addresses();
  }
  return summary;
}

v1::TrustedManufacturer ToWire(const storage::TrustedKeyRecord& record) {
  v1::TrustedManufacturer out;
  absl::StatusOr<crypto::EcPublicKey> key = crypto::EcPublicKey::FromSpkiDer(record.spki_der);
  if (key.ok()) *out.mutable_key() = voucher::ToWireKey(*key);
  out.set_label(record.label);
  out.set_fingerprint(record.fingerprint);
  out.set_added_at_unix(absl::ToUnixSeconds(record.added_at));
  return out;
}

}  // namespace

server::ByteReactor* RendezvousService::RegisterOwner(grpc::CallbackServerContext* context) {
  return options_.to0_stream->Open<protocol::To0ServerSession, v1::To0Request, v1::To0Response>(
      context, std::make_unique<protocol::To0ServerSession>(options_.to0, context->peer()));
}

server::ByteReactor* RendezvousService::FindOwner(grpc::CallbackServerContext* context) {
  return options_.to1_stream->Open<protocol::To1ServerSession, v1::To1Request, v1::To1Response>(
      context, std::make_unique<protocol::To1ServerSession>(options_.to1));
}

absl::StatusOr<server::AdminRoleTable> RendezvousAdminService::Roles() {
  const std::vector<AdminRole> operator_only = {AdminRole::kOperator};
  const std::vector<AdminRole> both = {AdminRole::kOperator, AdminRole::kAuditor};
  return server::AdminRoles(v1::RendezvousAdmin::service_full_name(),
                            {
                                {"ListRegistrations", both},
                                {"DeleteRegistration", operator_only},
                                {"ListTrustedManufacturers", both},
                                {"TrustManufacturer", operator_only},
                                {"DistrustManufacturer", operator_only},
                            });
}

grpc::Status RendezvousAdminService::ListRegistrations(grpc::ServerContext* context,
                                                       const v1::ListRegistrationsRequest* request,
                                                       v1::ListRegistrationsResponse* response) {
  const uint32_t size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::RegistrationPage page,
                             tx.registrations().List(request->page_token(), size));
    for (const storage::RegistrationRecord& record : page.records) {
      *response->add_registrations() = Summarize(record);
    }
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  }));
}

grpc::Status RendezvousAdminService::DeleteRegistration(
    grpc::ServerContext* context, const v1::DeleteRegistrationRequest* request,
    v1::DeleteRegistrationResponse* /*response*/) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  if (request->guid().size() != voucher::kGuidSize) {
    return server::ToGrpcStatus(absl::InvalidArgumentError("a GUID is 16 bytes"));
  }
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_RETURN_IF_ERROR(tx.registrations().Delete(request->guid()));
    return tx.audit()
        .Append(caller->Event(clock_.Now(), "registration.delete", HexEncode(request->guid()), ""))
        .status();
  }));
}

grpc::Status RendezvousAdminService::ListTrustedManufacturers(
    grpc::ServerContext* context, const v1::ListTrustedManufacturersRequest* /*request*/,
    v1::ListTrustedManufacturersResponse* response) {
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(std::vector<storage::TrustedKeyRecord> keys, tx.trusted_keys().List());
    for (const storage::TrustedKeyRecord& key : keys) *response->add_manufacturers() = ToWire(key);
    return absl::OkStatus();
  }));
}

grpc::Status RendezvousAdminService::TrustManufacturer(grpc::ServerContext* context,
                                                       const v1::TrustManufacturerRequest* request,
                                                       v1::TrustManufacturerResponse* response) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  absl::StatusOr<crypto::EcPublicKey> key = voucher::FromWireKey(request->key());
  if (!key.ok()) return server::ToGrpcStatus(Annotate(key.status(), "manufacturer key"));
  const bool printable = std::all_of(request->label().begin(), request->label().end(),
                                     [](char c) { return c >= ' ' && c <= '~' && c != '"'; });
  if (request->label().empty() || request->label().size() > kMaxLabelLength || !printable) {
    return server::ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "the label must be 1 to ", kMaxLabelLength, " printable characters without quotes")));
  }
  storage::TrustedKeyRecord record;
  record.fingerprint = key->Fingerprint();
  record.spki_der = key->spki_der();
  record.label = request->label();
  record.added_at = clock_.Now();
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_RETURN_IF_ERROR(tx.trusted_keys().Insert(record));
    *response->mutable_manufacturer() = ToWire(record);
    return tx.audit()
        .Append(caller->Event(record.added_at, "trust.add",
                              absl::StrCat("SHA256:", HexEncode(record.fingerprint)),
                              absl::StrCat("label \"", record.label, "\"")))
        .status();
  }));
}

grpc::Status RendezvousAdminService::DistrustManufacturer(
    grpc::ServerContext* context, const v1::DistrustManufacturerRequest* request,
    v1::DistrustManufacturerResponse* /*response*/) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  if (request->fingerprint().size() != 32) {
    return server::ToGrpcStatus(
        absl::InvalidArgumentError("a key fingerprint is 32 bytes (SHA-256 of the SPKI)"));
  }
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_RETURN_IF_ERROR(tx.trusted_keys().Delete(request->fingerprint()));
    return tx.audit()
        .Append(caller->Event(clock_.Now(), "trust.remove",
                              absl::StrCat("SHA256:", HexEncode(request->fingerprint())),
                              "existing registrations stay until they expire or are deleted"))
        .status();
  }));
}

}  // namespace custody::rendezvous
