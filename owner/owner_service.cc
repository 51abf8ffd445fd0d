#include "owner/owner_service.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/protocol/owner_vouchers.h"
#include "core/protocol/to2_format.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_text.h"
#include "server/admin_auth.h"
#include "server/grpc_status.h"

namespace custody::owner {
namespace {

using pki::AdminRole;

constexpr uint32_t kDefaultPageSize = 100;
constexpr size_t kMaxModelLength = 128;

// One TO2 session as the frame runs it: the protocol session, tracked as
// onboarding from the moment its device is known until the stream ends.
class TrackedTo2Session {
 public:
  TrackedTo2Session(const protocol::To2ServerDeps& deps, OnboardingTracker* tracker,
                    const std::function<void(protocol::MessageType)>* after_message)
      : session_(deps), tracker_(tracker), after_message_(after_message) {}
  ~TrackedTo2Session() {
    if (!tracked_.empty()) tracker_->End(tracked_);
  }
  TrackedTo2Session(const TrackedTo2Session&) = delete;
  TrackedTo2Session& operator=(const TrackedTo2Session&) = delete;

  absl::StatusOr<v1::To2Response> Handle(const v1::To2Request& request) {
    const protocol::MessageType type = session_.RequestType(request);
    absl::StatusOr<v1::To2Response> response = session_.Handle(request);
    if (tracker_ != nullptr && tracked_.empty() && !session_.guid().empty()) {
      tracked_ = session_.guid();
      tracker_->Begin(tracked_);
    }
    if (response.ok() && *after_message_) (*after_message_)(type);
    return response;
  }
  bool done() const { return session_.done(); }
  protocol::MessageType RequestType(const v1::To2Request& request) const {
    return session_.RequestType(request);
  }

  // The log line's fields: operators follow onboardings and refusals of known
  // devices in the log (the admin API shows the outcome).
  std::string Describe() const {
    if (session_.guid().empty()) return "";
    std::string fields = absl::StrCat("guid=", voucher::FormatGuid(session_.guid()));
    if (!session_.replacement_guid().empty()) {
      absl::StrAppend(&fields,
                      " replacement_guid=", voucher::FormatGuid(session_.replacement_guid()));
    }
    return fields;
  }

 private:
  protocol::To2ServerSession session_;
  OnboardingTracker* tracker_;
  const std::function<void(protocol::MessageType)>* after_message_;
  std::string tracked_;
};

// The settings scope a request names, checked: a model (1..128 printable
// characters) or the GUID of a device this owner holds (the imported one).
template <typename Request>
absl::StatusOr<std::string> ScopeOf(const Request& request, storage::Transaction& tx) {
  switch (request.scope_case()) {
    case Request::kModel: {
      const std::string& model = request.model();
      const bool printable = std::all_of(model.begin(), model.end(),
                                         [](char c) { return c > ' ' && c <= '~' && c != '"'; });
      if (model.empty() || model.size() > kMaxModelLength || !printable) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a model is 1 to ", kMaxModelLength, " printable characters without spaces or quotes"));
      }
      return protocol::ModelSettingsScope(model);
    }
    case Request::kGuid: {
      if (request.guid().size() != voucher::kGuidSize) {
        return absl::InvalidArgumentError("a GUID is 16 bytes");
      }
      CUSTODY_ASSIGN_OR_RETURN(storage::OwnedDeviceRecord record,
                               tx.owned_devices().Get(request.guid()));
      return protocol::DeviceSettingsScope(record.guid);
    }
    default:
      return absl::InvalidArgumentError("name a model or a device GUID");
  }
}

}  // namespace

void OnboardingTracker::Begin(const std::string& guid) {
  absl::MutexLock lock(&mu_);
  ++sessions_[guid];
}

void OnboardingTracker::End(const std::string& guid) {
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(guid);
  if (it != sessions_.end() && --it->second == 0) sessions_.erase(it);
}

bool OnboardingTracker::Contains(const std::string& guid) const {
  absl::MutexLock lock(&mu_);
  return sessions_.count(guid) != 0;
}

size_t OnboardingTracker::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

server::ByteReactor* OwnerService::Onboard(grpc::CallbackServerContext* context) {
  return options_.stream->Open<TrackedTo2Session, v1::To2Request, v1::To2Response>(
      context,
      std::make_unique<TrackedTo2Session>(options_.to2, options_.tracker, &options_.after_message),
      [](const TrackedTo2Session& session) { return session.Describe(); });
}

v1::OwnedDevice ToWire(const storage::OwnedDeviceRecord& record, bool onboarding) {
  v1::OwnedDevice out;
  // The stored enrolment holds the report and the certificate's details.
  if (!record.enrolment.empty()) (void)out.ParseFromString(record.enrolment);
  out.set_guid(record.guid);
  out.set_model(record.model);
  out.set_serial(record.serial);
  out.set_state(onboarding && record.state != storage::OwnedDeviceState::kOnboarded
                    ? "onboarding"
                    : std::string(storage::OwnedDeviceStateName(record.state)));
  out.set_replacement_guid(record.replacement_guid);
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record.voucher);
  v1::VoucherHeader header;
  if (voucher.ok() && header.ParseFromString(voucher->header())) {
    out.set_entries(static_cast<uint32_t>(voucher->entries_size()));
    absl::StatusOr<crypto::EcPublicKey> owner = protocol::StoredCurrentOwner(*voucher, header);
    if (owner.ok()) out.set_owner_key_fingerprint(owner->Fingerprint());
  }
  out.set_imported_at_unix(absl::ToUnixSeconds(record.imported_at));
  out.set_updated_at_unix(absl::ToUnixSeconds(record.updated_at));
  if (record.registered_until != absl::InfinitePast()) {
    out.set_registered_until_unix(absl::ToUnixSeconds(record.registered_until));
  }
  out.set_last_error(record.last_error);
  if (record.onboarded_at != absl::InfinitePast()) {
    out.set_onboarded_at_unix(absl::ToUnixSeconds(record.onboarded_at));
  }
  return out;
}

