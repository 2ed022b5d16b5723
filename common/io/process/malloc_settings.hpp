#pragma once
// How a long-running process keeps its heap from holding the peak of a rare burst of work
// (glibc malloc).
//
// By default glibc gives each thread that allocates an arena of its own (up to eight per core)
// and raises its mmap threshold to the size of each large block freed, so the next large blocks
// come from the heap instead of their own mappings. A burst (an inventory: the process rows, the
// bus and engine replies, the document's text) then leaves its peak in the free lists of every
// thread that took part, resident until the next burst six hours later. Fewer arenas and a fixed
// threshold make large blocks go back to the system when freed and the rest fit in two arenas
// that malloc_trim() can shrink.
#include <cstddef>

namespace monsys::io::process {

struct MallocSettings {
    int arenas = 2;                           // M_ARENA_MAX
    std::size_t mmap_threshold = 128 * 1024;  // M_MMAP_THRESHOLD, fixed (glibc's start value)
    std::size_t trim_threshold = 256 * 1024;  // M_TRIM_THRESHOLD: free heap top kept at most
};

// Applies the settings before threads start allocating; false when the allocator refused one
// of them (it keeps its defaults then, which is harmless).
bool apply_malloc_settings(const MallocSettings& settings = {});

}  // namespace monsys::io::process
