// What signing a result adds to one action (issue 12): monsys-action loads its key (trusted walk
// to state_dir, lock, read, public document compared) and signs its result line (compact JWS,
// Ed25519). Measured for a typical result (about 1 KiB) and the largest a process restart gives
// (two 64 KiB outputs); verification is printed for scale (a hub does it once per result).
//
//   bench_result_signing [iterations] [state directory; default a fresh one under /run]
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "common/action/action_key.hpp"
#include "common/action/action_result.hpp"
#include "common/action/result_signature.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
    double median_us = 0;
    double p99_us = 0;
};

template <typename F>
Stats measure(int iterations, F&& run) {
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(iterations));
    for (int i = 0; i < iterations; ++i) {
        const auto start = Clock::now();
        run();
        samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
}

std::string result_line(std::size_t output_bytes) {
    monsys::results::ActionResult result;
    result.jti = "3f0c6b1e-2d4f-4d55-9a51-0f1c2b7e9a10";
    result.app_id = "app-9";
    result.type = monsys::app::AppType::process;
    result.identifier = "/opt/accapp/run";
    result.status = monsys::results::ActionStatus::succeeded;
    result.message = "restart command /opt/accapp/restart exited 0; /opt/accapp/run runs as pid 5678";
    result.exit_code = 0;
    result.stdout_output.text = std::string(output_bytes, 'o');
    result.stderr_output.text = std::string(output_bytes, 'e');
    result.started_at = result.finished_at = std::chrono::system_clock::now();
    result.before = {{"app", {{{"pid", 1234}, {"start_ticks", 99}}}}};
    result.after = {{"app", {{{"pid", 5678}, {"start_ticks", 120}}}}};
    result.wrapper_exit_code = 0;
    return monsys::results::to_json(result).dump();
}

void print(const char* what, std::size_t bytes, Stats stats) {
    std::printf("%-34s %8zu bytes  median %8.1f us  p99 %8.1f us\n", what, bytes, stats.median_us,
                stats.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::max(10, std::atoi(argv[1])) : 2000;
    std::string directory;
    bool made = false;
    if (argc > 2) {
        directory = argv[2];
    } else {
        std::string pattern = "/run/monsys-bench-sign.XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::perror("mkdtemp under /run");
            return 2;
        }
        ::chmod(pattern.c_str(), 0700);
        directory = pattern;
        made = true;
    }
    auto state = monsys::results::load_action_key(directory, /*create=*/true);
    if (!state) {
        std::fprintf(stderr, "key: %s\n", state.error().c_str());
        return 1;
    }
    std::printf("%d iterations, key %s in %s\n", iterations, state->key.kid.c_str(),
                directory.c_str());

    print("load_action_key (existing key)", 0, measure(iterations, [&directory]() {
              auto loaded = monsys::results::load_action_key(directory, false);
              if (!loaded) std::abort();
          }));
    for (std::size_t output : {std::size_t{200}, std::size_t{64 * 1024}}) {
        const std::string line = result_line(output);
        std::string jws;
        print("sign_compact", line.size(), measure(iterations, [&]() {
                  jws = monsys::results::sign_compact(state->key,
                                                      monsys::results::result_jws_type, line);
              }));
        print("verify_compact", line.size(), measure(iterations, [&]() {
                  auto verified = monsys::results::verify_compact(
                      jws, monsys::results::result_jws_type, state->key.public_key);
                  if (!verified) std::abort();
              }));
    }
    if (made) std::filesystem::remove_all(directory);
    return 0;
}
