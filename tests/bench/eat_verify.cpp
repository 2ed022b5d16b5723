// The cost of verify_token on a valid fixture token, next to the bare Ed25519 check of the same
// bytes in the same run: the difference is what parsing and the rules add. The cost of
// ReplayStore::consume (a locked read, a rewrite, two fsyncs) is printed for scale.
//
//   bench_eat_verify [iterations] [directory for the replay store file]
//
// The store's directory must pass the store's own checks (docs/eat.md): every directory on its
// path owned by root or the user running the bench and not writable by group or others, so not
// under /tmp. The default is the current directory.
#include <sodium.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/eat/keys.hpp"
#include "common/eat/replay_store.hpp"
#include "common/eat/verifier.hpp"
#include "common/encoding/base64.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
    double mean_us;
    double median_us;
    double p99_us;
};

Stats summarize(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    double sum = std::accumulate(samples.begin(), samples.end(), 0.0);
    return {sum / static_cast<double>(samples.size()), samples[samples.size() / 2],
            samples[samples.size() * 99 / 100]};
}

template <class F>
double time_us(F&& f) {
    auto start = Clock::now();
    f();
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

void print(const char* name, const Stats& s) {
    std::printf("%-40s mean %9.2f us   median %9.2f us   p99 %9.2f us\n", name, s.mean_us,
                s.median_us, s.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::max(100, std::atoi(argv[1])) : 20000;
    // The replay store takes only absolute paths.
    const std::filesystem::path store_dir = std::filesystem::absolute(argc > 2 ? argv[2] : ".");

    std::ifstream in(MONSYS_FIXTURES_DIR "/eat/tokens.json");
    std::stringstream text;
    text << in.rdbuf();
    auto fixtures = nlohmann::json::parse(text.str(), nullptr, false);
    if (!fixtures.is_object()) {
        std::fprintf(stderr, "cannot read the EAT fixtures\n");
        return 1;
    }
    const auto& s = fixtures["settings"];
    monsys::eat::VerifierSettings settings;
    settings.issuer = s["issuer"].get<std::string>();
    settings.agent_id = s["agent_id"].get<std::string>();
    for (const auto& [kid, key] : s["keys"].items()) {
        settings.keys[kid] = *monsys::eat::parse_public_key(key.get<std::string>());
    }
    const auto now = fixtures["now"].get<std::int64_t>();
    const std::string token = fixtures["tokens"]["valid"]["token"].get<std::string>();

    const auto last_dot = token.rfind('.');
    const std::string signing_input = token.substr(0, last_dot);
    const std::string signature = *monsys::encoding::base64url_decode(token.substr(last_dot + 1));
    const monsys::eat::PublicKey& key = settings.keys.at("hub-1");
    if (sodium_init() < 0 || !monsys::eat::verify_token(token, settings, now)) {
        std::fprintf(stderr, "the fixture token does not verify\n");
        return 1;
    }

    auto bare = [&] {
        if (crypto_sign_verify_detached(
                reinterpret_cast<const unsigned char*>(signature.data()),
                reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                key.data()) != 0) {
            std::abort();
        }
    };
    auto full = [&] {
        if (!monsys::eat::verify_token(token, settings, now)) std::abort();
    };

    // Interleaved, so that both see the same machine load and frequency.
    for (int i = 0; i < iterations / 10; ++i) {
        bare();
        full();
    }
    std::vector<double> bare_us, full_us;
    bare_us.reserve(iterations);
    full_us.reserve(iterations);
    for (int i = 0; i < iterations; ++i) {
        bare_us.push_back(time_us(bare));
        full_us.push_back(time_us(full));
    }
    Stats b = summarize(bare_us);
    Stats f = summarize(full_us);
    std::printf("token: %zu bytes, %d iterations each\n", token.size(), iterations);
    print("crypto_sign_verify_detached (bare)", b);
    print("verify_token (everything)", f);
    std::printf("%-40s mean %9.2f     median %9.2f\n", "ratio verify_token / bare",
                f.mean_us / b.mean_us, f.median_us / b.median_us);
    std::printf("%-40s mean %9.2f us   median %9.2f us\n", "overhead beyond the signature",
                f.mean_us - b.mean_us, f.median_us - b.median_us);

    std::string dir_template = (store_dir / "eat-bench-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::filesystem::path dir = dir_template;
    monsys::eat::ReplayStore store(dir / "eat-replay.db");
    const int consumes = 200;
    std::vector<double> consume_us;
    for (int i = 0; i < consumes; ++i) {
        std::string jti = "bench-" + std::to_string(i);
        std::string refusal;
        consume_us.push_back(time_us([&] {
            if (auto consumed = store.consume(jti, now + 150, now); !consumed) {
                refusal = consumed.error().detail;
            }
        }));
        if (!refusal.empty()) {
            std::fprintf(stderr, "ReplayStore::consume in %s failed: %s\n", dir.c_str(),
                         refusal.c_str());
            return 1;
        }
    }
    std::vector<double> seen_us;
    for (int i = 0; i < consumes; ++i) {
        seen_us.push_back(time_us([&] {
            if (!store.seen("bench-7", now)) std::abort();
        }));
    }
    std::printf("replay store in %s, %d entries at the end:\n", dir.c_str(), consumes);
    print("ReplayStore::consume (fsync)", summarize(consume_us));
    print("ReplayStore::seen", summarize(seen_us));
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return 0;
}
