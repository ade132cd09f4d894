// ChunkedList against std::vector: the same items in the same order through
// any mix of appends and reserves, items that never move, exact room when
// reserved, and destruction of every item.

#include "policy/chunked_list.h"

#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/capped_arena.h"

namespace asmegress::policy::test {
namespace {

int live = 0;

struct Counted {
  explicit Counted(int v) : value(v) { ++live; }
  Counted(const Counted& o) : value(o.value) { ++live; }
  Counted(Counted&& o) noexcept : value(o.value) { ++live; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() { --live; }
  int value;
};

std::vector<int> values(const ChunkedList<Counted>& list) {
  std::vector<int> out;
  for (const Counted& c : list) out.push_back(c.value);
  return out;
}

TEST(ChunkedList, HoldsWhatAVectorHoldsThroughAppendsAndReserves) {
  std::mt19937 random(7);
  for (int round = 0; round < 300; ++round) {
    {
      ChunkedList<Counted> list;
      std::vector<int> want;
      std::vector<const Counted*> addresses;
      const int steps = static_cast<int>(random() % 200);
      for (int step = 0; step < steps; ++step) {
        if (random() % 10 == 0) {
          list.reserve(want.size() + random() % 40);
        } else {
          const int v = static_cast<int>(random());
          addresses.push_back(&list.emplace_back(v));
          want.push_back(v);
          ASSERT_EQ(list.back().value, v);
        }
        ASSERT_EQ(list.size(), want.size());
        ASSERT_EQ(values(list), want);
      }
      for (std::size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(list[i].value, want[i]) << i;
        ASSERT_EQ(&list[i], addresses[i]) << "an item moved";
      }
      const ChunkedList<Counted> copy = list;
      EXPECT_EQ(values(copy), want);
      ChunkedList<Counted> moved = std::move(list);
      EXPECT_EQ(values(moved), want);
      EXPECT_TRUE(list.empty());  // NOLINT: a moved-from list is empty
      EXPECT_EQ(values(list), std::vector<int>{});
      EXPECT_EQ(live, static_cast<int>(2 * want.size()));
    }
    ASSERT_EQ(live, 0) << "items not destroyed";
  }
}

// The smallest arena that holds n items appended one by one.
template <typename Item>
std::size_t smallest_arena(std::size_t n) {
  auto fits = [n](std::size_t cap) {
    CappedArena arena(nullptr, 0, cap);
    try {
      ChunkedList<Item> list{ArenaAllocator<Item>(&arena)};
      for (std::size_t i = 0; i < n; ++i) list.emplace_back();
    } catch (const MemoryCapExceeded&) {
      return false;
    }
    return true;
  };
  std::size_t low = 0;
  std::size_t high = std::size_t{1} << 30;
  while (high - low > 1) {
    const std::size_t mid = low + (high - low) / 2;
    (fits(mid) ? high : low) = mid;
  }
  return high;
}

TEST(ChunkedList, TakesInTheArenaAboutTheRoomOfItsItems) {
  struct Item {
    char bytes[300];
  };
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{5}, std::size_t{100}, std::size_t{10000}}) {
    // One chunk's tail at most, the chunk table, and the arena's block
    // headers and tails; a vector doubling in the arena takes about three
    // times the items.
    const std::size_t items = n * sizeof(Item);
    EXPECT_LE(smallest_arena<Item>(n),
              items + items / 10 + ChunkedList<Item>::kChunk * sizeof(Item) + 4096)
        << n << " items";
  }
}

TEST(ChunkedList, AReservedListTakesExactlyItsRoom) {
  CappedArena arena(nullptr, 0, std::size_t{1} << 30);
  ChunkedList<std::string> list{ArenaAllocator<std::string>(&arena)};
  list.reserve(1000);
  const std::size_t after_reserve = arena.taken();
  for (int i = 0; i < 1000; ++i) list.emplace_back(std::to_string(i));
  EXPECT_EQ(arena.taken(), after_reserve);
  EXPECT_EQ(list[999], "999");
  std::size_t count = 0;
  for (const std::string& s : list) EXPECT_EQ(s, std::to_string(count++));
  EXPECT_EQ(count, 1000U);
}

}  // namespace
}  // namespace asmegress::policy::test
