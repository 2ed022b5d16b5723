#include "common/io/process/malloc_settings.hpp"

#include <malloc.h>

namespace monsys::io::process {

bool apply_malloc_settings(const MallocSettings& settings) {
    // mallopt() returns 1 on success. Setting M_MMAP_THRESHOLD (or M_TRIM_THRESHOLD) also turns
    // off glibc's dynamic adjustment of both.
    bool applied = ::mallopt(M_ARENA_MAX, settings.arenas) == 1;
    applied =
        ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(settings.mmap_threshold)) == 1 && applied;
    applied =
        ::mallopt(M_TRIM_THRESHOLD, static_cast<int>(settings.trim_threshold)) == 1 && applied;
    return applied;
}

}  // namespace monsys::io::process