absl::StatusOr<server::AdminRoleTable> OwnerAdminService::Roles() {
  const std::vector<AdminRole> operator_only = {AdminRole::kOperator};
  const std::vector<AdminRole> both = {AdminRole::kOperator, AdminRole::kAuditor};
  return server::AdminRoles(v1::OwnerAdmin::service_full_name(),
                            {
                                {"ImportVouchers", operator_only},
                                {"ListDevices", both},
                                {"GetDevice", both},
                                {"SetSettings", operator_only},
                                {"GetSettings", both},
                            });
}

grpc::Status OwnerAdminService::ImportVouchers(grpc::ServerContext* context,
                                               const v1::ImportVouchersRequest* request,
                                               v1::ImportVouchersResponse* response) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  absl::StatusOr<protocol::ImportResult> result = protocol::ImportVouchers(
      store_, owner_keys_, request->vouchers_text(), clock_.Now(), caller->AuditActor());
  if (!result.ok()) return server::ToGrpcStatus(result.status());
  for (const storage::OwnedDeviceRecord& record : result->devices) {
    *response->add_devices() = ToWire(record, tracker_.Contains(record.guid));
  }
  response->set_imported(static_cast<uint32_t>(result->imported));
  if (result->imported > 0 && imported_) imported_();
  return grpc::Status::OK;
}

grpc::Status OwnerAdminService::ListDevices(grpc::ServerContext* context,
                                            const v1::ListDevicesRequest* request,
                                            v1::ListDevicesResponse* response) {
  const uint32_t size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::OwnedDevicePage page,
                             tx.owned_devices().List(request->page_token(), size));
    for (const storage::OwnedDeviceRecord& record : page.records) {
      *response->add_devices() = ToWire(record, tracker_.Contains(record.guid));
    }
    response->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  }));
}

grpc::Status OwnerAdminService::GetDevice(grpc::ServerContext* context,
                                          const v1::GetDeviceRequest* request,
                                          v1::GetDeviceResponse* response) {
  if (request->guid().size() != voucher::kGuidSize) {
    return server::ToGrpcStatus(absl::InvalidArgumentError("a GUID is 16 bytes"));
  }
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(storage::OwnedDeviceRecord record,
                             tx.owned_devices().Get(request->guid()));
    *response->mutable_device() = ToWire(record, tracker_.Contains(record.guid));
    CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher imported, voucher::ParseVoucher(record.voucher));
    response->set_voucher_text(voucher::VoucherToText(imported));
    if (!record.replacement_voucher.empty()) {
      CUSTODY_ASSIGN_OR_RETURN(v1::OwnershipVoucher replacement,
                               voucher::ParseVoucher(record.replacement_voucher));
      response->set_replacement_voucher_text(voucher::VoucherToText(replacement));
    }
    return absl::OkStatus();
  }));
}

grpc::Status OwnerAdminService::SetSettings(grpc::ServerContext* context,
                                            const v1::SetSettingsRequest* request,
                                            v1::SetSettingsResponse* /*response*/) {
  absl::StatusOr<server::AdminCaller> caller = server::AdminCallerOf(*context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status());
  // Stored sorted by key, the order the device checks.
  v1::GetSettingsResponse stored;
  *stored.mutable_settings() = request->settings();
  std::sort(stored.mutable_settings()->begin(), stored.mutable_settings()->end(),
            [](const v1::Setting& a, const v1::Setting& b) { return a.key() < b.key(); });
  absl::Status valid = protocol::ValidateSettings(stored.settings(), "owner.settings");
  if (!valid.ok()) return server::ToGrpcStatus(valid);
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(std::string scope, ScopeOf(*request, tx));
    CUSTODY_RETURN_IF_ERROR(tx.settings().Put(
        scope, stored.settings().empty() ? std::string() : stored.SerializeAsString()));
    return tx.audit()
        .Append(caller->Event(clock_.Now(), "owner.settings",
                              request->has_guid() ? HexEncode(request->guid()) : scope,
                              absl::StrCat(stored.settings_size(), " settings")))
        .status();
  }));
}

grpc::Status OwnerAdminService::GetSettings(grpc::ServerContext* context,
                                            const v1::GetSettingsRequest* request,
                                            v1::GetSettingsResponse* response) {
  return server::ToGrpcStatus(store_.Transact([&](storage::Transaction& tx) -> absl::Status {
    CUSTODY_ASSIGN_OR_RETURN(std::string scope, ScopeOf(*request, tx));
    absl::StatusOr<std::string> value = tx.settings().Get(scope);
    if (value.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    if (!value.ok()) return value.status();
    if (!response->ParseFromString(*value)) {
      return absl::DataLossError(absl::StrCat("the stored settings of ", scope, " do not parse"));
    }
    return absl::OkStatus();
  }));
}

}  // namespace custody::owner
