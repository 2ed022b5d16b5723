#include "agent/hub/limits.hpp"

#include <set>

namespace monsys::agent::hub {

bool is_unverified_refusal(const nlohmann::json& message) {
    if (!message.is_object()) return false;
    auto result = message.find("result");
    if (result == message.end() || !result->is_object()) return false;
    auto jti = result->find("jti");
    return jti != result->end() && jti->is_null();
}

std::vector<std::uint64_t> results_to_evict(const std::vector<ResultEntry>& results,
                                            const LinkLimits& limits) {
    std::size_t count = results.size();
    std::size_t bytes = 0;
    std::size_t unverified = 0;
    for (const ResultEntry& entry : results) {
        bytes += entry.bytes;
        if (entry.unverified) ++unverified;
    }
    std::vector<std::uint64_t> evicted;
    std::set<std::uint64_t> taken;
    auto evict = [&](const ResultEntry& entry) {
        evicted.push_back(entry.seq);
        taken.insert(entry.seq);
        --count;
        bytes -= entry.bytes;
        if (entry.unverified) --unverified;
    };
    auto over = [&]() { return count > limits.max_results || bytes > limits.max_result_bytes; };
    if (results.empty()) return evicted;
    const std::uint64_t newest = results.back().seq;

    // Refusals of unverifiable tokens: over their own cap, or while the whole is over its cap.
    for (const ResultEntry& entry : results) {
        if (entry.seq == newest) break;
        if (!entry.unverified) continue;
        if (unverified > limits.max_unverified_refusals || over()) evict(entry);
    }
    // Then verified results, oldest first.
    for (const ResultEntry& entry : results) {
        if (!over() || entry.seq == newest) break;
        if (taken.count(entry.seq) == 0) evict(entry);
    }
    return evicted;
}

}  // namespace monsys::agent::hub
