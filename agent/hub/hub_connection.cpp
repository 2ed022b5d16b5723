#include "agent/hub/hub_connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "agent/hub/messages.hpp"
#include "agent/hub/proxy_tunnel.hpp"
#include "agent/hub/url_authority.hpp"

namespace monsys::agent::hub {
namespace {

namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// The layers under the WebSocket. The TCP connection goes to the hub, or to a proxy; with an
// https:// proxy TLS with the proxy wraps it (asio's ssl::stream, which another TLS layer can
// sit on); with a wss:// hub TLS with the hub comes on top of that (beast's ssl_stream, which
// gathers the WebSocket's small writes into one record). Four combinations, one template.
using TcpLayer = beast::tcp_stream;
using ProxyTlsLayer = ssl::stream<TcpLayer>;
template <bool ProxyTls>
using ProxyLayer = std::conditional_t<ProxyTls, ProxyTlsLayer, TcpLayer>;
template <bool ProxyTls, bool HubTls>
using HubLayer =
    std::conditional_t<HubTls, beast::ssl_stream<ProxyLayer<ProxyTls>>, ProxyLayer<ProxyTls>>;

std::string endpoint_text(const HubUrl& url) {
    return (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
           url.port;
}

// SNI and the name (or address) the peer's certificate must carry.
void expect_peer(SSL* handle, const std::string& host) {
    if (is_ip_literal(host)) {
        // No SNI for addresses (RFC 6066); the certificate must name the address.
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), host.c_str());
    } else {
        SSL_set_tlsext_host_name(handle, host.c_str());
        SSL_set1_host(handle, host.c_str());
    }
}

// The reason OpenSSL gives for a failed certificate check, if that is what failed.
std::string tls_failure_text(SSL* handle, const beast::error_code& ec) {
    long verify = SSL_get_verify_result(handle);
    if (verify != X509_V_OK) {
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(verify);
    }
    return ec.message();
}

template <bool ProxyTls, bool HubTls>
class WebSocketConnection final : public HubConnection {
  public:
    WebSocketConnection(asio::any_io_executor executor, std::shared_ptr<ssl::context> tls,
                        ConnectOptions options)
        : executor_(executor),
          tls_(std::move(tls)),
          options_(std::move(options)),
          ws_(make_stream(executor, tls_, options_.proxy_tls)) {}

    asio::awaitable<std::optional<ConnectError>> connect() override {
        const HubUrl& url = options_.url;
        beast::error_code ec;
        auto& tcp_layer = beast::get_lowest_layer(ws_);

        // With a proxy, the TCP connection goes to the proxy and CONNECT opens the way to the
        // hub; TLS (SNI, verification) is with the hub all the same.
        const ProxyUrl* proxy = options_.proxy ? &*options_.proxy : nullptr;
        const std::string& tcp_host = proxy ? proxy->host : url.host;
        const std::string& tcp_port = proxy ? proxy->port : url.port;
        const std::string tcp_peer = proxy ? "proxy " + describe(*proxy) : endpoint_text(url);

        // The resolver has no deadline of its own; a timer cancels it.
        tcp::resolver resolver(executor_);
        asio::steady_timer resolve_deadline(executor_);
        resolve_deadline.expires_after(options_.handshake_timeout);
        resolve_deadline.async_wait([&resolver](beast::error_code wait_error) {
            if (!wait_error) resolver.cancel();
        });
        auto endpoints =
            co_await resolver.async_resolve(tcp_host, tcp_port, redirect_error(use_awaitable, ec));
        resolve_deadline.cancel();
        progress();
        if (ec) {
            co_return ConnectError{
                ConnectFailure::resolve,
                std::string(proxy ? "cannot resolve the proxy " : "cannot resolve ") + tcp_host +
                    ": " + ec.message()};
        }

        tcp_layer.expires_after(options_.handshake_timeout);
        co_await tcp_layer.async_connect(endpoints, redirect_error(use_awaitable, ec));
        progress();
        if (ec) {
            co_return ConnectError{ConnectFailure::connect,
                                   "cannot connect to " + tcp_peer + ": " + ec.message()};
        }
        if constexpr (ProxyTls) {
            // The proxy's certificate is checked like the hub's: its name, a trusted CA.
            ProxyTlsLayer& proxy_tls = proxy_layer();
            expect_peer(proxy_tls.native_handle(), proxy->host);
            co_await proxy_tls.async_handshake(ssl::stream_base::client,
                                               redirect_error(use_awaitable, ec));
            progress();
            if (ec) {
                co_return ConnectError{ConnectFailure::proxy,
                                       "TLS with " + tcp_peer + " failed: " +
                                           tls_failure_text(proxy_tls.native_handle(), ec)};
            }
        }
        if (proxy) {
            auto failure = co_await open_tunnel(*proxy);
            if (failure) co_return failure;
        }

        if constexpr (HubTls) {
            auto* handle = ws_.next_layer().native_handle();
            expect_peer(handle, url.host);
            co_await ws_.next_layer().async_handshake(ssl::stream_base::client,
                                                      redirect_error(use_awaitable, ec));
            progress();
            if (ec) {
                co_return ConnectError{
                    ConnectFailure::tls,
                    "TLS with " + endpoint_text(url) + " failed: " + tls_failure_text(handle, ec)};
            }
        }

        tcp_layer.expires_never();
        websocket::stream_base::timeout timeouts{};
        timeouts.handshake_timeout = options_.handshake_timeout;
        timeouts.idle_timeout = options_.idle_timeout;
        timeouts.keep_alive_pings = true;  // timeout::suggested() turns them off for clients
        ws_.set_option(timeouts);
        ws_.set_option(
            websocket::stream_base::decorator([token = options_.token, agent = options_.user_agent](
                                                  websocket::request_type& request) {
                request.set(http::field::authorization, "Bearer " + token);
                request.set(http::field::sec_websocket_protocol, std::string(subprotocol));
                request.set(http::field::user_agent, agent);
            }));
        ws_.read_message_max(max_hub_frame_bytes);
        ws_.auto_fragment(false);
        // Pings and pongs (ours or the hub's) are seen only here, never by read().
        ws_.control_callback([this](websocket::frame_type, beast::string_view) { progress(); });

        websocket::response_type response;
        co_await ws_.async_handshake(response, host_header(url), url.target,
                                     redirect_error(use_awaitable, ec));
        progress();
        int status = static_cast<int>(response.result_int());
        if (ec) {
            abort();
            if (status == 401 || status == 403) {
                co_return ConnectError{
                    ConnectFailure::token_refused,
                    "hub refused the agent token (HTTP " + std::to_string(status) + ")", status};
            }
            std::string detail = status != 0 && status != 101
                                     ? "hub answered HTTP " + std::to_string(status)
                                     : ec.message();
            co_return ConnectError{
                ConnectFailure::handshake,
                "WebSocket handshake with " + endpoint_text(url) + " failed: " + detail, status};
        }
        auto selected = response[http::field::sec_websocket_protocol];
        if (selected != subprotocol) {
            abort();
            co_return ConnectError{ConnectFailure::handshake,
                                   "hub did not select the subprotocol " + std::string(subprotocol),
                                   status};
        }
        co_return std::nullopt;
    }

