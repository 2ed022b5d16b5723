#pragma once
// A JSON writer that streams to a sink and writes exactly what nlohmann::json::dump() writes for
// the same value (compact, or indented by N spaces; invalid UTF-8 replaced by U+FFFD). The
// inventory document is written with it row by row, so that no whole tree is held in memory,
// while its bytes stay those of the tree serializer (tests/unit/common/inventory pin both).
//
// Object keys are written in the order given: a caller that wants nlohmann's (sorted) key order
// writes its keys sorted.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace monsys::inventory {

// Where written text goes.
class TextSink {
  public:
    virtual ~TextSink() = default;
    virtual void write(std::string_view text) = 0;
};

class StringSink final : public TextSink {
  public:
    explicit StringSink(std::string& out) : out_(out) {}
    void write(std::string_view text) override { out_.append(text); }

  private:
    std::string& out_;
};

class JsonWriter {
  public:
    // indent < 0: compact (dump(-1)); otherwise dump(indent).
    // element_depth > 0: a writer for the elements of an array that another writer has open
    // element_depth levels deep (the array itself counted); its text is spliced there later
    // with splice_elements() or begin_splice()/end_splice().
    JsonWriter(TextSink& sink, int indent, std::size_t element_depth = 0);
    ~JsonWriter();  // flushes
    JsonWriter(const JsonWriter&) = delete;
    JsonWriter& operator=(const JsonWriter&) = delete;

    void begin_object();
    void end_object();
    void begin_array();
    void end_array();
    void key(std::string_view name);

    void string(std::string_view text);
    void number(std::int64_t value);
    void number(std::uint64_t value);
    void number(int value) { number(static_cast<std::int64_t>(value)); }
    void number(unsigned value) { number(static_cast<std::uint64_t>(value)); }
    void number(double value);
    void boolean(bool value);
    void null();

    template <class T>
    void optional(const std::optional<T>& value) {
        if (value) {
            write_value(*value);
        } else {
            null();
        }
    }

    // Adds `count` elements written elsewhere by an element_depth writer of the same depth
    // to the array open here. `text` is their whole text.
    void splice_elements(std::string_view text, std::size_t count);
    // The same, in pieces: call begin, write the pieces to sink(), then end (only for count > 0).
    void begin_splice();
    void end_splice(std::size_t count);
    TextSink& sink();  // flushes the writer's buffer first

    // How many elements (or keys) the innermost open container holds so far.
    std::size_t count() const { return frames_.empty() ? 0 : frames_.back().count; }
    void flush();

  private:
    struct Frame {
        bool is_object = false;
        std::size_t count = 0;
    };
    void write_value(std::string_view text) { string(text); }
    void write_value(const std::string& text) { string(text); }
    void write_value(std::int64_t value) { number(value); }
    void write_value(std::uint64_t value) { number(value); }
    void write_value(int value) { number(value); }
    void write_value(unsigned value) { number(value); }
    void write_value(double value) { number(value); }
    void write_value(bool value) { boolean(value); }

    void before_value();
    void newline_and_indent(std::size_t depth);
    void put(std::string_view text);
    void put_string(std::string_view text);

    TextSink& sink_;
    int indent_;
    std::vector<Frame> frames_;
    bool after_key_ = false;
    std::string buffer_;
};

}  // namespace monsys::inventory
