#pragma once
// The one way this project includes Boost.Asio and Boost.Beast.
// Boost 1.74 with g++ 12 in C++20 fails to compile <boost/asio.hpp> unless <utility> comes first
// (asio issue 944), so every file includes Asio through this header.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace monsys {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
}  // namespace monsys
