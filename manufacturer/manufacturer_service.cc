#include "manufacturer/manufacturer_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "core/protocol/support_declaration.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "server/admin_auth.h"
#include "server/grpc_status.h"

namespace custody::manufacturer {
namespace {

using pki::AdminRole;

constexpr uint32_t kDefaultPageSize = 100;

v1::VoucherSummary Summarize(const storage::VoucherRecord& record) {
  v1::VoucherSummary summary;
  summary.set_guid(record.guid);
  summary.set_model(record.model);
  summary.set_serial(record.serial);
  summary.set_state(std::string(storage::VoucherStateName(record.state)));
  summary.set_created_at_unix(absl::ToUnixSeconds(record.created_at));
  summary.set_updated_at_unix(absl::ToUnixSeconds(record.updated_at));
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record.voucher);
  summary.set_entries(voucher.ok() ? static_cast<uint32_t>(voucher->entries_size()) : 0);
  return summary;
}

}  // namespace

absl::StatusOr<ConfigModelCatalog> ConfigModelCatalog::New(const v1::ManufacturerConfig& config,
                                                           const crypto::Signer& voucher_key) {
  ConfigModelCatalog catalog;
  for (const v1::ModelConfig& model : config.models()) {
    if (model.model().empty()) return absl::InvalidArgumentError("a model has no name");
    if (catalog.profiles_.count(model.model()) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("model \"", model.model(), "\" is repeated"));
    }
    protocol::ModelProfile profile;
    profile.model = model.model();
    profile.rendezvous_info = model.rendezvous_info();
    for (v1::RendezvousEndpoint& endpoint : *profile.rendezvous_info.mutable_endpoints()) {
      if (endpoint.transport() == v1::RendezvousEndpoint::TRANSPORT_UNSPECIFIED) {
        endpoint.set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
      }
    }
    if (model.device_certificate_validity_days() > 0) {
      profile.device_certificate_validity =
          absl::Hours(24) * static_cast<int64_t>(model.device_certificate_validity_days());
    }
    // The header every device of this model will get must be valid: check now,
    // not when the first device arrives.
    v1::VoucherHeader header;
    header.set_protocol_version(voucher::kVoucherProtocolVersion);
    header.mutable_guid()->set_value(std::string(voucher::kGuidSize, '\0'));
    *header.mutable_rendezvous_info() = profile.rendezvous_info;
    header.mutable_device_info()->set_model(model.model());
    header.mutable_device_info()->set_serial("check");
    *header.mutable_manufacturer_key() = voucher::ToWireKey(voucher_key.public_key());
    *header.mutable_device_certificate_chain_hash() =
        voucher::MakeHash(crypto::CurveHash(voucher_key.curve()), "");
    absl::Status valid = voucher::BuildHeaderBytes(header).status();
    if (!valid.ok()) return Annotate(valid, absl::StrCat("model \"", model.model(), "\""));
    catalog.profiles_[model.model()] = std::move(profile);
  }
  if (catalog.profiles_.empty()) {
    return absl::InvalidArgumentError("no model is configured; add a models { ... } block");
  }
  return catalog;
}

absl::StatusOr<protocol::ModelProfile> ConfigModelCatalog::Lookup(absl::string_view model) const {
  auto it = profiles_.find(std::string(model));
  if (it == profiles_.end()) {
    return absl::NotFoundError(absl::StrCat("model \"", absl::CHexEscape(model),
                                            "\" is not configured at this manufacturer"));
  }
  return it->second;
}

server::ByteReactor* DeviceInitializationService::Initialize(grpc::CallbackServerContext* context) {
  return di_.Open<protocol::DiServerSession, v1::DiRequest, v1::DiResponse>(
      context, std::make_unique<protocol::DiServerSession>(deps_));
}

grpc::Status SupportDeclarationService::GetSupportDeclaration(
    grpc::ServerContext* /*context*/, const v1::GetSupportDeclarationRequest* request,
    v1::GetSupportDeclarationResponse* response) {
  absl::Status known = models_.Lookup(request->model()).status();
  if (!known.ok()) return server::ToGrpcStatus(known);
  absl::Status status = store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::SupportDeclarationRecord record,
                             tx.support().Current(request->model()));
    if (!response->mutable_signed_declaration()->ParseFromString(record.signed_declaration)) {
      return absl::DataLossError("the stored support declaration does not parse");
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return server::ToGrpcStatus(status);
  *response->mutable_manufacturer_key() = voucher::ToWireKey(voucher_key_);
  return grpc::Status::OK;
}

