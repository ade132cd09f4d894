// The pieces that keep hostile traffic bounded, on their own: the request
// reader's limits (each tested one byte past), the body budget, which
// connection makes room at the limit, the thread count from a cgroup and the
// connections the open-file limit leaves room for.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "server/body_budget.h"
#include "server/connection_tracker.h"
#include "server/cpu_quota.h"
#include "server/open_files.h"
#include "server/request_reader.h"

namespace asmegress::server {
namespace {

namespace http = boost::beast::http;
using Progress = RequestReader::Progress;

constexpr std::size_t kHeaderBytes = 16 * 1024;
constexpr std::size_t kHeaderFields = 100;
constexpr std::size_t kBodyBytes = 1000;

class Reading : public ::testing::Test {
 protected:
  Reading() : reader_({kHeaderBytes, kHeaderFields, kBodyBytes}), buffer_(kHeaderBytes + 16 * 1024) {
    reader_.reset();
  }

  // Appends `bytes` as a read would, then parses.
  Progress feed(std::string_view bytes) {
    const auto target = buffer_.prepare(bytes.size());
    std::memcpy(target.data(), bytes.data(), bytes.size());
    buffer_.commit(bytes.size());
    return reader_.parse(buffer_);
  }

  // A request header of exactly `size` bytes (with its blank line).
  static std::string header_of_size(std::size_t size) {
    std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ";
    const std::size_t fixed = head.size() + 4;  // "\r\n\r\n"
    head.append(size - fixed, 'a');
    return head + "\r\n\r\n";
  }

