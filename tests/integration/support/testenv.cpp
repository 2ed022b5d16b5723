#include "tests/integration/support/testenv.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace monsys::testing {

TestEnv TestEnv::load(const std::string& path) {
    TestEnv env;
    env.path_ = path;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        ::setenv(key.c_str(), value.c_str(), 1);
        env.values_[key] = value;
    }
    return env;
}

const TestEnv& TestEnv::get() {
#ifdef MONSYS_TESTENV_FILE
    static const TestEnv env = load(MONSYS_TESTENV_FILE);
#else
    static const TestEnv env = load(
        std::getenv("MONSYS_TESTENV_FILE") != nullptr ? std::getenv("MONSYS_TESTENV_FILE") : "");
#endif
    return env;
}

std::string TestEnv::value(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? std::string() : it->second;
}

RunResult run(const std::string& command) {
    RunResult result;
    std::string wrapped = command + " 2>&1";
    FILE* pipe = ::popen(wrapped.c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
    int status = ::pclose(pipe);
    if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
}

std::string run_output(const std::string& command) {
    std::string out = run(command).output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    out += "'";
    return out;
}

std::string unique_name(std::string_view prefix) {
    static std::atomic<unsigned> counter{0};
    return "monsys-" + std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(++counter);
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
              std::chrono::milliseconds interval) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(interval);
    }
}

bool write_file(const std::string& path, std::string_view content, bool executable) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) return false;
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        if (!out) return false;
    }
    return !executable || ::chmod(path.c_str(), 0755) == 0;
}

TempDir::TempDir() {
    char pattern[] = "/tmp/monsys-test.XXXXXX";
    if (::mkdtemp(pattern) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
    if (!path_.empty()) run("rm -rf " + shell_quote(path_));
}

long long elapsed_ms(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
}

}  // namespace monsys::testing
