#pragma once
// A minimal stand-in for C++23 std::expected: a value or an error, never an exception.
//
// The project's one error vocabulary:
// - A function that can fail returns Expected<T, std::string>; one that only succeeds or fails
//   returns Expected<void, std::string> (success: `return {};` or `return ok();`).
// - The error is a one-line message that says what failed and why, ready for the log or a refusal.
// - std::optional<std::string> is never an error: an empty optional means "absent", not "fine".
// - errno is turned into a message where the system call fails (std::strerror), not passed up.
#include <utility>
#include <variant>

namespace monsys {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& error) {
    return {std::forward<E>(error)};
}

template <class T, class E>
class Expected {
  public:
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    template <class G>
    Expected(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    E& error() & { return std::get<1>(v_); }
    const E& error() const& { return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

// Success or an error, nothing else: `return {};` (or `return ok();`) on success.
template <class E>
class Expected<void, E> {
  public:
    Expected() = default;
    template <class G>
    Expected(Unexpected<G> u) : error_(std::move(u.error)), failed_(true) {}

    bool has_value() const { return !failed_; }
    explicit operator bool() const { return has_value(); }

    E& error() & { return error_; }
    const E& error() const& { return error_; }

  private:
    E error_{};
    bool failed_ = false;
};

// The success value of an Expected<void, E>, for call sites where `return {};` reads unclearly.
struct Ok {
    template <class E>
    operator Expected<void, E>() const {
        return {};
    }
};

inline Ok ok() {
    return {};
}

}  // namespace monsys
