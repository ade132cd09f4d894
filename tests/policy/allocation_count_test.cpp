// How many times one review goes to the heap. The server answers every review
// on the request path, and heap traffic was most of the engine's cost (the
// parsed review once went to the heap node by node). Counted, not timed, so
// the bound holds on a busy machine; it fails when a change brings the
// allocations back.
//
// This binary replaces the global operator new; it is left out of sanitizer
// builds, whose runtimes own the allocator.

#include <atomic>
#include <cstdlib>
#include <new>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "policy/admission.h"
#include "tests/policy/test_support.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return ::operator new(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace asmegress::policy::test {
namespace {

long allocations_of(const std::string& body, WebhookKind webhook, ReviewOutcome& outcome) {
  const Settings settings;
  // A server answers many: what is made once per process is not counted.
  outcome = answer_review(body, webhook, settings);
  const long before = allocations.load();
  outcome = answer_review(body, webhook, settings);
  return allocations.load() - before;
}

TEST(AllocationCount, MutatingReviewOfTheLargestSeedPolicy) {
  const std::string body = read_testdata(kReviewCreateAutoPorts);
  ReviewOutcome outcome;
  const long count = allocations_of(body, WebhookKind::Mutating, outcome);
  ASSERT_TRUE(outcome.well_formed);
  ASSERT_EQ(outcome.summary.reason, "Patched");
  // 23 when written (the model's vectors, the allocator's maps, the summary's
  // strings, the patch and the answer). The bound leaves room for small changes, not for
  // one allocation per node of the review or per field path.
  EXPECT_LE(count, 30) << count << " allocations";
  std::cout << "[ measured ] /mutate: " << count << " heap allocations\n";
}

TEST(AllocationCount, ValidatingReviewOfTheLargestSeedPolicy) {
  const std::string body = read_testdata(kReviewCreateAutoPorts);
  ReviewOutcome outcome;
  const long count = allocations_of(body, WebhookKind::Validating, outcome);
  ASSERT_TRUE(outcome.well_formed);
  ASSERT_TRUE(outcome.summary.allowed);
  // 30 when written: as above, and the warning the fixture draws.
  EXPECT_LE(count, 40) << count << " allocations";
  std::cout << "[ measured ] /validate: " << count << " heap allocations\n";
}

TEST(AllocationCount, ValidatingUpdateOfAValidPolicy) {
  // Ratcheting reads oldObject only for an object with errors: a valid
  // UPDATE parses the review once, and costs what a CREATE of its object
  // does, give or take the larger metadata.
  const std::string body = read_testdata("review-update-managed-fields.json");
  ReviewOutcome outcome;
  const long count = allocations_of(body, WebhookKind::Validating, outcome);
  ASSERT_TRUE(outcome.well_formed);
  ASSERT_TRUE(outcome.summary.allowed);
  ASSERT_EQ(outcome.summary.operation, "UPDATE");
  // 30 when written; reading oldObject for it as well makes 73.
  EXPECT_LE(count, 40) << count << " allocations";
  std::cout << "[ measured ] /validate UPDATE: " << count << " heap allocations\n";
}

}  // namespace
}  // namespace asmegress::policy::test
