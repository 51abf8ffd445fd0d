// A fixed set of threads for the session steps that must not run on gRPC's
// callback threads: those that read or write the store (a commit waits for a
// disk sync, and the store serialises transactions). The queue needs no bound
// of its own: a session has at most one step queued, and sessions are capped
// (server/admission.h).
//
// Thread-safe. The destructor runs what is queued, then joins the threads.

#ifndef CUSTODY_SERVER_WORKER_POOL_H_
#define CUSTODY_SERVER_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace custody::server {

class WorkerPool {
 public:
  // `threads` >= 1.
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> work);

  size_t threads() const { return threads_.size(); }
  // Work queued and not yet started.
  size_t queued() const;

 private:
  void Run();

  mutable absl::Mutex mu_;
  absl::CondVar ready_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace custody::server

#endif  // CUSTODY_SERVER_WORKER_POOL_H_
