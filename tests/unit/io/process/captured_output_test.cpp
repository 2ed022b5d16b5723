#include <doctest/doctest.h>

#include "common/io/process/captured_output.hpp"

using monsys::io::process::CappedBuffer;

TEST_CASE("capped buffer: keeps everything under the cap") {
    CappedBuffer buffer(10);
    buffer.append("hello");
    buffer.append("");
    CHECK(buffer.text() == "hello");
    CHECK_FALSE(buffer.truncated());
    CHECK(buffer.total_bytes() == 5);
}

TEST_CASE("capped buffer: exactly at the cap is not truncated") {
    CappedBuffer buffer(4);
    buffer.append("ab");
    buffer.append("cd");
    CHECK(buffer.text() == "abcd");
    CHECK_FALSE(buffer.truncated());
}

TEST_CASE("capped buffer: keeps the first bytes, counts and drops the rest") {
    CappedBuffer buffer(4);
    buffer.append("abc");
    buffer.append("defg");
    buffer.append("hij");
    CHECK(buffer.text() == "abcd");
    CHECK(buffer.truncated());
    CHECK(buffer.total_bytes() == 10);
}

TEST_CASE("capped buffer: a zero cap keeps nothing") {
    CappedBuffer buffer(0);
    buffer.append("x");
    CHECK(buffer.text().empty());
    CHECK(buffer.truncated());
}