absl::StatusOr<server::AdminRoleTable> ManufacturerAdminService::Roles() {
  const std::vector<AdminRole> operator_only = {AdminRole::kOperator};
  const std::vector<AdminRole> both = {AdminRole::kOperator, AdminRole::kAuditor};
  return server::AdminRoles(v1::ManufacturerAdmin::service_full_name(),
                            {
                                {"ListVouchers", both},
                                {"GetVoucher", both},
                                {"ExtendVoucher", operator_only},
                                {"DeclareSupport", operator_only},
                            });
}

grpc::Status ManufacturerAdminService::ListVouchers(grpc::ServerContext* context,
                                                    const v1::ListVouchersRequest* request,
                                                    v1::ListVouchersResponse* response) {
  const uint32_t size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  absl::Status status = store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::VoucherPage page,
                             tx.vouchers().List(request->page_token(), size));
    for (const storage::VoucherRecord& record : page.records) {
      *response->add_vouchers() = Summarize(record);
    }
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
  return server::ToGrpcStatus(status);
}

grpc::Status ManufacturerAdminService::GetVoucher(grpc::ServerContext* context,
                                                  const v1::GetVoucherRequest* request,
                                                  v1::GetVoucherResponse* response) {
  absl::Status status = store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::VoucherRecord record, tx.vouchers().Get(request->guid()));
    *response->mutable_summary() = Summarize(record);
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher voucher, voucher::ParseVoucher(record.voucher));
    response->set_voucher_text(voucher::VoucherToText(voucher));
    return absl::OkStatus();
  });
  return server::ToGrpcStatus(status);
}

grpc::Status ManufacturerAdminService::ExtendVoucher(grpc::ServerContext* context,
                                                     const v1::ExtendVoucherRequest* request,
                                                     v1::ExtendVoucherResponse* response) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  absl::StatusOr<crypto::EcPublicKey> buyer = voucher::FromWireKey(request->buyer_key());
  if (!buyer.ok()) return server::ToGrpcStatus(Annotate(buyer.status(), "buyer key"));
  absl::Status status = store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::VoucherRecord record, tx.vouchers().Get(request->guid()));
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher voucher, voucher::ParseVoucher(record.voucher));
    // The manufacturer signs entry 0 over a header from its own database, which it
    // wrote at DI: the one place where an unsigned header is trusted.
    voucher::ExtendOptions options;
    options.trust_unsigned_header = true;
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher extended,
                             voucher::ExtendVoucher(voucher, voucher_key_, *buyer, options));
    record.voucher = extended.SerializeAsString();
    record.state = storage::VoucherState::kTransferred;
    record.updated_at = clock_.Now();
    CUSTODY_RETURN_IF_ERROR(tx.vouchers().Update(record).status());
    CUSTODY_RETURN_IF_ERROR(
        tx.audit()
            .Append(caller->Event(record.updated_at, "voucher.extend", HexEncode(record.guid),
                                  absl::StrCat("to SHA256:", HexEncode(buyer->Fingerprint()))))
            .status());
    response->set_voucher_text(voucher::VoucherToText(extended));
    return absl::OkStatus();
  });
  return server::ToGrpcStatus(status);
}

grpc::Status ManufacturerAdminService::DeclareSupport(grpc::ServerContext* context,
                                                      const v1::DeclareSupportRequest* request,
                                                      v1::DeclareSupportResponse* response) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  absl::Status known = models_.Lookup(request->model()).status();
  if (!known.ok()) return server::ToGrpcStatus(known);
  protocol::SupportChange change;
  change.model = request->model();
  change.security_updates_until = request->security_updates_until();
  change.disclosure_policy_url = request->disclosure_policy_url();
  absl::StatusOr<v1::SignedPayload> declared =
      protocol::DeclareSupport(store_, voucher_key_, clock_.Now(), caller->AuditActor(), change);
  if (!declared.ok()) return server::ToGrpcStatus(declared.status());
  *response->mutable_signed_declaration() = *std::move(declared);
  return grpc::Status::OK;
}

}  // namespace custody::manufacturer
