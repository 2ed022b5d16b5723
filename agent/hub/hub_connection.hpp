#pragma once
// One WebSocket connection to the hub, over TLS (wss) or plain TCP (ws, loopback only unless
// configured): resolve, connect (to the hub, or to an HTTP proxy, with TLS to it for an
// https:// proxy, and through it with CONNECT), TLS handshake with SNI and host name
// verification, WebSocket
// handshake with the agent token and the subprotocol, then frames. The protocol logic on top
// (hello, acks, the outbox) is in hub_link; this file only moves frames.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/hub/hub_url.hpp"
#include "agent/hub/proxy_url.hpp"
#include "common/io/asio.hpp"
#include "common/util/expected.hpp"

#include <boost/asio/ssl/context.hpp>

namespace monsys::agent::hub {

struct ConnectOptions {
    HubUrl url;
    std::string token;       // sent as "Authorization: Bearer <token>"
    std::string user_agent;  // "monsys-agent/<version>"
    // An HTTP proxy to tunnel through (agent/hub/proxy_choice decides); none: straight to the hub.
    std::optional<ProxyUrl> proxy;
    // For an https:// proxy: the TLS settings its certificate is checked with
    // (make_tls_context with hub_proxy_ca_file); null: the system CAs.
    std::shared_ptr<asio::ssl::context> proxy_tls;
    // Resolve + TCP + CONNECT (with a proxy) + TLS + WebSocket.
    std::chrono::milliseconds handshake_timeout{15000};
    // Ping after half of this without traffic; close when nothing arrived for all of it.
    std::chrono::milliseconds idle_timeout{40000};
};

// proxy: TLS with an https:// proxy failed, or the proxy answered CONNECT with something other
// than 2xx, or not with HTTP.
enum class ConnectFailure { resolve, connect, proxy, tls, token_refused, handshake };
const char* to_string(ConnectFailure failure);

struct ConnectError {
    ConnectFailure kind = ConnectFailure::connect;
    std::string message;  // one line: "cannot connect to hub.example:443: Connection refused"
    // For token_refused and handshake: the HTTP status the hub answered; for proxy: the proxy's.
    int http_status = 0;
};

struct Frame {
    beast::error_code error;  // set when the connection is over (closed, timed out, too big)
    std::string text;
    bool binary = false;
};

class HubConnection {
  public:
    virtual ~HubConnection() = default;
    virtual asio::awaitable<std::optional<ConnectError>> connect() = 0;
    // The next frame; one read at a time.
    virtual asio::awaitable<Frame> read() = 0;
    // Sends one text frame; one write at a time.
    virtual asio::awaitable<beast::error_code> write(std::string text) = 0;
    // A WebSocket close handshake, bounded by a short timeout.
    virtual asio::awaitable<void> close() = 0;
    // Drops the connection at once; pending reads and writes complete with an error.
    virtual void abort() = 0;
    // Called (on the connection's executor) at every sign of life below the frames: each step of
    // connect() that completed, every ping or pong. The link's liveness (HubLink::last_progress)
    // listens here, so a connection that is only exchanging keep-alive pings still counts as alive.
    virtual void on_progress(std::function<void()> observer) { (void)observer; }
};

// The TLS settings shared by every connection: peer verification against the system CAs or
// against ca_file alone, TLS 1.2 at least. The error names the setting and the CA file when it
// cannot be loaded.
Expected<std::shared_ptr<asio::ssl::context>, std::string> make_tls_context(
    const std::filesystem::path& ca_file, std::string_view setting = "hub_ca_file");

// tls may be null for ws:// URLs; when it is null for a wss:// URL, or options.proxy_tls is null
// for an https:// proxy, that TLS layer is checked against the system CAs.
std::unique_ptr<HubConnection> make_hub_connection(asio::any_io_executor executor,
                                                   std::shared_ptr<asio::ssl::context> tls,
                                                   ConnectOptions options);

}  // namespace monsys::agent::hub
