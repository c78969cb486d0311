#include "probes/web/web.hpp"

namespace edusight::web {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::connect_failed:
      return "connect_failed";
    case Status::timeout:
      return "timeout";
    case Status::tls_error:
      return "tls_error";
    case Status::http_error:
      return "http_error";
    case Status::bad_url:
      return "bad_url";
    case Status::dns_failed:
      return "dns_failed";
    case Status::too_many_redirects:
      return "too_many_redirects";
    case Status::other:
      return "other";
  }
  return "other";
}

}  // namespace edusight::web
