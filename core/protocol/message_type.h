// The protocol messages by their FDO 1.1 message numbers (DI 10..13, TO0
// 20..23, TO1 30..33, TO2 60..71), for error details (ErrorDetail's
// previous_message_type) and log lines. The serving frame names every
// message by this enum; no adapter writes a number.
//
// Each server session names the request it is given (RequestType), since a
// sealed TO2 message is told apart only by the session's state.

#ifndef CUSTODY_CORE_PROTOCOL_MESSAGE_TYPE_H_
#define CUSTODY_CORE_PROTOCOL_MESSAGE_TYPE_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace custody::protocol {

enum class MessageType : uint32_t {
  kNone = 0,  // Nothing received yet, or a message of no known kind.
  // Follows FDO DI.
  kDiAppStart = 10,
  kDiSetCredentials = 11,
  kDiSetHmac = 12,
  kDiDone = 13,
  // Follows FDO TO0.
  kTo0Hello = 20,
  kTo0HelloAck = 21,
  kTo0OwnerSign = 22,
  kTo0AcceptOwner = 23,
  // Follows FDO TO1.
  kTo1HelloRv = 30,
  kTo1HelloRvAck = 31,
  kTo1ProveToRv = 32,
  kTo1RvRedirect = 33,
  // Follows FDO TO2.
  kTo2HelloDevice = 60,
  kTo2ProveOvHeader = 61,
  kTo2GetOvNextEntry = 62,
  kTo2OvNextEntry = 63,
  kTo2ProveDevice = 64,
  kTo2SetupDevice = 65,
  kTo2DeviceServiceInfoReady = 66,
  kTo2OwnerServiceInfoReady = 67,
  kTo2DeviceServiceInfo = 68,
  kTo2OwnerServiceInfo = 69,
  kTo2Done = 70,
  kTo2Done2 = 71,
};

inline constexpr uint32_t MessageNumber(MessageType type) { return static_cast<uint32_t>(type); }

// "TO2.HelloDevice", as FDO names it ("none" for kNone).
absl::string_view MessageTypeName(MessageType type);

// Whether the server's step for this request reads or writes the store. The
// serving frame runs those steps off gRPC's callback threads (a commit waits for
// a disk sync, and the store serialises transactions).
bool StepTouchesStore(MessageType request);

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_MESSAGE_TYPE_H_