    asio::awaitable<Frame> read() override {
        beast::flat_buffer buffer;
        Frame frame;
        co_await ws_.async_read(buffer, redirect_error(use_awaitable, frame.error));
        if (!frame.error) {
            frame.binary = !ws_.got_text();
            frame.text = beast::buffers_to_string(buffer.data());
        }
        co_return frame;
    }

    asio::awaitable<beast::error_code> write(std::string text) override {
        beast::error_code ec;
        ws_.text(true);
        co_await ws_.async_write(asio::buffer(text), redirect_error(use_awaitable, ec));
        co_return ec;
    }

    asio::awaitable<void> close() override {
        beast::error_code ec;
        co_await ws_.async_close(websocket::close_code::normal, redirect_error(use_awaitable, ec));
        abort();
    }

    void abort() override {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    void on_progress(std::function<void()> observer) override {
        progress_observer_ = std::move(observer);
    }

  private:
    // CONNECT through the proxy, under the deadline of the TCP connect (the handshake timeout).
    // Only the reply's headers are read: the hub's first bytes come after our TLS ClientHello
    // or WebSocket request, so any byte past them is a proxy error, not data to pass on.
    asio::awaitable<std::optional<ConnectError>> open_tunnel(ProxyUrl proxy) {
        const HubUrl& url = options_.url;
        auto& tunnel = proxy_layer();
        const std::string where = "proxy " + describe(proxy);
        const std::string hub = endpoint_text(url);
        beast::error_code ec;

        const std::string request = connect_request(url, proxy, options_.user_agent);
        co_await asio::async_write(tunnel, asio::buffer(request),
                                   redirect_error(use_awaitable, ec));
        if (ec) {
            co_return ConnectError{ConnectFailure::proxy,
                                   where + ": sending CONNECT " + hub + " failed: " + ec.message()};
        }

        std::string received;
        std::array<char, 2048> chunk{};
        std::optional<ProxyReply> reply;
        while (!reply) {
            const std::size_t n = co_await tunnel.async_read_some(
                asio::buffer(chunk), redirect_error(use_awaitable, ec));
            received.append(chunk.data(), n);
            auto parsed = read_proxy_reply(received);
            if (!parsed) {
                abort();
                co_return ConnectError{ConnectFailure::proxy,
                                       where + " (CONNECT " + hub + "): " + parsed.error()};
            }
            reply = std::move(*parsed);
            if (!reply && ec) {
                abort();
                const std::string what =
                    ec == beast::error::timeout
                        ? "no complete reply within the handshake timeout"
                        : "the connection ended before its reply: " + ec.message();
                co_return ConnectError{ConnectFailure::proxy,
                                       where + " (CONNECT " + hub + "): " + what};
            }
        }
        progress();
        if (reply->status < 200 || reply->status > 299) {
            abort();
            co_return ConnectError{
                ConnectFailure::proxy,
                where + " refused CONNECT " + hub + ": " + explain_proxy_status(*reply),
                reply->status};
        }
        if (received.size() != reply->header_bytes) {
            abort();
            co_return ConnectError{ConnectFailure::proxy,
                                   where + " (CONNECT " + hub +
                                       "): bytes after its reply, before the hub could speak"};
        }
        co_return std::nullopt;
    }

    void progress() {
        if (progress_observer_) progress_observer_();
    }

    // What CONNECT goes over: the TCP connection, or TLS with the proxy on it.
    ProxyLayer<ProxyTls>& proxy_layer() {
        if constexpr (HubTls) {
            return ws_.next_layer().next_layer();
        } else {
            return ws_.next_layer();
        }
    }

    static HubLayer<ProxyTls, HubTls> make_stream(asio::any_io_executor executor,
                                                  const std::shared_ptr<ssl::context>& hub_tls,
                                                  const std::shared_ptr<ssl::context>& proxy_tls) {
        auto proxy_layer = [&]() -> ProxyLayer<ProxyTls> {
            if constexpr (ProxyTls) {
                return ProxyTlsLayer(TcpLayer(executor), *proxy_tls);
            } else {
                return TcpLayer(executor);
            }
        };
        if constexpr (HubTls) {
            return beast::ssl_stream<ProxyLayer<ProxyTls>>(proxy_layer(), *hub_tls);
        } else {
            return proxy_layer();
        }
    }

    asio::any_io_executor executor_;
    std::shared_ptr<ssl::context> tls_;  // outlives the stream that refers to it
    ConnectOptions options_;
    websocket::stream<HubLayer<ProxyTls, HubTls>> ws_;
    std::function<void()> progress_observer_;
};

}  // namespace

const char* to_string(ConnectFailure failure) {
    switch (failure) {
        case ConnectFailure::resolve:
            return "resolve";
        case ConnectFailure::connect:
            return "connect";
        case ConnectFailure::proxy:
            return "proxy";
        case ConnectFailure::tls:
            return "tls";
        case ConnectFailure::token_refused:
            return "token_refused";
        case ConnectFailure::handshake:
            return "handshake";
    }
    return "connect";
}

Expected<std::shared_ptr<ssl::context>, std::string> make_tls_context(
    const std::filesystem::path& ca_file, std::string_view setting) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    context->set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (ca_file.empty()) {
        context->set_default_verify_paths(ec);
        if (ec) return unexpected("cannot load the system CA store: " + ec.message());
    } else {
        context->load_verify_file(ca_file.string(), ec);
        if (ec) {
            return unexpected(std::string(setting) + " " + ca_file.string() +
                              ": cannot load certificates: " + ec.message());
        }
    }
    return context;
}

