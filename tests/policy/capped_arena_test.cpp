// CappedArena: the buffer first, then heap blocks up to the cap, then
// MemoryCapExceeded, with nothing taken past the cap and little of it
// unusable.

#include "policy/capped_arena.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace asmegress::policy::test {
namespace {

bool aligned(const void* p, std::size_t align) {
  return reinterpret_cast<std::uintptr_t>(p) % align == 0;
}

TEST(CappedArena, TakesNothingFromTheHeapWhileTheBufferLasts) {
  alignas(std::max_align_t) unsigned char buffer[4096];
  CappedArena arena(buffer, sizeof buffer, 0);
  for (int i = 0; i < 30; ++i) {
    void* p = arena.allocate(100, 8);
    EXPECT_GE(static_cast<unsigned char*>(p), buffer);
    EXPECT_LT(static_cast<unsigned char*>(p), buffer + sizeof buffer);
  }
  EXPECT_EQ(arena.taken(), 0U);
  // A cap of 0 allows nothing past the buffer.
  EXPECT_THROW(arena.allocate(2000, 8), MemoryCapExceeded);
}

TEST(CappedArena, UsesAlmostAllOfItsCapThenThrows) {
  for (const std::size_t cap :
       {std::size_t{100'000}, std::size_t{1} << 20, std::size_t{24} << 20}) {
    SCOPED_TRACE(cap);
    alignas(std::max_align_t) unsigned char buffer[1024];
    CappedArena arena(buffer, sizeof buffer, cap);
    std::size_t used = 0;
    const std::size_t chunk = 1000;
    try {
      for (;;) {
        arena.allocate(chunk, 8);
        used += chunk;
        ASSERT_LE(arena.taken(), cap);
      }
    } catch (const MemoryCapExceeded&) {
    }
    EXPECT_LE(arena.taken(), cap);
    EXPECT_EQ(arena.peak(), arena.taken());
    // What is lost: a block header each and the tail of each block (less
    // than one chunk), over a few dozen doubling blocks.
    EXPECT_GE(used, cap - 40 * (chunk + 64)) << "used " << used;
  }
}

TEST(CappedArena, ARequestPastTheCapTakesNothing) {
  CappedArena arena(nullptr, 0, 1 << 20);
  EXPECT_THROW(arena.allocate((1 << 20) + 1, 8), MemoryCapExceeded);
  EXPECT_THROW(arena.allocate(static_cast<std::size_t>(-1), 8), MemoryCapExceeded);
  EXPECT_EQ(arena.taken(), 0U);
  // One that fits still does, in a block of its own.
  void* p = arena.allocate(900'000, 8);
  EXPECT_NE(p, nullptr);
  EXPECT_LE(arena.taken(), std::size_t{1} << 20);
}

TEST(CappedArena, AlignsEveryAllocation) {
  alignas(std::max_align_t) unsigned char buffer[256];
  CappedArena arena(buffer, sizeof buffer, 1 << 20);
  for (int round = 0; round < 200; ++round) {
    for (const std::size_t align : {1U, 2U, 4U, 8U, 16U, 32U, 64U, 128U}) {
      void* p = arena.allocate(static_cast<std::size_t>(round % 7) * 13 + 1, align);
      EXPECT_TRUE(aligned(p, align)) << align;
    }
  }
}

TEST(CappedArena, ReleaseGivesEverythingBackAndStartsAgain) {
  alignas(std::max_align_t) unsigned char buffer[512];
  CappedArena arena(buffer, sizeof buffer, 1 << 20);
  for (int i = 0; i < 500; ++i) arena.allocate(1000, 8);
  const std::size_t peak = arena.peak();
  EXPECT_GT(arena.taken(), 400'000U);
  arena.release();
  EXPECT_EQ(arena.taken(), 0U);
  EXPECT_EQ(arena.peak(), peak);
  EXPECT_EQ(arena.allocate(100, 8), buffer);
  // The whole cap is there again.
  for (int i = 0; i < 900; ++i) arena.allocate(1000, 8);
  EXPECT_LE(arena.taken(), std::size_t{1} << 20);
}

TEST(CappedArena, BoostJsonParsesIntoItAndThrowsPastTheCap) {
  std::string text = "[";
  for (int i = 0; i < 20000; ++i)
    text += i == 0 ? "\"abcdefghijklmnopqrstuvwxyz\"" : ",\"abcdefghijklmnopqrstuvwxyz\"";
  text += "]";
  {
    CappedArena arena(nullptr, 0, 8 << 20);
    const boost::json::value v = boost::json::parse(text, boost::json::storage_ptr(&arena));
    EXPECT_EQ(v.as_array().size(), 20000U);
    EXPECT_GT(arena.taken(), 0U);
  }
  CappedArena arena(nullptr, 0, 100'000);
  EXPECT_THROW((void)boost::json::parse(text, boost::json::storage_ptr(&arena)), MemoryCapExceeded);
  EXPECT_LE(arena.taken(), 100'000U);
}

}  // namespace
}  // namespace asmegress::policy::test
