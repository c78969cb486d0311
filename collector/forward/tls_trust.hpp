// How an agent trusts the collector's TLS certificate: a CA file (chain and name checked) or
// a pin (SHA-256 of the leaf certificate's DER), as the Forward client and `edusight-agent
// enroll` both do. One implementation, so the two connections can never trust differently.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <string_view>

#include "client.hpp"

namespace edusight::forward {

struct TlsTrust {
  std::string ca_file;      // chain verified, and the name below
  std::string pin_sha256;   // hex, colons allowed; checked after the handshake
  std::string server_name;  // SNI and the name verified against the CA; never empty
};

// TLS 1.2 or newer; with a CA file, peers are verified against it. bad_options when neither
// a CA file nor a pin is given (a client that trusts anything is not offered) or the CA
// file cannot be loaded.
Error prepare_client_context(boost::asio::ssl::context& ctx, const TlsTrust& trust);
// On the connection, before its handshake: SNI (host names only) and the name to verify.
Error prepare_client_connection(SSL* ssl, const TlsTrust& trust);
// Why a handshake failed, with the certificate verification error when there is one.
std::string handshake_failure(SSL* ssl, const boost::system::error_code& ec);
// After the handshake: pin_mismatch unless the leaf certificate matches the pin (if any).
Error check_pin(SSL* ssl, const TlsTrust& trust);
// "AB:cd:..." and "abcd..." are the same pin.
std::string normalize_pin(std::string_view pin);

}  // namespace edusight::forward
