#include <doctest/doctest.h>
#include <malloc.h>

#include <cstdlib>

#include "common/io/process/malloc_settings.hpp"

using monsys::io::process::apply_malloc_settings;

namespace {

// Allocates and writes through a volatile pointer, so the compiler cannot drop the pair.
void* allocate_touched(std::size_t size) {
    auto* block = static_cast<volatile char*>(std::malloc(size));
    if (block != nullptr) block[size - 1] = 1;
    return const_cast<char*>(block);
}

}  // namespace

// The sanitizers bring their own allocator, which ignores mallopt: nothing to check there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MONSYS_GLIBC_MALLOC 0
#else
#define MONSYS_GLIBC_MALLOC 1
#endif

TEST_CASE("malloc settings: a large block freed does not draw the next large ones into the heap" *
          doctest::skip(!MONSYS_GLIBC_MALLOC)) {
    REQUIRE(apply_malloc_settings());
    constexpr std::size_t first_size = 4 * 1024 * 1024;
    // Slightly smaller than the first: glibc's own adjustment would raise the threshold to
    // first_size when it is freed and serve this one from the heap, where it would stay.
    constexpr std::size_t next_size = first_size - 64 * 1024;
    void* first = allocate_touched(first_size);
    REQUIRE(first != nullptr);
    std::free(first);
    const auto mapped_before = mallinfo2().hblks;
    void* next = allocate_touched(next_size);
    REQUIRE(next != nullptr);
    CHECK(mallinfo2().hblks == mapped_before + 1);  // a mapping of its own
    std::free(next);
    CHECK(mallinfo2().hblks == mapped_before);  // given back when freed
}
