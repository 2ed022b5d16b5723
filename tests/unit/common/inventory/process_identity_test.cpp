#include <doctest/doctest.h>

#include "common/inventory/process_identity.hpp"

using namespace monsys::inventory;

TEST_CASE("process identity: the script of an interpreter") {
    CHECK(script_argument("/usr/bin/dash", {"/bin/sh", "/opt/myapp/start.sh", "--port", "80"}) ==
          "/opt/myapp/start.sh");
    CHECK(script_argument("/usr/bin/bash", {"bash", "-e", "-x", "run.sh"}) == "run.sh");
    CHECK(script_argument("/usr/bin/bash", {"bash", "-o", "pipefail", "/srv/a.sh"}) == "/srv/a.sh");
    CHECK(script_argument("/usr/bin/python3.11", {"python3", "-u", "/opt/tool/serve.py"}) ==
          "/opt/tool/serve.py");
    CHECK(script_argument("/usr/bin/python3.11", {"python3", "-W", "ignore", "/x/y.py"}) ==
          "/x/y.py");
    CHECK(script_argument("/usr/bin/perl", {"perl", "/usr/local/bin/tool.pl"}) ==
          "/usr/local/bin/tool.pl");
    CHECK(script_argument("/usr/bin/node", {"node", "--", "/srv/app/index.js"}) ==
          "/srv/app/index.js");
    // busybox runs sh when argv[0] says so.
    CHECK(script_argument("/bin/busybox", {"sh", "/etc/init.d/app"}) == "/etc/init.d/app");
    CHECK_FALSE(script_argument("/bin/busybox", {"sleep", "100"}));
}

TEST_CASE("process identity: inline code and non-interpreters have no script") {
    CHECK_FALSE(script_argument("/usr/bin/dash", {"/bin/sh", "-c", "sleep 100"}));
    CHECK_FALSE(script_argument("/usr/bin/bash", {"bash", "-ec", "true"}));
    CHECK_FALSE(script_argument("/usr/bin/python3", {"python3", "-m", "http.server"}));
    CHECK_FALSE(script_argument("/usr/bin/python3", {"python3"}));
    CHECK_FALSE(script_argument("/usr/bin/perl", {"perl", "-e", "print 1"}));
    CHECK_FALSE(script_argument("/usr/sbin/nginx", {"nginx", "-g", "daemon off;"}));
    CHECK_FALSE(script_argument("/usr/bin/dash", {}));
}

TEST_CASE("process identity: resolving the script path") {
    CHECK(resolve_script_path("/opt/a/../b/run.sh", "") == "/opt/b/run.sh");
    CHECK(resolve_script_path("./bin/../run.sh", "/srv/app") == "/srv/app/run.sh");
    CHECK_FALSE(resolve_script_path("run.sh", ""));
    CHECK_FALSE(resolve_script_path("run.sh", "relative/cwd"));
    CHECK_FALSE(resolve_script_path("", "/srv"));
    CHECK_FALSE(resolve_script_path("/dev/fd/3", ""));
    CHECK_FALSE(resolve_script_path("/proc/self/fd/4", ""));
}

TEST_CASE("process identity: splitting cmdline") {
    std::string raw("a\0b c\0\0d", 8);
    auto args = split_cmdline(raw);
    REQUIRE(args.size() == 4);
    CHECK(args[1] == "b c");
    CHECK(args[2].empty());
    CHECK(args[3] == "d");
    CHECK(split_cmdline(std::string("x\0", 2)).size() == 1);
    CHECK(split_cmdline("").empty());
}

TEST_CASE("process identity: what a command line alone claims") {
    // A binary by its absolute argv[0]; a relative or unnormalized one claims nothing.
    auto binary = claim_from_cmdline({"/opt/accapp/run", "--serve"});
    CHECK(binary.exe == "/opt/accapp/run");
    CHECK_FALSE(binary.script);
    CHECK(claim_from_cmdline({"accapp-worker", "--queue"}).empty());
    CHECK(claim_from_cmdline({"./run"}).empty());
    CHECK(claim_from_cmdline({"/opt/accapp/../accapp/run"}).empty());
    CHECK(claim_from_cmdline({"nginx: master process /usr/sbin/nginx"}).empty());
    CHECK(claim_from_cmdline({}).empty());
    CHECK(claim_from_cmdline({""}).empty());

    // An interpreter, by argv[0]'s basename, running an absolute script.
    auto script = claim_from_cmdline({"/bin/sh", "/opt/accapp/loop.sh"});
    CHECK(script.script == "/opt/accapp/loop.sh");
    CHECK_FALSE(script.exe);  // not "/bin/sh": the interpreter is not the app
    CHECK(claim_from_cmdline({"python3", "-u", "/opt/tool/serve.py"}).script ==
          "/opt/tool/serve.py");
    CHECK(claim_from_cmdline({"/usr/bin/bash", "-e", "/srv/a/../b.sh"}).script == "/srv/b.sh");
    // Inline code, a relative script (the cwd link is as unreadable as exe), a REPL: nothing.
    CHECK(claim_from_cmdline({"/bin/sh", "-c", "/opt/accapp/loop.sh"}).empty());
    CHECK(claim_from_cmdline({"bash", "./tool.sh"}).empty());
    CHECK(claim_from_cmdline({"/usr/bin/python3"}).empty());
    CHECK(claim_from_cmdline({"/bin/sh", "/dev/fd/3"}).empty());
}
