#pragma once
// What the action tests share: tokens minted now by tests/tools/mint_eat.py with the fixture hub
// key (as the integration tests do), the verifier settings that accept them, and a fake
// monsys-action whose runs the test finishes at will.
#include <doctest/doctest.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/actions/wrapper_launcher.hpp"
#include "common/eat/verifier.hpp"

namespace monsys::agent::actions::test {

inline constexpr const char* python = "/usr/bin/python3";

inline std::string mint(const std::string& jti, const std::string& app_id,
                        const std::string& extra_arguments = "") {
    const std::string command = std::string(python) +
                                " " MONSYS_SOURCE_DIR
                                "/tests/tools/mint_eat.py --key " MONSYS_FIXTURES_DIR
                                "/eat/hub-1.pem --jti " +
                                jti + " --app-id " + app_id + " " + extra_arguments;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    REQUIRE(::pclose(pipe) == 0);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

inline eat::VerifierSettings verifier() {
    std::ifstream in(MONSYS_FIXTURES_DIR "/eat/tokens.json");
    auto document = nlohmann::json::parse(in);
    const auto& s = document["settings"];
    eat::VerifierSettings settings;
    settings.issuer = s["issuer"];
    settings.agent_id = s["agent_id"];
    settings.clock_skew_secs = s["clock_skew_secs"];
    settings.max_lifetime_secs = s["max_lifetime_secs"];
    for (const auto& [kid, key] : s["keys"].items()) {
        settings.keys.emplace(kid, *eat::parse_public_key(key.get<std::string>()));
    }
    return settings;
}

// monsys-action as the test wants it: each run waits until the test finishes it (or cancel()).
class FakeLauncher final : public WrapperLauncher {
  public:
    ActionReport run(const WrapperRequest& request) override {
        std::unique_lock<std::mutex> lock(mutex_);
        started_.push_back(request.jti);
        ++running_;
        most_at_once_ = std::max(most_at_once_, running_);
        changed_.notify_all();
        changed_.wait(lock, [this, &request]() {
            return cancelled_ || finish_all_ || finished_.count(request.jti) != 0;
        });
        --running_;
        ActionReport report = make_report(request.jti, "monsys-action",
                                          {{"jti", request.jti}, {"status", "succeeded"}});
        report.cancelled = cancelled_ && !finish_all_ && finished_.count(request.jti) == 0;
        return report;
    }
    void cancel() override {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
        changed_.notify_all();
    }
    void finish(const std::string& jti) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.insert(jti);
        changed_.notify_all();
    }
    // Every run, now and later, ends at once with its result.
    void finish_all() {
        std::lock_guard<std::mutex> lock(mutex_);
        finish_all_ = true;
        changed_.notify_all();
    }
    std::vector<std::string> started() {
        std::lock_guard<std::mutex> lock(mutex_);
        return started_;
    }
    int most_at_once() {
        std::lock_guard<std::mutex> lock(mutex_);
        return most_at_once_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> started_;
    std::set<std::string> finished_;
    int running_ = 0;
    int most_at_once_ = 0;
    bool cancelled_ = false;
    bool finish_all_ = false;
};

}  // namespace monsys::agent::actions::test