  static std::string header_with_fields(std::size_t fields) {
    std::string head = "GET /healthz HTTP/1.1\r\n";
    for (std::size_t i = 0; i < fields; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
    return head + "\r\n";
  }

  RequestReader reader_;
  boost::beast::flat_buffer buffer_;
};

TEST_F(Reading, AHeaderAtTheLimitIsReadAndOneByteMoreIs431) {
  EXPECT_EQ(feed(header_of_size(kHeaderBytes)), Progress::Header);
  reader_.reset();
  buffer_.clear();
  EXPECT_EQ(feed(header_of_size(kHeaderBytes + 1)), Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::request_header_fields_too_large);
}

TEST_F(Reading, AHeaderThatNeverEndsIs431OnceItPassesTheLimit) {
  std::string head = "GET /healthz HTTP/1.1\r\nX: ";
  head.append(kHeaderBytes - head.size() - 1, 'a');
  EXPECT_EQ(feed(head), Progress::NeedMore);
  EXPECT_EQ(feed("a"), Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::request_header_fields_too_large);
}

TEST_F(Reading, FieldsAtTheLimitAreReadAndOneMoreIs431) {
  EXPECT_EQ(feed(header_with_fields(kHeaderFields)), Progress::Header);
  reader_.reset();
  buffer_.clear();
  EXPECT_EQ(feed(header_with_fields(kHeaderFields + 1)), Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::request_header_fields_too_large);
  EXPECT_NE(reader_.failure().message.find("fields"), std::string::npos);
}

TEST_F(Reading, AHeaderDrippedAByteAtATimeIsReadOnceWhole) {
  const std::string header = "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             "Content-Length: 2\r\n\r\n";
  for (std::size_t i = 0; i + 1 < header.size(); ++i) {
    ASSERT_EQ(feed(header.substr(i, 1)), Progress::NeedMore) << i;
  }
  EXPECT_EQ(feed(header.substr(header.size() - 1)), Progress::Header);
  EXPECT_EQ(reader_.body_length(), 2U);
  reader_.allow_body();
  EXPECT_EQ(feed("{"), Progress::NeedMore);
  EXPECT_EQ(feed("}"), Progress::Complete);
  EXPECT_EQ(reader_.release().body(), "{}");
}

TEST_F(Reading, TransferEncodingIsRefusedFromTheHeader) {
  for (const char* coding : {"chunked", "gzip, chunked", "gzip", "identity"}) {
    reader_.reset();
    buffer_.clear();
    const std::string request = "POST /mutate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
                                std::string(coding) + "\r\n\r\n";
    const Progress progress = feed(request);
    ASSERT_EQ(progress, Progress::Failed) << coding;
    // Beast itself refuses a request whose last coding is not chunked.
    const auto status = reader_.failure().status;
    EXPECT_TRUE(status == http::status::length_required || status == http::status::bad_request)
        << coding << ": " << reader_.failure().message;
  }
}

// What used to abort the process (Beast 1.81 throws std::length_error for a
// 64 KiB field, trailers included) never reaches Beast's field container.
TEST_F(Reading, AChunkedTrailerOfAnyLengthIsNeverParsed) {
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  // As much of the trailer as one read brings: the header alone decides.
  EXPECT_EQ(feed(head + "0\r\nX: " + std::string(16 * 1024 - 8, 'v')), Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::length_required);
  EXPECT_TRUE(reader_.header_parsed());
}

TEST_F(Reading, ABodyAtTheLimitIsReadAndOneByteMoreIs413FromTheHeader) {
  const std::string body(kBodyBytes, ' ');
  EXPECT_EQ(feed("POST /mutate HTTP/1.1\r\nContent-Length: " + std::to_string(kBodyBytes) + "\r\n\r\n"),
            Progress::Header);
  reader_.allow_body();
  EXPECT_EQ(feed(body), Progress::Complete);
  EXPECT_EQ(reader_.release().body().size(), kBodyBytes);
  reader_.reset();
  buffer_.clear();
  EXPECT_EQ(feed("POST /mutate HTTP/1.1\r\nContent-Length: " + std::to_string(kBodyBytes + 1) +
                 "\r\n\r\n"),
            Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::payload_too_large);
  EXPECT_TRUE(reader_.header_parsed()) << "the answer names the path, for the metrics";
}

TEST_F(Reading, NoBodyIsReadUntilItIsAllowed) {
  EXPECT_EQ(feed("POST /mutate HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), Progress::Header);
  EXPECT_EQ(reader_.parse(buffer_), Progress::Header);
  EXPECT_EQ(buffer_.size(), 5U) << "the body stays unread";
  reader_.allow_body();
  EXPECT_EQ(reader_.parse(buffer_), Progress::Complete);
}

TEST_F(Reading, PipelinedRequestsAreReadOneAtATime) {
  const std::string one = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string two = "POST /mutate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
  EXPECT_EQ(feed(one + two + one), Progress::Header);
  reader_.allow_body();
  EXPECT_EQ(reader_.parse(buffer_), Progress::Complete);
  EXPECT_EQ(reader_.release().target(), "/healthz");
  reader_.reset();
  EXPECT_EQ(reader_.parse(buffer_), Progress::Header);
  reader_.allow_body();
  EXPECT_EQ(reader_.parse(buffer_), Progress::Complete);
  EXPECT_EQ(reader_.release().body(), "{}");
  reader_.reset();
  EXPECT_EQ(reader_.parse(buffer_), Progress::Header);
  EXPECT_EQ(buffer_.size(), 0U);
}

TEST_F(Reading, GarbageIs400) {
  EXPECT_EQ(feed("\x01\x02 not HTTP\r\n\r\n"), Progress::Failed);
  EXPECT_EQ(reader_.failure().status, http::status::bad_request);
  EXPECT_FALSE(reader_.header_parsed());
}

using Share = BodyBudget::Share;

struct Grants {
  std::vector<std::pair<int, Share>> granted;
  std::function<void(Share)> to(int who) {
    return [this, who](Share share) { granted.emplace_back(who, share); };
  }
};

TEST(Budget, LargeBodiesWaitInOrderAndSmallOnesUseTheirReserve) {
  BodyBudget budget({.bytes = 100, .small_body = 10, .small_reserve = 20});
  Grants grants;
  Share a, b, c, d, e;
  std::uint64_t ta = 0, tb = 0, tc = 0, td = 0, te = 0;
  ASSERT_TRUE(budget.acquire(60, a, ta, grants.to(1)));
  ASSERT_TRUE(budget.acquire(40, b, tb, grants.to(2)));  // exactly the budget
  EXPECT_FALSE(budget.acquire(1 + 10, c, tc, grants.to(3)));  // one byte past: waits
  EXPECT_FALSE(budget.acquire(30, d, td, grants.to(4)));
  // A small body passes while large ones wait, up to its reserve.
  EXPECT_TRUE(budget.acquire(10, e, te, grants.to(5)));
  EXPECT_TRUE(e.small);
  Share f, g;
  std::uint64_t tf = 0, tg = 0;
  EXPECT_TRUE(budget.acquire(10, f, tf, grants.to(6)));
  EXPECT_FALSE(budget.acquire(1, g, tg, grants.to(7))) << "the reserve is full";
  EXPECT_EQ(budget.waiting(), 3U);
  // 40 back: the first large waiter (11), then the next (30 fits in 29? no).
  budget.release(b);
  ASSERT_EQ(grants.granted.size(), 2U);
  EXPECT_EQ(grants.granted[0].first, 3);
  EXPECT_EQ(grants.granted[1].first, 7) << "a small waiter goes on from the large budget";
  EXPECT_EQ(budget.waiting(), 1U);
  budget.release(a);
  ASSERT_EQ(grants.granted.size(), 3U);
  EXPECT_EQ(grants.granted[2].first, 4);
  for (const auto& [who, share] : grants.granted) budget.release(share);
  budget.release(e);
  budget.release(f);
  EXPECT_EQ(budget.bytes_in_use(), 0U);
}

TEST(Budget, ALargeWaiterIsNotOvertakenByALaterLargeOne) {
  BodyBudget budget({.bytes = 100, .small_body = 10, .small_reserve = 0});
  Grants grants;
  Share held, big, later;
  std::uint64_t t1 = 0, t2 = 0, t3 = 0;
  ASSERT_TRUE(budget.try_acquire(50, held));
  EXPECT_FALSE(budget.try_acquire(80, big));
  EXPECT_FALSE(budget.acquire(80, big, t2, grants.to(2)));
  // 50 are free, but the 80 asked first.
  EXPECT_FALSE(budget.try_acquire(40, later));
  EXPECT_FALSE(budget.acquire(40, later, t3, grants.to(3)));
  (void)t1;
  budget.release(held);
  ASSERT_EQ(grants.granted.size(), 1U);
  EXPECT_EQ(grants.granted[0].first, 2);
}

TEST(Budget, AWithdrawnWaiterIsNeverGranted) {
  BodyBudget budget({.bytes = 10, .small_body = 1, .small_reserve = 0});
  Grants grants;
  Share held, waiting;
  std::uint64_t t1 = 0, t2 = 0;
  ASSERT_TRUE(budget.acquire(10, held, t1, grants.to(1)));
  ASSERT_FALSE(budget.acquire(5, waiting, t2, grants.to(2)));
  EXPECT_TRUE(budget.withdraw(t2));
  EXPECT_FALSE(budget.withdraw(t2));
  budget.release(held);
  EXPECT_TRUE(grants.granted.empty());
  EXPECT_EQ(budget.bytes_in_use(), 0U);
}

// A large waiter that gives up (its deadline, an eviction) lets the ones that
// waited only behind it in at once, not when the next body is released.
TEST(Budget, AWithdrawnWaiterLetsTheOnesBehindItIn) {
  BodyBudget budget({.bytes = 100, .small_body = 10, .small_reserve = 0});
  Grants grants;
  Share held, a, b;
  std::uint64_t t0 = 0, ta = 0, tb = 0;
  ASSERT_TRUE(budget.acquire(60, held, t0, grants.to(0)));
  ASSERT_FALSE(budget.acquire(50, a, ta, grants.to(1)));  // does not fit
  ASSERT_FALSE(budget.acquire(30, b, tb, grants.to(2)));  // fits, but waits its turn
  EXPECT_TRUE(budget.withdraw(ta));
  ASSERT_EQ(grants.granted.size(), 1U);
  EXPECT_EQ(grants.granted[0].first, 2);
  EXPECT_EQ(budget.bytes_in_use(), 90U);
  EXPECT_EQ(budget.waiting(), 0U);
}

TEST(Tracker, TheOldestConnectionWithoutARequestMakesRoomThenTheLongestIdle) {
  ConnectionTracker tracker;
  // Sessions are only held by weak pointers: null ones are enough here.
  const std::shared_ptr<Session> none;
  const auto a = tracker.add(none);
  const auto b = tracker.add(none);
  const auto c = tracker.add(none);
  const auto d = tracker.add(none);
  tracker.busy(a);  // answering
  tracker.busy(b);
  tracker.idle(b);  // answered, waiting for more
  tracker.busy(d);
  tracker.idle(d);
  std::shared_ptr<Session> evicted;
  ASSERT_TRUE(tracker.evict(evicted));  // c: never sent a request
  EXPECT_EQ(tracker.size(), 3U);
  ASSERT_TRUE(tracker.evict(evicted));  // b: idle longer than d
  tracker.remove(b);                    // its destructor, later: nothing to remove
  EXPECT_EQ(tracker.size(), 2U);
  tracker.busy(d);
  EXPECT_FALSE(tracker.evict(evicted)) << "busy connections are never evicted";
  tracker.idle(d);
  ASSERT_TRUE(tracker.evict(evicted));
  EXPECT_EQ(tracker.size(), 1U);
  tracker.remove(a);
  EXPECT_EQ(tracker.size(), 0U);
  // However short the burst, its peak is seen once, then what is open now.
  EXPECT_EQ(tracker.take_peak(), 4U);
  EXPECT_EQ(tracker.take_peak(), 0U);
  (void)c;
}

class CgroupRoot : public ::testing::Test {
 protected:
  CgroupRoot()
      : root_(std::filesystem::temp_directory_path() /
              ("asm-egress-cgroup-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(root_ / "proc/self");
  }
  ~CgroupRoot() override { std::filesystem::remove_all(root_); }

  void write(const std::string& relative, const std::string& text) {
    const auto path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text << "\n";
  }

  std::filesystem::path root_;
};

TEST_F(CgroupRoot, V2QuotaIsRoundedUpAndTheSmallestAncestorWins) {
  write("proc/self/cgroup", "0::/kubepods/pod1/container");
  write("sys/fs/cgroup/kubepods/pod1/container/cpu.max", "150000 100000");
  EXPECT_EQ(cgroup_cpu_limit(root_), 2U);
  write("sys/fs/cgroup/kubepods/pod1/cpu.max", "50000 100000");
  EXPECT_EQ(cgroup_cpu_limit(root_), 1U);
  EXPECT_EQ(default_thread_count(root_), 1U);
}

TEST_F(CgroupRoot, V2WithoutAQuotaOrInsideItsOwnNamespace) {
  write("proc/self/cgroup", "0::/");
  write("sys/fs/cgroup/cpu.max", "max 100000");
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
  EXPECT_EQ(default_thread_count(root_), std::max(1U, std::thread::hardware_concurrency()));
  // A container's own cgroup mounted at the root, its path in /proc absent there.
  write("proc/self/cgroup", "0::/kubepods/pod2/elsewhere");
  write("sys/fs/cgroup/cpu.max", "250000 100000");
  EXPECT_EQ(cgroup_cpu_limit(root_), 3U);
}

TEST_F(CgroupRoot, V1QuotaAndNoQuota) {
  write("proc/self/cgroup", "4:memory:/x\n3:cpu,cpuacct:/kubepods/pod3\n");
  write("sys/fs/cgroup/cpu,cpuacct/kubepods/pod3/cpu.cfs_quota_us", "-1");
  write("sys/fs/cgroup/cpu,cpuacct/kubepods/pod3/cpu.cfs_period_us", "100000");
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
  write("sys/fs/cgroup/cpu,cpuacct/kubepods/pod3/cpu.cfs_quota_us", "500");
  EXPECT_EQ(cgroup_cpu_limit(root_), 1U);
  EXPECT_EQ(default_thread_count(root_), 1U);
}

TEST_F(CgroupRoot, UnreadableFilesMeanNoLimit) {
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
  write("proc/self/cgroup", "0::/a");
  write("sys/fs/cgroup/a/cpu.max", "garbage");
  EXPECT_EQ(cgroup_cpu_limit(root_), std::nullopt);
}

TEST(OpenFiles, ConnectionsLeaveDescriptorsForTheServerItself) {
  EXPECT_EQ(connections_within(1024, 1048576), 1024U);
  EXPECT_EQ(connections_within(1024, 1024 + reserved_descriptors), 1024U);
  EXPECT_EQ(connections_within(1024, 1024 + reserved_descriptors - 1), 1023U);
  EXPECT_EQ(connections_within(1024, 1024), 1024U - reserved_descriptors);
  EXPECT_EQ(connections_within(1024, 256), 256U - reserved_descriptors);
  // Tiny limits still leave half for connections, and never none.
  EXPECT_EQ(connections_within(1024, 100), 50U);
  EXPECT_EQ(connections_within(1024, 1), 1U);
  EXPECT_EQ(connections_within(1024, 0), 1024U);  // unknown: the flag stands
}

TEST(OpenFiles, TheSoftLimitIsRaisedToTheHardOne) {
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 64) GTEST_SKIP() << "hard limit too low to lower the soft one";
  rlimit lowered = saved;
  lowered.rlim_cur = 32;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  const OpenFileLimit limit = raise_open_file_limit();
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(limit.before, 32U);
  EXPECT_EQ(now.rlim_cur, saved.rlim_max);
  if (saved.rlim_max != RLIM_INFINITY) {
    EXPECT_EQ(limit.now, static_cast<std::size_t>(saved.rlim_max));
  }
}

}  // namespace
}  // namespace asmegress::server
