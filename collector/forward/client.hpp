// Forward protocol client (the agent's side of docs/collector-protocol.md): TCP with TLS by
// default, the shared-key handshake, PackedForward chunks with acks and a small window of
// chunks in flight. Network failures are values (Error), never exceptions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec.hpp"
#include "edusight/core/clock.hpp"
#include "edusight/core/crypto.hpp"

namespace edusight::forward {

struct ClientOptions {
  std::string host;  // name or address literal (no brackets)
  std::uint16_t port = 24224;
  // TLS unless plaintext is asked for explicitly. With TLS, ca_file (chain and name checked
  // against server_name) and/or pin_sha256 (hex SHA-256 of the server certificate's DER;
  // colons allowed) must be given; a client that trusts anything is not offered.
  bool plaintext = false;
  std::string ca_file;
  std::string pin_sha256;
  std::string server_name;  // SNI and the name checked; empty: host
  std::string agent_id;     // the PING hostname: the agent's identity at the collector
  std::string shared_key;   // this agent's own key
  std::chrono::milliseconds connect_timeout{5000};     // resolve + TCP + TLS, each
  std::chrono::milliseconds handshake_timeout{10000};  // HELO and PONG
  std::chrono::milliseconds ack_timeout{30000};        // from a chunk's write to its ack
  std::size_t max_in_flight = 8;                       // unacknowledged chunks at once
  std::size_t max_ack_bytes = 64u * 1024u;             // unread server bytes tolerated
};

enum class Errc {
  ok = 0,
  resolve_failed,
  connect_failed,
  timeout,
  tls_failed,
  pin_mismatch,
  closed,             // the server closed, or a read/write failed
  protocol_error,     // undecodable or unexpected bytes from the server
  auth_refused,       // PONG with auth_result false; detail carries the server's reason
  server_unverified,  // the server's PONG digest does not prove it knows our key
  ack_mismatch,       // an ack for a chunk that is not the oldest in flight
  window_full,        // caller error: max_in_flight chunks already unacknowledged
  not_connected,
  bad_options,
};
std::string_view to_string(Errc e);

struct Error {
  Errc code = Errc::ok;
  std::string detail;
  explicit operator bool() const { return code != Errc::ok; }
  std::string message() const;  // "auth_refused: unknown agent"
};

struct AckResult {
  Error error;
  std::string chunk_id;  // the acknowledged chunk when !error
};

// One connection; reconnecting means a new connect() (which drops what was in flight: the
// caller resends those chunks, the collector de-duplicates by chunk id). Not thread-safe: use
// it from one coroutine at a time on its executor.
class Client {
 public:
  // `random` supplies the PING salt; it must outlive the client.
  Client(boost::asio::any_io_executor executor, ClientOptions options, Random& random);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Resolves, connects, TLS, then HELO / PING / PONG. Closes any previous connection first.
  boost::asio::awaitable<Error> connect();
  bool connected() const;
  const std::string& server_hostname() const { return server_hostname_; }

  std::size_t in_flight() const { return in_flight_.size(); }
  bool window_full() const { return in_flight_.size() >= options_.max_in_flight; }

  // Writes one message without waiting for its ack (pipelining): `message` was encoded with
  // `chunk_id` as its chunk option (encode_packed_forward). Refused with window_full when
  // max_in_flight chunks are unacknowledged.
  boost::asio::awaitable<Error> write_encoded(std::string message, std::string chunk_id);
  // Same, encoding PackedForward here.
  boost::asio::awaitable<Error> write_chunk(std::string_view tag, const std::vector<Entry>& entries,
                                            std::string chunk_id);
  // Waits for the ack of the oldest chunk in flight (acks come in order on one connection),
  // at most until ack_timeout after that chunk was written. Any error closes the connection.
  boost::asio::awaitable<AckResult> next_ack();
  // write_chunk, then waits for acks until this chunk's; earlier chunks' acks are consumed.
  boost::asio::awaitable<Error> send_chunk(std::string_view tag, const std::vector<Entry>& entries,
                                           std::string chunk_id);
  boost::asio::awaitable<Error> send_encoded(std::string message, std::string chunk_id);

  void close();

 private:
  struct State;
  boost::asio::awaitable<Error> connect_impl();
  boost::asio::awaitable<Error> handshake();
  boost::asio::awaitable<Error> write_all(std::string bytes, std::chrono::milliseconds timeout);
  boost::asio::awaitable<Error> read_more(std::chrono::steady_clock::time_point deadline,
                                          std::string* out);
  Error fail(Errc code, std::string detail);
  void arm(std::chrono::steady_clock::time_point at);
  void disarm();

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  Random& random_;
  std::shared_ptr<State> state_;
  std::string server_hostname_;
  struct InFlight {
    std::string chunk_id;
    std::chrono::steady_clock::time_point written_at;
  };
  std::vector<InFlight> in_flight_;  // oldest first
  AckDecoder acks_;
};

// A chunk id as the protocol suggests: base64 of 16 random bytes.
std::string make_chunk_id(Random& random);
// Lower-case hex SHA-512, the handshake's digest.
using edusight::sha512_hex;
// Lower-case hex SHA-256 of a PEM certificate file's first certificate (its DER); empty when
// the file cannot be read. For pin_sha256 values and tests.
using edusight::certificate_sha256_hex;

}  // namespace edusight::forward
