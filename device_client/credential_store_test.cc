// The device credential is never lost and never torn: a child process replacing it
// is killed at every step of the write, and at random moments while writing in a
// loop; afterwards exactly one valid credential is there, the old or the new.

#include "device_client/credential_store.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::device {
namespace {

using ::testing::HasSubstr;

v1::DeviceCredential Credential(uint64_t generation) {
  v1::DeviceCredential credential;
  credential.set_protocol_version(1);
  credential.set_state(v1::DeviceCredential::STATE_INITIALIZED);
  credential.set_active(true);
  credential.mutable_device_info()->set_model("gw-100");
  credential.mutable_device_info()->set_serial("SN-1");
  credential.mutable_guid()->set_value(std::string(16, static_cast<char>(generation)));
  credential.set_hmac_secret(std::string(32, 's'));
  // Big enough that the write takes a few pages.
  credential.set_voucher_header(std::string(20000, static_cast<char>('a' + generation % 26)));
  credential.set_generation(generation);
  return credential;
}

// Whole, consistent, and one of the generations we wrote.
void ExpectValid(const absl::StatusOr<v1::DeviceCredential>& loaded, uint64_t generation) {
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->generation(), generation);
  EXPECT_EQ(loaded->guid().value(), std::string(16, static_cast<char>(generation)));
  EXPECT_EQ(loaded->voucher_header(), std::string(20000, static_cast<char>('a' + generation % 26)));
}

class CredentialStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/device", ++counter);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  }
  std::string dir_;
};

TEST_F(CredentialStoreTest, SaveThenLoadIsExactAndOwnerOnly) {
  CredentialStore store(dir_);
  EXPECT_EQ(store.Load().status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(store.Load().status().message()), HasSubstr("custody_device init"));
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  ExpectValid(store.Load(), 1);
  struct stat st;
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(store.Save(Credential(2)).ok());
  ExpectValid(store.Load(), 2);
}

TEST_F(CredentialStoreTest, LoadSweepsOnlyStaleTemporaryFiles) {
  CredentialStore store(dir_);
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  const std::string stale = dir_ + "/.custody-tmp.stale1";
  const std::string fresh = dir_ + "/.custody-tmp.fresh1";
  for (const std::string& path : {stale, fresh}) {
    std::ofstream(path) << "partial";
  }
  const struct timeval hour_ago[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  ASSERT_EQ(::utimes(stale.c_str(), hour_ago), 0);
  ExpectValid(store.Load(), 1);
  EXPECT_NE(::access(stale.c_str(), F_OK), 0);  // Removed.
  EXPECT_EQ(::access(fresh.c_str(), F_OK), 0);  // A write may still be using it.
}

TEST_F(CredentialStoreTest, CorruptionIsDetected) {
  CredentialStore store(dir_);
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  std::string bytes;
  {
    std::ifstream in(store.path(), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (size_t at : {size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    std::string corrupt = bytes;
    corrupt[at] ^= 0x40;
    ASSERT_TRUE(WriteFileAtomically(store.path(), corrupt, 0600).ok());
    absl::StatusOr<v1::DeviceCredential> loaded = store.Load();
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << at;
    EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("is corrupt"));
  }
  ASSERT_TRUE(WriteFileAtomically(store.path(), bytes.substr(0, 100), 0600).ok());
  EXPECT_EQ(store.Load().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(CredentialStoreTest, ReadableByOthersIsRefused) {
  CredentialStore store(dir_);
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  ASSERT_EQ(::chmod(store.path().c_str(), 0644), 0);
  absl::StatusOr<v1::DeviceCredential> loaded = store.Load();
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(loaded.status().message()), HasSubstr("chmod 600"));
}

// The step at which the child dies, read by the hook in the child.
const char* g_kill_at = nullptr;

void DieAtStep(const char* step) {
  if (g_kill_at != nullptr && std::strcmp(step, g_kill_at) == 0) ::_exit(0);
}

struct StepCase {
  const char* step;
  uint64_t survivor;  // Which generation must be there afterwards.
};

class CredentialCrashTest : public CredentialStoreTest,
                            public testing::WithParamInterface<StepCase> {};

TEST_P(CredentialCrashTest, DeathAtEveryWriteStepLeavesExactlyOneCredential) {
  CredentialStore store(dir_);
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    g_kill_at = GetParam().step;
    (void)store.Save(Credential(2), &DieAtStep);
    ::_exit(3);  // The hook did not fire: the step name is wrong.
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the child never reached step " << GetParam().step;
  ExpectValid(store.Load(), GetParam().survivor);
  // Whatever the dead writer left behind does not stop the next write.
  ASSERT_TRUE(store.Save(Credential(3)).ok());
  ExpectValid(store.Load(), 3);
}

INSTANTIATE_TEST_SUITE_P(Steps, CredentialCrashTest,
                         testing::Values(StepCase{"created", 1}, StepCase{"written", 1},
                                         StepCase{"synced", 1}, StepCase{"replaced", 2},
                                         StepCase{"directory_synced", 2}),
                         [](const testing::TestParamInfo<StepCase>& info) {
                           return std::string(info.param.step);
                         });

TEST_F(CredentialStoreTest, SigkillAtRandomMomentsNeverLosesOrTearsIt) {
  CredentialStore store(dir_);
  ASSERT_TRUE(store.Save(Credential(1)).ok());
  uint64_t last_seen = 1;
  unsigned seed = 12345;
  for (int round = 0; round < 200; ++round) {
    int saved[2];
    ASSERT_EQ(::pipe(saved), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(saved[0]);
      // Write ever newer generations until killed, telling the parent after each.
      for (uint64_t g = last_seen + 1;; ++g) {
        if (store.Save(Credential(g)).ok()) (void)!::write(saved[1], "s", 1);
      }
    }
    ::close(saved[1]);
    // Once the child has saved one generation (however slow the disk), kill it
    // at a random moment of the saves that follow.
    pollfd ready{saved[0], POLLIN, 0};
    ASSERT_EQ(::poll(&ready, 1, 30000), 1) << "round " << round << ": the child saved nothing";
    ::usleep(rand_r(&seed) % 3000);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ::close(saved[0]);
    absl::StatusOr<v1::DeviceCredential> loaded = store.Load();
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.status();
    // The generation the child reported is durable; a later one may be too.
    ASSERT_GT(loaded->generation(), last_seen) << "round " << round;
    ExpectValid(loaded, loaded->generation());
    last_seen = loaded->generation();
  }
}

}  // namespace
}  // namespace custody::device
