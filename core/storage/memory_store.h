// MemoryStore: the Store for unit tests. Transactions run on a copy of the state,
// which replaces the state only when the transaction succeeds, so rollback is
// exact. Thread-safe (transactions are serialized). Nothing survives the process.

#ifndef CUSTODY_CORE_STORAGE_MEMORY_STORE_H_
#define CUSTODY_CORE_STORAGE_MEMORY_STORE_H_

#include <memory>

#include "core/storage/store.h"

namespace custody::storage {

std::unique_ptr<Store> NewMemoryStore();

}  // namespace custody::storage

#endif  // CUSTODY_CORE_STORAGE_MEMORY_STORE_H_
