#include <doctest/doctest.h>

#include <string>

#include "common/json/capped_json.hpp"

using monsys::json::Limits;
using monsys::json::parse;
using monsys::json::ParseFailure;

TEST_CASE("capped json: parses a plain object") {
    auto v = parse(R"({"a":1,"b":[true,null,"x"]})");
    REQUIRE(v);
    CHECK(v->at("a") == 1);
    CHECK(v->at("b").size() == 3);
}

TEST_CASE("capped json: refuses a duplicate member name at any depth") {
    auto top = parse(R"({"a":1,"a":2})");
    REQUIRE_FALSE(top);
    CHECK(top.error().kind == ParseFailure::duplicate_key);
    auto nested = parse(R"({"x":{"k":1,"k":1}})");
    REQUIRE_FALSE(nested);
    CHECK(nested.error().kind == ParseFailure::duplicate_key);
    // The same name in sibling objects is not a duplicate.
    CHECK(parse(R"({"x":{"k":1},"y":{"k":1}})"));
}

TEST_CASE("capped json: duplicate names are allowed when the caller says so") {
    Limits limits;
    limits.reject_duplicate_keys = false;
    auto v = parse(R"({"a":1,"a":2})", limits);
    REQUIRE(v);
    CHECK(v->at("a") == 2);
}

TEST_CASE("capped json: refuses oversized documents before parsing") {
    Limits limits;
    limits.max_bytes = 16;
    auto v = parse(R"({"a":"0123456789abcdef"})", limits);
    REQUIRE_FALSE(v);
    CHECK(v.error().kind == ParseFailure::too_large);
}

TEST_CASE("capped json: refuses nesting past the depth cap, counting only real brackets") {
    Limits limits;
    limits.max_depth = 3;
    CHECK(parse(R"({"a":{"b":{"c":1}}})", limits));
    auto deep = parse(R"({"a":{"b":{"c":[1]}}})", limits);
    REQUIRE_FALSE(deep);
    CHECK(deep.error().kind == ParseFailure::too_deep);
    // Brackets inside strings, including after escaped quotes, do not count.
    CHECK(parse(R"({"a":"[[[[{{{{\"[[[["})", limits));
    std::string bomb(100000, '[');
    CHECK(parse(bomb).error().kind == ParseFailure::too_deep);
}

TEST_CASE("capped json: syntax errors and comments") {
    CHECK(parse("{").error().kind == ParseFailure::syntax);
    CHECK(parse("").error().kind == ParseFailure::syntax);
    CHECK(parse("{\"a\":1} trailing").error().kind == ParseFailure::syntax);
    CHECK_FALSE(parse("// c\n{\"a\":1}"));
    Limits config;
    config.allow_comments = true;
    CHECK(parse("// comment\n{\"a\":1 /* inline */}", config));
}

TEST_CASE("capped json: a NUL byte anywhere is a syntax error, not the end of the input") {
    using namespace std::string_literals;
    for (const std::string& text :
         {"{\"a\":1}\0"s, "{\"a\":1}\0{\"b\":2}"s, "{\"a\":\"x\0y\"}"s, "\0{\"a\":1}"s}) {
        auto v = parse(text);
        REQUIRE_FALSE(v);
        CHECK(v.error().kind == ParseFailure::syntax);
    }
    // An escaped NUL inside a string is fine.
    auto escaped = parse(R"({"a":"x\u0000y"})");
    REQUIRE(escaped);
    CHECK(escaped->at("a").get<std::string>() == std::string("x\0y", 3));
}

TEST_CASE("capped json: a quote inside a comment does not hide brackets from the depth cap") {
    // Found by tests/fuzz (capped_json): the scan read the quote as the start of a string and
    // skipped the brackets behind it, which the parser then read as real nesting.
    Limits config;
    config.allow_comments = true;
    config.max_depth = 4;
    for (const std::string text : {"/*\"*/[[[[[[]]]]]]//\"\n", "//\"\r[[[[[[]]]]]]//\"\n",
                                   "{\"a\": /* \" */ [[[[[1]]]]]} // \""}) {
        auto v = parse(text, config);
        REQUIRE_FALSE(v);
        CHECK(v.error().kind == ParseFailure::too_deep);
    }
    CHECK(monsys::json::nesting_depth("/* [[[ */ [1] // [[[\n", 10) == 1);
    CHECK(monsys::json::nesting_depth("\"/* [[ */\" [1]", 10) == 1);
    CHECK(parse("/* \" */ [[1]] // \"\n", config));
}
