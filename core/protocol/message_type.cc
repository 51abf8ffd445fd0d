#include "core/protocol/message_type.h"

namespace custody::protocol {

absl::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kNone:
      return "none";
    case MessageType::kDiAppStart:
      return "DI.AppStart";
    case MessageType::kDiSetCredentials:
      return "DI.SetCredentials";
    case MessageType::kDiSetHmac:
      return "DI.SetHMAC";
    case MessageType::kDiDone:
      return "DI.Done";
    case MessageType::kTo0Hello:
      return "TO0.Hello";
    case MessageType::kTo0HelloAck:
      return "TO0.HelloAck";
    case MessageType::kTo0OwnerSign:
      return "TO0.OwnerSign";
    case MessageType::kTo0AcceptOwner:
      return "TO0.AcceptOwner";
    case MessageType::kTo1HelloRv:
      return "TO1.HelloRV";
    case MessageType::kTo1HelloRvAck:
      return "TO1.HelloRVAck";
    case MessageType::kTo1ProveToRv:
      return "TO1.ProveToRV";
    case MessageType::kTo1RvRedirect:
      return "TO1.RVRedirect";
    case MessageType::kTo2HelloDevice:
      return "TO2.HelloDevice";
    case MessageType::kTo2ProveOvHeader:
      return "TO2.ProveOVHdr";
    case MessageType::kTo2GetOvNextEntry:
      return "TO2.GetOVNextEntry";
    case MessageType::kTo2OvNextEntry:
      return "TO2.OVNextEntry";
    case MessageType::kTo2ProveDevice:
      return "TO2.ProveDevice";
    case MessageType::kTo2SetupDevice:
      return "TO2.SetupDevice";
    case MessageType::kTo2DeviceServiceInfoReady:
      return "TO2.DeviceServiceInfoReady";
    case MessageType::kTo2OwnerServiceInfoReady:
      return "TO2.OwnerServiceInfoReady";
    case MessageType::kTo2DeviceServiceInfo:
      return "TO2.DeviceServiceInfo";
    case MessageType::kTo2OwnerServiceInfo:
      return "TO2.OwnerServiceInfo";
    case MessageType::kTo2Done:
      return "TO2.Done";
    case MessageType::kTo2Done2:
      return "TO2.Done2";
  }
  return "unknown";
}

bool StepTouchesStore(MessageType request) {
  switch (request) {
    case MessageType::kDiAppStart:      // the model's support declaration; audit
    case MessageType::kDiSetHmac:       // the voucher is stored
    case MessageType::kTo0Hello:        // the trust list
    case MessageType::kTo0OwnerSign:    // the registration is stored
    case MessageType::kTo1HelloRv:      // the registration is read
    case MessageType::kTo2HelloDevice:  // the device's voucher is read
    case MessageType::kTo2Done:         // the replacement voucher is committed
      return true;
    default:
      return false;
  }
}

}  // namespace custody::protocol
