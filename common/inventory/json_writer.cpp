#include "common/inventory/json_writer.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace monsys::inventory {
namespace {

constexpr std::size_t flush_threshold = 32 * 1024;

// Text that dump() writes as it is: printable ASCII without a quote or a backslash. Anything
// else (control characters, non-ASCII, invalid UTF-8) goes through nlohmann's own escaping.
bool is_plain(std::string_view text) {
    for (unsigned char c : text) {
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
    }
    return true;
}

}  // namespace

JsonWriter::JsonWriter(TextSink& sink, int indent, std::size_t element_depth)
    : sink_(sink), indent_(indent) {
    // Only the innermost frame is ever looked at; the outer ones stand for the depth.
    frames_.resize(element_depth);
}

JsonWriter::~JsonWriter() {
    flush();
}

void JsonWriter::put(std::string_view text) {
    buffer_.append(text);
    if (buffer_.size() >= flush_threshold) flush();
}

void JsonWriter::flush() {
    if (buffer_.empty()) return;
    sink_.write(buffer_);
    buffer_.clear();
}

TextSink& JsonWriter::sink() {
    flush();
    return sink_;
}

void JsonWriter::newline_and_indent(std::size_t depth) {
    if (indent_ < 0) return;
    buffer_.push_back('\n');
    buffer_.append(depth * static_cast<std::size_t>(indent_), ' ');
}

void JsonWriter::before_value() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (frames_.empty()) return;
    Frame& frame = frames_.back();
    if (frame.count > 0) buffer_.push_back(',');
    newline_and_indent(frames_.size());
    ++frame.count;
}

void JsonWriter::key(std::string_view name) {
    Frame& frame = frames_.back();
    if (frame.count > 0) buffer_.push_back(',');
    newline_and_indent(frames_.size());
    ++frame.count;
    put_string(name);
    put(indent_ < 0 ? ":" : ": ");
    after_key_ = true;
}

void JsonWriter::begin_object() {
    before_value();
    put("{");
    frames_.push_back({true, 0});
}

void JsonWriter::begin_array() {
    before_value();
    put("[");
    frames_.push_back({false, 0});
}

void JsonWriter::end_object() {
    Frame frame = frames_.back();
    frames_.pop_back();
    if (frame.count > 0) newline_and_indent(frames_.size());
    put("}");
}

void JsonWriter::end_array() {
    Frame frame = frames_.back();
    frames_.pop_back();
    if (frame.count > 0) newline_and_indent(frames_.size());
    put("]");
}

void JsonWriter::string(std::string_view text) {
    before_value();
    put_string(text);
}

void JsonWriter::put_string(std::string_view text) {
    if (is_plain(text)) {
        buffer_.push_back('"');
        buffer_.append(text);
        buffer_.push_back('"');
    } else {
        put(nlohmann::json(std::string(text))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (buffer_.size() >= flush_threshold) flush();
}

void JsonWriter::number(std::int64_t value) {
    before_value();
    char text[24];
    auto end = std::to_chars(text, text + sizeof text, value).ptr;
    put(std::string_view(text, static_cast<std::size_t>(end - text)));
}

void JsonWriter::number(std::uint64_t value) {
    before_value();
    char text[24];
    auto end = std::to_chars(text, text + sizeof text, value).ptr;
    put(std::string_view(text, static_cast<std::size_t>(end - text)));
}

void JsonWriter::number(double value) {
    before_value();
    // nlohmann's own float format (shortest round trip, ".0" on integral values, null for NaN).
    put(nlohmann::json(value).dump());
}

void JsonWriter::boolean(bool value) {
    before_value();
    put(value ? "true" : "false");
}

void JsonWriter::null() {
    before_value();
    put("null");
}

void JsonWriter::splice_elements(std::string_view text, std::size_t count) {
    if (count == 0) return;
    begin_splice();
    sink_.write(text);
    end_splice(count);
}

void JsonWriter::begin_splice() {
    // The spliced elements were written as the first ones of their array: after earlier ones,
    // they need the separator.
    if (!frames_.empty() && frames_.back().count > 0) buffer_.push_back(',');
    flush();
}

void JsonWriter::end_splice(std::size_t count) {
    frames_.back().count += count;
}

}  // namespace monsys::inventory