namespace {

// TLS settings that were not given are the system CAs; if even those cannot be loaded, none
// (every certificate fails). A TLS layer never goes without verification.
std::shared_ptr<ssl::context> or_system_cas(std::shared_ptr<ssl::context> given) {
    if (given) return given;
    auto system_cas = make_tls_context("");
    if (system_cas) return std::move(*system_cas);
    auto none = std::make_shared<ssl::context>(ssl::context::tls_client);
    none->set_verify_mode(ssl::verify_peer);
    return none;
}

template <bool ProxyTls>
std::unique_ptr<HubConnection> make_for_hub(asio::any_io_executor executor,
                                            std::shared_ptr<ssl::context> tls,
                                            ConnectOptions options) {
    if (options.url.tls) {
        return std::make_unique<WebSocketConnection<ProxyTls, true>>(
            executor, or_system_cas(std::move(tls)), std::move(options));
    }
    return std::make_unique<WebSocketConnection<ProxyTls, false>>(executor, nullptr,
                                                                  std::move(options));
}

}  // namespace

std::unique_ptr<HubConnection> make_hub_connection(asio::any_io_executor executor,
                                                   std::shared_ptr<ssl::context> tls,
                                                   ConnectOptions options) {
    if (options.proxy && options.proxy->tls) {
        options.proxy_tls = or_system_cas(std::move(options.proxy_tls));
        return make_for_hub<true>(executor, std::move(tls), std::move(options));
    }
    return make_for_hub<false>(executor, std::move(tls), std::move(options));
}

}  // namespace monsys::agent::hub
